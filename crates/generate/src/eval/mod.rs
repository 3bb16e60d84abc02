//! `verity eval generator`: prompt adherence measured by tracking the objects in the output.
//!
//! The prompts are scenes drawn from the scene language with a fixed seed, one in five of them
//! a held-out colour and shape pair. For each, the model samples its native clip (16 frames of
//! 32×32), and the same scorer runs on the model's clip and on the renderer's clip of the same
//! scene. The renderer is the ground truth, so its row says how far the scorer itself can be
//! trusted; the model's row is the figure.
//!
//! The scorer, per clip:
//! - **camera:** tracked from each frame to the next (whole-pixel shifts of up to an eighth of
//!   the height and zooms of 0.94–1.06 on half the pixels, then half-pixel steps around the
//!   best; a truncated colour difference, so a moving object does not drag the camera along) and
//!   chained into each frame's view relative to the first. One search between the first and the
//!   last frame, as an earlier scorer did, mistook a pan of one texture period for a small pan
//!   the other way; pans and tilts read from the total shift's sign, zooms from the total scale,
//!   "static" when neither is clear;
//! - **background:** the per-pixel median of what the frames show at each place of the scene
//!   (in the first frame's coordinates, so the camera's motion is taken out); *foreground* pixels
//!   differ from the background behind them by more than 40 levels (summed over R, G, B);
//! - **colour:** the palette colour that covers the most foreground is the asked colour (for a
//!   collision, one of the two that cover most). Each foreground pixel is unmixed from the
//!   background behind it: the palette colour, darkened by up to the renderer's shading, and the
//!   coverage that best explain it as that colour partly over the background; it adds its
//!   coverage to that colour, and nothing when no colour explains it within 40 levels or when it
//!   matches the background a cell away (the background a little misplaced). Counting whole
//!   pixels by their nearest colour instead made anti-aliased edges vote for blends (orange over
//!   sky reads pink) and missed one ground-truth clip in eight. *And* that colour forms an
//!   object: one 8-connected blob (two for a collision) of the colour's foreground pixels and the
//!   foreground beside them, no larger than an eighth of the frame, holds at least 60% of the
//!   colour's foreground pixels, in two frames or more and in at least a quarter of the frames
//!   where the colour shows. Without the second half, specks of the asked colour scattered over
//!   the frame passed. How often a clip of the wrong colour passes is measured too: the renderer
//!   draws each scene with the asked object in the palette's nearest other colour ([`decoy`]);
//! - **shape:** in each frame where the object holds, the window two pixels around its largest
//!   blob, each pixel unmixed as the asked colour over the median of the window's rim (the
//!   median background cannot be used: an object that moves little is part of it), is compared
//!   with each shape drawn as the renderer draws it, at the blob's centroid and area and at its
//!   best turn; each frame votes for the closest, and the clip shows the shape with most votes
//!   (`shape.rs`). False accepts are measured on the scene with the asked object in another shape
//!   ([`shape_decoy`]);
//! - **direction of motion:** the track of the object (the centroid of that blob in each frame
//!   where it holds, taken back to the first frame's coordinates) moves the asked way along the
//!   asked axis by at least 1.5 pixels and more than along the other axis; "falls" means down.
//!   A clip whose object holds in fewer than 3 frames fails it (collisions are not scored);
//! - **bounce:** the track's height goes down and then up again by at least 1 pixel (failed,
//!   too, without a track);
//! - **flicker:** the mean absolute change of background pixels from each frame to the same place
//!   of the scene in the frame before, in levels.

use candle_core::Device;
use image::RgbImage;
use serde::Serialize;

use crate::data::{is_held_out, random_spec};
use crate::error::{GenerateError, Result};
use crate::model::Model;
use crate::render::{RenderOptions, render};
use crate::rng::Rng;
use crate::sample::{SampleOptions, clip_frames, sample};
use crate::scene::{Camera, Color, Direction, Motion, SceneSpec, Shape};

mod shape;

/// How to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct EvalOptions {
    pub prompts: usize,
    pub steps: usize,
    /// Classifier-free guidance scale; `None` takes the model's own (its config's `guidance`).
    pub guidance: Option<f32>,
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            prompts: 120,
            steps: 24,
            guidance: None,
            seed: 2026,
        }
    }
}

