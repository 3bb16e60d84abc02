//! The scorer: one clip against its scene (colour, shape, direction, bounce, camera).

use super::*;

/// Scores one clip against its scene.
pub fn score_clip(frames: &[RgbImage], spec: &SceneSpec) -> ClipScore {
    let prompt = spec.canonical_prompt();
    let held_out = is_held_out(spec);
    let Some(first) = frames.first() else {
        return ClipScore {
            prompt,
            held_out,
            colour: false,
            colours_seen: Vec::new(),
            object_formed: false,
            shape: false,
            shape_seen: None,
            direction: None,
            bounce: None,
            camera: None,
            flicker: 0.0,
        };
    };
    let (w, h) = (first.width() as usize, first.height() as usize);
    // The camera, frame to frame, then the background in the first frame's coordinates.
    let views = camera_track(frames);
    let last_view = views.last().copied().unwrap_or_default();
    let canvas = Canvas::new(w, h);
    let bg = canvas.background(frames, &views);
    // A pixel of frame t is foreground when it differs from the background behind it by more
    // than 40 levels (summed over R, G, B); where no background is known, it is not. Each
    // foreground pixel keeps the canvas cell behind it.
    let is_fg = |t: usize, i: usize| -> Option<([u8; 3], usize)> {
        let f = &frames[t];
        let p = [
            f.as_raw()[i * 3],
            f.as_raw()[i * 3 + 1],
            f.as_raw()[i * 3 + 2],
        ];
        let c = canvas.cell_of(views[t], (i % w) as f32, (i / w) as f32)?;
        let b = bg[c]?;
        (dist(p, b) > 40).then_some((p, c))
    };
    // Decided once per pixel: the colour vote, the track and the flicker all read it.
    let fg: Vec<Vec<_>> = (0..frames.len())
        .map(|t| (0..w * h).map(|i| is_fg(t, i)).collect())
        .collect();
    // Colour: the palette colour that covers the most foreground, each pixel unmixed from the
    // background behind it (an edge pixel half over the sky counts half for its object's colour
    // instead of whole for whatever colour the blend is nearest to). A pixel that matches the
    // background a cell off does not vote: that is the background seen slightly misplaced
    // (texture, the horizon under a zoom), not an object. No colour is treated differently
    // because it was asked for.
    let mut counts = vec![0f32; Color::ALL.len()];
    for &(p, cell) in fg.iter().flatten().flatten() {
        if canvas.near_background(&bg, cell, p) {
            continue;
        }
        if let Some((k, cover)) = bg[cell].and_then(|b| unmix(p, b)) {
            counts[k] += cover;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).filter(|&k| counts[k] > 0.0).collect();
    order.sort_by(|a, b| counts[*b].total_cmp(&counts[*a]));
    let top = if spec.collides_with.is_some() { 2 } else { 1 };
    let target = spec.object.color;
    // Per frame, the asked colour's object: the `top` blobs (8-connected) of its foreground
    // pixels and the foreground right beside them (which bridges a darker band across an
    // object, not background between two specks), that hold the most of the colour. The frame's object
    // holds when they hold at least 60% of the colour's foreground pixels and each is no larger
    // than an eighth of the frame (the largest object of the scene language, zoomed in, is
    // smaller). Each frame gives the colour's foreground pixels and, when it holds, the
    // object's pixels.
    let objects: Vec<(usize, Option<Vec<usize>>, Vec<usize>)> = fg
        .iter()
        .map(|frame_fg| {
            // Each pixel's nearest colour is looked up once; the mask and the counts read it.
            let is_target: Vec<bool> = frame_fg
                .iter()
                .map(|p| p.is_some_and(|(p, _)| nearest_colour(p) == target))
                .collect();
            let n = is_target.iter().filter(|t| **t).count();
            let mask: Vec<bool> = (0..frame_fg.len())
                .map(|i| {
                    frame_fg[i].is_some()
                        && (is_target[i] || neighbours(i, w, h).any(|j| is_target[j]))
                })
                .collect();
            let mut parts: Vec<(usize, Vec<usize>)> = blobs_of(&mask, w, h)
                .into_iter()
                .map(|b| (b.iter().filter(|&&i| is_target[i]).count(), b))
                .collect();
            parts.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
            let kept = &parts[..top.min(parts.len())];
            let held: usize = kept.iter().map(|(k, _)| k).sum();
            let small = kept.iter().all(|(_, b)| b.len() * 8 <= w * h);
            let pixels = kept.iter().flat_map(|(_, b)| b.iter().copied()).collect();
            let holds = n > 0 && small && held * 5 >= n * 3;
            let largest = match kept.first() {
                Some((_, b)) if holds => b.clone(),
                _ => Vec::new(),
            };
            (n, holds.then_some(pixels), largest)
        })
        .collect();
    // Over the clip, the object must hold in two frames or more, and in at least a quarter of
    // those where the colour shows in the foreground at all. Not more: a still object is part
    // of the background (the median), so one that falls and lies on the floor shows as
    // foreground only while it moves, and under a zoom as a few scattered edge pixels after.
    let showing = objects.iter().filter(|o| o.0 > 0).count();
    let held = objects.iter().filter(|o| o.1.is_some()).count();
    let formed = held >= 2 && held * 4 >= showing;
    let colour = formed && order.iter().take(top).any(|&k| Color::ALL[k] == target);
    // Shape: the shape that best explains the object's largest blob, frame by frame; only
    // looked for when there is an object.
    let shape_seen = formed
        .then(|| {
            let silhouettes: Vec<shape::Silhouette> = objects
                .iter()
                .zip(frames)
                .filter(|((_, _, part), _)| !part.is_empty())
                .map(|((_, _, part), frame)| silhouette(part, frame, target))
                .collect();
            shape::best_shape(&silhouettes)
        })
        .flatten();
    let shape_ok = shape_seen == Some(spec.object.shape);
    // Camera: the background's motion from the first to the last frame, in the first frame's
    // pixels (the scene moves the other way from the camera).
    let (shift, zoom) = (last_view.shift, last_view.zoom);
    let camera_ok = match spec.camera {
        Camera::Static => shift.0.abs() < 1.5 && shift.1.abs() < 1.5 && (zoom - 1.0).abs() < 0.04,
        Camera::PanRight => shift.0 <= -1.5,
        Camera::PanLeft => shift.0 >= 1.5,
        Camera::TiltUp => shift.1 >= 1.5,
        Camera::TiltDown => shift.1 <= -1.5,
        Camera::ZoomIn => zoom >= 1.04,
        Camera::ZoomOut => zoom <= 0.96,
    };
    // The asked object's track, in the first frame's coordinates (the camera taken out).
    let track: Vec<(f32, f32)> = objects
        .iter()
        .zip(&views)
        .filter_map(|((_, blob, _), &view)| {
            let blob = blob.as_ref()?;
            let k = blob.len() as f32;
            let sx: f32 = blob.iter().map(|i| (i % w) as f32 + 0.5).sum();
            let sy: f32 = blob.iter().map(|i| (i / w) as f32 + 0.5).sum();
            Some(canvas.screen_to_first(view, sx / k, sy / k))
        })
        .collect();
    let asks_bounce = matches!(spec.motion, Motion::Bounces(_));
    let (direction, bounce) = if spec.collides_with.is_some() {
        (None, None)
    } else if track.len() < 3 {
        // No object to follow: the asked motion is not shown, so it fails (it used to be left
        // out, which let a clip with no object drop out of the share).
        (Some(false), asks_bounce.then_some(false))
    } else {
        let (x0, y0) = track[0];
        let (x1, y1) = track[track.len() - 1];
        let (dx, dy) = (x1 - x0, y1 - y0);
        let along = |d: Direction| match d {
            Direction::Left => -dx >= 1.5 && dx.abs() > dy.abs(),
            Direction::Right => dx >= 1.5 && dx.abs() > dy.abs(),
            Direction::Up => -dy >= 1.5 && dy.abs() > dx.abs(),
            Direction::Down => dy >= 1.5 && dy.abs() > dx.abs(),
        };
        let direction = match spec.motion {
            Motion::Moves(d) | Motion::Rolls(d) => along(d),
            Motion::Bounces(d) => match d {
                Direction::Left => -dx >= 1.5,
                _ => dx >= 1.5,
            },
            Motion::Falls => dy >= 1.5,
        };
        let bounce = asks_bounce.then(|| {
            // Image y grows downwards: a bounce is a maximum of y followed by a rise of 1 px.
            let mut deepest = f32::NEG_INFINITY;
            track.iter().any(|&(_, y)| {
                deepest = deepest.max(y);
                deepest - y >= 1.0 && deepest - track[0].1 >= 1.0
            })
        });
        (Some(direction), bounce)
    };
    // Flicker: frame-to-frame change of background pixels, each compared with the same place of
    // the scene in the frame before (so a moving camera is not counted as flicker).
    let mut flick = (0f64, 0usize);
    for t in 1..frames.len() {
        for (i, px) in fg[t].iter().enumerate() {
            if px.is_some() {
                continue;
            }
            let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
            let (fx, fy) = canvas.screen_to_first(views[t], x, y);
            let (px, py) = canvas.first_to_screen(views[t - 1], fx, fy);
            let Some(before) = bilinear(&frames[t - 1], px - 0.5, py - 0.5) else {
                continue;
            };
            let now = &frames[t].as_raw()[i * 3..i * 3 + 3];
            flick.0 += f64::from(dist_to(before, now)) / 3.0;
            flick.1 += 1;
        }
    }
    ClipScore {
        prompt,
        held_out,
        colour,
        colours_seen: order.iter().take(top).map(|&k| Color::ALL[k]).collect(),
        object_formed: formed,
        shape: shape_ok,
        shape_seen,
        direction,
        bounce,
        camera: Some(camera_ok),
        flicker: (flick.0 / flick.1.max(1) as f64) as f32,
    }
}
