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

mod embed;

pub use embed::SpectralEmbedder;

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
