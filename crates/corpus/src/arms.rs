//! The arms of the dataset: what each one is, its label, and how one clip of it is made.
//!
//! Label 0 is "not made by a generative model": real footage and photographs, and the things
//! easiest to confuse with generated video (the renderer the generator learned from, real and
//! rendered clips through the generator's own output path, plain upscales, real clips softened
//! by resampling, blur and compression ([`crate::soften`]), test patterns, CGI).
//! Label 1 is synthetic, by family: F1 verity's generator, F2 real clips re-noised and denoised
//! by it (SDEdit), F3 real clips re-synthesised by small decoders trained here
//! ([`crate::decoders`]), F4 real clips brought down and up again by a learned super-resolution
//! network that ships in a package (UpscalerJS's esrgan-slim, run in candle): synthetic and
//! sharp, beside the plain upscales of the same scenes that are not AI.

use candle_core::Device;
use image::{RgbImage, imageops};
use serde::{Deserialize, Serialize};
use verity_detect::classifier::canon;
use verity_generate::data::{clip_tensor, random_spec};
use verity_generate::pipeline::LoadedModel;
use verity_generate::rng::Rng;
use verity_generate::sample::{
    Init, SampleOptions, clip_frames, frames_clip, output_frame, sample, sample_from,
};

use crate::error::Result;
use crate::sources::{Footage, Photo};

/// One arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// Real footage, windows of it (label 0).
    RealVideo,
    /// The iscc demo scene in its other codecs and containers (label 0): the codec probe.
    RealCodec,
    /// Photographs of real scenes with slow pans and zooms (label 0).
    RealPhoto,
    /// Rendered animation (label 0).
    Cgi,
    /// FFmpeg's test patterns (label 0).
    Lavfi,
    /// The procedural renderer at the canonical size (label 0).
    Render,
    /// Real clips at the model's 32 pixels and 16 frames, through the generator's output path
    /// (label 0).
    OutpathReal,
    /// The renderer's clips at the model's size (its training data), through the output path
    /// (label 0).
    OutpathRender,
    /// Real clips halved and upscaled again (Catmull-Rom) (label 0).
    Bicubic,
    /// Real clips down by 1/4 to 3/4 and up again through a random pair of filters (label 0):
    /// [`crate::soften::resampled`].
    Resampled,
    /// Real clips blurred, through low-quality JPEG, or through a platform's small high-CRF
    /// H.264 (label 0): [`crate::soften::degraded`].
    Degraded,
    /// F1: verity's generator (label 1).
    Generator,
    /// F2: real clips noised and denoised by verity's generator (SDEdit) (label 1).
    Sdedit,
    /// F3: real clips re-synthesised frame by frame by a small network trained here: an
    /// autoencoder with a transposed-convolution or a sub-pixel decoder, or a learned ×4
    /// upsampler (label 1).
    Decoder,
    /// F4: real clips brought to 1/2 or 1/4 of the canonical size and up again by a learned
    /// super-resolution network (label 1).
    Esrgan,
}