/// The scores of one clip. `None` where the measure does not apply.
#[derive(Clone, Debug, Serialize)]
pub struct ClipScore {
    pub prompt: String,
    pub held_out: bool,
    pub colour: bool,
    /// The palette colours with the most foreground, most first: as many as the scene has
    /// objects. Says why a clip failed the colour measure: the wrong colour, or (with
    /// `object_formed` false) the right one in specks that form no object.
    pub colours_seen: Vec<Color>,
    /// Whether the asked colour's foreground forms an object in enough frames.
    pub object_formed: bool,
    /// The asked object's blob has the asked shape: of the scene language's shapes, drawn as
    /// the renderer draws them, the asked one fits its silhouettes best.
    pub shape: bool,
    /// The shape that fits best; `None` without an object.
    pub shape_seen: Option<Shape>,
    pub direction: Option<bool>,
    pub bounce: Option<bool>,
    pub camera: Option<bool>,
    pub flicker: f32,
}

/// Shares of clips that pass each measure.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub clips: usize,
    pub colour: f32,
    pub shape: f32,
    pub direction: f32,
    pub bounce: f32,
    pub camera: f32,
    pub held_out_colour: f32,
    pub flicker: f32,
}

impl Summary {
    pub fn of(scores: &[ClipScore]) -> Self {
        let share = |v: Vec<bool>| {
            if v.is_empty() {
                f32::NAN
            } else {
                v.iter().filter(|b| **b).count() as f32 / v.len() as f32
            }
        };
        Summary {
            clips: scores.len(),
            colour: share(scores.iter().map(|s| s.colour).collect()),
            shape: share(scores.iter().map(|s| s.shape).collect()),
            direction: share(scores.iter().filter_map(|s| s.direction).collect()),
            bounce: share(scores.iter().filter_map(|s| s.bounce).collect()),
            camera: share(scores.iter().filter_map(|s| s.camera).collect()),
            held_out_colour: share(
                scores
                    .iter()
                    .filter(|s| s.held_out)
                    .map(|s| s.colour)
                    .collect(),
            ),
            flicker: scores.iter().map(|s| s.flicker).sum::<f32>() / scores.len().max(1) as f32,
        }
    }
}

/// The evaluation prompts: `n` scenes from `seed`, every fifth one held out of training.
pub fn prompts(n: usize, seed: u64) -> Vec<SceneSpec> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            loop {
                let s = random_spec(&mut rng, true);
                if (i % 5 == 4) == is_held_out(&s) {
                    break s;
                }
            }
        })
        .collect()
}

/// The scene with its asked object drawn in the palette's nearest other colour (not the colour
/// of the object it collides with): a clip the colour measure must fail. `None` when the other
/// object has the asked colour, since the scene then shows that colour whatever the first is.
pub fn decoy(spec: &SceneSpec) -> Option<SceneSpec> {
    let asked = spec.object.color;
    let partner = spec.collides_with.map(|o| o.color);
    if partner == Some(asked) {
        return None;
    }
    let other = Color::ALL
        .iter()
        .copied()
        .filter(|c| *c != asked && Some(*c) != partner)
        .min_by_key(|c| dist(c.rgb(), asked.rgb()))?;
    let mut d = spec.clone();
    d.object.color = other;
    Some(d)
}

/// The scene with its asked object in another shape (a ball for a cube or a triangle, a cube
/// for a ball): a clip the shape measure must fail. `None` for a rolling object (only balls
/// roll) and when the other object has the asked colour (the blob may then be either).
pub fn shape_decoy(spec: &SceneSpec) -> Option<SceneSpec> {
    if matches!(spec.motion, Motion::Rolls(_))
        || spec.collides_with.map(|o| o.color) == Some(spec.object.color)
    {
        return None;
    }
    let mut d = spec.clone();
    d.object.shape = match spec.object.shape {
        Shape::Ball => Shape::Cube,
        Shape::Cube | Shape::Triangle => Shape::Ball,
    };
    Some(d)
}

/// What [`evaluate`] found: the model's scores and the renderer's on the same prompts, and the
/// frames of the first few clips of each (for [`contact_sheet`]).
#[derive(Debug, Default)]
pub struct Evaluation {
    pub ours: Vec<ClipScore>,
    pub truth: Vec<ClipScore>,
    /// The renderer's [`decoy`] of each prompt that has one, scored against the prompt: the
    /// colour measure's false accepts.
    pub decoys: Vec<ClipScore>,
    /// The renderer's [`shape_decoy`] of each prompt that has one, scored against the prompt:
    /// the shape measure's false accepts.
    pub shape_decoys: Vec<ClipScore>,
    /// (the renderer's frames, the model's frames) of the first `keep_frames` prompts.
    pub frames: Vec<(Vec<RgbImage>, Vec<RgbImage>)>,
}

