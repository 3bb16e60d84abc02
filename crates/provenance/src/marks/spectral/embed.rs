//! Embedding: the keyed pattern added to each frame's luma, at a strength chosen from the
//! first frame with content to keep SSIM at the target.

use super::*;

/// SSIM's contrast constant for 8-bit samples, (0.03 × 255)².
pub(super) const SSIM_C2: f32 = 58.5225;

/// The top-left corners of SSIM's 8×8 windows, every 4 pixels, row by row.
pub(super) fn ssim_windows(w: usize, h: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..h.saturating_sub(7))
        .step_by(4)
        .flat_map(move |by| (0..w.saturating_sub(7)).step_by(4).map(move |bx| (bx, by)))
}

/// The picture's variance in each of [`ssim_windows`]: it does not depend on the mark, so the
/// search for a gain computes it once.
pub(super) fn window_variances(luma: &GrayImage) -> Vec<f32> {
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    let px = luma.as_raw();
    ssim_windows(w, h)
        .map(|(bx, by)| {
            let (mut s1, mut s2) = (0f32, 0f32);
            for y in by..by + 8 {
                for &v in &px[y * w + bx..y * w + bx + 8] {
                    let v = f32::from(v);
                    s1 += v;
                    s2 += v * v;
                }
            }
            (s2 / 64.0 - (s1 / 64.0).powi(2)).max(0.0)
        })
        .collect()
}

/// Adds the mark to frames of one size.
#[derive(Clone)]
pub struct SpectralEmbedder {
    width: u32,
    height: u32,
    payload: Payload,
    /// The strength asked for and the RMS of the unscaled fine pattern: a coarse mark is
    /// scaled to the energy of the fine one.
    energy: (f32, f32),
    geometry: Geometry,
    channel: Channel,
    /// See [`SpectralEmbedder::gain`].
    gain: f32,
    /// strength × pattern, one value per luma sample.
    pub(super) plane: Vec<f32>,
    /// The pattern's largest magnitude: samples are first kept this far from 0 and 255, so that
    /// the mark is never clipped (see [`SpectralEmbedder::mark_luma`]).
    pub(super) headroom: f32,
}

impl std::fmt::Debug for SpectralEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpectralEmbedder")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("payload", &self.payload)
            .field("geometry", &self.geometry)
            .finish()
    }
}

impl SpectralEmbedder {
    /// Prepares the fine-geometry mark for `width`×`height` frames. Frames smaller than
    /// [`MIN_SIDE`] on either side cannot carry it, and `payload` must carry the key's issuer
    /// id and the current layout version (the readers count on both).
    pub fn new(
        key: &WatermarkKey,
        payload: Payload,
        width: u32,
        height: u32,
        strength: f32,
    ) -> Result<Self> {
        Self::on_channel(key, payload, width, height, strength, Channel::CURRENT)
    }

    /// [`new`](Self::new) with the data cells carrying `channel`'s coded bits: an earlier
    /// version's mark, for checking that the readers still read it.
    pub(crate) fn on_channel(
        key: &WatermarkKey,
        payload: Payload,
        width: u32,
        height: u32,
        strength: f32,
        channel: Channel,
    ) -> Result<Self> {
        if width < MIN_SIDE || height < MIN_SIDE {
            return Err(ProvenanceError::TooSmallForMark {
                width,
                height,
                min: MIN_SIDE,
            });
        }
        if !(strength.is_finite() && strength > 0.0 && strength <= 32.0) {
            return Err(ProvenanceError::MarkOption {
                name: "strength",
                value: strength.to_string(),
                allowed: "a number of luma levels in (0, 32]".into(),
            });
        }
        // Readers decode only words with their key's issuer and the current version
        // (`payload::decode_list`): any other payload would make a mark nobody can read.
        if payload.issuer != key.issuer_id() || payload.version != payload::VERSION {
            return Err(ProvenanceError::MarkOption {
                name: "payload",
                value: payload.to_hex(),
                allowed: format!(
                    "version {} and this key's issuer id {:05x}",
                    payload::VERSION,
                    key.issuer_id()
                ),
            });
        }
        let mut plane = draw(key, payload, width, height, Geometry::Fine, channel);
        let fine_rms = rms(&plane);
        for v in &mut plane {
            *v *= strength;
        }
        let energy = (strength, fine_rms);
        Ok(Self::from_plane(
            width,
            height,
            payload,
            energy,
            (Geometry::Fine, channel),
            plane,
        ))
    }