impl Arm {
    pub const ALL: [Arm; 15] = [
        Arm::RealVideo,
        Arm::RealCodec,
        Arm::RealPhoto,
        Arm::Cgi,
        Arm::Lavfi,
        Arm::Render,
        Arm::OutpathReal,
        Arm::OutpathRender,
        Arm::Bicubic,
        Arm::Resampled,
        Arm::Degraded,
        Arm::Generator,
        Arm::Sdedit,
        Arm::Decoder,
        Arm::Esrgan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Arm::RealVideo => "real-video",
            Arm::RealCodec => "real-codec",
            Arm::RealPhoto => "real-photo",
            Arm::Cgi => "cgi",
            Arm::Lavfi => "lavfi",
            Arm::Render => "render",
            Arm::OutpathReal => "outpath-real",
            Arm::OutpathRender => "outpath-render",
            Arm::Bicubic => "bicubic",
            Arm::Resampled => "resampled",
            Arm::Degraded => "degraded",
            Arm::Generator => "generator",
            Arm::Sdedit => "sdedit",
            Arm::Decoder => "decoder",
            Arm::Esrgan => "esrgan",
        }
    }

    /// 1 for synthetic, 0 otherwise.
    pub fn label(self) -> u8 {
        u8::from(self.family().is_some())
    }

    /// The generator family of a synthetic arm.
    pub fn family(self) -> Option<&'static str> {
        match self {
            Arm::Generator => Some("F1"),
            Arm::Sdedit => Some("F2"),
            Arm::Decoder => Some("F3"),
            Arm::Esrgan => Some("F4"),
            _ => None,
        }
    }

    /// Whether the arm is made from real sources (its clips take their source's split).
    pub fn from_real(self) -> bool {
        matches!(
            self,
            Arm::RealVideo
                | Arm::RealCodec
                | Arm::RealPhoto
                | Arm::OutpathReal
                | Arm::Bicubic
                | Arm::Resampled
                | Arm::Degraded
                | Arm::Sdedit
                | Arm::Decoder
                | Arm::Esrgan
        )
    }

    /// How many clips the default dataset has of this arm.
    pub fn default_count(self) -> usize {
        match self {
            Arm::RealVideo => 150,
            Arm::RealCodec => 64,
            Arm::RealPhoto => 156,
            Arm::Cgi => 30,
            Arm::Lavfi => 36,
            Arm::Render => 120,
            Arm::OutpathReal => 160,
            Arm::OutpathRender => 120,
            Arm::Bicubic => 80,
            Arm::Resampled => 120,
            Arm::Degraded => 120,
            Arm::Generator => 240,
            Arm::Sdedit => 160,
            Arm::Decoder => 160,
            Arm::Esrgan => 160,
        }
    }
}

/// The model clip's length in seconds when `generate` plays it (its default duration), and the
/// output path's frames per model clip at the canonical rate.
const MODEL_CLIP_S: f32 = 4.0;

/// A real source loaded for cutting clips from.
#[derive(Debug)]
pub enum Real<'a> {
    Footage(&'a Footage),
    Photo(&'a Photo),
}

impl Real<'_> {
    /// `n` canonical frames over `span_s` seconds.
    pub fn clip(&self, rng: &mut Rng, n: usize, span_s: f64) -> Vec<RgbImage> {
        match self {
            Real::Footage(f) => f.clip(rng, n, span_s),
            Real::Photo(p) => p.clip(rng, n),
        }
    }

    /// A real clip as the model sees a clip: 16 frames over 4 s at 32 × 32 (the model's size).
    pub fn model_clip(&self, rng: &mut Rng, frames: usize, side: u32) -> Vec<RgbImage> {
        self.clip(rng, frames, f64::from(MODEL_CLIP_S))
            .iter()
            .map(|f| imageops::resize(f, side, side, imageops::FilterType::Triangle))
            .collect()
    }
}

/// A canonical clip: the output path's frames of a 16-frame model clip, 2 s of the 4 s it
/// plays over, from a random start.
pub fn through_output_path(model_frames: &[RgbImage], rng: &mut Rng) -> Vec<RgbImage> {
    let total = (MODEL_CLIP_S * canon::FPS as f32) as usize;
    let start = rng.below(total - canon::FRAMES + 1);
    (start..start + canon::FRAMES)
        .map(|i| {
            output_frame(
                model_frames,
                i as u32,
                canon::FPS,
                MODEL_CLIP_S,
                canon::SIZE,
                canon::SIZE,
            )
        })
        .collect()
}

/// A real clip halved and upscaled again with Catmull-Rom.
pub fn bicubic(frames: Vec<RgbImage>) -> Vec<RgbImage> {
    frames
        .iter()
        .map(|f| {
            let half = imageops::resize(
                f,
                canon::SIZE / 2,
                canon::SIZE / 2,
                imageops::FilterType::Triangle,
            );
            imageops::resize(
                &half,
                canon::SIZE,
                canon::SIZE,
                imageops::FilterType::CatmullRom,
            )
        })
        .collect()
}

