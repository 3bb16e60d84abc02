//! `generate`: prompt → model → frames at the asked size and rate → MP4 → signed C2PA manifest.
//! Frames stream from the model's small clip through interpolation and upscaling into the
//! encoder, so memory stays bounded by a few frames whatever the duration.

use std::path::{Path, PathBuf};

use candle_core::Device;
use image::{RgbImage, imageops};
use serde::Serialize;
use sha2::{Digest, Sha256};
use verity_media::{ColorSpec, Picture, Rational, VideoFrame, Writer, WriterOptions};
use verity_provenance::marks::spectral::ALGORITHM;
use verity_provenance::marks::{MarkOptions, Payload, Stamper};
use verity_provenance::repository::{RecordInfo, Repository};
use verity_provenance::stamp::soft_binding_assertion;
use verity_provenance::{ManifestSpec, Origin, sign_file};
use verity_signing::{RingSigner, TrustStore};

use crate::error::{GenerateError, Result};
use crate::model::{Config, Model};
use crate::sample::{SampleOptions, sample};
use crate::train::{WEIGHTS, build_model, load_config};

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

/// Loads `dir/config.json` and `dir/model.safetensors`.
pub fn load_model(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let weights = dir.join(WEIGHTS);
    if !dir.join(crate::train::CONFIG).is_file() || !weights.is_file() {
        return Err(GenerateError::MissingWeights {
            path: dir.to_path_buf(),
            hint: "expected config.json and model.safetensors there; pass --model DIR, or train one with \
                   `verity train generator`"
                .into(),
        });
    }
    let cfg = load_config(dir)?;
    let bytes = std::fs::read(&weights).map_err(|e| GenerateError::io(&weights, e))?;
    let weights_sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (_, model) = build_model(&cfg, Some(&weights), device)?;
    let name = dir
        .file_name()
        .map(|n| format!("verity-{}", n.to_string_lossy()))
        .unwrap_or_else(|| "verity-generator".into());
    Ok(LoadedModel {
        model,
        name,
        weights_sha256,
    })
}

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

/// The model's clip as frames [T] of RGB at the model's resolution.
/// Output frame `i` at `fps`: the model clip, played over `duration`, interpolated linearly in
/// time and upscaled.
fn output_frame(frames: &[RgbImage], i: u32, fps: u32, duration: f32, w: u32, h: u32) -> RgbImage {
    let n = frames.len().max(1);
    let pos = (i as f32 / fps as f32 / duration * n as f32 - 0.5).clamp(0.0, (n - 1) as f32);
    let (a, frac) = (pos.floor() as usize, pos.fract());
    let b = (a + 1).min(n - 1);
    let blend = RgbImage::from_fn(frames[a].width(), frames[a].height(), |x, y| {
        let (p, q) = (frames[a].get_pixel(x, y), frames[b].get_pixel(x, y));
        image::Rgb(
            [0, 1, 2]
                .map(|c| (f32::from(p[c]) * (1.0 - frac) + f32::from(q[c]) * frac).round() as u8),
        )
    });
    imageops::resize(&blend, w, h, imageops::FilterType::CatmullRom)
}

/// What `generate` made.
#[derive(Clone, Debug, Serialize)]
pub struct GenerateReport {
    pub output: PathBuf,
    pub frames: u64,
    pub generation: GenerationInfo,
    pub manifest_bytes: usize,
    pub visible_mark: bool,
    /// The spectral watermark's payload, when that mark is on.
    pub payload: Option<Payload>,
    /// The repository the manifest was stored in.
    pub repository: Option<PathBuf>,
}

/// How a generated clip is stamped: the marks, the signer, and where the manifest is kept.
#[derive(Clone, Copy, Debug)]
pub struct Stamping<'a> {
    pub marks: &'a MarkOptions,
    pub signer: &'a RingSigner,
    pub trust: &'a TrustStore,
    pub repository: Option<&'a Repository>,
}

