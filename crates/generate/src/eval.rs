//! `verity eval generator`: prompt adherence measured by tracking the objects in the output.
//!
//! The prompts are scenes drawn from the scene language with a fixed seed, one in five of them
//! a held-out colour and shape pair. For each, the model samples its native clip (16 frames of
//! 32×32), and the same scorer runs on the model's clip and on the renderer's clip of the same
//! scene. The renderer is the ground truth, so its row says how far the scorer itself can be
//! trusted; the model's row is the figure.
//!
//! The scorer, per clip:
//! - **background:** the per-pixel median over the frames; *foreground* pixels differ from it by
//!   more than 40 levels (summed over R, G, B);
//! - **camera:** the background's motion between the first and last frames, found by trying
//!   shifts of up to ±8 pixels and zooms of 0.8–1.25 and keeping the best match; pans and tilts
//!   read from the shift's sign, zooms from the scale, "static" when neither is clear;
//! - **colour:** the palette colour nearest to most foreground pixels is the asked colour (for a
//!   collision, one of the two most common), leaving out colours that cover 5% or more of the
//!   background itself;
//! - **direction of motion:** the track of the asked colour's foreground pixels (their centroid in
//!   each frame), with the camera's shift added back, moves the asked way along the asked axis
//!   by at least 1.5 pixels and more than along the other axis; "falls" means down;
//! - **bounce:** the track's height goes down and then up again by at least 1 pixel;
//! - **flicker:** the mean absolute change of background pixels from frame to frame, in levels.

use candle_core::Device;
use image::RgbImage;
use serde::Serialize;

use crate::data::{is_held_out, random_spec};
use crate::error::Result;
use crate::model::Model;
use crate::render::{RenderOptions, render};
use crate::rng::Rng;
use crate::sample::{SampleOptions, clip_frames, sample};
use crate::scene::{Camera, Color, Direction, Motion, SceneSpec};

/// How to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct EvalOptions {
    pub prompts: usize,
    pub steps: usize,
    pub guidance: f32,
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            prompts: 120,
            steps: 24,
            guidance: 3.0,
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

/// Scores the model and the renderer on the same prompts.
pub fn evaluate(
    model: &Model,
    opts: &EvalOptions,
    device: &Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Vec<ClipScore>, Vec<ClipScore>)> {
    let cfg = model.config().clone();
    let specs = prompts(opts.prompts, opts.seed);
    let mut ours = Vec::with_capacity(specs.len());
    let mut truth = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let prompt = spec.canonical_prompt();
        let so = SampleOptions {
            steps: opts.steps,
            guidance: opts.guidance,
            seed: opts.seed.wrapping_add(i as u64),
        };
        let clip = sample(model, &prompt, &so, device, |_, _| {})?;
        ours.push(score_clip(&clip_frames(&clip)?, spec));
        let ro = RenderOptions {
            width: cfg.width as u32,
            height: cfg.height as u32,
            fps: cfg.frames as f32 / cfg.clip_seconds,
            duration_s: cfg.clip_seconds,
            seed: so.seed,
        };
        let frames: Vec<RgbImage> = render(spec, &ro).into_iter().take(cfg.frames).collect();
        truth.push(score_clip(&frames, spec));
        progress(i + 1, specs.len());
    }
    Ok((ours, truth))
}

fn dist(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3).map(|i| u32::from(a[i].abs_diff(b[i]))).sum()
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

