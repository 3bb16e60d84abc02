//! Scoring a file: frame triples spread over it, one logit each, pooled per segment and over
//! the clip, calibrated by one temperature, judged at the operating threshold chosen on the
//! validation split.

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::data::{ClipFrames, Placement, read_triples};
use super::net::{Config, Net};
use super::train::clip_logits;
use crate::error::{DetectError, Result};

/// The length of one scored segment, in seconds.
pub const SEGMENT_S: f64 = 2.0;
/// Frame triples scored per segment.
pub const TRIPLES_PER_SEGMENT: usize = 4;
/// The most triples scored in one file (longer files get longer segments).
pub const MAX_TRIPLES: usize = 64;
/// The most frames read from one file (about 4.5 minutes at 30 fps).
pub const MAX_FRAMES: u64 = 8_000;
/// Fewer frames than this, or a shorter side than [`MIN_SIDE`], is not enough signal.
pub const MIN_FRAMES: u64 = 3;
pub const MIN_SIDE: u32 = 64;
/// The most pixels (frames × width × height) decoded to reach triples spread over the file: 72
/// frames of 1080p. A larger file is read at its key frames instead ([`Placement::KeyFrames`]),
/// so that the classifier's decoding stays about three frames per triple.
pub const FULL_DECODE_MAX_PIXELS: u64 = 72 * 1920 * 1080;

/// The operating point: the threshold on the calibrated probability, and what it was measured
/// to do on the non-AI clips of the validation split it was chosen on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Files scoring above this are `likely-synthetic` (when they carry no credentials).
    pub threshold: f64,
    /// The false-positive rate it was chosen for.
    pub target_fpr: f64,
    /// The false-positive rate it has on the non-AI clips of the split it was chosen on.
    pub measured_fpr: f64,
    /// The exact 95 % upper bound of that rate.
    pub fpr_upper_95: f64,
    /// How many non-AI clips that was measured on, and which split.
    pub negatives: usize,
    pub split: String,
}

/// A trained classifier's settings: the network, its calibration, its operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    pub net: Config,
    /// Clip logits are divided by this before the sigmoid (temperature scaling).
    pub temperature: f64,
    pub operating_point: OperatingPoint,
    /// Arms left out of its training and calibration (a leave-one-family-out run's family);
    /// empty for a classifier trained on every arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trained_without: Vec<String>,
    /// The seed of its initial weights and batches (unrecorded before exports kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A fingerprint of everything else its training recorded: the network, the training
    /// split's clips per arm, the arms left out, the overlay and resample chances and the step
    /// count. Two classifiers with the same recipe differ only by seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
}

/// A loaded classifier.
#[derive(Debug)]
pub struct Detector {
    net: Net,
    pub config: DetectorConfig,
    /// `verity-detector@<first 12 hex digits of the weights' SHA-256>`.
    pub name: String,
    pub weights_sha256: String,
    /// Where the weights came from, for errors.
    pub source: PathBuf,
}

/// The file names of a classifier folder (models/detector).
pub const DETECTOR_CONFIG: &str = "detector.json";
pub const DETECTOR_WEIGHTS: &str = "model.safetensors";

impl Detector {
    /// Loads a classifier from its config and weights bytes; `path` names them in errors.
    pub fn from_bytes(config: &[u8], weights: &[u8], path: &Path) -> Result<Detector> {
        let bad = |reason: String| DetectError::ClassifierWeights {
            path: path.to_path_buf(),
            reason,
        };
        let cfg: DetectorConfig =
            serde_json::from_slice(config).map_err(|e| bad(format!("{DETECTOR_CONFIG}: {e}")))?;
        cfg.net
            .validate()
            .map_err(|r| bad(format!("{DETECTOR_CONFIG}: {r}")))?;
        if !(cfg.temperature.is_finite() && cfg.temperature > 0.0) {
            return Err(bad(format!(
                "{DETECTOR_CONFIG}: temperature must be positive"
            )));
        }
        let weights_sha256 = hex(&Sha256::digest(weights));
        let vb = candle_nn::VarBuilder::from_buffered_safetensors(
            weights.to_vec(),
            candle_core::DType::F32,
            &Device::Cpu,
        )
        .map_err(|e| bad(format!("{DETECTOR_WEIGHTS}: {e}")))?;
        let net = Net::new(&cfg.net, vb).map_err(|e| bad(format!("{DETECTOR_WEIGHTS}: {e}")))?;
        Ok(Detector {
            net,
            name: format!("verity-detector@{}", &weights_sha256[..12]),
            weights_sha256,
            config: cfg,
            source: path.join(DETECTOR_WEIGHTS),
        })
    }

