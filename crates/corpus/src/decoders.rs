//! F3: real frames re-synthesised by small networks trained here, in candle. Three decoder
//! designs, each leaving the trace its kind of generator leaves:
//!
//! - `ae-transposed`: an autoencoder (encoder to a 12-channel latent at 1/4 of the size) whose
//!   decoder up-samples by transposed convolution (zeros inserted between pixels, then a 3 × 3
//!   convolution): the checkerboard of GAN and VAE decoders.
//! - `ae-subpixel`: the same encoder, a decoder that up-samples by sub-pixel convolution (a
//!   convolution to 4× the channels, then pixel shuffle; Shi et al. 2016).
//! - `sr-resize`: a learned ×4 upsampler of a frame brought to 1/4 of its size: nearest
//!   up-sampling then convolutions (the resize-convolution of Odena et al. 2016).
//!
//! The networks learn to reconstruct patches of the training split's real frames (L1 loss,
//! AdamW), a fixed number of steps from a fixed seed. [`Decoders::load_or_train`] keeps them in
//! the dataset folder, so a build that resumes uses the same networks.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder, VarMap, conv2d};
use image::{RgbImage, imageops};
use serde::{Deserialize, Serialize};
use verity_detect::classifier::optim::{AdamW, AdamWConfig};
use verity_detect::classifier::train::{init_uniform, sorted_vars};
use verity_generate::rng::Rng;

use crate::error::{CorpusError, Result};

/// The three designs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    AeTransposed,
    AeSubpixel,
    SrResize,
}

impl Design {
    pub const ALL: [Design; 3] = [Design::AeTransposed, Design::AeSubpixel, Design::SrResize];

    pub fn name(self) -> &'static str {
        match self {
            Design::AeTransposed => "ae-transposed",
            Design::AeSubpixel => "ae-subpixel",
            Design::SrResize => "sr-resize",
        }
    }
}

/// Channels of the autoencoders' latent (at 1/4 of the frame's size: 48 values in, 12 kept).
const LATENT: usize = 12;

fn conv(
    vb: &VarBuilder<'_>,
    name: &str,
    i: usize,
    o: usize,
    k: usize,
    stride: usize,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: (k - 1) / 2,
        stride,
        ..Default::default()
    };
    Ok(conv2d(i, o, k, cfg, vb.pp(name))?)
}

/// `(n, c·r², h, w)` to `(n, c, h·r, w·r)`: channel `c·r² + i·r + j` goes to row offset `i`,
/// column offset `j`.
fn pixel_shuffle(x: &Tensor, r: usize) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let c = c / (r * r);
    x.reshape((n, c, r, r, h, w))?
        .permute((0, 1, 4, 2, 5, 3))?
        .reshape((n, c, h * r, w * r))
}

/// `(n, c, h, w)` to `(n, c, 2h, 2w)` with the input at even rows and columns, zeros elsewhere:
/// with a convolution after it, a stride-2 transposed convolution.
fn zero_insert(x: &Tensor) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let x = x.reshape((n, c, h, 1, w, 1))?;
    let z = x.zeros_like()?;
    let row = Tensor::cat(&[&x, &z], 5)?; // (n, c, h, 1, w, 2)
    let zr = row.zeros_like()?;
    Tensor::cat(&[&row, &zr], 3)?.reshape((n, c, 2 * h, 2 * w))
}

/// One network of one design.
#[derive(Debug)]
pub struct Decoder {
    pub design: Design,
    /// Encoder (autoencoders) or low-resolution trunk (the upsampler).
    head: Vec<Conv2d>,
    /// Decoder layers; the last one makes the three colour channels.
    tail: Vec<Conv2d>,
}

impl Decoder {
    fn new(design: Design, vb: &VarBuilder<'_>) -> Result<Decoder> {
        let e = vb.pp("enc");
        let d = vb.pp("dec");
        let (head, tail) = match design {
            Design::AeTransposed | Design::AeSubpixel => {
                let head = vec![
                    conv(&e, "c1", 3, 24, 3, 1)?,
                    conv(&e, "c2", 24, 32, 3, 2)?,
                    conv(&e, "c3", 32, 48, 3, 2)?,
                    conv(&e, "z", 48, LATENT, 1, 1)?,
                ];
                let tail = if design == Design::AeTransposed {
                    vec![
                        conv(&d, "d0", LATENT, 48, 3, 1)?,
                        conv(&d, "t1", 48, 32, 3, 1)?,
                        conv(&d, "t2", 32, 24, 3, 1)?,
                        conv(&d, "out", 24, 3, 3, 1)?,
                    ]
                } else {
                    vec![
                        conv(&d, "d0", LATENT, 48, 3, 1)?,
                        conv(&d, "s1", 48, 32 * 4, 3, 1)?,
                        conv(&d, "s2", 32, 24 * 4, 3, 1)?,
                        conv(&d, "out", 24, 3, 3, 1)?,
                    ]
                };
                (head, tail)
            }
            Design::SrResize => (
                vec![conv(&e, "c1", 3, 32, 5, 1)?, conv(&e, "c2", 32, 32, 3, 1)?],
                vec![
                    conv(&d, "u1", 32, 32, 3, 1)?,
                    conv(&d, "u2", 32, 24, 3, 1)?,
                    conv(&d, "out", 24, 3, 3, 1)?,
                ],
            ),
        };
        Ok(Decoder { design, head, tail })
    }

