//! The spectral mark: a keyed, tiled spread-spectrum pattern in luma.
//!
//! **Geometry.** The mark is a tile of 32×32 cells that repeats over the whole frame. It is
//! defined on a *working grid* with 2 working pixels per cell, so a tile is 64 working pixels on
//! a side, and the grid scales with the frame: a resized copy shows the same pattern at the same
//! place relative to the frame. The cell values are joined by bilinear interpolation, which keeps
//! the pattern smooth, and most of its energy lies at periods of 2 to 4 cells. The grid comes in
//! two sizes ([`Geometry`]):
//!
//! - **fine**: `clamp(H / 2, 64, 288)` rows for a frame H rows high, so cells of 4 pixels in a
//!   small frame and 7.5 in a 1080p one (periods of 8 to 16 pixels, 15 to 30 at 1080p): low
//!   enough to survive H.264, JPEG and blur, high enough to stay apart from the picture, whose
//!   energy falls with frequency;
//! - **coarse**: `clamp(H / 4, 64, 144)` rows, cells twice as large. On a flat picture (graphics,
//!   animation, generated scenes) the fine pattern is what the eye and SSIM see, in every 8×8
//!   window; the coarse one changes little within such a window, and it also survives much
//!   harsher compression. On textured footage the picture swamps the coarse one, so there the
//!   fine one is better.
//!
//! The embedder picks the geometry from the first frame with content
//! ([`SpectralEmbedder::for_first_frame`], [`SpectralEmbedder::predicted_ssim`]; the
//! [`Stamper`](super::Stamper) skips black, one-colour or very dark leader frames): fine,
//! unless the fine pattern would bring that frame's SSIM below [`SSIM_TARGET`]; then coarse,
//! turned down as far as the target needs but not below [`MIN_COARSE_GAIN`] of the strength.
//! The extractor searches both.
//!
//! **Cells.** A key-seeded permutation splits the 1024 cells: 256 carry a known pseudo-random
//! *pilot* (±1), which the extractor uses to find the tile's scale, offset and orientation, and to
//! measure its strength; 768 carry the coded bits of the payload (see [`payload`]), times a
//! keyed ±1 chip: the 234 coded bits a reader holding the key does not know already, each on 3
//! or 4 cells ([`Channel::Shortened`], this version's); marks of the earlier versions carry all
//! 306, each on 2 or 3 cells ([`Channel::Full`]), and are still read.
//!
//! **Embedding** adds `strength × pattern` to every luma sample (2.2 levels by default, about
//! 44.5 dB PSNR; the coarse pattern is scaled to the same energy). The same pattern goes into
//! every frame, so the extractor can add frames up: the picture changes from frame to frame and
//! averages out, the mark does not. A frame-rate change or a trim therefore needs no
//! resynchronisation at all.

use image::GrayImage;

use super::key::WatermarkKey;
use super::payload::{self, Channel, Payload};
use crate::error::{ProvenanceError, Result};

/// Cells per tile side.
pub const CELLS: usize = 32;
/// Working pixels per cell.
pub const CELL_PX: usize = 2;
/// Working pixels per tile side.
pub const TILE: usize = CELLS * CELL_PX;
/// Pilot cells per tile.
pub const PILOT_CELLS: usize = 256;
/// Smallest frame side that carries a mark (one tile on the working grid).
pub const MIN_SIDE: u32 = 128;
/// Default amplitude in luma levels.
pub const DEFAULT_STRENGTH: f32 = 2.2;
/// The soft-binding algorithm name recorded in manifests: version 2 added the coarse geometry,
/// version 3 the shortened channel ([`Channel::Shortened`]).
pub const ALGORITHM: &str = "org.verity.spectral.3";
/// Earlier names of the same mark, newest first, still read: a version 2 mark carries every
/// coded bit ([`Channel::Full`]), and a version 1 mark is a version 2 mark in the fine geometry.
pub const EARLIER_ALGORITHMS: &[&str] = &["org.verity.spectral.2", "org.verity.spectral.1"];

/// The name of the newest version of the mark that uses `channel`.
pub fn algorithm(channel: Channel) -> &'static str {
    match channel {
        Channel::Shortened => ALGORITHM,
        Channel::Full => EARLIER_ALGORITHMS[0],
    }
}

