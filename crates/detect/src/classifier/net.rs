//! The network: residual features of a frame and its neighbours, five convolutions, a global
//! average and one logit.
//!
//! Input features (9 channels, computed in [`features`], never learned):
//! - the NPR residual at the canonical scale, `x − up(down(x))` with factor 2, nearest both
//!   ways (Tan et al., CVPR 2024): what up-sampling leaves behind;
//! - the same residual at a quarter of the scale (the frame averaged over 4 × 4 blocks first,
//!   the residual brought back up by nearest neighbour): the scale of a 32-pixel generator
//!   upscaled 4×, whose output-path twins (real and rendered clips through the same path) are
//!   in the data as negatives;
//! - the second-order frame difference `x(t+1) − 2·x(t) + x(t−1)`: motion that is not smooth.
//!
//! No raw colour goes in, so the network cannot learn "the renderer's palette" or "a real
//! scene's content" directly.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Conv2dConfig, VarBuilder, conv2d, linear};
use serde::{Deserialize, Serialize};

/// The network's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Output channels of each 3 × 3 convolution; every one after the first has stride 2.
    pub widths: Vec<usize>,
    /// Gains on the three feature groups (residual ×2, residual ×8 scale, temporal).
    pub gains: [f32; 3],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            widths: vec![24, 32, 48, 64, 64],
            gains: [8.0, 4.0, 4.0],
        }
    }
}

impl Config {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.widths.is_empty() || self.widths.len() > 8 {
            return Err("widths: 1 to 8 layers".into());
        }
        if self.widths.iter().any(|&w| w == 0 || w > 512) {
            return Err("widths: 1 to 512 channels each".into());
        }
        if self.gains.iter().any(|g| !g.is_finite() || *g <= 0.0) {
            return Err("gains: positive and finite".into());
        }
        Ok(())
    }
}

/// Feature channels of the input.
pub const IN_CHANNELS: usize = 9;

/// The classifier network.
#[derive(Debug)]
pub struct Net {
    convs: Vec<candle_nn::Conv2d>,
    head: candle_nn::Linear,
    cfg: Config,
}

impl Net {
    pub fn new(cfg: &Config, vb: VarBuilder<'_>) -> Result<Net> {
        let mut convs = Vec::with_capacity(cfg.widths.len());
        let mut cin = IN_CHANNELS;
        for (i, &w) in cfg.widths.iter().enumerate() {
            let c = Conv2dConfig {
                padding: 1,
                stride: if i == 0 { 1 } else { 2 },
                ..Default::default()
            };
            convs.push(conv2d(cin, w, 3, c, vb.pp(format!("conv{i}")))?);
            cin = w;
        }
        let head = linear(cin, 1, vb.pp("head"))?;
        Ok(Net {
            convs,
            head,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Logits `[B]` of features `[B, 9, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for c in &self.convs {
            h = c.forward(&h)?.relu()?;
        }
        let pooled = h.mean(D::Minus1)?.mean(D::Minus1)?;
        self.head.forward(&pooled)?.squeeze(D::Minus1)
    }
}

/// `x − up(down(x))` for factor 2, nearest both ways: each pixel minus the top-left pixel of
/// its 2 × 2 block. `x` is `[B, C, H, W]` with even H and W.
fn npr(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let tl = x
        .reshape((b, c, h / 2, 2, w / 2, 2))?
        .narrow(3, 0, 1)?
        .narrow(5, 0, 1)?
        .reshape((b, c, h / 2, w / 2))?;
    x - tl.upsample_nearest2d(h, w)?
}

/// The 9 feature channels of frame triples `[B, 3 (time), 3 (RGB), H, W]` in [0, 1]. H and W
/// must be multiples of 8.
pub fn features(triples: &Tensor, gains: [f32; 3]) -> Result<Tensor> {
    let (b, _, c, h, w) = triples.dims5()?;
    let prev = triples.narrow(1, 0, 1)?.reshape((b, c, h, w))?;
    let mid = triples.narrow(1, 1, 1)?.reshape((b, c, h, w))?;
    let next = triples.narrow(1, 2, 1)?.reshape((b, c, h, w))?;
    let r1 = (npr(&mid)? * f64::from(gains[0]))?;
    let small = mid.avg_pool2d(4)?;
    let r4 = (npr(&small)?.upsample_nearest2d(h, w)? * f64::from(gains[1]))?;
    let dt = (((next + prev)? - (mid * 2.0)?)? * f64::from(gains[2]))?;
    Tensor::cat(&[r1, r4, dt], 1)
}

/// Frame triples as a tensor `[B, 3, 3, S, S]` in [0, 1], each cropped to the `side`-pixel
/// square at its offset (and mirrored when asked).
pub fn triples_tensor(
    triples: &[&[image::RgbImage; 3]],
    crops: &[(u32, u32, bool)],
    side: u32,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let s = side as usize;
    let mut data = Vec::with_capacity(triples.len() * 9 * s * s);
    for (t, &(x0, y0, flip)) in triples.iter().zip(crops) {
        for img in t.iter() {
            for ch in 0..3 {
                for y in 0..side {
                    for x in 0..side {
                        let sx = if flip { x0 + side - 1 - x } else { x0 + x };
                        let p = img.get_pixel(sx, y0 + y);
                        data.push(f32::from(p[ch]) / 255.0);
                    }
                }
            }
        }
    }
    Tensor::from_vec(data, (triples.len(), 3, 3, s, s), device)
}