/// Scores the model and the renderer on the same prompts, keeping the frames of the first
/// `keep_frames` of them.
pub fn evaluate(
    model: &Model,
    opts: &EvalOptions,
    keep_frames: usize,
    device: &Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<Evaluation> {
    let cfg = model.config().clone();
    let specs = prompts(opts.prompts, opts.seed);
    let mut out = Evaluation::default();
    for (i, spec) in specs.iter().enumerate() {
        let prompt = spec.canonical_prompt();
        let so = SampleOptions {
            steps: opts.steps,
            guidance: opts.guidance.unwrap_or(cfg.guidance),
            seed: opts.seed.wrapping_add(i as u64),
        };
        let clip = sample(model, &prompt, &so, device, |_, _| {})?;
        let ours = clip_frames(&clip)?;
        out.ours.push(score_clip(&ours, spec));
        let ro = RenderOptions {
            width: cfg.width as u32,
            height: cfg.height as u32,
            fps: cfg.frames as f32 / cfg.clip_seconds,
            duration_s: cfg.clip_seconds,
            seed: so.seed,
        };
        let draw = |scene: &SceneSpec| -> Vec<RgbImage> {
            render(scene, &ro).into_iter().take(cfg.frames).collect()
        };
        let truth = draw(spec);
        out.truth.push(score_clip(&truth, spec));
        if let Some(d) = decoy(spec) {
            out.decoys.push(score_clip(&draw(&d), spec));
        }
        if let Some(d) = shape_decoy(spec) {
            out.shape_decoys.push(score_clip(&draw(&d), spec));
        }
        if i < keep_frames {
            out.frames.push((truth, ours));
        }
        progress(i + 1, specs.len());
    }
    Ok(out)
}

/// One image of clips side by side: per clip a row of the renderer's frames above a row of the
/// model's, each pixel drawn as a `scale` x `scale` block.
pub fn contact_sheet(clips: &[(Vec<RgbImage>, Vec<RgbImage>)], scale: u32) -> RgbImage {
    let rows = clips.iter().flat_map(|(a, b)| [a, b]);
    let (w, h) = clips
        .first()
        .and_then(|(a, _)| a.first())
        .map_or((0, 0), |f| (f.width(), f.height()));
    let cols = rows.clone().map(Vec::len).max().unwrap_or(0) as u32;
    let scale = scale.max(1);
    let mut sheet = RgbImage::new(cols * w * scale, 2 * clips.len() as u32 * h * scale);
    for (r, row) in rows.enumerate() {
        for (c, frame) in row.iter().enumerate() {
            for (x, y, p) in frame.enumerate_pixels() {
                if x >= w || y >= h {
                    continue;
                }
                let (x0, y0) = ((c as u32 * w + x) * scale, (r as u32 * h + y) * scale);
                for dy in 0..scale {
                    for dx in 0..scale {
                        sheet.put_pixel(x0 + dx, y0 + dy, *p);
                    }
                }
            }
        }
    }
    sheet
}

/// Writes [`contact_sheet`] as a PNG, whole: into a temporary file beside `path`, renamed into
/// place only when complete.
pub fn write_contact_sheet(
    path: &std::path::Path,
    clips: &[(Vec<RgbImage>, Vec<RgbImage>)],
    scale: u32,
) -> Result<()> {
    let tmp = verity_fs::TempPath::beside(path).map_err(|e| GenerateError::io(path, e))?;
    contact_sheet(clips, scale)
        .save_with_format(tmp.path(), image::ImageFormat::Png)
        .map_err(|e| GenerateError::io(path, std::io::Error::other(e)))?;
    tmp.persist(path).map_err(|e| GenerateError::io(path, e))
}

fn dist(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3).map(|i| u32::from(a[i].abs_diff(b[i]))).sum()
}

/// [`dist`] from an interpolated colour.
fn dist_to(a: [f32; 3], b: &[u8]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - f32::from(*y)).abs())
        .sum()
}