/// The SSIM (luma, 8×8 windows) that the fine pattern must keep on the first frame; below it
/// the coarse geometry is used.
pub const SSIM_TARGET: f32 = 0.99;
/// The least share of its strength a coarse mark is turned down to, to keep [`SSIM_TARGET`].
pub const MIN_COARSE_GAIN: f32 = 0.75;
/// SSIM's contrast constant for 8-bit samples, (0.03 × 255)².
const SSIM_C2: f32 = 58.5225;

/// The size of the working grid the mark is drawn on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Geometry {
    /// `clamp(H / 2, 64, 288)` rows.
    #[default]
    Fine,
    /// `clamp(H / 4, 64, 144)` rows: cells twice as large.
    Coarse,
}

impl Geometry {
    /// Working-grid rows for a frame `height` rows high.
    pub fn working_height(self, height: u32) -> f32 {
        match self {
            Geometry::Fine => (height as f32 / 2.0).clamp(64.0, 288.0),
            Geometry::Coarse => (height as f32 / 4.0).clamp(64.0, 144.0),
        }
    }

    /// Whether a `width`×`height` frame holds at least 1.25 tiles of this geometry on its
    /// shorter side, so that a crop or a letterbox still leaves most of one (the coarse tile is
    /// 256 pixels in a frame up to 576 rows high, so it needs 320 rows).
    pub fn fits(self, width: u32, height: u32) -> bool {
        let tile_px = TILE as f32 * height as f32 / self.working_height(height);
        1.25 * tile_px <= width.min(height) as f32
    }

    pub fn name(self) -> &'static str {
        match self {
            Geometry::Fine => "fine",
            Geometry::Coarse => "coarse",
        }
    }
}

/// The keyed split of the tile's cells.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// (cell index, sign).
    pub pilot: Vec<(usize, f32)>,
    /// (cell index, chip), in the key's order; [`Layout::bit`] says which coded bit each
    /// carries.
    pub data: Vec<(usize, f32)>,
}

impl Layout {
    pub fn new(key: &WatermarkKey) -> Self {
        let mut perm: Vec<usize> = (0..CELLS * CELLS).collect();
        let mut rng = key.stream("layout");
        for i in (1..perm.len()).rev() {
            let j = rng.below(i + 1);
            perm.swap(i, j);
        }
        let mut signs = key.stream("pilot");
        let pilot = perm[..PILOT_CELLS]
            .iter()
            .map(|&c| (c, signs.sign()))
            .collect();
        let mut chips = key.stream("chips");
        let data = perm[PILOT_CELLS..]
            .iter()
            .map(|&c| (c, chips.sign()))
            .collect();
        Layout { pilot, data }
    }

    /// The coded bit that the `k`th data cell carries on `channel`: the channel's bits in turn,
    /// so each lies on every `len`th cell of the key's order.
    pub fn bit(k: usize, channel: Channel) -> usize {
        let sent = channel.sent();
        sent.start + k % sent.len()
    }

    /// Cell values (row-major, CELLS×CELLS) of the full mark for `payload` on `channel`.
    pub fn cells(&self, key: &WatermarkKey, payload: Payload, channel: Channel) -> Vec<f32> {
        let bits = payload::encode(key.bytes(), payload);
        let mut v = vec![0f32; CELLS * CELLS];
        for &(c, s) in &self.pilot {
            v[c] = s;
        }
        for (k, &(c, chip)) in self.data.iter().enumerate() {
            let sign = if bits[Self::bit(k, channel)] {
                1.0
            } else {
                -1.0
            };
            v[c] = chip * sign;
        }
        v
    }

    /// Cell values of the pilot alone.
    pub fn pilot_cells(&self) -> Vec<f32> {
        let mut v = vec![0f32; CELLS * CELLS];
        for &(c, s) in &self.pilot {
            v[c] = s;
        }
        v
    }
}