    /// The network on `(n, 3, h, w)` frames in −0.5..0.5 (the upsampler takes them at 1/4 of
    /// that size); the reconstruction at `(n, 3, h, w)` in the same range, unclamped.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let [c1, c2, c3, z] = match self.head.as_slice() {
            [a, b, c, d] => [a, b, c, d],
            [a, b] => {
                // The upsampler: trunk at low resolution, nearest ×2 twice, convolutions.
                let h = a.forward(x)?.relu()?;
                let h = b.forward(&h)?.relu()?;
                let (_, _, lh, lw) = h.dims4()?;
                let h = h.upsample_nearest2d(lh * 2, lw * 2)?;
                let h = self.tail[0].forward(&h)?.relu()?;
                let h = h.upsample_nearest2d(lh * 4, lw * 4)?;
                let h = self.tail[1].forward(&h)?.relu()?;
                return self.tail[2].forward(&h);
            }
            _ => candle_core::bail!("a decoder with {} encoder layers", self.head.len()),
        };
        let h = c1.forward(x)?.relu()?;
        let h = c2.forward(&h)?.relu()?;
        let h = c3.forward(&h)?.relu()?;
        let latent = z.forward(&h)?;
        let h = self.tail[0].forward(&latent)?.relu()?;
        let (h, out) = match self.design {
            Design::AeTransposed => {
                let h = self.tail[1].forward(&zero_insert(&h)?)?.relu()?;
                (
                    self.tail[2].forward(&zero_insert(&h)?)?.relu()?,
                    &self.tail[3],
                )
            }
            _ => {
                let h = pixel_shuffle(&self.tail[1].forward(&h)?, 2)?.relu()?;
                (
                    pixel_shuffle(&self.tail[2].forward(&h)?, 2)?.relu()?,
                    &self.tail[3],
                )
            }
        };
        out.forward(&h)
    }

    /// What the network's input is for a frame: the frame itself, or for the upsampler the
    /// frame at 1/4 of its size.
    fn input_of(&self, img: &RgbImage) -> RgbImage {
        match self.design {
            Design::SrResize => {
                let (w, h) = img.dimensions();
                imageops::resize(img, w / 4, h / 4, imageops::FilterType::Triangle)
            }
            _ => img.clone(),
        }
    }

    /// One frame (sides a multiple of 4) through the network.
    pub fn apply(&self, img: &RgbImage) -> Result<RgbImage> {
        let (w, h) = img.dimensions();
        let x = to_tensor(&[self.input_of(img)])?;
        let y = ((self.forward(&x)? + 0.5)? * 255.0)?
            .clamp(0f32, 255f32)?
            .round()?
            .squeeze(0)?
            .permute((1, 2, 0))?
            .contiguous()?
            .flatten_all()?
            .to_dtype(DType::U8)?
            .to_vec1::<u8>()?;
        RgbImage::from_raw(w, h, y).ok_or_else(|| CorpusError::BadSource {
            path: PathBuf::from(self.design.name()),
            reason: "the network gave an output of the wrong size".into(),
        })
    }
}

/// Images of one size to `(n, 3, h, w)` in −0.5..0.5.
fn to_tensor(imgs: &[RgbImage]) -> candle_core::Result<Tensor> {
    let (w, h) = imgs.first().map_or((0, 0), |i| i.dimensions());
    let mut v = Vec::with_capacity(imgs.len() * (w * h * 3) as usize);
    for img in imgs {
        v.extend(img.as_raw().iter().map(|&p| f32::from(p) / 255.0 - 0.5));
    }
    Tensor::from_vec(v, (imgs.len(), h as usize, w as usize, 3), &Device::Cpu)?
        .permute((0, 3, 1, 2))?
        .contiguous()
}

/// How the networks were trained, and how well they reconstruct.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainRecord {
    pub design: Design,
    pub schedule: Schedule,
    pub seed: u64,
    /// PSNR (dB) on held-back training patches after the last step.
    pub psnr_db: f32,
    pub params: usize,
    /// Wall time of the training, in seconds.
    pub train_s: f64,
}

/// The F3 networks, one per design.
#[derive(Debug)]
pub struct Decoders {
    pub nets: Vec<Decoder>,
    pub records: Vec<TrainRecord>,
}