fn nearest_colour(p: [u8; 3]) -> Color {
    let mut best = (u32::MAX, Color::Gray);
    for &c in Color::ALL {
        let d = dist(p, c.rgb());
        if d < best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// How dark the renderer's shading makes an object's colour at most: its band (0.72) times its
/// shadow (0.75).
const DARKEST_SHADE: f32 = 0.54;
/// How far (Euclidean, in levels) a pixel may be from every unmixed palette colour and still
/// count for the nearest.
const UNMIX_TOLERANCE: f32 = 40.0;

/// The palette colour (its index in [`Color::ALL`]) and coverage that best explain pixel `p` as
/// that colour, shaded by up to [`DARKEST_SHADE`], covering `bg` in part: `p = a·s·k + (1 − a)·bg`.
/// Shading costs a little, so a colour that matches unshaded wins over a darkened brighter one
/// (brown over orange in shadow). `None` when no colour explains `p` within
/// [`UNMIX_TOLERANCE`].
fn unmix(p: [u8; 3], bg: [u8; 3]) -> Option<(usize, f32)> {
    Color::ALL
        .iter()
        .enumerate()
        .flat_map(|(k, &c)| shade_fits(p, bg, c).map(move |(s, r, a)| (r + 25.0 * (1.0 - s), k, a)))
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, k, a)| (k, a))
}

/// For each shade `s` of `colour` the renderer can give (1 down to [`DARKEST_SHADE`], 10
/// steps), the coverage `a` that best explains `p = a·s·colour + (1 − a)·bg` and the residual
/// `r` (Euclidean, in levels): `(s, r, a)`, for the shades with `r` within
/// [`UNMIX_TOLERANCE`].
fn shade_fits(p: [u8; 3], bg: [u8; 3], colour: Color) -> impl Iterator<Item = (f32, f32, f32)> {
    let p = p.map(f32::from);
    let b = bg.map(f32::from);
    let d: [f32; 3] = [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
    let c = colour.rgb().map(f32::from);
    (0..=9).filter_map(move |step| {
        let s = 1.0 - (1.0 - DARKEST_SHADE) * step as f32 / 9.0;
        let e = [c[0] * s - b[0], c[1] * s - b[1], c[2] * s - b[2]];
        let ee: f32 = e.iter().map(|v| v * v).sum();
        if ee < 1.0 {
            return None;
        }
        let a = (d.iter().zip(&e).map(|(x, y)| x * y).sum::<f32>() / ee).clamp(0.0, 1.0);
        let r: f32 = d
            .iter()
            .zip(&e)
            .map(|(x, y)| (x - a * y).powi(2))
            .sum::<f32>()
            .sqrt();
        (r <= UNMIX_TOLERANCE).then_some((s, r, a))
    })
}

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

/// A frame's object for the shape measure: the window two pixels around its blob, each pixel
/// with how much of it the object covers. The background behind the object cannot come from the
/// median (an object that moves little is part of it), so it is the median of the window's rim
/// outside the blob; each pixel is unmixed as the asked colour, shaded as the renderer shades,
/// over that. Pixels no such mix explains (another object, the texture) are left out.
fn silhouette(part: &[usize], frame: &RgbImage, target: Color) -> shape::Silhouette {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (xs, ys) = (part.iter().map(|i| i % w), part.iter().map(|i| i / w));
    let (bx0, bx1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (by0, by1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let (x0, x1) = (bx0.saturating_sub(2), (bx1 + 2).min(w - 1));
    let (y0, y1) = (by0.saturating_sub(2), (by1 + 2).min(h - 1));
    let px = |x: usize, y: usize| {
        let p = frame.get_pixel(x as u32, y as u32);
        [p[0], p[1], p[2]]
    };
    let window: Vec<(usize, usize)> = (y0..=y1)
        .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
        .collect();
    let mut rim: Vec<[u8; 3]> = window
        .iter()
        .filter(|&&(x, y)| x + 1 < bx0 || x > bx1 + 1 || y + 1 < by0 || y > by1 + 1)
        .map(|&(x, y)| px(x, y))
        .collect();
    let Some(behind) = median_colour(&mut rim) else {
        return shape::Silhouette::new(Vec::new());
    };
    let cells = window
        .into_iter()
        .filter_map(|(x, y)| {
            let a = unmix_as(px(x, y), behind, target)?;
            Some((x, y, a))
        })
        .collect();
    shape::Silhouette::new(cells)
}

/// The per-channel median of `colours`; `None` when there are none.
fn median_colour(colours: &mut [[u8; 3]]) -> Option<[u8; 3]> {
    if colours.is_empty() {
        return None;
    }
    let mid = colours.len() / 2;
    let mut out = [0u8; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        colours.sort_unstable_by_key(|c| c[ch]);
        *o = colours[mid][ch];
    }
    Some(out)
}

/// How much of pixel `p` the colour `target` covers over `bg`, shaded as [`unmix`] allows:
/// `None` when no such mix explains `p` within [`UNMIX_TOLERANCE`].
fn unmix_as(p: [u8; 3], bg: [u8; 3], target: Color) -> Option<f32> {
    shade_fits(p, bg, target)
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(_, _, a)| a)
}

/// The 8-connected blobs of a `w` x `h` mask, each as its pixels' indices.
fn blobs_of(mask: &[bool], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let (mut blob, mut todo) = (Vec::new(), vec![start]);
        while let Some(i) = todo.pop() {
            blob.push(i);
            for j in neighbours(i, w, h) {
                if mask.get(j) == Some(&true) && !seen[j] {
                    seen[j] = true;
                    todo.push(j);
                }
            }
        }
        out.push(blob);
    }
    out
}

/// The up to 8 pixels around pixel `i` of a `w` x `h` frame.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    (-1..=1)
        .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
        .filter(|&d| d != (0, 0))
        .map(move |(dx, dy)| (x + dx, y + dy))
        .filter(move |&(nx, ny)| nx >= 0 && ny >= 0 && nx < w as isize && ny < h as isize)
        .map(move |(nx, ny)| ny as usize * w + nx as usize)
}