/// Bilinear interpolation of periodic cell values at cell coordinate (cx, cy), where integer
/// coordinates are cell centres.
fn sample(cells: &[f32], cx: f32, cy: f32) -> f32 {
    let (x0, y0) = (cx.floor(), cy.floor());
    let (fx, fy) = (cx - x0, cy - y0);
    let n = CELLS as i64;
    let xi = (x0 as i64).rem_euclid(n) as usize;
    let yi = (y0 as i64).rem_euclid(n) as usize;
    let xj = (xi + 1) % CELLS;
    let yj = (yi + 1) % CELLS;
    let top = cells[yi * CELLS + xi] * (1.0 - fx) + cells[yi * CELLS + xj] * fx;
    let bottom = cells[yj * CELLS + xi] * (1.0 - fx) + cells[yj * CELLS + xj] * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The cell coordinate of working-grid pixel `u` (pixel centres at integers).
pub(crate) fn cell_coord(u: f32) -> f32 {
    (u + 0.5) / CELL_PX as f32 - 0.5
}

/// Renders cell values on a grid of `w`×`h` pixels, where one pixel is `per_px` working pixels.
fn render(cells: &[f32], w: usize, h: usize, per_px: f32) -> Vec<f32> {
    let cols: Vec<f32> = (0..w)
        .map(|x| cell_coord((x as f32 + 0.5) * per_px - 0.5))
        .collect();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let cy = cell_coord((y as f32 + 0.5) * per_px - 0.5);
        out.extend(cols.iter().map(|&cx| sample(cells, cx, cy)));
    }
    out
}

/// The top-left corners of SSIM's 8×8 windows, every 4 pixels, row by row.
fn ssim_windows(w: usize, h: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..h.saturating_sub(7))
        .step_by(4)
        .flat_map(move |by| (0..w.saturating_sub(7)).step_by(4).map(move |bx| (bx, by)))
}

/// The picture's variance in each of [`ssim_windows`]: it does not depend on the mark, so the
/// search for a gain computes it once.
fn window_variances(luma: &GrayImage) -> Vec<f32> {
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

/// The unscaled pattern for `payload` in `geometry`, one value per sample of a `width`×`height`
/// frame.
fn draw(
    key: &WatermarkKey,
    payload: Payload,
    width: u32,
    height: u32,
    geometry: Geometry,
    channel: Channel,
) -> Vec<f32> {
    let cells = Layout::new(key).cells(key, payload, channel);
    let per_px = geometry.working_height(height) / height as f32;
    render(&cells, width as usize, height as usize, per_px)
}

fn rms(v: &[f32]) -> f32 {
    (v.iter().map(|x| x * x).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

/// One tile of the given cells at working resolution (TILE×TILE).
pub(crate) fn render_tile(cells: &[f32]) -> Vec<f32> {
    render(cells, TILE, TILE, 1.0)
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
    plane: Vec<f32>,
    /// The pattern's largest magnitude: samples are first kept this far from 0 and 255, so that
    /// the mark is never clipped (see [`SpectralEmbedder::mark_luma`]).
    headroom: f32,
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

    fn from_plane(
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
    fn coarse(&self, key: &WatermarkKey) -> Self {
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
    fn scaled(mut self, gain: f32) -> Self {
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
    fn ssim_at(&self, picture: &[f32], gain: f32) -> f32 {
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

    fn check_size(&self, width: u32, height: u32) -> Result<()> {
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
    fn add(&self, sample: u8, mark: f32) -> u8 {
        let inside = f32::from(sample).clamp(self.headroom, 255.0 - self.headroom);
        (inside + mark).round().clamp(0.0, 255.0) as u8
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_mark_is_added_whole_at_black_and_white() {
        let key = WatermarkKey::default_key();
        let emb =
            SpectralEmbedder::new(&key, Payload::new(key.issuer_id(), 2), 256, 144, 2.2).unwrap();
        let (w, h) = (256u32, 144u32);
        // Pure black, pure white and mid-grey thirds.
        let value = |x: u32| match x * 3 / w {
            0 => 0u8,
            1 => 128,
            _ => 255,
        };
        let mut luma = GrayImage::from_fn(w, h, |x, _| image::Luma([value(x)]));
        emb.mark_luma(&mut luma).unwrap();
        let mut rgb = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([value(x); 3]));
        emb.mark_rgb(&mut rgb).unwrap();
        for (i, m) in emb.plane.iter().enumerate() {
            let x = i as u32 % w;
            // Where the picture is black or white it first moves inward by the headroom; then
            // the whole mark is added, never clipped.
            let base = f32::from(value(x)).clamp(emb.headroom, 255.0 - emb.headroom);
            let want = (base + m).round();
            assert_eq!(f32::from(luma.as_raw()[i]), want, "luma sample {i}");
            for c in 0..3 {
                assert_eq!(f32::from(rgb.as_raw()[3 * i + c]), want, "rgb sample {i}");
            }
        }
        // Mid-grey is not moved at all, and the headroom is only the mark's own swing.
        assert!(emb.headroom > 0.0 && emb.headroom <= 2.2 + 1e-3);
    }
}
