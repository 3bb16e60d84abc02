//! Scoring a file: frame triples spread over it, one logit each, pooled per segment and over
//! the clip, calibrated by one temperature, judged at the operating threshold chosen on the
//! validation split.

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use verity_media::Sampling;

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
/// frames of 1080p. A larger file is read at its key frames instead ([`Placement::KeyFrames`])
/// unless [`Reading::Whole`] is asked for, so that the classifier's decoding stays about three
/// frames per triple; and its frames are block-averaged as they are converted, however placed.
pub const FULL_DECODE_MAX_PIXELS: u64 = 72 * 1920 * 1080;

/// How the classifier reads a file: which [`Placement`] its frame triples get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reading {
    /// Spread over the whole file when it holds at most [`FULL_DECODE_MAX_PIXELS`] of picture,
    /// at its key frames above that: the cost of a large file stays about three decoded frames
    /// per triple, and a file with few key frames is scored only after them (the section's
    /// `unscored` names the stretches left out).
    #[default]
    Auto,
    /// Spread over the whole file (up to [`MAX_FRAMES`]) whatever its size: every frame up to
    /// the last triple is decoded, so a large file costs a full decode, and no stretch is left
    /// out for want of a key frame.
    Whole,
    /// At the key frames whatever the file's size.
    KeyFrames,
}

impl Reading {
    /// The placement for a file of `pixels` (frames × width × height).
    pub fn placement(self, pixels: u64) -> Placement {
        match self {
            Reading::Whole => Placement::Spread,
            Reading::KeyFrames => Placement::KeyFrames,
            Reading::Auto if pixels <= FULL_DECODE_MAX_PIXELS => Placement::Spread,
            Reading::Auto => Placement::KeyFrames,
        }
    }
}

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
    /// How many non-AI clips that was measured on, and where: `val` (the dataset's validation
    /// split), then `+` and the fingerprint of each split whose real scenes were added to it
    /// (`verity train detector --also-validate`).
    pub negatives: usize,
    pub split: String,
    /// What it flags on real scenes it never met: the fresh test splits it was scored on
    /// (`verity eval detector --test-data DIR --record`); none before one is recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<UnseenSplit>,
}

/// The threshold's false positives on the non-AI clips cut from the real scenes of one fresh
/// test split: scenes chosen after the classifier was, never in its training, calibration or
/// choice of threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnseenSplit {
    /// The split's [`super::data::Index::fingerprint`].
    pub split: String,
    /// Its real scenes, by name.
    pub scenes: Vec<String>,
    /// The non-AI clips cut from them (camera clips and their non-generative copies).
    pub negatives: usize,
    /// How many of them score above the threshold.
    pub flagged: usize,
}

impl OperatingPoint {
    /// The unseen splits together: (flagged, non-AI clips, real scenes), or `None` before any
    /// is recorded.
    pub fn unseen_total(&self) -> Option<(usize, usize, usize)> {
        let total = self.unseen.iter().fold((0usize, 0usize, 0usize), |t, u| {
            (
                t.0.saturating_add(u.flagged),
                t.1.saturating_add(u.negatives),
                t.2.saturating_add(u.scenes.len()),
            )
        });
        (total.1 > 0 && total.0 <= total.1).then_some(total)
    }

    /// Records `split`, replacing any earlier record of the same split or of any of its scenes
    /// (a rebuilt split has another fingerprint), so that no scene is counted twice.
    pub fn record_unseen(&mut self, split: UnseenSplit) {
        self.unseen.retain(|u| {
            u.split != split.split && !u.scenes.iter().any(|s| split.scenes.contains(s))
        });
        self.unseen.push(split);
    }

    /// Why the recorded unseen splits cannot be read, if they cannot: a split with no clips or
    /// more flagged than clips, or a scene recorded twice.
    pub fn unseen_problem(&self) -> Option<String> {
        let mut seen = std::collections::BTreeSet::new();
        for u in &self.unseen {
            if u.negatives == 0 || u.flagged > u.negatives {
                return Some(format!(
                    "unseen split {} records {} flagged of {} clips",
                    u.split, u.flagged, u.negatives
                ));
            }
            if let Some(s) = u.scenes.iter().find(|s| !seen.insert(s.as_str())) {
                return Some(format!("unseen scene `{s}` is recorded twice"));
            }
        }
        None
    }

