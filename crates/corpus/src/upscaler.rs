//! F4: learned super-resolution that ships inside packages, run in candle. UpscalerJS's
//! `@upscalerjs/esrgan-slim` and `esrgan-medium` (npm, MIT) carry residual dense networks
//! (RDN, Zhang et al. 2018, as trained with idealo's ISR code) as TF.js layers-models:
//! `model.json` (the Keras topology and a weights manifest) and little-endian `.bin` shards.
//! [`Rdn::load`] reads those files as they come out of the package (fetched by
//! `scripts/fetch-detector-data.sh`, never at run time) and runs the network:
//!
//! ```text
//! x (0..255) → F_m1 3×3 → F_0 3×3 → D × [ relu(F_d_1 3×3, G) ‖ x → LFF_d 1×1 → + x ]
//!   → concat(LRL_1..D) → GFF_1 1×1 → GFF_2 3×3 → + F_m1
//!   → relu(UPN1 5×5) → relu(UPN2 3×3) → UPN3 3×3 (3·s² channels) → nearest ×s → SR 3×3 → (0..255)
//! ```
//!
//! Each package ships a 128 × 128 fixture and the outputs its own runtime gives for it; the
//! test compares this port against them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use image::RgbImage;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{CorpusError, Result};

/// The networks the F4 arm uses: esrgan-slim's ×2 and ×4.
#[derive(Debug)]
pub struct Upscalers {
    pub x2: Rdn,
    pub x4: Rdn,
}

impl Upscalers {
    /// Loads them from the sources folder (`upscalers/esrgan-slim/models/x{2,4}/model.json`).
    pub fn load(sources: &Path) -> Result<Upscalers> {
        let pkg = sources.join("upscalers/esrgan-slim");
        if !pkg.join("package.json").is_file() {
            return Err(CorpusError::NoSources {
                dir: sources.to_path_buf(),
                what: "upscaler (esrgan-slim)",
            });
        }
        Ok(Upscalers {
            x2: Rdn::load(&pkg.join("models/x2/model.json"))?,
            x4: Rdn::load(&pkg.join("models/x4/model.json"))?,
        })
    }
}

/// A conv layer of the network: OIHW weights, a bias, "same" padding.
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
    pad: usize,
}

impl Conv {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = x.conv2d(&self.weight, self.pad, 1, 1, 1)?;
        y.broadcast_add(&self.bias.reshape((1, self.bias.dim(0)?, 1, 1))?)
    }
}

/// A residual dense network for super-resolution by `scale`.
#[derive(Debug)]
pub struct Rdn {
    f_m1: Conv,
    f_0: Conv,
    /// Each block's growth convolution and its local fusion.
    blocks: Vec<(Conv, Conv)>,
    gff_1: Conv,
    gff_2: Conv,
    upn: [Conv; 3],
    sr: Conv,
    pub scale: usize,
    /// What was loaded, for errors and the index.
    pub source: PathBuf,
    /// The SHA-256 of the files it was loaded from: `model.json`, then its shards in the
    /// manifest's order (what the dataset's index records of an F4 network).
    pub weights_sha256: String,
}

#[derive(Deserialize)]
struct ModelJson {
    format: String,
    #[serde(rename = "weightsManifest")]
    manifest: Vec<ManifestGroup>,
}

#[derive(Deserialize)]
struct ManifestGroup {
    paths: Vec<String>,
    weights: Vec<WeightSpec>,
}

#[derive(Deserialize)]
struct WeightSpec {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    quantization: Option<Quantization>,
}

#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    scale: f32,
    min: f32,
}

fn bad(path: &Path, reason: impl Into<String>) -> CorpusError {
    CorpusError::BadSource {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a TF.js layers-model's weights: name → tensor in its stored (Keras) layout, and the
/// SHA-256 of what was read (`model.json`, then its shards in the manifest's order).
fn read_weights(model_json: &Path) -> Result<(HashMap<String, Tensor>, String)> {
    let text = std::fs::read_to_string(model_json).map_err(|e| CorpusError::io(model_json, e))?;
    let mut sha = Sha256::new();
    sha.update(text.as_bytes());
    let m: ModelJson = serde_json::from_str(&text)
        .map_err(|e| bad(model_json, format!("not a TF.js model.json: {e}")))?;
    if m.format != "layers-model" {
        return Err(bad(
            model_json,
            format!("a `{}` model; only layers-models are read", m.format),
        ));
    }
    let dir = model_json.parent().unwrap_or(Path::new("."));
    let mut out = HashMap::new();
    for group in &m.manifest {
        let mut bytes = Vec::new();
        for p in &group.paths {
            // Shards sit beside model.json; a path that leaves the folder is refused.
            if p.contains('/') || p.contains('\\') || p.starts_with('.') {
                return Err(bad(
                    model_json,
                    format!("shard path `{p}` is not a plain file name"),
                ));
            }
            let shard = dir.join(p);
            let read = std::fs::read(&shard).map_err(|e| CorpusError::io(&shard, e))?;
            sha.update(&read);
            bytes.extend(read);
        }
        let mut at = 0usize;
        for w in &group.weights {
            let n: usize = w.shape.iter().product();
            let (width, q) = match (&w.quantization, w.dtype.as_str()) {
                (None, "float32") => (4, None),
                (Some(q), "float32") if q.dtype == "uint8" => (1, Some(q)),
                (Some(q), "float32") if q.dtype == "uint16" => (2, Some(q)),
                _ => {
                    return Err(bad(
                        model_json,
                        format!("weight `{}`: unsupported dtype `{}`", w.name, w.dtype),
                    ));
                }
            };
            let end = at + n * width;
            let chunk = bytes.get(at..end).ok_or_else(|| {
                bad(
                    model_json,
                    format!("weight `{}` runs past the end of its shards", w.name),
                )
            })?;
            let values: Vec<f32> = match q {
                None => chunk
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Some(q) if width == 1 => chunk
                    .iter()
                    .map(|&b| f32::from(b) * q.scale + q.min)
                    .collect(),
                Some(q) => chunk
                    .chunks_exact(2)
                    .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) * q.scale + q.min)
                    .collect(),
            };
            out.insert(
                w.name.clone(),
                Tensor::from_vec(values, w.shape.as_slice(), &Device::Cpu)?,
            );
            at = end;
        }
        if at != bytes.len() {
            return Err(bad(
                model_json,
                format!(
                    "{} bytes of the shards are not named by the manifest",
                    bytes.len() - at
                ),
            ));
        }
    }
    Ok((out, crate::hex(&sha.finalize())))
}

