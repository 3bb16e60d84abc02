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
    progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    sample_from(model, prompt, opts, None, device, progress)
}

/// A clip to start from and the noise level to start at: SDEdit (Meng et al., 2022). The clip
/// ([T, C, H, W] at the model's size, in [-1, 1]) is mixed with noise as training mixes it,
/// x_t = (1 − t)·x0 + t·noise, and sampled down from `t` (in (0, 1]) to 0.
#[derive(Clone, Copy, Debug)]
pub struct Init<'a> {
    pub clip: &'a Tensor,
    pub t: f64,
}

/// [`sample`], from pure noise (`init: None`) or from a noised clip (SDEdit): the steps that fall
/// below `init.t` run, so a start at t = 0.5 takes half of `opts.steps`.
pub fn sample_from(
    model: &Model,
    prompt: &str,
    opts: &SampleOptions,
    init: Option<Init<'_>>,
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
    let noise = noise_like(
        &Tensor::zeros(shape, candle_core::DType::F32, device)?,
        &mut rng,
    )?;
    let t0 = init.map_or(1.0, |i| i.t.clamp(1e-3, 1.0));
    let mut x = match init {
        None => noise,
        Some(i) => {
            let x0 = i.clip.reshape(shape)?.to_device(device)?;
            ((x0 * (1.0 - t0))? + (noise * t0)?)?
        }
    };
    let dt = 1.0 / steps as f64;
    let first = ((1.0 - t0) / dt).round() as usize;
    let run = steps - first.min(steps - 1);
    for (k, i) in (first.min(steps - 1)..steps).enumerate() {
        // The first step starts at t0 exactly (it may fall between two of the grid's steps).
        let (t, h) = match init {
            Some(_) if k == 0 => (t0, t0 - (1.0 - (i + 1) as f64 * dt)),
            _ => (1.0 - i as f64 * dt, dt),
        };
        let tt = Tensor::new(&[t as f32, t as f32], device)?;
        let v = model.forward(&Tensor::cat(&[&x, &x], 0)?, &tt, &ids)?;
        let (vc, vu) = (v.narrow(0, 0, 1)?, v.narrow(0, 1, 1)?);
        let guided = (&vu + ((vc - &vu)? * f64::from(opts.guidance))?)?;
        // Detach: sampling needs no gradients, and the graph would otherwise keep every step's
        // intermediates alive.
        x = (x - (guided * h)?)?.detach();
        progress(k + 1, run);
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

/// RGB frames at the model's size as a clip [T, C, H, W] in [-1, 1]: the inverse of
/// [`clip_frames`].
pub fn frames_clip(frames: &[RgbImage], device: &Device) -> Result<Tensor> {
    let (w, h) = frames.first().map_or((0, 0), |f| f.dimensions());
    let mut data = Vec::with_capacity(frames.len() * 3 * (w * h) as usize);
    for f in frames {
        for c in 0..3 {
            data.extend(f.pixels().map(|p| f32::from(p[c]) / 127.5 - 1.0));
        }
    }
    Ok(Tensor::from_vec(
        data,
        (frames.len(), 3, h as usize, w as usize),
        device,
    )?)
}

/// Output frame `i` at `fps` of a model clip played over `duration` seconds: interpolated
/// linearly in time between the two nearest model frames, then upscaled (Catmull-Rom) to
/// `w`×`h`. This is `generate`'s output path; the detector's data sends other clips through it.
pub fn output_frame(
    frames: &[RgbImage],
    i: u32,
    fps: u32,
    duration: f32,
    w: u32,
    h: u32,
) -> RgbImage {
    let Some(first) = frames.first() else {
        return RgbImage::new(w, h);
    };
    let n = frames.len();
    let pos = (i as f32 / fps as f32 / duration * n as f32 - 0.5).clamp(0.0, (n - 1) as f32);
    let (a, frac) = (pos.floor() as usize, pos.fract());
    let b = (a + 1).min(n - 1);
    let blend = RgbImage::from_fn(first.width(), first.height(), |x, y| {
        let (p, q) = (frames[a].get_pixel(x, y), frames[b].get_pixel(x, y));
        image::Rgb(
            [0, 1, 2]
                .map(|c| (f32::from(p[c]) * (1.0 - frac) + f32::from(q[c]) * frac).round() as u8),
        )
    });
    image::imageops::resize(&blend, w, h, image::imageops::FilterType::CatmullRom)
}
