//! Sampling: Euler steps of the flow from noise (t = 1) to a clip (t = 0), with classifier-free
//! guidance.

use candle_core::{Device, Tensor};
use image::RgbImage;

use crate::data::prompt_ids;
use crate::error::Result;
use crate::model::Model;
use crate::rng::Rng;
use crate::train::noise_like;

/// How to sample.
#[derive(Clone, Copy, Debug)]
pub struct SampleOptions {
    pub steps: usize,
    /// Classifier-free guidance scale; 1 means none.
    pub guidance: f32,
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            steps: 24,
            guidance: crate::model::DEFAULT_GUIDANCE,
            seed: 0,
        }
    }
}

/// The guidance scales `generate` and the evaluation accept: 0 to 20.
pub fn guidance_ok(guidance: f32) -> bool {
    guidance.is_finite() && (0.0..=20.0).contains(&guidance)
}

/// Makes one clip for `prompt`: [T, C, H, W] in [-1, 1]. `progress` is called after each step.
pub fn sample(
    model: &Model,
    prompt: &str,
    opts: &SampleOptions,
    device: &Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    let cfg = model.config();
    let steps = opts.steps.max(1);
    let cond = Tensor::new(prompt_ids(cfg, prompt).as_slice(), device)?.unsqueeze(0)?;
    let uncond = Tensor::new(prompt_ids(cfg, "").as_slice(), device)?.unsqueeze(0)?;
    let ids = Tensor::cat(&[&cond, &uncond], 0)?;
    let shape = (1, cfg.frames, cfg.channels, cfg.height, cfg.width);
    let mut rng = Rng::new(opts.seed);
    let mut x = noise_like(
        &Tensor::zeros(shape, candle_core::DType::F32, device)?,
        &mut rng,
    )?;
    let dt = 1.0 / steps as f64;
    for i in 0..steps {
        let t = 1.0 - i as f64 * dt;
        let tt = Tensor::new(&[t as f32, t as f32], device)?;
        let v = model.forward(&Tensor::cat(&[&x, &x], 0)?, &tt, &ids)?;
        let (vc, vu) = (v.narrow(0, 0, 1)?, v.narrow(0, 1, 1)?);
        let guided = (&vu + ((vc - &vu)? * f64::from(opts.guidance))?)?;
        // Detach: sampling needs no gradients, and the graph would otherwise keep every step's
        // intermediates alive.
        x = (x - (guided * dt)?)?.detach();
        progress(i + 1, steps);
    }
    Ok(x.squeeze(0)?.clamp(-1f32, 1f32)?)
}

/// A sampled clip [T, C, H, W] in [-1, 1] as RGB frames.
pub fn clip_frames(clip: &Tensor) -> Result<Vec<RgbImage>> {
    let (t, c, h, w) = clip.dims4()?;
    let data = ((clip.clamp(-1f32, 1f32)? + 1.0)? * 127.5)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    Ok((0..t)
        .map(|f| {
            RgbImage::from_fn(w as u32, h as u32, |x, y| {
                let at = |ch: usize| {
                    data[((f * c + ch) * h + y as usize) * w + x as usize].round() as u8
                };
                image::Rgb([at(0), at(1), at(2)])
            })
        })
        .collect())
}