    /// What the threshold is measured to flag, in words: on the validation clips it was chosen
    /// on (an optimistic figure) and, where recorded, on real scenes it never met.
    pub fn describe(&self) -> String {
        let val = format!(
            "a threshold of {:.2}, which flags {:.1} % of the {} non-AI validation clips it was chosen on (at most {:.1} % at 95 % confidence, an optimistic figure)",
            self.threshold,
            100.0 * self.measured_fpr,
            self.negatives,
            100.0 * self.fpr_upper_95
        );
        match self.unseen_total() {
            Some((k, n, scenes)) => format!(
                "{val} and {k} of {n} non-AI clips ({:.1} %, at most {:.1} % at 95 % confidence) cut from {scenes} real scenes it never met",
                100.0 * k as f64 / n as f64,
                100.0 * super::metrics::clopper_pearson(k, n).1
            ),
            None => format!(
                "{val}; no rate on real scenes it never met is recorded (see the model card)"
            ),
        }
    }
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
    /// The [`super::data::Index::fingerprint`] of the dataset it was trained on (its clips and
    /// their encode), which the recipe does not cover; unrecorded before exports kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Real scenes from outside that dataset whose clips it was also trained on (`verity train
    /// detector --also-train`): `eval detector` refuses a test split of any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_scenes: Vec<String>,
    /// Real scenes from outside that dataset whose non-AI clips its threshold was also chosen
    /// on (`verity train detector --also-validate`): `eval detector` refuses a test split of
    /// any of them, as it would count them as unseen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validated_scenes: Vec<String>,
    /// The SHA-256 (hex) of the `model.safetensors` it was exported with: a load refuses other
    /// weights, so a config and weights that do not belong together (an export cut off
    /// between its two files, or files copied from two folders) are an error, not a classifier
    /// quoting another's calibration. Unrecorded before exports kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

/// The calibrated probability of a clip logit: the sigmoid of `logit / temperature`.
pub fn calibrated(logit: f64, temperature: f64) -> f64 {
    1.0 / (1.0 + (-logit / temperature).exp())
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
        if let Some(problem) = cfg.operating_point.unseen_problem() {
            return Err(bad(format!("{DETECTOR_CONFIG}: {problem}")));
        }
        let weights_sha256 = weights_digest(weights);
        if let Some(want) = &cfg.weights_sha256 {
            if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "{DETECTOR_CONFIG}: weights_sha256 must be 64 hex digits"
                )));
            }
            if !want.eq_ignore_ascii_case(&weights_sha256) {
                return Err(bad(format!(
                    "{DETECTOR_WEIGHTS} is not the file {DETECTOR_CONFIG} was exported with (SHA-256 {}…, where it records {}…): damaged, or from another export; export again, or copy both files",
                    &weights_sha256[..12],
                    &want[..12]
                )));
            }
        }
        let net = net_from_safetensors(&cfg.net, weights)
            .map_err(|e| bad(format!("{DETECTOR_WEIGHTS}: {e}")))?;
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

    /// Records what the threshold flagged on an unseen split in `dir/detector.json`, where
    /// `verify` and `detect` quote it; `dir` must hold this classifier. Returns the new
    /// operating point.
    pub fn record_unseen(&self, dir: &Path, split: UnseenSplit) -> Result<OperatingPoint> {
        let there = Detector::load(dir)?;
        let (a, b) = (&there.config, &self.config);
        if there.weights_sha256 != self.weights_sha256
            || a.temperature != b.temperature
            || a.operating_point.threshold != b.operating_point.threshold
        {
            return Err(DetectError::ClassifierWeights {
                path: dir.join(DETECTOR_CONFIG),
                reason: format!(
                    "holds {} at threshold {}, not the classifier evaluated ({} at threshold {}): record into its own folder",
                    there.name, a.operating_point.threshold, self.name, b.operating_point.threshold
                ),
            });
        }
        let mut cfg = there.config;
        cfg.operating_point.record_unseen(split);
        let path = dir.join(DETECTOR_CONFIG);
        let json = serde_json::to_vec_pretty(&cfg).map_err(|e| DetectError::io(&path, e.into()))?;
        verity_fs::write_whole(&path, &json).map_err(|e| DetectError::io(&path, e))?;
        Ok(cfg.operating_point)
    }

    /// The calibrated probability of a clip logit.
    pub fn probability(&self, logit: f64) -> f64 {
        calibrated(logit, self.config.temperature)
    }

    /// Logits of every triple of `clip`.
    pub fn logits(&self, clip: &ClipFrames) -> Result<Vec<f32>> {
        clip_logits(&self.net, clip, &Device::Cpu)
    }

    /// Scores one file, its triples placed as `reading` says.
    pub fn score_file(&self, path: &Path, reading: Reading) -> Result<ClassifierSection> {
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
        // The frames the triples are placed in.
        let total = frames.min(MAX_FRAMES);
        let pixels = total.saturating_mul(u64::from(v.width) * u64::from(v.height));
        let placement = reading.placement(pixels);
        // A large file's frames are block-averaged as they are converted, however placed; a
        // smaller one is converted at its size, as the evaluation's clips were.
        let large = pixels > FULL_DECODE_MAX_PIXELS;
        let clip = read_triples(path, &info, triples, MAX_FRAMES, placement, large)?;
        if clip.triples.is_empty() {
            return Ok(self.not_enough("no frame triple could be decoded".into()));
        }
        let mut section = self.score_clip(&clip, duration)?;
        section.read = Some(placement);
        // The plan's spacing between triples, and how far into the file reading went.
        let planned = Sampling::run_starts(triples as u64, 3, total).len().max(1);
        let fps = Some(v.fps).filter(|f| f.is_finite() && *f > 0.0);
        let plan = Plan {
            spacing_s: fps.map_or(SEGMENT_S / TRIPLES_PER_SEGMENT as f64, |fps| {
                total.saturating_sub(2) as f64 / planned as f64 / fps
            }),
            read_to_s: match fps {
                Some(fps) if frames > MAX_FRAMES => total as f64 / fps,
                _ => duration,
            },
            placement,
        };
        let mut times: Vec<f64> = clip.triples.iter().map(|(t, _)| *t).collect();
        times.sort_by(f64::total_cmp);
        section.unscored = unscored(&times, duration, &plan);
        Ok(section)
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
            read: None,
            unscored: Vec::new(),
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
            read: None,
            unscored: Vec::new(),
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

/// How a file's triples were planned: what [`unscored`] measures coverage against.
struct Plan {
    /// The planned distance between consecutive triples, in seconds.
    spacing_s: f64,
    /// How far into the file the triples were placed (the first [`MAX_FRAMES`] frames).
    read_to_s: f64,
    placement: Placement,
}

/// The stretches of a file of `duration_s` seconds farther than one planned spacing from
/// every scored triple (`times`, the triples' middle frames, in order), each with why: past
/// the frames read, far from the key frames of a key-frame read, or not reached by a spread
/// read (a damaged file, or a container that overstates the duration). A spread read's
/// triples are one spacing apart, so an intact file read whole has none. Empty when the
/// duration is not known.
fn unscored(times: &[f64], duration_s: f64, plan: &Plan) -> Vec<Stretch> {
    let reach = plan.spacing_s;
    if !(duration_s.is_finite() && duration_s > 0.0 && reach.is_finite() && reach > 0.0) {
        return Vec::new();
    }
    let read_to = plan.read_to_s.clamp(0.0, duration_s);
    let inside = match plan.placement {
        Placement::KeyFrames => Unscored::FarFromKeyFrames,
        Placement::Spread => Unscored::NotReached,
    };
    let mut gaps: Vec<(f64, f64)> = Vec::new();
    let mut covered_to = 0.0f64;
    for &t in times.iter().chain(std::iter::once(&(duration_s + reach))) {
        let from = t.clamp(0.0, duration_s + reach) - reach;
        if from > covered_to {
            gaps.push((covered_to, from.min(duration_s)));
        }
        covered_to = covered_to.max(t + reach);
    }
    let mut out = Vec::new();
    for (a, b) in gaps {
        // A stretch across the end of what was read is two: before it and past it.
        for (start_s, end_s, why) in [
            (a, b.min(read_to), inside),
            (a.max(read_to), b, Unscored::PastFrameLimit),
        ] {
            // Slivers under a frame's length (rounding) say nothing.
            if end_s - start_s > 0.05 {
                out.push(Stretch {
                    start_s,
                    end_s,
                    why,
                });
            }
        }
    }
    out
}

/// Why a stretch was not scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unscored {
    /// A file read at its key frames has none near it ([`Reading::Whole`] reaches it).
    FarFromKeyFrames,
    /// Past the first [`MAX_FRAMES`] frames, which is all the classifier reads.
    PastFrameLimit,
    /// A spread read did not reach it: the file ended early (damage, or a container that
    /// overstates the duration).
    NotReached,
}

