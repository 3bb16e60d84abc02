//! The synthetic-video classifier: a small candle network on high-frequency residuals of the
//! canonical view ([`canon`]), its dataset as training reads it ([`data`]), training with
//! checkpoints ([`train`]), and the figures that measure it ([`metrics`]).

pub mod baseline;
pub mod calibrate;
pub mod canon;
pub mod data;
pub mod eval;
pub mod fixed_input_conv;
pub mod metrics;
pub mod net;
pub mod optim;
pub mod overlay;
pub mod platform;
pub mod resample;
pub mod scenes;
pub mod score;
pub mod seeds;
pub mod train;

use std::path::Path;

use crate::error::Result;
use score::Detector;

static BUNDLED_CONFIG: &[u8] = include_bytes!("../../../../models/detector/detector.json");
static BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../../../models/detector/model.safetensors");

/// The classifier built into verity (models/detector when it was built).
pub fn bundled() -> Result<Detector> {
    Detector::from_bytes(
        BUNDLED_CONFIG,
        BUNDLED_WEIGHTS,
        Path::new("models/detector (built in)"),
    )
}

/// The classifier in `dir`, or the built-in one.
pub fn resolve(dir: Option<&Path>) -> Result<Detector> {
    match dir {
        Some(d) => Detector::load(d),
        None => bundled(),
    }
}

/// SplitMix64: batches and initial weights are the same for a seed everywhere.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The generator of one training step: seeded by SplitMix outputs of (seed, step), so that
    /// the streams of two steps are unrelated. (Seeding with `seed ^ step·φ` directly would make
    /// each step's stream the previous step's shifted by one draw, since SplitMix advances its
    /// state by φ: the first weights were trained that way, see the model card.)
    pub(crate) fn for_step(seed: u64, step: u64) -> Self {
        let a = Rng(seed).next_u64();
        let b = Rng(step ^ 0xD1B5_4A32_D192_ED03).next_u64();
        Rng(Rng(a ^ b.rotate_left(17)).next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    /// Uniform index below `n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use image::RgbImage;

    /// Mean absolute difference of horizontal neighbours in the red channel: how much of the
    /// finest detail a frame keeps (the augmentation tests' measure).
    pub(crate) fn detail(img: &RgbImage) -> f64 {
        let (w, h) = img.dimensions();
        let mut s = 0.0;
        for y in 0..h {
            for x in 1..w {
                s += f64::from(img.get_pixel(x, y)[0].abs_diff(img.get_pixel(x - 1, y)[0]));
            }
        }
        s / f64::from((w - 1) * h)
    }
}
