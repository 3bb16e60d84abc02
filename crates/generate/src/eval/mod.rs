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

mod blob;
mod camera;
mod colour;
mod prompts;
mod report;
mod score;
mod shape;

use blob::*;
use camera::*;
use colour::*;
pub use prompts::{decoy, prompts, shape_decoy};
pub use report::{contact_sheet, table, write_contact_sheet};
pub use score::score_clip;

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