/// Where the camera is in one frame, relative to the first: a frame-t pixel at screen x shows
/// what the first frame showed at `(x - cx) / zoom + cx - shift.0` (likewise for y).
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    shift: (f32, f32),
    zoom: f32,
}

impl Default for View {
    fn default() -> Self {
        View {
            shift: (0.0, 0.0),
            zoom: 1.0,
        }
    }
}

/// The camera in every frame, found between consecutive frames and chained. Between two frames
/// the camera moves little (a pan of the renderer is about 1.2 pixels a frame at 32×32 and
/// 4 fps), so a small search there cannot be fooled by a periodic background texture, as one
/// search between the first and the last frame was.
fn camera_track(frames: &[RgbImage]) -> Vec<View> {
    let mut views = vec![View::default()];
    for pair in frames.windows(2) {
        let (step, s) = camera_step(&pair[0], &pair[1]);
        let prev = views.last().copied().unwrap_or_default();
        // Chain: b's view of a, then a's of the first frame.
        views.push(View {
            shift: (
                prev.shift.0 + step.0 / prev.zoom,
                prev.shift.1 + step.1 / prev.zoom,
            ),
            zoom: prev.zoom * s,
        });
    }
    views
}

/// The shift (pixels, to half a pixel) and zoom that best map frame `a` onto the next frame `b`:
/// whole-pixel shifts first, on half the pixels, then half-pixel steps around the best.
fn camera_step(a: &RgbImage, b: &RgbImage) -> ((f32, f32), f32) {
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let cost = |dx: f32, dy: f32, s: f32, every: usize| -> f32 {
        let (mut sum, mut n, mut total) = (0f32, 0f32, 0f32);
        for y in 0..h {
            for x in (y % every..w).step_by(every) {
                total += 1.0;
                // Where b's pixel (x, y) was in a.
                let ax = (x as f32 + 0.5 - cx) / s + cx - dx - 0.5;
                let ay = (y as f32 + 0.5 - cy) / s + cy - dy - 0.5;
                let Some(pa) = bilinear(a, ax, ay) else {
                    continue;
                };
                let pb = b.get_pixel(x as u32, y as u32).0;
                // Truncated: a moving object costs the same however it is matched, so the
                // background, not the object, decides the camera's motion.
                sum += dist_to(pa, &pb).min(40.0);
                n += 1.0;
            }
        }
        if n < total * 0.5 {
            f32::INFINITY
        } else {
            sum / n
        }
    };
    let reach = (h as i32 / 8).max(2);
    let mut coarse = Best::default();
    for s in [0.94f32, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06] {
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (dx, dy) = (dx as f32, dy as f32);
                coarse.consider((dx, dy), s, cost(dx, dy, s, 2));
            }
        }
    }
    let ((bx, by), bs) = (coarse.shift, coarse.zoom);
    let mut fine = Best::default();
    for s in [bs - 0.01, bs, bs + 0.01] {
        for ky in -1..=1 {
            for kx in -1..=1 {
                let (dx, dy) = (bx + 0.5 * kx as f32, by + 0.5 * ky as f32);
                fine.consider((dx, dy), s, cost(dx, dy, s, 1));
            }
        }
    }
    (fine.shift, fine.zoom)
}