/// Generates a clip for `prompt` and writes it, signed, to `output`.
///
/// The prompt is parsed first (unknown words and contradictions are errors before any work).
/// Nothing appears at `output` unless every step succeeds.
#[allow(clippy::too_many_arguments)]
pub fn generate(
    loaded: &LoadedModel,
    prompt: &str,
    output: &Path,
    opts: &GenerateOptions,
    stamping: &Stamping<'_>,
    device: &Device,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<GenerateReport> {
    opts.validate()?;
    let spec = crate::parse(prompt)?;
    // A size too small for a mark is refused before any sampling.
    let stamper = Stamper::new(stamping.marks, opts.width, opts.height)
        .map_err(|e| GenerateError::Provenance(Box::new(e)))?;
    let payload = stamper.payload();
    let canonical = spec.canonical_prompt();
    let guidance = opts.guidance.unwrap_or(loaded.config().guidance);
    let so = SampleOptions {
        steps: opts.steps,
        guidance,
        seed: opts.seed,
    };
    let clip = sample(&loaded.model, &canonical, &so, device, |i, n| {
        progress("sampling", i, n)
    })?;
    let frames = crate::sample::clip_frames(&clip)?;

    // Encode to a temporary file beside the output, then sign into the output.
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clip.mp4".into());
    let unsigned = output.with_file_name(format!(".{name}.{}.unsigned.mp4", std::process::id()));
    let total = (opts.duration_s * opts.fps as f32).round().max(1.0) as u32;
    let written = (|| -> Result<u64> {
        let mut wo = WriterOptions::new(opts.width, opts.height, Rational::new(opts.fps as i32, 1));
        wo.crf = opts.crf;
        wo.color = ColorSpec::guess_for_height(opts.height.max(720));
        let mut w = Writer::create(&unsigned, wo).map_err(media_err)?;
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
            stamper
                .mark(&mut frame)
                .map_err(|e| GenerateError::Provenance(Box::new(e)))?;
            w.write_video(&frame).map_err(media_err)?;
            progress("encoding", i as usize + 1, total as usize);
        }
        Ok(w.finish().map_err(media_err)?.video_frames)
    })();
    let frames_written = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&unsigned);
            return Err(e);
        }
    };
    let generation = GenerationInfo {
        prompt: prompt.to_string(),
        canonical_prompt: canonical,
        seed: opts.seed,
        steps: opts.steps,
        guidance,
        model: loaded.name.clone(),
        weights_sha256: loaded.weights_sha256.clone(),
    };
    let mut mspec = ManifestSpec::new(name.clone(), Origin::Generated);
    mspec.assertions.push((
        GENERATION_ASSERTION.to_string(),
        serde_json::to_value(&generation).map_err(|e| GenerateError::io(output, e.into()))?,
    ));
    if let Some(p) = payload {
        mspec.assertions.push(soft_binding_assertion(p));
        mspec
            .actions
            .push(serde_json::json!({ "action": "c2pa.watermarked" }));
    }
    let signed = sign_file(&unsigned, output, &mspec, stamping.signer, stamping.trust);
    let _ = std::fs::remove_file(&unsigned);
    let outcome = signed.map_err(|e| GenerateError::Provenance(Box::new(e)))?;
    let mut repository = None;
    if let (Some(repo), Some(p)) = (stamping.repository, payload) {
        let info = RecordInfo {
            algorithm: ALGORITHM.to_string(),
            value: p.to_hex(),
            title: name.clone(),
            file_name: name,
            stored_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        repo.store(&info, &outcome.manifest)
            .map_err(|e| GenerateError::Provenance(Box::new(e)))?;
        repository = Some(repo.root().to_path_buf());
    }
    Ok(GenerateReport {
        output: outcome.output,
        frames: frames_written,
        generation,
        manifest_bytes: outcome.manifest.len(),
        visible_mark: stamping.marks.visible.is_some(),
        payload,
        repository,
    })
}

fn media_err(e: verity_media::MediaError) -> GenerateError {
    GenerateError::Media(Box::new(e))
}
