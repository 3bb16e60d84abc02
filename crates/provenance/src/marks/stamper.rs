//! Both marks on a stream of frames: the badge first, then the spectral mark on top of it.

use std::sync::OnceLock;

use image::GrayImage;
use verity_media::{Picture, VideoFrame};

use super::key::WatermarkKey;
use super::payload::Payload;
use super::spectral::{DEFAULT_STRENGTH, Geometry, SpectralEmbedder};
use super::visible::{VisibleMarker, VisibleOptions};
use crate::error::Result;

/// Which marks to apply.
#[derive(Clone, Debug)]
pub struct MarkOptions {
    /// The badge, or `None` for no badge.
    pub visible: Option<VisibleOptions>,
    /// The spectral mark's key, payload and strength, or `None` for no spectral mark.
    pub spectral: Option<SpectralOptions>,
}

#[derive(Clone, Debug)]
pub struct SpectralOptions {
    pub key: WatermarkKey,
    pub payload: Payload,
    pub strength: f32,
}

impl SpectralOptions {
    /// A mark with a fresh random asset id, issued under `key`.
    pub fn new_asset(key: WatermarkKey) -> Result<Self> {
        use ring::rand::SecureRandom;
        let mut b = [0u8; 8];
        ring::rand::SystemRandom::new().fill(&mut b).map_err(|_| {
            crate::error::ProvenanceError::MarkKey {
                path: "(asset id)".into(),
                reason: "the system random source failed".into(),
            }
        })?;
        let payload = Payload::new(key.issuer_id(), u64::from_le_bytes(b));
        Ok(SpectralOptions {
            key,
            payload,
            strength: DEFAULT_STRENGTH,
        })
    }
}

/// Applies the chosen marks to frames of one size.
#[derive(Debug)]
pub struct Stamper {
    visible: Option<VisibleMarker>,
    spectral: Option<Spectral>,
}

/// The spectral mark: its options, the fine-geometry embedder (made up front, which checks the
/// frame size) and what the first frame with content chose: a coarse embedder, or `None` for
/// the fine one.
#[derive(Debug)]
struct Spectral {
    opts: SpectralOptions,
    fine: SpectralEmbedder,
    chosen: OnceLock<Option<SpectralEmbedder>>,
}

/// A frame whose luma has a standard deviation below this many levels is a leader (black, one
/// colour): it says nothing about the picture the mark has to hide in, so it gets the fine mark
/// and the choice waits for the first frame with content. A subtle gradient, the flattest
/// content there is, still varies by a few levels.
const LEADER_SD: f64 = 1.0;
/// A frame whose mean luma is below this is a leader too: black with some noise or a logo, or
/// the first steps of a fade-in (video black is 16), whose dimmed picture would make the
/// content look flatter than it is.
const LEADER_MEAN: f64 = 24.0;

/// Whether `luma` is a leader (see [`LEADER_SD`] and [`LEADER_MEAN`]); every other sample of
/// every other row.
fn is_leader(luma: &GrayImage) -> bool {
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    let px = luma.as_raw();
    let (mut s1, mut s2, mut n) = (0f64, 0f64, 0f64);
    for y in (0..h).step_by(2) {
        for &v in px[y * w..(y + 1) * w].iter().step_by(2) {
            let v = f64::from(v);
            s1 += v;
            s2 += v * v;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return true;
    }
    let mean = s1 / n;
    let var = (s2 / n - mean * mean).max(0.0);
    var.sqrt() < LEADER_SD || mean < LEADER_MEAN
}

impl Spectral {
    /// The embedder for a frame whose luma is `luma`: the chosen one once a frame with content
    /// has chosen it, else the fine one for a leader, else the one `luma` chooses.
    fn embedder(&self, luma: &GrayImage) -> Result<&SpectralEmbedder> {
        if let Some(e) = self.decided() {
            return Ok(e);
        }
        if is_leader(luma) {
            return Ok(&self.fine);
        }
        let coarse = self.fine.coarse_for(&self.opts.key, luma)?;
        Ok(self
            .chosen
            .get_or_init(|| coarse)
            .as_ref()
            .unwrap_or(&self.fine))
    }

    /// The embedder chosen, once a frame with content has chosen it.
    fn decided(&self) -> Option<&SpectralEmbedder> {
        self.chosen.get().map(|c| c.as_ref().unwrap_or(&self.fine))
    }

    /// The embedder chosen, or the fine one while only leaders have been seen.
    fn current(&self) -> &SpectralEmbedder {
        self.decided().unwrap_or(&self.fine)
    }
}

impl Stamper {
    /// Prepares the marks for `width`×`height` frames; a picture too small for a mark is an
    /// error that says so.
    pub fn new(opts: &MarkOptions, width: u32, height: u32) -> Result<Self> {
        // The spectral mark's size limit is checked first: a picture too small for both marks
        // is told the floor that no badge option can lower.
        let spectral = match &opts.spectral {
            Some(s) => Some(Spectral {
                // Fails now, before any frame, when the picture cannot carry the mark.
                fine: SpectralEmbedder::new(&s.key, s.payload, width, height, s.strength)?,
                opts: s.clone(),
                chosen: OnceLock::new(),
            }),
            None => None,
        };
        let visible = opts
            .visible
            .as_ref()
            .map(|v| VisibleMarker::new(v, width, height))
            .transpose()?;
        Ok(Stamper { visible, spectral })
    }

    /// The spectral payload, when that mark is on.
    pub fn payload(&self) -> Option<Payload> {
        self.spectral.as_ref().map(|s| s.opts.payload)
    }

    /// The spectral mark's geometry and gain: as the first frame with content chose them, or
    /// the fine geometry at full strength while no such frame has come.
    pub fn spectral_shape(&self) -> Option<(Geometry, f32)> {
        self.spectral
            .as_ref()
            .map(Spectral::current)
            .map(|e| (e.geometry(), e.gain()))
    }

    pub fn mark(&self, frame: &mut VideoFrame) -> Result<()> {
        if let Some(v) = &self.visible {
            v.apply(frame)?;
        }
        if let Some(s) = &self.spectral {
            match &mut frame.picture {
                Picture::Yuv420 { y, .. } | Picture::Gray(y) => s.embedder(y)?.mark_luma(y)?,
                // RGB: the same offset on each channel moves luma by that offset and leaves
                // chroma alone.
                Picture::Rgb(img) => {
                    let e = match s.decided() {
                        Some(e) => e,
                        None => s.embedder(&image::imageops::grayscale(img))?,
                    };
                    e.mark_rgb(img)?
                }
            }
        }
        Ok(())
    }
}