/// How long the networks train, on what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub steps: usize,
    pub batch: usize,
    /// Training patches are this many pixels square (a multiple of 4).
    pub patch: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            steps: 1500,
            batch: 8,
            patch: 32,
        }
    }
}

impl Decoders {
    /// Whether `dir` holds every design's network, trained from `seed` on `schedule`.
    pub fn saved(dir: &Path, seed: u64, schedule: Schedule) -> bool {
        let Ok(bytes) = std::fs::read(dir.join("f3.json")) else {
            return false;
        };
        let Ok(records) = serde_json::from_slice::<Vec<TrainRecord>>(&bytes) else {
            return false;
        };
        Design::ALL.iter().all(|&d| {
            records
                .iter()
                .any(|r| r.design == d && r.seed == seed && r.schedule == schedule)
                && dir.join(format!("f3-{}.safetensors", d.name())).is_file()
        })
    }

    /// Loads the networks from `dir` (`f3-<design>.safetensors` and `f3.json`), or trains them
    /// on patches of `frames` (the training split's real frames, 128 × 128) and saves them
    /// there. `progress(design, step, steps)` follows the training.
    pub fn load_or_train(
        dir: &Path,
        frames: &[RgbImage],
        seed: u64,
        schedule: Schedule,
        mut progress: impl FnMut(Design, usize, usize),
    ) -> Result<Decoders> {
        let record_path = dir.join("f3.json");
        let old: Vec<TrainRecord> = match std::fs::read(&record_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| CorpusError::BadSource {
                path: record_path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CorpusError::io(&record_path, e)),
        };
        std::fs::create_dir_all(dir).map_err(|e| CorpusError::io(dir, e))?;
        let mut nets = Vec::new();
        let mut records = Vec::new();
        for design in Design::ALL {
            let weights = dir.join(format!("f3-{}.safetensors", design.name()));
            let mut varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            let net = Decoder::new(design, &vb)?;
            let known = old
                .iter()
                .find(|r| r.design == design && r.seed == seed && r.schedule == schedule);
            let record = match known {
                Some(r) if weights.is_file() => {
                    varmap.load(&weights).map_err(|e| CorpusError::BadSource {
                        path: weights.clone(),
                        reason: e.to_string(),
                    })?;
                    r.clone()
                }
                _ => {
                    let r = train(&net, &varmap, frames, seed, schedule, |s| {
                        progress(design, s, schedule.steps)
                    })?;
                    let part = weights.with_extension("safetensors.part");
                    varmap.save(&part).map_err(|e| CorpusError::BadSource {
                        path: part.clone(),
                        reason: e.to_string(),
                    })?;
                    std::fs::rename(&part, &weights).map_err(|e| CorpusError::io(&weights, e))?;
                    r
                }
            };
            nets.push(net);
            records.push(record);
        }
        let json = serde_json::to_vec_pretty(&records).map_err(|e| CorpusError::BadSource {
            path: record_path.clone(),
            reason: e.to_string(),
        })?;
        verity_fs::write_whole(&record_path, &json)
            .map_err(|e| CorpusError::io(&record_path, e))?;
        Ok(Decoders { nets, records })
    }
}

/// A batch of random patches of `frames` (random frame, position and horizontal flip).
fn patches(frames: &[RgbImage], rng: &mut Rng, n: usize, side: usize) -> Vec<RgbImage> {
    (0..n)
        .map(|_| {
            let f = &frames[rng.below(frames.len())];
            let (w, h) = f.dimensions();
            let x = rng.below((w as usize).saturating_sub(side) + 1) as u32;
            let y = rng.below((h as usize).saturating_sub(side) + 1) as u32;
            let p = imageops::crop_imm(f, x, y, side as u32, side as u32).to_image();
            if rng.below(2) == 0 {
                imageops::flip_horizontal(&p)
            } else {
                p
            }
        })
        .collect()
}