/// Takes a conv layer's kernel and bias out of the weights.
fn take_conv(w: &mut HashMap<String, Tensor>, model_json: &Path, name: &str) -> Result<Conv> {
    let k = w
        .remove(&format!("{name}/kernel"))
        .ok_or_else(|| bad(model_json, format!("no weight `{name}/kernel`: not an RDN")))?;
    let b = w
        .remove(&format!("{name}/bias"))
        .ok_or_else(|| bad(model_json, format!("no weight `{name}/bias`")))?;
    let (kh, kw, _, _) = k.dims4()?;
    if kh != kw || kh % 2 == 0 {
        return Err(bad(model_json, format!("`{name}`: a {kh}×{kw} kernel")));
    }
    // Keras keeps kernels as HWIO; candle convolves with OIHW.
    Ok(Conv {
        weight: k.permute((3, 2, 0, 1))?.contiguous()?,
        bias: b,
        pad: kh / 2,
    })
}

impl Rdn {
    /// Loads the network from a package's `model.json` (and its shards beside it).
    pub fn load(model_json: &Path) -> Result<Rdn> {
        let (mut w, weights_sha256) = read_weights(model_json)?;
        let f_m1 = take_conv(&mut w, model_json, "F_m1")?;
        let f_0 = take_conv(&mut w, model_json, "F_0")?;
        let mut blocks = Vec::new();
        for d in 1.. {
            if !w.contains_key(&format!("LFF_{d}/kernel")) {
                break;
            }
            if w.contains_key(&format!("F_{d}_2/kernel")) {
                return Err(bad(
                    model_json,
                    "blocks of more than one convolution are not supported",
                ));
            }
            blocks.push((
                take_conv(&mut w, model_json, &format!("F_{d}_1"))?,
                take_conv(&mut w, model_json, &format!("LFF_{d}"))?,
            ));
        }
        if blocks.is_empty() {
            return Err(bad(model_json, "no residual dense blocks: not an RDN"));
        }
        let gff_1 = take_conv(&mut w, model_json, "GFF_1")?;
        let gff_2 = take_conv(&mut w, model_json, "GFF_2")?;
        let upn = [
            take_conv(&mut w, model_json, "UPN1")?,
            take_conv(&mut w, model_json, "UPN2")?,
            take_conv(&mut w, model_json, "UPN3")?,
        ];
        let sr = take_conv(&mut w, model_json, "SR")?;
        let up_channels = upn[2].weight.dim(0)?;
        let scale = (1..=8).find(|s| 3 * s * s == up_channels).ok_or_else(|| {
            bad(
                model_json,
                format!("UPN3 has {up_channels} channels, not 3·s²"),
            )
        })?;
        Ok(Rdn {
            f_m1,
            f_0,
            blocks,
            gff_1,
            gff_2,
            upn,
            sr,
            scale,
            source: model_json.to_path_buf(),
            weights_sha256,
        })
    }