/// The renderer at the canonical size: a random scene (held-out pairs included), 2 s.
pub fn render(rng: &mut Rng, seed: u64) -> (String, Vec<RgbImage>) {
    let spec = random_spec(rng, true);
    let opts = verity_generate::RenderOptions {
        width: canon::SIZE,
        height: canon::SIZE,
        fps: canon::FPS as f32,
        duration_s: canon::FRAMES as f32 / canon::FPS as f32,
        seed,
    };
    (
        spec.canonical_prompt(),
        verity_generate::render(&spec, &opts),
    )
}

/// The renderer's clip at the model's size (what the generator was trained on) through the
/// output path.
pub fn outpath_render(
    model: &LoadedModel,
    rng: &mut Rng,
    seed: u64,
) -> Result<(String, Vec<RgbImage>)> {
    let spec = random_spec(rng, true);
    let clip = clip_tensor(&spec, model.config(), seed, &Device::Cpu)?;
    let frames = clip_frames(&clip)?;
    Ok((spec.canonical_prompt(), through_output_path(&frames, rng)))
}

/// F1: a random scene's prompt sampled by the generator at its own guidance, through the
/// output path, as `generate` makes it.
pub fn generator(model: &LoadedModel, rng: &mut Rng, seed: u64) -> Result<(String, Vec<RgbImage>)> {
    let spec = random_spec(rng, true);
    let prompt = spec.canonical_prompt();
    let opts = SampleOptions {
        steps: 24,
        guidance: model.config().guidance,
        seed,
    };
    let clip = sample(&model.model, &prompt, &opts, &Device::Cpu, |_, _| {})?;
    let frames = clip_frames(&clip)?;
    Ok((prompt, through_output_path(&frames, rng)))
}

/// F2: a real clip at the model's size, noised to a random level in [0.4, 0.8] and sampled back
/// by the generator with the empty prompt (SDEdit), through the output path.
pub fn sdedit(
    model: &LoadedModel,
    real: &Real<'_>,
    rng: &mut Rng,
    seed: u64,
) -> Result<Vec<RgbImage>> {
    let cfg = model.config();
    let side = cfg.width as u32;
    let init_frames = real.model_clip(rng, cfg.frames, side);
    let init = frames_clip(&init_frames, &Device::Cpu)?;
    let t = f64::from(rng.range(0.4, 0.8));
    let opts = SampleOptions {
        steps: 24,
        guidance: 1.0,
        seed,
    };
    let clip = sample_from(
        &model.model,
        "",
        &opts,
        Some(Init { clip: &init, t }),
        &Device::Cpu,
        |_, _| {},
    )?;
    let frames = clip_frames(&clip)?;
    Ok(through_output_path(&frames, rng))
}

/// F4: a real clip, each frame brought down to 1/2 or 1/4 of the canonical size (one factor
/// per clip) and up again by the learned super-resolution network of that factor.
pub fn esrgan(
    ups: &crate::upscaler::Upscalers,
    real: &Real<'_>,
    rng: &mut Rng,
) -> Result<Vec<RgbImage>> {
    let span = canon::FRAMES as f64 / f64::from(canon::FPS);
    let frames = real.clip(rng, canon::FRAMES, span);
    let net = if rng.below(2) == 0 { &ups.x2 } else { &ups.x4 };
    let side = canon::SIZE / net.scale as u32;
    frames
        .iter()
        .map(|f| {
            let small = imageops::resize(f, side, side, imageops::FilterType::Triangle);
            net.upscale(&small)
        })
        .collect()
}

/// F3: a real clip, every frame through one of the decoders trained here (one design per clip).
pub fn decoder(
    decs: &crate::decoders::Decoders,
    real: &Real<'_>,
    rng: &mut Rng,
) -> Result<Vec<RgbImage>> {
    let span = canon::FRAMES as f64 / f64::from(canon::FPS);
    let frames = real.clip(rng, canon::FRAMES, span);
    let net = &decs.nets[rng.below(decs.nets.len())];
    frames.iter().map(|f| net.apply(f)).collect()
}

/// A real clip at the model's size through the output path, untouched by the model.
pub fn outpath_real(model: &LoadedModel, real: &Real<'_>, rng: &mut Rng) -> Vec<RgbImage> {
    let cfg = model.config();
    let frames = real.model_clip(rng, cfg.frames, cfg.width as u32);
    through_output_path(&frames, rng)
}