fn train(
    net: &Decoder,
    varmap: &VarMap,
    frames: &[RgbImage],
    seed: u64,
    schedule: Schedule,
    mut progress: impl FnMut(usize),
) -> Result<TrainRecord> {
    let Schedule {
        steps,
        batch: batch_size,
        patch,
    } = schedule;
    let bad = |reason: String| CorpusError::BadSource {
        path: PathBuf::from(net.design.name()),
        reason,
    };
    if patch == 0 || patch % 4 != 0 || batch_size == 0 {
        return Err(bad(format!(
            "{schedule:?}: the patch a multiple of 4, the batch at least 1"
        )));
    }
    let side = patch as u32;
    if frames.is_empty() || frames.iter().any(|f| f.width() < side || f.height() < side) {
        return Err(bad(format!(
            "no training frames of at least {patch} × {patch} pixels"
        )));
    }
    let started = std::time::Instant::now();
    let dev = Device::Cpu;
    init_uniform(varmap, seed, &dev)?;
    let vars = sorted_vars(varmap);
    let params = vars.iter().map(|(_, v)| v.elem_count()).sum();
    let mut opt = AdamW::new(
        vars,
        AdamWConfig {
            lr: 2e-3,
            weight_decay: 0.0,
            ..AdamWConfig::default()
        },
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut rng = Rng::new(seed ^ 0x6633);
    let input = |p: &[RgbImage]| -> candle_core::Result<Tensor> {
        to_tensor(&p.iter().map(|i| net.input_of(i)).collect::<Vec<_>>())
    };
    for step in 0..steps {
        // The learning rate falls by 10× over the last third.
        if step == steps * 2 / 3 {
            opt.cfg.lr /= 10.0;
        }
        let batch = patches(frames, &mut rng, batch_size, patch);
        let target = to_tensor(&batch)?;
        let loss = (net.forward(&input(&batch)?)? - &target)?
            .abs()?
            .mean_all()?;
        let grads = loss.backward()?;
        opt.step(&grads).map_err(|e| bad(e.to_string()))?;
        progress(step + 1);
    }
    // Reconstruction quality on fresh patches.
    let batch = patches(frames, &mut Rng::new(seed ^ 0xe7a1), 32, patch);
    let target = to_tensor(&batch)?;
    let y = net.forward(&input(&batch)?)?.clamp(-0.5f32, 0.5f32)?;
    let mse = (y - &target)?.sqr()?.mean_all()?.to_scalar::<f32>()?;
    Ok(TrainRecord {
        design: net.design,
        schedule,
        seed,
        psnr_db: -10.0 * mse.max(1e-10).log10(),
        params,
        train_s: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_shuffle_places_channels_as_sub_pixels() {
        // Four channels of a 1 × 1 image become one 2 × 2 channel, in row-major order.
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4.], (1, 4, 1, 1), &Device::Cpu).unwrap();
        let y = pixel_shuffle(&x, 2).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 2]);
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![1., 2., 3., 4.]
        );
    }

    #[test]
    fn zero_insert_spreads_pixels_with_zeros_between() {
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4.], (1, 1, 2, 2), &Device::Cpu).unwrap();
        let y = zero_insert(&x).unwrap();
        assert_eq!(y.dims(), &[1, 1, 4, 4]);
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![
                1., 0., 2., 0., 0., 0., 0., 0., 3., 0., 4., 0., 0., 0., 0., 0.
            ]
        );
    }

    /// The networks are saved once trained and loaded, not trained again, by the next build;
    /// another schedule does not count as the same networks.
    #[test]
    fn networks_are_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let frames = vec![RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 8) as u8, (y * 8) as u8, 128])
        })];
        let sched = Schedule {
            steps: 2,
            batch: 2,
            patch: 16,
        };
        assert!(!Decoders::saved(dir.path(), 5, sched));
        let mut steps = 0;
        let first =
            Decoders::load_or_train(dir.path(), &frames, 5, sched, |_, _, _| steps += 1).unwrap();
        assert_eq!(steps, 3 * 2);
        assert!(Decoders::saved(dir.path(), 5, sched));
        assert!(!Decoders::saved(dir.path(), 6, sched));
        assert!(!Decoders::saved(
            dir.path(),
            5,
            Schedule { steps: 3, ..sched }
        ));
        let again = Decoders::load_or_train(dir.path(), &frames, 5, sched, |_, _, _| {
            panic!("trained again")
        })
        .unwrap();
        for (a, b) in first.nets.iter().zip(&again.nets) {
            assert_eq!(a.apply(&frames[0]).unwrap(), b.apply(&frames[0]).unwrap());
        }
    }

    /// A gradient image: each design learns to reconstruct it better than its start, and keeps
    /// the frame's size.
    #[test]
    fn each_design_trains_and_keeps_the_size() {
        let frame = RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 8) as u8, (y * 8) as u8, ((x + y) * 4) as u8])
        });
        let sched = |steps| Schedule {
            steps,
            batch: 4,
            patch: 16,
        };
        for design in Design::ALL {
            let varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            let net = Decoder::new(design, &vb).unwrap();
            let one = std::slice::from_ref(&frame);
            let first = train(&net, &varmap, one, 1, sched(1), |_| {}).unwrap();
            let later = train(&net, &varmap, one, 1, sched(40), |_| {}).unwrap();
            assert!(
                later.psnr_db > first.psnr_db + 3.0,
                "{}: {} dB after 40 steps, {} after 1",
                design.name(),
                later.psnr_db,
                first.psnr_db
            );
            let out = net.apply(&frame).unwrap();
            assert_eq!(out.dimensions(), frame.dimensions());
        }
    }
}