    pub(super) fn from_plane(
        width: u32,
        height: u32,
        payload: Payload,
        energy: (f32, f32),
        (geometry, channel): (Geometry, Channel),
        plane: Vec<f32>,
    ) -> Self {
        let headroom = plane.iter().fold(0f32, |m, v| m.max(v.abs()));
        SpectralEmbedder {
            width,
            height,
            payload,
            energy,
            geometry,
            channel,
            gain: 1.0,
            plane,
            headroom,
        }
    }

    /// Prepares the mark in the given geometry. The coarse pattern is scaled to the energy the
    /// fine one has at this `strength`, so that both cost the same PSNR. A geometry whose tile
    /// does not fit in the frame ([`Geometry::fits`]) falls back to the fine one.
    pub fn with_geometry(
        key: &WatermarkKey,
        payload: Payload,
        width: u32,
        height: u32,
        strength: f32,
        geometry: Geometry,
    ) -> Result<Self> {
        let fine = Self::new(key, payload, width, height, strength)?;
        Ok(
            if geometry.fits(width, height) && geometry == Geometry::Coarse {
                fine.coarse(key)
            } else {
                fine
            },
        )
    }

    /// The coarse mark with this fine mark's key, payload and energy (`self` is a fine mark at
    /// full gain, made with `key`).
    pub(super) fn coarse(&self, key: &WatermarkKey) -> Self {
        let (w, h) = (self.width, self.height);
        let mut plane = draw(key, self.payload, w, h, Geometry::Coarse, self.channel);
        let (strength, fine_rms) = self.energy;
        let gain = strength * (fine_rms / rms(&plane).max(1e-6));
        for v in &mut plane {
            *v *= gain;
        }
        let kind = (Geometry::Coarse, self.channel);
        Self::from_plane(w, h, self.payload, self.energy, kind, plane)
    }

    /// The mark for a video whose first frame is `first` (luma, `width`×`height`):
    ///
    /// 1. the fine geometry, when it keeps that frame's SSIM at [`SSIM_TARGET`] or when the
    ///    coarse tile does not fit;
    /// 2. else the coarse geometry, at full strength when it keeps the target;
    /// 3. else the coarse geometry turned down as far as the target needs, but never below
    ///    [`MIN_COARSE_GAIN`] of its strength: past that, the mark would no longer survive what
    ///    it is for.
    pub fn for_first_frame(
        key: &WatermarkKey,
        payload: Payload,
        strength: f32,
        first: &GrayImage,
    ) -> Result<Self> {
        let fine = Self::new(key, payload, first.width(), first.height(), strength)?;
        Ok(fine.coarse_for(key, first)?.unwrap_or(fine))
    }