impl Unscored {
    /// The reason in a few words, for a table row or a timeline's label.
    pub fn describe(self) -> &'static str {
        match self {
            Unscored::FarFromKeyFrames => "no key frame near",
            Unscored::PastFrameLimit => "past the frames read",
            Unscored::NotReached => "the file ended early",
        }
    }
}

/// A stretch of the file the classifier did not score, in seconds from its start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stretch {
    pub start_s: f64,
    pub end_s: f64,
    pub why: Unscored,
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
    /// Where the triples were read: `spread` over the file, or at its `key-frames` (see
    /// [`Reading`]); `null` unless scored.
    pub read: Option<Placement>,
    /// The stretches of the file farther than the planned spacing between triples from every
    /// scored one, each with why: a file read at few key frames, one longer than
    /// [`MAX_FRAMES`], or one that ended early. Empty when the triples cover the file, and
    /// when its duration is not known.
    pub unscored: Vec<Stretch>,
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
            read: None,
            unscored: Vec::new(),
            reason: Some(reason),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The network `cfg` describes with its weights read from safetensors bytes, on the CPU.
pub(super) fn net_from_safetensors(cfg: &Config, weights: &[u8]) -> candle_core::Result<Net> {
    let vb = candle_nn::VarBuilder::from_buffered_safetensors(
        weights.to_vec(),
        candle_core::DType::F32,
        &Device::Cpu,
    )?;
    Net::new(cfg, vb)
}

