//! The watermark layers of `verify`: one pass over sampled frames feeds both the spectral-mark
//! extractor and the badge detector.

use std::path::Path;

use serde::Serialize;
use verity_media::{PixelFormat, Reader, ReaderOptions, Sampling};
use verity_provenance::marks::{
    Accumulator, DetectOptions, Detection, Signal, VisibleDetection, VisibleDetector, WatermarkKey,
};

use crate::error::Result;

/// Frames decoded and pooled at most, so that reading the marks stays fast on long videos: the
/// spectral mark is the same in every frame.
pub const MAX_DECODED_FRAMES: u64 = 90;

/// Whether a video holds enough picture for the mark's absence to mean anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalLevel {
    Enough,
    NotEnough,
}

/// The watermark part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct WatermarkSection {
    pub found: bool,
    /// `enough`, or `not-enough` when the video is too small or short for the absence of a
    /// mark to mean anything.
    pub signal: SignalLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The 64-bit payload as 16 hex digits (the soft-binding value).
    pub payload: Option<String>,
    pub version: Option<u8>,
    pub issuer: Option<u32>,
    pub asset_id: Option<u64>,
    /// The key that read it: "default" or the key file.
    pub key: Option<String>,
    /// The mark's version that read, as its soft-binding algorithm name: the current one
    /// (`org.verity.spectral.3`), or `org.verity.spectral.2` for a mark made before it.
    pub algorithm: Option<&'static str>,
    pub confidence: f32,
    /// Pilot correlation peak in standard deviations.
    pub sync_score: f32,
    /// Tile period found, relative to the nominal (≈1 after a resize, 1/0.71 after a crop).
    pub scale: f32,
    pub flipped: bool,
    /// The rotation of the best candidate in degrees, clockwise; 0 unless the rotation search
    /// was asked for.
    pub rotation_deg: f32,
    /// When no payload passed its check: the decoder's best guess of the 64 bits, rejected by
    /// the check. Not a payload: it identifies nothing (its leading digits may look like any
    /// issuer id) and is there for measuring bit accuracy in evaluations only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_guess: Option<String>,
    /// Upper bound on the chance that an unmarked video reads like this.
    pub false_positive_bound: f64,
    pub frames_used: usize,
}

impl WatermarkSection {
    pub fn from_detection(d: &Detection) -> Self {
        let (signal, reason) = match &d.signal {
            Signal::Enough => (SignalLevel::Enough, None),
            Signal::NotEnough(r) => (SignalLevel::NotEnough, Some(r.clone())),
        };
        WatermarkSection {
            found: d.found,
            signal,
            reason,
            payload: d.payload.map(|p| p.to_hex()),
            version: d.payload.map(|p| p.version),
            issuer: d.payload.map(|p| p.issuer),
            asset_id: d.payload.map(|p| p.asset),
            key: d.key.clone(),
            algorithm: d.algorithm,
            confidence: d.confidence,
            sync_score: d.sync_score,
            scale: d.scale,
            flipped: d.flipped,
            rotation_deg: d.rotation,
            rejected_guess: if d.found {
                None
            } else {
                d.best_guess.map(|p| p.to_hex())
            },
            false_positive_bound: d.false_positive_bound,
            frames_used: d.frames_used,
        }
    }
}

/// Reads both marks from `path`.
pub fn scan(
    path: &Path,
    keys: &[WatermarkKey],
    opts: DetectOptions,
) -> Result<(Detection, VisibleDetection)> {
    let mut reader = Reader::open(
        path,
        ReaderOptions {
            format: PixelFormat::Gray8,
            sampling: Sampling::All,
            ..ReaderOptions::default()
        },
    )?;
    let mut acc = Accumulator::new();
    let mut badge = VisibleDetector::new();
    let mut decoded = 0u64;
    while let Some(frame) = reader.next_frame()? {
        decoded += 1;
        if let Some(luma) = frame.luma() {
            acc.add(luma);
            // The badge moves slowly: every third frame is plenty.
            if decoded % 3 == 1 {
                badge.add(luma, frame.time_s());
            }
        }
        if decoded >= MAX_DECODED_FRAMES {
            break;
        }
    }
    let mut det = acc.detect_with(keys, opts);
    if det.signal == Signal::Enough && acc.frames() < 2 && !det.found {
        det.signal = Signal::NotEnough(format!(
            "only {} usable frame(s); the mark needs several to be pooled",
            acc.frames()
        ));
    }
    Ok((det, badge.finish()))
}

/// The soft binding that the spectral mark in `path` carries, as (algorithm, value), when a
/// mark is found: what a Resolution API's `byContent` looks up. `keys` are tried before the
/// documented default key.
pub fn read_binding(path: &Path, keys: &[WatermarkKey]) -> Result<Option<(String, String)>> {
    let mut keys = keys.to_vec();
    keys.push(WatermarkKey::default_key());
    let (det, _) = scan(path, &keys, DetectOptions::default())?;
    let w = WatermarkSection::from_detection(&det);
    Ok(match (w.found, w.payload, w.algorithm) {
        (true, Some(value), Some(alg)) => Some((alg.to_string(), value)),
        _ => None,
    })
}