    /// For a fine mark at full gain made with `key`: the coarse mark that a video whose first
    /// frame is `first` gets instead, or `None` to keep this one (the rules of
    /// [`for_first_frame`](Self::for_first_frame)).
    pub(crate) fn coarse_for(&self, key: &WatermarkKey, first: &GrayImage) -> Result<Option<Self>> {
        self.check_size(first.width(), first.height())?;
        let picture = window_variances(first);
        if self.geometry != Geometry::Fine
            || self.ssim_at(&picture, 1.0) >= SSIM_TARGET
            || !Geometry::Coarse.fits(self.width, self.height)
        {
            return Ok(None);
        }
        let coarse = self.coarse(key);
        let keeps = |gain: f32| coarse.ssim_at(&picture, gain) >= SSIM_TARGET;
        if keeps(1.0) {
            return Ok(Some(coarse));
        }
        if !keeps(MIN_COARSE_GAIN) {
            return Ok(Some(coarse.scaled(MIN_COARSE_GAIN)));
        }
        // The SSIM falls as the gain rises: bisect for the largest gain that keeps the target.
        let (mut lo, mut hi) = (MIN_COARSE_GAIN, 1.0f32);
        for _ in 0..6 {
            let mid = 0.5 * (lo + hi);
            if keeps(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(Some(coarse.scaled(lo)))
    }

    /// The same mark with its amplitude multiplied by `gain`.
    pub(super) fn scaled(mut self, gain: f32) -> Self {
        for v in &mut self.plane {
            *v *= gain;
        }
        self.headroom *= gain;
        self.gain *= gain;
        self
    }

    /// The share of its strength the mark is added at: 1 unless
    /// [`for_first_frame`](Self::for_first_frame) turned a coarse mark down.
    pub fn gain(&self) -> f32 {
        self.gain
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The SSIM this mark would leave `luma` with, as ffmpeg's `ssim` filter measures it (8×8
    /// windows every 4 pixels), taking the mark as independent of the picture: in a window where
    /// the picture's variance is σ² and the rounded mark's is m², (2σ² + C₂) / (2σ² + m² + C₂).
    /// A flat window shows the whole mark; a textured one masks it.
    pub fn predicted_ssim(&self, luma: &GrayImage) -> Result<f32> {
        self.check_size(luma.width(), luma.height())?;
        Ok(self.ssim_at(&window_variances(luma), 1.0))
    }

    /// [`predicted_ssim`](Self::predicted_ssim) with the mark multiplied by `gain`, given the
    /// picture's variance in each window ([`window_variances`]).
    pub(super) fn ssim_at(&self, picture: &[f32], gain: f32) -> f32 {
        let w = self.width as usize;
        let (mut sum, mut n) = (0f64, 0usize);
        for ((bx, by), &var) in ssim_windows(w, self.height as usize).zip(picture) {
            let (mut m1, mut m2) = (0f32, 0f32);
            for y in by..by + 8 {
                for &v in &self.plane[y * w + bx..y * w + bx + 8] {
                    // What the embedder adds to a whole-numbered sample is the mark rounded:
                    // on a flat picture the rounding is part of what is seen.
                    let m = (gain * v).round();
                    m1 += m;
                    m2 += m * m;
                }
            }
            let mvar = (m2 / 64.0 - (m1 / 64.0).powi(2)).max(0.0);
            sum += f64::from((2.0 * var + SSIM_C2) / (2.0 * var + mvar + SSIM_C2));
            n += 1;
        }
        if n == 0 { 1.0 } else { (sum / n as f64) as f32 }
    }

    pub(super) fn check_size(&self, width: u32, height: u32) -> Result<()> {
        if width != self.width || height != self.height {
            return Err(ProvenanceError::FrameSize {
                expected: (self.width, self.height),
                got: (width, height),
            });
        }
        Ok(())
    }

    pub fn payload(&self) -> Payload {
        self.payload
    }

    /// Adds the mark to a luma plane of the size given to [`SpectralEmbedder::new`].
    ///
    /// A sample closer to 0 or 255 than the pattern's largest magnitude is first moved inward to
    /// that distance, so the mark is added whole rather than clipped. Clipping would keep only
    /// the half of the mark that points inward, and the extractor would see half the signal plus
    /// a residue shaped like the content. Moving a region of pure black or white by the same
    /// small step is a constant offset over that region, which the extractor's high-pass
    /// removes; pictures in the usual 16–235 range are not moved at all.
    pub fn mark_luma(&self, luma: &mut GrayImage) -> Result<()> {
        self.check_size(luma.width(), luma.height())?;
        for (p, m) in luma.as_mut().iter_mut().zip(&self.plane) {
            *p = self.add(*p, *m);
        }
        Ok(())
    }

    /// Adds the mark to every channel of an RGB picture, which moves its luma by the mark. Each
    /// channel keeps the same headroom as in [`SpectralEmbedder::mark_luma`].
    pub fn mark_rgb(&self, img: &mut image::RgbImage) -> Result<()> {
        self.check_size(img.width(), img.height())?;
        for (px, m) in img.as_mut().chunks_exact_mut(3).zip(&self.plane) {
            for c in px {
                *c = self.add(*c, *m);
            }
        }
        Ok(())
    }

    /// One sample plus its share of the mark, moved inward first so that the sum fits in 0–255.
    pub(super) fn add(&self, sample: u8, mark: f32) -> u8 {
        let inside = f32::from(sample).clamp(self.headroom, 255.0 - self.headroom);
        (inside + mark).round().clamp(0.0, 255.0) as u8
    }
}
