//! Both marks on a stream of frames: the badge first, then the spectral mark on top of it.

use verity_media::{Picture, VideoFrame};

use super::key::WatermarkKey;
use super::payload::Payload;
use super::spectral::{DEFAULT_STRENGTH, SpectralEmbedder};
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
#[derive(Clone, Debug)]
pub struct Stamper {
    visible: Option<VisibleMarker>,
    spectral: Option<SpectralEmbedder>,
}

impl Stamper {
    /// Prepares the marks for `width`×`height` frames; a picture too small for a mark is an
    /// error that says so.
    pub fn new(opts: &MarkOptions, width: u32, height: u32) -> Result<Self> {
        let visible = opts
            .visible
            .as_ref()
            .map(|v| VisibleMarker::new(v, width, height))
            .transpose()?;
        let spectral = opts
            .spectral
            .as_ref()
            .map(|s| SpectralEmbedder::new(&s.key, s.payload, width, height, s.strength))
            .transpose()?;
        Ok(Stamper { visible, spectral })
    }

    /// The spectral payload, when that mark is on.
    pub fn payload(&self) -> Option<Payload> {
        self.spectral.as_ref().map(SpectralEmbedder::payload)
    }

    pub fn mark(&self, frame: &mut VideoFrame) -> Result<()> {
        if let Some(v) = &self.visible {
            v.apply(frame)?;
        }
        if let Some(s) = &self.spectral {
            match &mut frame.picture {
                Picture::Yuv420 { y, .. } | Picture::Gray(y) => s.mark_luma(y)?,
                // RGB: the same offset on each channel moves luma by that offset and leaves
                // chroma alone.
                Picture::Rgb(img) => s.mark_rgb(img)?,
            }
        }
        Ok(())
    }
}