/// The best camera step so far in a search.
struct Best {
    cost: f32,
    shift: (f32, f32),
    zoom: f32,
}

impl Default for Best {
    fn default() -> Self {
        Best {
            cost: f32::INFINITY,
            shift: (0.0, 0.0),
            zoom: 1.0,
        }
    }
}

impl Best {
    /// Keeps the step if it costs less; ties go to the smaller motion, so that a still camera
    /// stays still.
    fn consider(&mut self, shift: (f32, f32), zoom: f32, cost: f32) {
        let size = |m: (f32, f32), s: f32| m.0.abs() + m.1.abs() + (s - 1.0).abs() * 100.0;
        if cost < self.cost - 1e-4
            || (cost <= self.cost + 1e-4 && size(shift, zoom) < size(self.shift, self.zoom))
        {
            *self = Best { cost, shift, zoom };
        }
    }
}

/// `img` at a fractional pixel position (pixel centres at integers), or `None` outside it.
fn bilinear(img: &RgbImage, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if x < 0.0 || y < 0.0 || x > w - 1.0 || y > h - 1.0 {
        return None;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(img.width() - 1),
        (y0 + 1).min(img.height() - 1),
    );
    let p = |x: u32, y: u32| img.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Some(std::array::from_fn(|k| {
        (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy
    }))
}

/// The first frame's coordinates, extended by one frame on every side so that what a moving
/// camera shows later has a place too: one cell per first-frame pixel.
struct Canvas {
    w: usize,
    h: usize,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Canvas { w, h }
    }

    /// Screen position (pixel corner coordinates) in a frame seen from `view` → first-frame
    /// position.
    fn screen_to_first(&self, view: View, x: f32, y: f32) -> (f32, f32) {
        let (cx, cy) = (self.w as f32 / 2.0, self.h as f32 / 2.0);
        (
            (x - cx) / view.zoom + cx - view.shift.0,
            (y - cy) / view.zoom + cy - view.shift.1,
        )
    }

    /// The inverse of [`Canvas::screen_to_first`].
    fn first_to_screen(&self, view: View, x: f32, y: f32) -> (f32, f32) {
        let (cx, cy) = (self.w as f32 / 2.0, self.h as f32 / 2.0);
        (
            (x - cx + view.shift.0) * view.zoom + cx,
            (y - cy + view.shift.1) * view.zoom + cy,
        )
    }

    /// The canvas cell behind screen pixel (x, y) of a frame seen from `view`.
    fn cell_of(&self, view: View, x: f32, y: f32) -> Option<usize> {
        let (fx, fy) = self.screen_to_first(view, x + 0.5, y + 0.5);
        let (cx, cy) = (
            fx.floor() as i64 + self.w as i64,
            fy.floor() as i64 + self.h as i64,
        );
        let (cw, ch) = (3 * self.w as i64, 3 * self.h as i64);
        (cx >= 0 && cy >= 0 && cx < cw && cy < ch).then(|| (cy * cw + cx) as usize)
    }

    /// Whether `p` is within 40 levels of the background of `cell` or of a cell beside it: the
    /// background seen a pixel off (a texture or the horizon under a camera move the tracking
    /// did not quite take out), not an object.
    fn near_background(&self, bg: &[Option<[u8; 3]>], cell: usize, p: [u8; 3]) -> bool {
        let cw = 3 * self.w;
        let (cx, cy) = (cell % cw, cell / cw);
        (cy.saturating_sub(1)..=(cy + 1).min(3 * self.h - 1)).any(|y| {
            (cx.saturating_sub(1)..=(cx + 1).min(cw - 1))
                .any(|x| bg[y * cw + x].is_some_and(|b| dist(p, b) <= 40))
        })
    }

    /// The background of every cell: the per-channel median of what the frames show there,
    /// where at least three frames show it.
    fn background(&self, frames: &[RgbImage], views: &[View]) -> Vec<Option<[u8; 3]>> {
        let cells = 9 * self.w * self.h;
        let mut seen: Vec<Vec<[u8; 3]>> = vec![Vec::new(); cells];
        for (f, &view) in frames.iter().zip(views) {
            for (x, y, p) in f.enumerate_pixels() {
                if let Some(c) = self.cell_of(view, x as f32, y as f32) {
                    seen[c].push(p.0);
                }
            }
        }
        seen.into_iter()
            .map(|v| {
                if v.len() < 3 {
                    return None;
                }
                let mid = v.len() / 2;
                Some(std::array::from_fn(|ch| {
                    let mut c: Vec<u8> = v.iter().map(|p| p[ch]).collect();
                    c.sort_unstable();
                    c[mid]
                }))
            })
            .collect()
    }
}