    /// The network on a batch `(n, 3, h, w)` of 0..255 values; `(n, 3, h·s, w·s)` out.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let f_m1 = self.f_m1.forward(x)?;
        let mut h = self.f_0.forward(&f_m1)?;
        let mut locals = Vec::with_capacity(self.blocks.len());
        for (grow, fuse) in &self.blocks {
            let g = grow.forward(&h)?.relu()?;
            let fused = fuse.forward(&Tensor::cat(&[&h, &g], 1)?)?;
            h = (fused + &h)?;
            locals.push(h.clone());
        }
        let global = self
            .gff_2
            .forward(&self.gff_1.forward(&Tensor::cat(&locals, 1)?)?)?;
        let fdf = (global + f_m1)?;
        let u = self.upn[0].forward(&fdf)?.relu()?;
        let u = self.upn[1].forward(&u)?.relu()?;
        let u = self.upn[2].forward(&u)?;
        let (_, _, uh, uw) = u.dims4()?;
        let u = u.upsample_nearest2d(uh * self.scale, uw * self.scale)?;
        self.sr.forward(&u)
    }

    /// Upscales one image by the network's scale.
    pub fn upscale(&self, img: &RgbImage) -> Result<RgbImage> {
        let (w, h) = img.dimensions();
        let x = Tensor::from_vec(
            img.as_raw()
                .iter()
                .map(|&v| f32::from(v))
                .collect::<Vec<_>>(),
            (1, h as usize, w as usize, 3),
            &Device::Cpu,
        )?
        .permute((0, 3, 1, 2))?
        .contiguous()?;
        let y = self
            .forward(&x)?
            .clamp(0f32, 255f32)?
            .round()?
            .permute((0, 2, 3, 1))?
            .contiguous()?
            .flatten_all()?
            .to_dtype(DType::U8)?
            .to_vec1::<u8>()?;
        let s = self.scale as u32;
        RgbImage::from_raw(w * s, h * s, y)
            .ok_or_else(|| bad(&self.source, "an output of the wrong size"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The package, where `scripts/fetch-detector-data.sh` (or a test run of it) unpacked it.
    fn package() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/detector/sources/upscalers/esrgan-slim");
        dir.join("package.json").is_file().then_some(dir)
    }

    #[test]
    fn the_port_reproduces_the_packages_own_outputs() -> Result<()> {
        let Some(pkg) = package() else {
            assert!(
                std::env::var_os("VERITY_REQUIRE_MEDIA").is_none(),
                "the esrgan-slim package is missing: run scripts/fetch-detector-data.sh --upscalers"
            );
            eprintln!("skipped: the esrgan-slim package is not fetched");
            return Ok(());
        };
        let load = |p: PathBuf| -> Result<RgbImage> {
            Ok(image::open(&p)
                .map_err(|e| CorpusError::Image {
                    path: p.clone(),
                    reason: e.to_string(),
                })?
                .to_rgb8())
        };
        let fixture = load(pkg.join("assets/fixture.png"))?;
        for s in [2, 4] {
            let model_json = pkg.join(format!("models/x{s}/model.json"));
            let rdn = Rdn::load(&model_json)?;
            assert_eq!(rdn.scale, s);
            // The digest is of model.json, then its shards in the manifest's order.
            let m: ModelJson = serde_json::from_slice(
                &std::fs::read(&model_json).map_err(|e| CorpusError::io(&model_json, e))?,
            )
            .map_err(|e| bad(&model_json, e.to_string()))?;
            let mut files = vec![model_json.clone()];
            files.extend(
                m.manifest
                    .iter()
                    .flat_map(|g| &g.paths)
                    .map(|p| pkg.join(format!("models/x{s}/{p}"))),
            );
            let mut all = Vec::new();
            for f in &files {
                all.extend(std::fs::read(f).map_err(|e| CorpusError::io(f, e))?);
            }
            assert!(files.len() > 1, "x{s}: no shards");
            assert_eq!(rdn.weights_sha256, crate::hex(&Sha256::digest(&all)));
            let want = load(pkg.join(format!("assets/samples/{s}x/result.png")))?;
            let got = rdn.upscale(&fixture)?;
            assert_eq!(got.dimensions(), want.dimensions());
            let worst = got
                .as_raw()
                .iter()
                .zip(want.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            assert!(
                worst <= 1,
                "x{s}: a pixel differs by {worst} from the package's own output"
            );
        }
        Ok(())
    }

    #[test]
    fn a_damaged_model_is_refused_with_its_reason() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CorpusError::io("tmp", e))?;
        let m = dir.path().join("model.json");
        std::fs::write(&m, br#"{"format":"graph-model","weightsManifest":[]}"#)
            .map_err(|e| CorpusError::io(&m, e))?;
        assert!(
            Rdn::load(&m)
                .unwrap_err()
                .to_string()
                .contains("only layers-models")
        );
        std::fs::write(
            &m,
            br#"{"format":"layers-model","weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"F_m1/kernel","shape":[3,3,3,64],"dtype":"float32"}]}]}"#,
        )
        .map_err(|e| CorpusError::io(&m, e))?;
        std::fs::write(dir.path().join("w.bin"), [0u8; 16]).map_err(|e| CorpusError::io(&m, e))?;
        assert!(
            Rdn::load(&m)
                .unwrap_err()
                .to_string()
                .contains("runs past the end")
        );
        std::fs::write(
            &m,
            br#"{"format":"layers-model","weightsManifest":[{"paths":["../w.bin"],"weights":[]}]}"#,
        )
        .map_err(|e| CorpusError::io(&m, e))?;
        assert!(
            Rdn::load(&m)
                .unwrap_err()
                .to_string()
                .contains("plain file name")
        );
        Ok(())
    }
}
