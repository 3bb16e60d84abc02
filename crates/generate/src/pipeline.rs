//! `generate`: prompt → model → frames at the asked size and rate → MP4 → signed C2PA manifest.
//! Frames stream from the model's small clip through interpolation and upscaling into the
//! encoder, so memory stays bounded by a few frames whatever the duration.

use std::path::Path;

use candle_core::Device;

use serde::Serialize;
use sha2::{Digest, Sha256};
use verity_media::{ColorSpec, Picture, Rational, VideoFrame, Writer, WriterOptions};
use verity_provenance::marks::MarkOptions;
use verity_provenance::stamp::{ManifestLayer, StampReport, Stamping};
use verity_provenance::{ManifestSpec, Origin};

use crate::error::{GenerateError, Result};
use crate::model::{Config, Model};
use crate::sample::{SampleOptions, output_frame, sample};
use crate::train::{WEIGHTS, load_config};

/// A model loaded from its folder, with what identifies it in manifests.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub name: String,
    pub weights_sha256: String,
}

impl LoadedModel {
    pub fn config(&self) -> &Config {
        self.model.config()
    }
}

/// The SHA-256 of the shipped generator's weights (`models/generator/model.safetensors`). The
/// bundled model is refused when its weights differ: a damaged copy (one flipped byte, zeros)
/// still parses and would sign garbage as AI-generated. A unit test keeps this in step with the
/// file.
pub const BUNDLED_WEIGHTS_SHA256: &str =
    "7bd48f810aed69047fdf1aae15005ab0e078dc05a1112c8736b85be6c181f3ba";

/// The largest weights file a model folder may hold: the config's bounds allow far larger
/// models than this family ships (about 10 MB), but none larger than fits in memory twice.
const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// The shipped generator, built into the binary: `verity generate` works from any directory
/// and from an installed binary, with nothing to find on disk.
const BUNDLED_CONFIG: &[u8] = include_bytes!("../../../models/generator/config.json");
const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../../models/generator/model.safetensors");

/// Loads the generator built into the binary (`models/generator` when it was built), checked
/// against [`BUNDLED_WEIGHTS_SHA256`].
pub fn load_bundled_model(device: &Device) -> Result<LoadedModel> {
    let here = Path::new("models/generator (built in)");
    let cfg: Config =
        serde_json::from_slice(BUNDLED_CONFIG).map_err(|e| GenerateError::BadConfig {
            path: here.join(crate::train::CONFIG),
            reason: e.to_string(),
        })?;
    cfg.validate().map_err(|reason| GenerateError::BadConfig {
        path: here.join(crate::train::CONFIG),
        reason,
    })?;
    let loaded = load_parts(
        &cfg,
        BUNDLED_WEIGHTS,
        &here.join(WEIGHTS),
        "verity-generator",
        device,
    )?;
    check_bundled(loaded, here)
}

/// `loaded` when its weights are the shipped ones, else an error: a damaged copy (one flipped
/// byte, zeros) still parses and would sign garbage as AI-generated.
pub fn check_bundled(loaded: LoadedModel, dir: &Path) -> Result<LoadedModel> {
    if loaded.weights_sha256 != BUNDLED_WEIGHTS_SHA256 {
        return Err(GenerateError::BadWeights {
            path: dir.join(WEIGHTS),
            reason: format!(
                "they are not the shipped weights (sha256 {}, expected {BUNDLED_WEIGHTS_SHA256}); \
                 the copy is damaged or was replaced",
                loaded.weights_sha256
            ),
        });
    }
    Ok(loaded)
}

/// Loads `dir/config.json` and `dir/model.safetensors`.
///
/// The config is checked first, then the weights' tensors against it: the model is built
/// from the tensors in the file (a tensor missing or of another shape is an error before any
/// other allocation), and weights that are not finite, or all zero, are refused.
pub fn load_model(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let weights = dir.join(WEIGHTS);
    if !dir.join(crate::train::CONFIG).is_file() || !weights.is_file() {
        return Err(GenerateError::MissingWeights {
            path: dir.to_path_buf(),
            hint: "expected config.json and model.safetensors there".into(),
        });
    }
    let cfg = load_config(dir)?;
    let bytes = verity_fs::read_bounded(&weights, MAX_WEIGHTS_BYTES, "model weights")
        .map_err(|e| GenerateError::io(&weights, e))?;
    let name = dir
        .file_name()
        .map(|n| format!("verity-{}", n.to_string_lossy()))
        .unwrap_or_else(|| "verity-generator".into());
    load_parts(&cfg, &bytes, &weights, &name, device)
}

