//! Denoising error per noise level: how well the model recovers a clip it is given, apart from
//! how well it makes one from nothing.
//!
//! For each level t, fresh training clips are noised to x_t = (1 - t) x0 + t noise, and two
//! errors are measured against x0, as RMS in 8-bit levels:
//! - **one step:** the model's own estimate of the clean clip, x_t - t v;
//! - **sampled down:** Euler steps of the flow from t to 0 (the sampler's own step size,
//!   1/24 of the whole way, no guidance), so errors the model makes along the way add up as they
//!   do when it samples.
//!
//! A model whose one-step error is small but whose sampled-down error is large makes errors that
//! compound: each step leaves x_t a little off what training showed it, and the next step reads
//! that as content.

use candle_core::{Device, Tensor};
use serde::Serialize;

use crate::data::batch;
use crate::error::Result;
use crate::model::Model;
use crate::rng::Rng;
use crate::train::noise_like;

/// The noise levels measured (0 is the clip, 1 pure noise).
pub const LEVELS: [f32; 6] = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95];

/// Sampling steps over the whole way from 1 to 0, as `generate` uses.
const STEPS_PER_UNIT: f32 = 24.0;

/// The errors at one noise level, in 8-bit levels (RMS over every sample of every clip).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LevelError {
    pub t: f32,
    pub one_step: f32,
    pub sampled_down: f32,
}

fn rms_levels(a: &Tensor, b: &Tensor) -> Result<f32> {
    // Clips are in [-1, 1]: one unit is 127.5 levels.
    let mse = (a.clamp(-1f32, 1f32)? - b)?
        .sqr()?
        .mean_all()?
        .to_scalar::<f32>()?;
    Ok(mse.sqrt() * 127.5)
}

/// Measures [`LEVELS`] on `clips` training-distribution clips drawn from `seed` (with their
/// prompts), the same clips and noise at every level.
pub fn denoising_error(
    model: &Model,
    clips: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<LevelError>> {
    let cfg = model.config();
    let mut rng = Rng::new(seed);
    let (x0, ids) = batch(cfg, clips.max(1), &mut rng, 0.0, device)?;
    let noise = noise_like(&x0, &mut rng)?;
    let b = x0.dim(0)?;
    LEVELS
        .iter()
        .map(|&t| {
            let tt = f64::from(t);
            let x_t = ((&x0 * (1.0 - tt))? + (&noise * tt)?)?;
            let at = |t: f32| Tensor::new(vec![t; b].as_slice(), device);
            let v = model.forward(&x_t, &at(t)?, &ids)?;
            let one = (&x_t - (v * tt)?)?;
            let steps = (STEPS_PER_UNIT * t).round().max(1.0) as usize;
            let dt = tt / steps as f64;
            let mut x = x_t;
            for i in 0..steps {
                let now = tt - i as f64 * dt;
                let v = model.forward(&x, &at(now as f32)?, &ids)?;
                x = (x - (v * dt)?)?.detach();
            }
            Ok(LevelError {
                t,
                one_step: rms_levels(&one, &x0)?,
                sampled_down: rms_levels(&x, &x0)?,
            })
        })
        .collect()
}

/// The errors as a Markdown table, one column per level.
pub fn table(errors: &[LevelError]) -> String {
    let cells = |f: &dyn Fn(&LevelError) -> String| -> String {
        errors.iter().map(|e| format!(" {} |", f(e))).collect()
    };
    [
        format!("| noise level t |{}", cells(&|e| format!("{}", e.t))),
        format!("|---|{}", cells(&|_| "---".into())),
        format!(
            "| one step: RMS error of the clean-clip estimate (levels) |{}",
            cells(&|e| format!("{:.1}", e.one_step))
        ),
        format!(
            "| sampled down from t to 0: RMS error (levels) |{}",
            cells(&|e| format!("{:.1}", e.sampled_down))
        ),
    ]
    .join("\n")
}