/// The evaluation as a Markdown table: the model's row, the renderer's, and the false accepts of
/// the colour and shape measures on the renderer's [`decoy`] and [`shape_decoy`] clips.
pub fn table(e: &Evaluation) -> String {
    let pct = |v: f32| {
        if v.is_nan() {
            "–".to_string()
        } else {
            format!("{:.0}%", 100.0 * v)
        }
    };
    let row = |name: &str, s: &Summary| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            s.clips,
            pct(s.colour),
            pct(s.held_out_colour),
            pct(s.shape),
            pct(s.direction),
            pct(s.bounce),
            pct(s.camera),
            s.flicker
        )
    };
    let d = Summary::of(&e.decoys);
    let sd = Summary::of(&e.shape_decoys);
    [
        "| clips from | prompts | colour | colour (held-out pairs) | shape | direction of motion | bounce when asked | camera direction | flicker (levels) |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
        row("the model", &Summary::of(&e.ours)),
        row("the renderer (ground truth: the scorer's own ceiling)", &Summary::of(&e.truth)),
        format!(
            "| the renderer, the asked object in the nearest other colour (the colour measure's false accepts; lower is better) | {} | {} | {} | – | – | – | – | – |",
            d.clips,
            pct(d.colour),
            pct(d.held_out_colour)
        ),
        format!(
            "| the renderer, the asked object in another shape (the shape measure's false accepts; lower is better) | {} | – | – | {} | – | – | – | – |",
            sd.clips,
            pct(sd.shape)
        ),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour_of(p: [u8; 3], bg: [u8; 3]) -> Option<(Color, f32)> {
        unmix(p, bg).map(|(k, a)| (Color::ALL[k], a))
    }

    #[test]
    fn unmixing_reads_edges_shading_and_close_colours() {
        let sky = [170, 210, 240];
        let orange = Color::Orange.rgb();
        // Half an orange edge over the sky is nearest to pink as a whole pixel; unmixed, it is
        // orange at half coverage.
        let half: [u8; 3] =
            std::array::from_fn(|i| ((u16::from(orange[i]) + u16::from(sky[i])) / 2) as u8);
        assert_eq!(nearest_colour(half), Color::Pink);
        let (c, a) = colour_of(half, sky).unwrap();
        assert_eq!(c, Color::Orange);
        assert!((a - 0.5).abs() < 0.05, "{a}");
        // Orange in the renderer's shadow (0.75) is nearest to brown whole; unmixed, orange.
        let shaded = orange.map(|v| (f32::from(v) * 0.75).round() as u8);
        assert_eq!(nearest_colour(shaded), Color::Brown);
        assert_eq!(colour_of(shaded, sky).map(|x| x.0), Some(Color::Orange));
        // Brown itself stays brown: shading costs a little, so it does not read as dark orange.
        assert_eq!(
            colour_of(Color::Brown.rgb(), sky).map(|x| x.0),
            Some(Color::Brown)
        );
        // Every palette colour, whole, over each background, reads as itself.
        for bg in [
            sky,
            [70, 150, 60],
            [215, 190, 130],
            [20, 25, 55],
            [240, 242, 245],
        ] {
            for &c in Color::ALL {
                if dist(c.rgb(), bg) > 40 {
                    assert_eq!(
                        colour_of(c.rgb(), bg).map(|x| x.0),
                        Some(c),
                        "{c:?} on {bg:?}"
                    );
                }
            }
        }
        // A colour far from every palette colour and the background votes for none.
        assert_eq!(colour_of([0, 255, 128], sky), None);
    }
}
