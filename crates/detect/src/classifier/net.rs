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
//! - the second-order frame difference `x(t+1) − 2·x(t) + x(t−1)`: motion that is not smooth;
//! - with [`Config::half_scale`], 3 more: the residual at half the scale (the frame averaged
//!   over 2 × 2 blocks first), the octave that a 0.5× resize moves the canonical scale's
//!   detail to.
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
    /// The gain of a fourth group, the residual at half the scale; `None` (the first
    /// weights') leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_scale: Option<f32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            widths: vec![24, 32, 48, 64, 64],
            gains: [8.0, 4.0, 4.0],
            half_scale: None,
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
        if self
            .gains
            .iter()
            .chain(&self.half_scale)
            .any(|g| !g.is_finite() || *g <= 0.0)
        {
            return Err("gains: positive and finite".into());
        }
        Ok(())
    }
}

/// Feature channels of the input without [`Config::half_scale`].
pub const IN_CHANNELS: usize = 9;

impl Config {
    /// Feature channels of the input.
    pub fn in_channels(&self) -> usize {
        IN_CHANNELS + if self.half_scale.is_some() { 3 } else { 0 }
    }
}

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
        let mut cin = cfg.in_channels();
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

    /// Logits `[B]` of features `[B, C, H, W]` (C: [`Config::in_channels`]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, c) in self.convs.iter().enumerate() {
            h = if i == 0 {
                first_layer(c, &h)?
            } else {
                c.forward(&h)?
            }
            .relu()?;
        }
        let pooled = h.mean(D::Minus1)?.mean(D::Minus1)?;
        self.head.forward(&pooled)?.squeeze(D::Minus1)
    }
}

/// The first convolution: its input, the fixed features, takes no gradient, so training skips
/// computing one ([`super::fixed_input_conv`]); the same values as `c.forward(x)`.
fn first_layer(c: &candle_nn::Conv2d, x: &Tensor) -> Result<Tensor> {
    let cfg = c.config();
    if cfg.dilation != 1 || cfg.groups != 1 {
        return c.forward(x);
    }
    let y = super::fixed_input_conv::conv2d_of_constant(x, c.weight(), cfg.padding, cfg.stride)?;
    match c.bias() {
        None => Ok(y),
        Some(bias) => y.broadcast_add(&bias.reshape((1, bias.dims1()?, 1, 1))?),
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

/// The feature channels ([`Config::in_channels`]) of frame triples `[B, 3 (time), 3 (RGB), H,
/// W]` in [0, 1]. H and W must be multiples of 8.
pub fn features(triples: &Tensor, cfg: &Config) -> Result<Tensor> {
    let gains = cfg.gains;
    let (b, _, c, h, w) = triples.dims5()?;
    let prev = triples.narrow(1, 0, 1)?.reshape((b, c, h, w))?;
    let mid = triples.narrow(1, 1, 1)?.reshape((b, c, h, w))?;
    let next = triples.narrow(1, 2, 1)?.reshape((b, c, h, w))?;
    let r1 = (npr(&mid)? * f64::from(gains[0]))?;
    let small = mid.avg_pool2d(4)?;
    let r4 = (npr(&small)?.upsample_nearest2d(h, w)? * f64::from(gains[1]))?;
    let dt = (((next + prev)? - (&mid * 2.0)?)? * f64::from(gains[2]))?;
    match cfg.half_scale {
        Some(g) => {
            let half = mid.avg_pool2d(2)?;
            let r2 = (npr(&half)?.upsample_nearest2d(h, w)? * f64::from(g))?;
            Tensor::cat(&[r1, r4, dt, r2], 1)
        }
        None => Tensor::cat(&[r1, r4, dt], 1),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// Triples of a frame whose rows alternate 0 and 1 every two rows: flat within each 2 × 2
    /// block (no residual at the canonical scale), striped at half the scale.
    fn striped(side: usize) -> Tensor {
        let frame: Vec<f32> = (0..3 * side * side)
            .map(|i| (((i % (side * side)) / side / 2) % 2) as f32)
            .collect();
        let one = Tensor::from_vec(frame, (1, 1, 3, side, side), &Device::Cpu).unwrap();
        Tensor::cat(&[&one, &one, &one], 1).unwrap()
    }

    fn energy(t: &Tensor) -> f32 {
        t.sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn the_half_scale_group_sees_the_octave_below() {
        let x = striped(16);
        let plain = Config::default();
        let f = features(&x, &plain).unwrap();
        assert_eq!(f.dims4().unwrap(), (1, IN_CHANNELS, 16, 16));
        // Two-row stripes leave nothing at the canonical scale, nor in time.
        assert_eq!(energy(&f.narrow(1, 0, 3).unwrap()), 0.0);
        let half = Config {
            half_scale: Some(6.0),
            ..Config::default()
        };
        let f = features(&x, &half).unwrap();
        assert_eq!(f.dims4().unwrap(), (1, 12, 16, 16));
        assert_eq!(half.in_channels(), 12);
        // The first nine channels are the plain ones; the last three see the stripes.
        let first = features(&x, &plain).unwrap();
        let diff = (f.narrow(1, 0, 9).unwrap() - first).unwrap();
        assert_eq!(energy(&diff), 0.0);
        assert!(energy(&f.narrow(1, 9, 3).unwrap()) > 0.0);
        // The network takes twelve channels.
        let vm = candle_nn::VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        let net = Net::new(&half, vb).unwrap();
        assert_eq!(net.forward(&f).unwrap().dims1().unwrap(), 1);
        assert!(
            Config {
                half_scale: Some(f32::NAN),
                ..Config::default()
            }
            .validate()
            .is_err()
        );
    }

    /// The first weights' config (no `half_scale`) reads and writes as it did.
    #[test]
    fn the_first_config_is_unchanged() {
        let json = r#"{"widths":[24,32,48,64,64],"gains":[8.0,4.0,4.0]}"#;
        let cfg: Config = serde_json::from_str(json).unwrap();
        assert_eq!(cfg, Config::default());
        assert_eq!(serde_json::to_string(&cfg).unwrap(), json);
    }
}