/// The SHA-256 of weights bytes in hex, as [`Detector::weights_sha256`] and
/// [`DetectorConfig::weights_sha256`] hold it.
pub(super) fn weights_digest(weights: &[u8]) -> String {
    hex(&Sha256::digest(weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_refuses_weights_it_was_not_exported_with() {
        use super::super::{BUNDLED_CONFIG, BUNDLED_WEIGHTS};
        let at = Path::new("models/detector");
        let shipped = Detector::from_bytes(BUNDLED_CONFIG, BUNDLED_WEIGHTS, at).unwrap();
        assert_eq!(
            shipped.config.weights_sha256.as_deref(),
            Some(shipped.weights_sha256.as_str()),
            "the shipped config records its weights"
        );
        // Other weights of the same shape: one byte of the tensor data changed.
        let mut other = BUNDLED_WEIGHTS.to_vec();
        let last = other.len() - 1;
        other[last] ^= 1;
        let err = Detector::from_bytes(BUNDLED_CONFIG, &other, at)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(DETECTOR_CONFIG)
                && err.contains(DETECTOR_WEIGHTS)
                && err.contains("another export"),
            "{err}"
        );
        // A digest that is not one is the config's fault, and said so.
        let mut cfg = shipped.config.clone();
        cfg.weights_sha256 = Some("\u{1b}[2Jnot a digest".into());
        let err = Detector::from_bytes(&serde_json::to_vec(&cfg).unwrap(), BUNDLED_WEIGHTS, at)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("weights_sha256 must be 64 hex digits") && !err.contains('\u{1b}'),
            "{err}"
        );
        // A config from before exports recorded the digest loads any weights of its shape.
        let mut cfg = shipped.config.clone();
        cfg.weights_sha256 = None;
        let old = serde_json::to_vec(&cfg).unwrap();
        assert!(Detector::from_bytes(&old, &other, at).is_ok());
    }

    #[test]
    fn unseen_splits_add_up_and_a_split_is_recorded_once() {
        let mut op = OperatingPoint {
            threshold: 0.8,
            target_fpr: 0.01,
            measured_fpr: 0.01,
            fpr_upper_95: 0.05,
            negatives: 200,
            split: "val".into(),
            unseen: Vec::new(),
        };
        assert_eq!(op.unseen_total(), None);
        assert!(
            op.describe()
                .contains("no rate on real scenes it never met")
        );
        let split = |name: &str, scenes: &[&str], flagged| UnseenSplit {
            split: name.into(),
            scenes: scenes.iter().map(|s| s.to_string()).collect(),
            negatives: 100,
            flagged,
        };
        op.record_unseen(split("a", &["box", "cup"], 10));
        op.record_unseen(split("b", &["room", "door", "city"], 5));
        op.record_unseen(split("a", &["box", "cup"], 20));
        assert_eq!(op.unseen_total(), Some((25, 200, 5)));
        assert_eq!(op.unseen_problem(), None);
        let d = op.describe();
        assert!(d.contains("25 of 200 non-AI clips (12.5 %"), "{d}");
        assert!(d.contains("cut from 5 real scenes it never met"), "{d}");
        assert!(
            d.contains("1.0 % of the 200 non-AI validation clips"),
            "{d}"
        );
        // A rebuilt split (another fingerprint) of a recorded scene replaces that record.
        op.record_unseen(split("c", &["cup"], 3));
        assert_eq!(op.unseen_total(), Some((8, 200, 4)));
        // Records that cannot be read are named (a detector.json with them is refused).
        op.unseen.push(split("d", &["box"], 101));
        assert!(op.unseen_problem().unwrap().contains("101 flagged of 100"));
        op.unseen.pop();
        op.unseen.push(split("e", &["cup"], 1));
        assert!(
            op.unseen_problem()
                .unwrap()
                .contains("`cup` is recorded twice")
        );
    }

    fn plan(spacing_s: f64, read_to_s: f64, placement: Placement) -> Plan {
        Plan {
            spacing_s,
            read_to_s,
            placement,
        }
    }

    fn gaps(v: &[Stretch]) -> Vec<(f64, f64, Unscored)> {
        v.iter().map(|s| (s.start_s, s.end_s, s.why)).collect()
    }

    #[test]
    fn spread_triples_leave_nothing_unscored() {
        // Twenty triples over 10 s, half a second apart, as a spread read places them.
        let times: Vec<f64> = (0..20).map(|k| 0.25 + 0.5 * f64::from(k)).collect();
        assert!(unscored(&times, 10.0, &plan(0.5, 10.0, Placement::Spread)).is_empty());
        // 30 frames at one a second: nine triples, about three frames apart (the plan's own
        // starts), still cover the file.
        let times: Vec<f64> = Sampling::run_starts(60, 3, 30)
            .iter()
            .map(|&s| (s + 1) as f64)
            .collect();
        assert_eq!(times.len(), 9);
        let spacing = 28.0 / 9.0;
        assert!(unscored(&times, 30.0, &plan(spacing, 30.0, Placement::Spread)).is_empty());
    }

    #[test]
    fn key_frame_groups_leave_the_stretches_between_them() {
        // Two key frames (0 s and 5.28 s), ten runs back to back after each.
        let mut times: Vec<f64> = (0..10).map(|k| 0.04 + 0.125 * f64::from(k)).collect();
        times.extend((0..10).map(|k| 5.32 + 0.125 * f64::from(k)));
        let g = gaps(&unscored(
            &times,
            10.0,
            &plan(0.5, 10.0, Placement::KeyFrames),
        ));
        assert_eq!(g.len(), 2, "{g:?}");
        let far = Unscored::FarFromKeyFrames;
        assert!(
            (g[0].0 - 1.665).abs() < 1e-9 && (g[0].1 - 4.82).abs() < 1e-9,
            "{g:?}"
        );
        assert!((g[1].0 - 6.945).abs() < 1e-9 && g[1].1 == 10.0, "{g:?}");
        assert!(g.iter().all(|x| x.2 == far), "{g:?}");
    }

    #[test]
    fn a_stretch_past_the_frames_read_says_so() {
        // 600 s, the first 267 s read at key frames every 2 s: only the tail is left out, and
        // for the frame limit, not for the key frames.
        let times: Vec<f64> = (0..64).map(|k| 2.0 * f64::from(k) + 0.04).collect();
        let g = gaps(&unscored(
            &times,
            600.0,
            &plan(4.2, 266.7, Placement::KeyFrames),
        ));
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(g[0].2, Unscored::FarFromKeyFrames);
        assert!(
            (g[0].0 - 130.24).abs() < 1e-9 && (g[0].1 - 266.7).abs() < 1e-9,
            "{g:?}"
        );
        assert_eq!(
            (g[1].0, g[1].1, g[1].2),
            (266.7, 600.0, Unscored::PastFrameLimit)
        );
        // A spread read that stopped early (a damaged file) did not reach the rest.
        let g = gaps(&unscored(
            &[0.5, 1.0],
            4.0,
            &plan(0.5, 4.0, Placement::Spread),
        ));
        assert_eq!(g, vec![(1.5, 4.0, Unscored::NotReached)]);
    }

    #[test]
    fn nothing_is_claimed_without_a_duration_or_for_slivers() {
        let p = plan(0.5, 4.0, Placement::Spread);
        assert!(unscored(&[3.0], 0.0, &p).is_empty());
        assert!(unscored(&[3.0], f64::NAN, &p).is_empty());
        assert!(unscored(&[3.0], f64::INFINITY, &p).is_empty());
        assert!(unscored(&[0.5, f64::NAN], 1.02, &p).is_empty());
        let late = gaps(&unscored(&[3.0, 3.5], 4.0, &p));
        assert_eq!(late, vec![(0.0, 2.5, Unscored::NotReached)]);
    }

    #[test]
    fn reading_picks_key_frames_only_above_the_bound_unless_told() {
        let (small, large) = (FULL_DECODE_MAX_PIXELS, FULL_DECODE_MAX_PIXELS + 1);
        assert_eq!(Reading::Auto.placement(small), Placement::Spread);
        assert_eq!(Reading::Auto.placement(large), Placement::KeyFrames);
        assert_eq!(Reading::Whole.placement(large), Placement::Spread);
        assert_eq!(Reading::KeyFrames.placement(small), Placement::KeyFrames);
    }
}