/// The model of `cfg` from the safetensors `bytes` (read from `weights`, for errors).
fn load_parts(
    cfg: &Config,
    bytes: &[u8],
    weights: &Path,
    name: &str,
    device: &Device,
) -> Result<LoadedModel> {
    let weights_sha256 = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let bad = |reason: String| GenerateError::BadWeights {
        path: weights.to_path_buf(),
        reason,
    };
    let tensors = candle_core::safetensors::load_buffer(bytes, device)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    check_values(&tensors).map_err(bad)?;
    let vb = candle_nn::VarBuilder::from_tensors(tensors, candle_core::DType::F32, device);
    let model = Model::new(cfg, vb)
        .map_err(|e| bad(format!("{e} (is it a checkpoint of this config?)")))?;
    Ok(LoadedModel {
        model,
        name: name.to_string(),
        weights_sha256,
    })
}

/// Refuses weights with a NaN or an infinity (they sample black or garbage frames), and weights
/// that are all zero (a wiped file still parses).
fn check_values(
    tensors: &std::collections::HashMap<String, candle_core::Tensor>,
) -> std::result::Result<(), String> {
    let mut any_nonzero = false;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let t = &tensors[name];
        let values = t
            .to_dtype(candle_core::DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor {name} cannot be read as numbers ({e})"))?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "tensor {name} holds {bad}: the weights are damaged"
            ));
        }
        any_nonzero |= values.iter().any(|&v| v != 0.0);
    }
    if !any_nonzero {
        return Err("every weight is zero: the file is damaged or was never trained".into());
    }
    Ok(())
}

/// The largest seed: it is recorded in the manifest's generation assertion, and JSON readers
/// (JavaScript's among them) keep integers exactly only up to 2^53 - 1.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// What to make.
#[derive(Clone, Copy, Debug)]
pub struct GenerateOptions {
    pub seed: u64,
    pub steps: usize,
    /// Classifier-free guidance scale; `None` takes the model's own (its config's `guidance`).
    pub guidance: Option<f32>,
    pub duration_s: f32,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub crf: u8,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            seed: 0,
            steps: 24,
            guidance: None,
            duration_s: 4.0,
            fps: 24,
            width: 512,
            height: 512,
            crf: 20,
        }
    }
}

impl GenerateOptions {
    /// Refuses zero, negative or absurd values, naming the allowed range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, allowed: &str| {
            Err(GenerateError::InvalidOption {
                name,
                value,
                allowed: allowed.into(),
            })
        };
        if !(self.duration_s.is_finite() && (0.5..=30.0).contains(&self.duration_s)) {
            return bad(
                "duration",
                format!("{} s", self.duration_s),
                "0.5 to 30 seconds",
            );
        }
        if self.seed > MAX_SEED {
            return bad(
                "seed",
                self.seed.to_string(),
                "0 to 9007199254740991 (2^53 - 1: the seed is recorded in the manifest, and every \
                 JSON reader keeps integers up to that exactly)",
            );
        }
        if !(1..=60).contains(&self.fps) {
            return bad("fps", self.fps.to_string(), "1 to 60");
        }
        let size_ok = |v: u32| (64..=2048).contains(&v) && v % 2 == 0;
        if !size_ok(self.width) || !size_ok(self.height) {
            return bad(
                "size",
                format!("{}x{}", self.width, self.height),
                "even sides from 64 to 2048 pixels",
            );
        }
        if !(1..=200).contains(&self.steps) {
            return bad("steps", self.steps.to_string(), "1 to 200");
        }
        if let Some(g) = self.guidance.filter(|g| !crate::sample::guidance_ok(*g)) {
            return bad("guidance", g.to_string(), "0 to 20");
        }
        Ok(())
    }
}