    /// Loads `dir/detector.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Detector> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let p: PathBuf = dir.join(name);
            std::fs::read(&p).map_err(|e| DetectError::ClassifierWeights {
                path: p.clone(),
                reason: e.to_string(),
            })
        };
        Detector::from_bytes(&read(DETECTOR_CONFIG)?, &read(DETECTOR_WEIGHTS)?, dir)
    }

    /// The calibrated probability of a clip logit.
    pub fn probability(&self, logit: f64) -> f64 {
        1.0 / (1.0 + (-logit / self.config.temperature).exp())
    }

    /// Logits of every triple of `clip`.
    pub fn logits(&self, clip: &ClipFrames) -> Result<Vec<f32>> {
        clip_logits(&self.net, clip, &Device::Cpu)
    }

    /// Scores one file.
    pub fn score_file(&self, path: &Path) -> Result<ClassifierSection> {
        let info = verity_media::probe(path)?;
        let v = &info.video;
        let frames = super::data::frame_count(&info);
        let duration = v.duration_s.or(info.duration_s).unwrap_or(0.0);
        if frames < MIN_FRAMES || v.width.min(v.height) < MIN_SIDE {
            return Ok(self.not_enough(format!(
                "{} frames of {}x{}: the classifier needs at least {MIN_FRAMES} frames and \
                 {MIN_SIDE} pixels on the short side",
                frames, v.width, v.height
            )));
        }
        // Bounded whatever the container claims (a huge or absurd duration saturates here).
        let segments_n = ((duration / SEGMENT_S).ceil().clamp(1.0, MAX_TRIPLES as f64)) as usize;
        let triples = segments_n
            .saturating_mul(TRIPLES_PER_SEGMENT)
            .min(MAX_TRIPLES);
        let pixels = frames
            .min(MAX_FRAMES)
            .saturating_mul(u64::from(v.width) * u64::from(v.height));
        let placement = if pixels <= FULL_DECODE_MAX_PIXELS {
            Placement::Spread
        } else {
            Placement::KeyFrames
        };
        let clip = read_triples(path, &info, triples, MAX_FRAMES, placement)?;
        if clip.triples.is_empty() {
            return Ok(self.not_enough("no frame triple could be decoded".into()));
        }
        self.score_clip(&clip, duration)
    }

    /// Scores frames already read: the clip's probability and its segments.
    pub fn score_clip(&self, clip: &ClipFrames, duration_s: f64) -> Result<ClassifierSection> {
        let logits = self.logits(clip)?;
        if logits.iter().any(|l| !l.is_finite()) {
            return Err(DetectError::ClassifierWeights {
                path: self.source.clone(),
                reason: "they give scores that are not numbers (damaged weights)".into(),
            });
        }
        let mean = |ls: &[f64]| ls.iter().sum::<f64>() / ls.len().max(1) as f64;
        let all: Vec<f64> = logits.iter().map(|&l| f64::from(l)).collect();
        let p = self.probability(mean(&all));
        let seg_len = if duration_s > 0.0 {
            (duration_s / (MAX_TRIPLES / TRIPLES_PER_SEGMENT) as f64).max(SEGMENT_S)
        } else {
            SEGMENT_S
        };
        let mut segments: Vec<Segment> = Vec::new();
        let mut bucket: Vec<f64> = Vec::new();
        let mut current = 0usize;
        let flush = |k: usize, b: &mut Vec<f64>, out: &mut Vec<Segment>| {
            if !b.is_empty() {
                out.push(Segment {
                    start_s: k as f64 * seg_len,
                    end_s: (k + 1) as f64 * seg_len,
                    score: self.probability(mean(b)),
                });
                b.clear();
            }
        };
        for ((t, _), &l) in clip.triples.iter().zip(&all) {
            let k = (t.max(0.0) / seg_len) as usize;
            if k != current {
                flush(current, &mut bucket, &mut segments);
                current = k;
            }
            bucket.push(l);
        }
        flush(current, &mut bucket, &mut segments);
        // The last segment ends with the file (when the file ends inside it).
        if let Some(last) = segments.last_mut().filter(|l| duration_s > l.start_s) {
            last.end_s = last.end_s.min(duration_s);
        }
        let op = &self.config.operating_point;
        Ok(ClassifierSection {
            status: ClassifierStatus::Scored,
            synthetic_probability: Some(p),
            above_threshold: Some(p > op.threshold),
            model: self.name.clone(),
            operating_point: Some(op.clone()),
            frames_scored: clip.triples.len(),
            segments,
            reason: None,
        })
    }

    fn not_enough(&self, reason: String) -> ClassifierSection {
        ClassifierSection {
            status: ClassifierStatus::NotEnoughSignal,
            synthetic_probability: None,
            above_threshold: None,
            model: self.name.clone(),
            operating_point: Some(self.config.operating_point.clone()),
            frames_scored: 0,
            segments: Vec::new(),
            reason: Some(reason),
        }
    }
}

/// Whether the classifier gave a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierStatus {
    Scored,
    /// Too short or too small to score.
    NotEnoughSignal,
    /// The weights could not be loaded or the frames not read: the other layers still count.
    Unavailable,
}

/// One stretch of the file and its score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    /// Calibrated probability that this stretch is synthetic.
    pub score: f64,
}

/// The classifier's part of a report (`verify`'s `classifier`, and `detect`'s output).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassifierSection {
    pub status: ClassifierStatus,
    /// Calibrated probability that the file is synthetic; `null` unless scored.
    pub synthetic_probability: Option<f64>,
    /// Whether it passes the operating threshold.
    pub above_threshold: Option<bool>,
    pub model: String,
    pub operating_point: Option<OperatingPoint>,
    /// Frame triples scored.
    pub frames_scored: usize,
    pub segments: Vec<Segment>,
    /// Why there is no score.
    pub reason: Option<String>,
}

impl ClassifierSection {
    /// The section when the classifier could not run at all.
    pub fn unavailable(model: &str, reason: String) -> ClassifierSection {
        ClassifierSection {
            status: ClassifierStatus::Unavailable,
            synthetic_probability: None,
            above_threshold: None,
            model: model.to_string(),
            operating_point: None,
            frames_scored: 0,
            segments: Vec::new(),
            reason: Some(reason),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