/// Scores one clip against its scene.
pub fn score_clip(frames: &[RgbImage], spec: &SceneSpec) -> ClipScore {
    let prompt = spec.canonical_prompt();
    let held_out = is_held_out(spec);
    let Some(first) = frames.first() else {
        return ClipScore {
            prompt,
            held_out,
            colour: false,
            direction: None,
            bounce: None,
            camera: None,
            flicker: 0.0,
        };
    };
    let (w, h) = (first.width() as usize, first.height() as usize);
    // Background: the per-pixel median over time.
    let mut bg = vec![[0u8; 3]; w * h];
    for (i, px) in bg.iter_mut().enumerate() {
        for (ch, out) in px.iter_mut().enumerate() {
            let mut v: Vec<u8> = frames.iter().map(|f| f.as_raw()[i * 3 + ch]).collect();
            v.sort_unstable();
            *out = v[v.len() / 2];
        }
    }
    let fg = |f: &RgbImage, i: usize| {
        let p = [
            f.as_raw()[i * 3],
            f.as_raw()[i * 3 + 1],
            f.as_raw()[i * 3 + 2],
        ];
        (dist(p, bg[i]) > 40).then_some(p)
    };
    // Colour: the most common nearest palette colour among foreground pixels.
    let mut counts = vec![0usize; Color::ALL.len()];
    for f in frames {
        for i in 0..w * h {
            if let Some(p) = fg(f, i) {
                let c = nearest_colour(p);
                if let Some(k) = Color::ALL.iter().position(|x| *x == c) {
                    counts[k] += 1;
                }
            }
        }
    }
    // Colours that make up the background itself (a moving camera shows more of it, which the
    // median does not cover) do not count, unless asked for.
    let mut bg_counts = vec![0usize; Color::ALL.len()];
    for p in &bg {
        if let Some(k) = Color::ALL.iter().position(|x| *x == nearest_colour(*p)) {
            bg_counts[k] += 1;
        }
    }
    for (k, c) in counts.iter_mut().enumerate() {
        if bg_counts[k] * 20 >= w * h && Color::ALL[k] != spec.object.color {
            *c = 0;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).filter(|&k| counts[k] > 0).collect();
    order.sort_by(|a, b| counts[*b].cmp(&counts[*a]));
    let top = if spec.collides_with.is_some() { 2 } else { 1 };
    let colour = order
        .iter()
        .take(top)
        .any(|&k| Color::ALL[k] == spec.object.color);
    // Camera: the background's motion from the first to the last frame.
    let last = frames.last().unwrap_or(first);
    let (shift, zoom) = camera_motion(first, last, w, h);
    let camera_ok = match spec.camera {
        Camera::Static => shift.0.abs() < 1.5 && shift.1.abs() < 1.5 && (zoom - 1.0).abs() < 0.04,
        // The camera moving right makes the scene move left in the frame.
        Camera::PanRight => shift.0 <= -1.5,
        Camera::PanLeft => shift.0 >= 1.5,
        Camera::TiltUp => shift.1 >= 1.5,
        Camera::TiltDown => shift.1 <= -1.5,
        Camera::ZoomIn => zoom >= 1.04,
        Camera::ZoomOut => zoom <= 0.96,
    };
    // The asked object's track, with the camera's shift added back.
    let target = spec.object.color;
    let n = frames.len().max(2) as f32 - 1.0;
    let track: Vec<(f32, f32)> = frames
        .iter()
        .enumerate()
        .filter_map(|(t, f)| {
            let (mut sx, mut sy, mut k) = (0f32, 0f32, 0f32);
            for i in 0..w * h {
                if let Some(p) = fg(f, i) {
                    if nearest_colour(p) == target {
                        sx += (i % w) as f32;
                        sy += (i / w) as f32;
                        k += 1.0;
                    }
                }
            }
            let frac = t as f32 / n;
            (k > 0.0).then(|| (sx / k - shift.0 * frac, sy / k - shift.1 * frac))
        })
        .collect();
    let (direction, bounce) = if track.len() < 3 || spec.collides_with.is_some() {
        (None, None)
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
        let bounce = matches!(spec.motion, Motion::Bounces(_)).then(|| {
            // Image y grows downwards: a bounce is a maximum of y followed by a rise of 1 px.
            let mut deepest = f32::NEG_INFINITY;
            track.iter().any(|&(_, y)| {
                deepest = deepest.max(y);
                deepest - y >= 1.0 && deepest - track[0].1 >= 1.0
            })
        });
        (Some(direction), bounce)
    };
    // Flicker: frame-to-frame change of background pixels.
    let mut flick = (0f64, 0usize);
    for pair in frames.windows(2) {
        for i in 0..w * h {
            if fg(&pair[0], i).is_none() && fg(&pair[1], i).is_none() {
                flick.0 += f64::from(dist(
                    [
                        pair[0].as_raw()[i * 3],
                        pair[0].as_raw()[i * 3 + 1],
                        pair[0].as_raw()[i * 3 + 2],
                    ],
                    [
                        pair[1].as_raw()[i * 3],
                        pair[1].as_raw()[i * 3 + 1],
                        pair[1].as_raw()[i * 3 + 2],
                    ],
                )) / 3.0;
                flick.1 += 1;
            }
        }
    }
    ClipScore {
        prompt,
        held_out,
        colour,
        direction,
        bounce,
        camera: Some(camera_ok),
        flicker: (flick.0 / flick.1.max(1) as f64) as f32,
    }
}

/// The shift (pixels, in the frame) and zoom that best map `a` onto `b`.
fn camera_motion(a: &RgbImage, b: &RgbImage, w: usize, h: usize) -> ((f32, f32), f32) {
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let cost = |dx: f32, dy: f32, s: f32| -> f32 {
        let (mut sum, mut n) = (0f32, 0f32);
        for y in 0..h {
            for x in 0..w {
                // Where b's pixel (x, y) was in a.
                let ax = (x as f32 - cx) / s + cx - dx;
                let ay = (y as f32 - cy) / s + cy - dy;
                let (xi, yi) = (ax.round(), ay.round());
                if xi < 0.0 || yi < 0.0 || xi >= w as f32 || yi >= h as f32 {
                    continue;
                }
                let pa = a.get_pixel(xi as u32, yi as u32).0;
                let pb = b.get_pixel(x as u32, y as u32).0;
                sum += dist(pa, pb) as f32;
                n += 1.0;
            }
        }
        if n < (w * h) as f32 * 0.3 {
            f32::INFINITY
        } else {
            sum / n
        }
    };
    let mut best = (f32::INFINITY, (0.0, 0.0), 1.0);
    for s in [0.8f32, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.18, 1.25] {
        for dy in -8..=8 {
            for dx in -8..=8 {
                let c = cost(dx as f32, dy as f32, s);
                if c < best.0 {
                    best = (c, (dx as f32, dy as f32), s);
                }
            }
        }
    }
    (best.1, best.2)
}

/// The evaluation as a Markdown table: the model's row and the renderer's.
pub fn table(ours: &[ClipScore], truth: &[ClipScore]) -> String {
    let pct = |v: f32| {
        if v.is_nan() {
            "–".to_string()
        } else {
            format!("{:.0}%", 100.0 * v)
        }
    };
    let row = |name: &str, s: &Summary| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {:.1} |",
            s.clips,
            pct(s.colour),
            pct(s.held_out_colour),
            pct(s.direction),
            pct(s.bounce),
            pct(s.camera),
            s.flicker
        )
    };
    [
        "| clips from | prompts | colour | colour (held-out pairs) | direction of motion | bounce when asked | camera direction | flicker (levels) |".to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
        row("the model", &Summary::of(ours)),
        row("the renderer (ground truth: the scorer's own ceiling)", &Summary::of(truth)),
    ]
    .join("\n")
}