/// The generation assertion written into the manifest.
#[derive(Clone, Debug, Serialize)]
pub struct GenerationInfo {
    pub prompt: String,
    /// The prompt as the model read it (the canonical form of the parsed scene).
    pub canonical_prompt: String,
    pub seed: u64,
    pub steps: usize,
    pub guidance: f32,
    pub model: String,
    pub weights_sha256: String,
}

/// The label of verity's generation assertion.
pub const GENERATION_ASSERTION: &str = "org.verity.generation";

/// What `generate` made: the stamp report (the same as `sign`'s, with no input) and what the
/// model was asked.
#[derive(Clone, Debug, Serialize)]
pub struct GenerateReport {
    #[serde(flatten)]
    pub stamp: StampReport,
    pub generation: GenerationInfo,
}

/// Generates a clip for `prompt` and writes it, stamped by `marks` and signed through `layer`,
/// to `output`: the model's frames go through the same stamping core as a signed file's.
///
/// The prompt is parsed first (unknown words and contradictions are errors before any work).
/// Nothing appears at `output` unless every step succeeds.
#[allow(clippy::too_many_arguments)]
pub fn generate(
    loaded: &LoadedModel,
    prompt: &str,
    output: &Path,
    opts: &GenerateOptions,
    marks: &MarkOptions,
    layer: ManifestLayer<'_>,
    device: &Device,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<GenerateReport> {
    opts.validate()?;
    let spec = crate::parse(prompt)?;
    let canonical = spec.canonical_prompt();
    let guidance = opts.guidance.unwrap_or(loaded.config().guidance);
    let generation = GenerationInfo {
        prompt: prompt.to_string(),
        canonical_prompt: canonical.clone(),
        seed: opts.seed,
        steps: opts.steps,
        guidance,
        model: loaded.name.clone(),
        weights_sha256: loaded.weights_sha256.clone(),
    };
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clip.mp4".into());
    let mut mspec = ManifestSpec::new(name, Origin::Generated);
    mspec.assertions.push((
        GENERATION_ASSERTION.to_string(),
        serde_json::to_value(&generation).map_err(|e| GenerateError::io(output, e.into()))?,
    ));
    // A size too small for a mark is refused before any sampling.
    let stamping = Stamping::new(marks, opts.width, opts.height, Some((mspec, layer)))
        .map_err(provenance_err)?;
    let so = SampleOptions {
        steps: opts.steps,
        guidance,
        seed: opts.seed,
    };
    let clip = sample(&loaded.model, &canonical, &so, device, |i, n| {
        progress("sampling", i, n)
    })?;
    let frames = crate::sample::clip_frames(&clip)?;

    // Encode into the writer's temporary beside the output; the stamping core signs from it
    // into the output. Dropping `unsigned` on any path removes it.
    let total = (opts.duration_s * opts.fps as f32).round().max(1.0) as u32;
    let (frames_written, unsigned) = (|| -> Result<(u64, verity_media::TempPath)> {
        let mut wo = WriterOptions::new(opts.width, opts.height, Rational::new(opts.fps as i32, 1));
        wo.crf = opts.crf;
        wo.color = ColorSpec::guess_for_height(opts.height.max(720));
        let mut w = Writer::create(output, wo).map_err(media_err)?;
        for i in 0..total {
            let img = output_frame(
                &frames,
                i,
                opts.fps,
                opts.duration_s,
                opts.width,
                opts.height,
            );
            let mut frame = VideoFrame {
                index: u64::from(i),
                pts: i64::from(i),
                time_base: Rational::new(1, opts.fps as i32),
                color: ColorSpec::guess_for_height(opts.height.max(720)),
                picture: Picture::Rgb(img),
            };
            stamping.mark(&mut frame).map_err(provenance_err)?;
            w.write_video(&frame).map_err(media_err)?;
            progress("encoding", i as usize + 1, total as usize);
        }
        let (summary, tmp) = w.finish_unpublished().map_err(media_err)?;
        Ok((summary.video_frames, tmp))
    })()?;
    let stamp = stamping
        .publish(unsigned, output, frames_written)
        .map_err(provenance_err)?;
    Ok(GenerateReport { stamp, generation })
}

fn provenance_err(e: verity_provenance::ProvenanceError) -> GenerateError {
    GenerateError::Provenance(Box::new(e))
}

fn media_err(e: verity_media::MediaError) -> GenerateError {
    GenerateError::Media(Box::new(e))
}
