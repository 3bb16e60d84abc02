//! Reading the spectral mark: pool frames, find the tile, decode the payload.
//!
//! 1. **Pool.** Each frame's luma is reduced to a working grid `min(H, 288)` rows high (area
//!    average), high-passed (minus the mean of the similar pixels in its 5×5 neighbourhood, an
//!    edge-preserving filter), weighted down where the picture is busy, scaled to unit variance,
//!    clipped at ±3 and added to one pooled image. The picture averages out over frames; the
//!    mark, the same in every frame, adds up. The same is done on a grid half as large each way
//!    (the working grid's 2×2 means), where a coarse-geometry mark (see
//!    [`Geometry`](super::spectral::Geometry)) has cells as many pixels wide as a fine one has on
//!    the working grid, so that the same filters suit it.
//! 2. **Resynchronise.** A resize keeps the pattern's size relative to the frame, but a crop
//!    enlarges it, so the tile's period in the pooled image is searched for: 64·r pooled
//!    pixels for r from 0.45 to 2.5 on the working grid and from 0.8 to 2.5 on the half-size
//!    one, coarse (0.6% steps, on a central window) then fine (0.1% steps within ±2% of the
//!    three best coarse peaks at distinct scales, on the whole image).
//!    For each r the image is folded onto one 64×64 tile, its spectrum whitened (each frequency
//!    divided by the RMS magnitude around it, so that the bands where the picture and the codec
//!    left most do not drown the rest) and circularly cross-correlated with the key's pilot (by
//!    FFT), which gives the tile's offset (a crop, a trim of the picture's edges) and a sync
//!    score: the correlation peak in standard deviations of all 4096 offsets. A
//!    mirrored copy is searched too (a horizontal flip). On request
//!    ([`DetectOptions::rotation`]), when neither finds a mark, copies of the pooled images
//!    turned by ±1° to ±15° in 1° steps are searched the same way. Half a step off still reads:
//!    the tile's cells span several pooled pixels.
//! 3. **Decode.** At the best candidates the data cells of the whitened tile are read with a
//!    matched filter, spread signs removed, and the soft values list-Viterbi-decoded: the
//!    [`LIST_SIZE`] most likely words, best first, among those that carry the key's issuer id
//!    and the current layout version (a reader holding the key knows both, see [`payload`]). A
//!    mark is *found* when one of them passes its keyed 32-bit check; the check picks the word,
//!    as a CRC does in CRC-aided list decoding. The cells are read as the current version's
//!    channel first ([`Channel::Shortened`]), then as the earlier versions' ([`Channel::Full`]),
//!    so marks made before still read; [`Detection::algorithm`] says which.
//!
//! **False positives.** On an unmarked video each word the decoder returns is a random word, which
//! passes the check with probability at most 2⁻³¹ (2⁻³² for the exact tag, 2⁻³² for the near-tag
//! test). At most [`MAX_DECODES`] candidates are decoded per key, each as both channels into at
//! most [`LIST_SIZE`] words ([`MAX_WORDS`] = 256 words; twice that with the rotation search), so
//! by the union bound the probability of a false positive for one video is at most
//! `words checked × 2⁻³¹` over all the keys tried, reported as `false_positive_bound`: at most
//! 1.2e-7 per key, 2.4e-7 with the rotation search, so three keys with the rotation search stay
//! under 7.2e-7.

mod decode;
mod pool;
mod sync;

use std::borrow::Cow;
use std::sync::Arc;

use image::GrayImage;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::key::WatermarkKey;
use super::payload::{self, CODED_BITS, Channel, Payload};
use super::resample::area_resize;
use decode::*;
use pool::*;
use sync::*;

use super::spectral::{CELL_PX, CELLS, Layout, MIN_SIDE, TILE, algorithm, render_tile};

/// Working-grid rows for the extractor at most; smaller frames are read at their own size.
pub const EXTRACT_HEIGHT: u32 = 288;
/// Sync candidates decoded per key (each into a list of [`LIST_SIZE`] words).
pub const MAX_DECODES: usize = 8;
/// The smallest scale searched (tile period 64·r in the pooled image).
pub const MIN_SCALE: f32 = 0.45;
pub const MAX_SCALE: f32 = 2.5;
/// The smallest scale searched on the half-size grid, where coarse-geometry tiles are looked
/// for (a coarse tile has a period of 64·r there with r ≈ 1 to 2.1, and up to 2.5 after a
/// crop); 0.8 there is a period of 1.6 on the working grid, which the fine search covers.
pub const COARSE_MIN_SCALE: f32 = 0.8;
/// Words the list decoder returns for each candidate decoded; each one checked counts in the
/// false-positive bound.
pub const LIST_SIZE: usize = 16;
/// Words checked per key at most: every decode's whole list, for both channels (twice this with
/// the rotation search).
pub const MAX_WORDS: usize = MAX_DECODES * 2 * LIST_SIZE;
/// Pools luma frames for extraction.
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    /// Source frame size the grids were made for; set by the first frame.
    source: Option<(u32, u32)>,
    /// The frames on the working grid, where fine-geometry tiles are searched.
    fine: Pool,
    /// The frames on a grid half as large each way, where coarse-geometry tiles are searched:
    /// there their cells are as many pixels wide as fine ones are on the working grid, so the
    /// same filters suit them.
    coarse: Pool,
    frames: usize,
    skipped: usize,
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames pooled so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Adds one frame's luma plane. Frames of another size than the first, or flat frames, are
    /// skipped (and counted in [`Accumulator::skipped`]).
    pub fn add(&mut self, luma: &GrayImage) {
        let (w, h) = (luma.width(), luma.height());
        if w < 16 || h < 16 {
            self.skipped += 1;
            return;
        }
        match self.source {
            Some(s) if s != (w, h) => {
                self.skipped += 1;
                return;
            }
            Some(_) => {}
            None => {
                let gh = h.min(EXTRACT_HEIGHT) as usize;
                let gw = ((w as f64 * gh as f64 / h as f64).round() as usize).max(1);
                self.source = Some((w, h));
                self.fine = Pool::new(gw, gh);
                self.coarse = Pool::new(gw / 2, gh / 2);
            }
        }
        let (gw, gh) = (self.fine.w, self.fine.h);
        let grid = area_resize(luma, gw, gh);
        if !self.fine.add(&grid) {
            self.skipped += 1;
            return;
        }
        if self.coarse.holds_a_tile() {
            self.coarse.add(&halve(&grid, gw, gh));
        }
        self.frames += 1;
    }

    /// Frames that could not be used.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Looks for a mark made with any of `keys`, upright or mirrored.
    pub fn detect(&self, keys: &[WatermarkKey]) -> Detection {
        self.detect_with(keys, DetectOptions::default())
    }

    /// [`detect`](Self::detect), with the searches `opts` adds.
    pub fn detect_with(&self, keys: &[WatermarkKey], opts: DetectOptions) -> Detection {
        let mut det = Detection {
            frames_used: self.frames,
            ..Detection::default()
        };
        let Some((sw, sh)) = self.source else {
            det.signal = Signal::NotEnough("no frame could be read".into());
            return det;
        };
        if self.frames == 0 {
            det.signal = Signal::NotEnough("every frame was flat or of another size".into());
            return det;
        }
        if sw < MIN_SIDE || sh < MIN_SIDE {
            det.signal = Signal::NotEnough(format!(
                "the picture is {sw}x{sh}; a mark needs at least {MIN_SIDE} pixels a side, so its absence means nothing"
            ));
            return det;
        }
        if !self.fine.holds_a_tile() {
            det.signal = Signal::NotEnough(format!(
                "the picture ({sw}x{sh}) is too small to hold one tile of the mark"
            ));
            return det;
        }
        let fft = Fft2::new();
        let mut attempts = 0usize;
        let keyed: Vec<(&WatermarkKey, Layout, Vec<Complex32>)> = keys
            .iter()
            .map(|key| {
                let layout = Layout::new(key);
                let pilot = fft.spectrum(&periodic_high_pass(&render_tile(&layout.pilot_cells())));
                (key, layout, pilot)
            })
            .collect();
        // Every key upright first; the slow rotation search only when none of them read.
        let mut read = |hyps: &[Hypothesis<'_>]| -> bool {
            keyed.iter().any(|(key, layout, pilot)| {
                Decoding {
                    key,
                    layout,
                    pilot,
                    fft: &fft,
                    threads: opts.thread_count(),
                    det: &mut det,
                    attempts: &mut attempts,
                }
                .try_hypotheses(hyps)
            })
        };
        let pools: Vec<(&Pool, Grid)> = [(&self.fine, Grid::Fine), (&self.coarse, Grid::Coarse)]
            .into_iter()
            .filter(|(p, _)| p.holds_a_tile())
            .collect();
        let mirrored: Vec<Vec<f32>> = pools.iter().map(|(p, _)| p.mirrored()).collect();
        let upright: Vec<Hypothesis<'_>> = pools
            .iter()
            .zip(&mirrored)
            .flat_map(|(&(p, grid), m)| {
                [
                    Hypothesis::new(p, &p.sum, grid, false, 0.0),
                    Hypothesis::new(p, m, grid, true, 0.0),
                ]
            })
            .collect();
        if !read(&upright) && opts.rotation {
            let rotated: Vec<Hypothesis<'_>> = pools
                .iter()
                .flat_map(|&(p, grid)| {
                    rotation_angles().map(move |deg| Hypothesis {
                        img: rotate(&p.sum, p.w, p.h, deg).into(),
                        w: p.w,
                        h: p.h,
                        grid,
                        flipped: false,
                        rotation: deg,
                    })
                })
                .collect();
            read(&rotated);
        }
        det.decodes = attempts;
        det.false_positive_bound = attempts as f64 * 2f64.powi(-31);
        det.confidence = if det.found {
            (2.0 * det.agreement - 1.0).clamp(0.0, 1.0)
        } else {
            0.0
        };
        det
    }
}

/// Searches beyond the default ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct DetectOptions {
    /// When no key reads an upright or mirrored mark, also search rotations of up to
    /// ±[`MAX_ROTATION`] degrees: 30 more images per grid and key (the second grid is a quarter
    /// the size of the first), spread over the cores. An upright mark costs nothing more; on a
    /// video without one, reading takes about twice as long.
    pub rotation: bool,
    /// The most threads the search may use; 0 takes every core. A service running several
    /// verifications side by side gives each a share.
    pub threads: usize,
}

impl DetectOptions {
    /// The thread budget as a count: `threads`, or every core when it is 0.
    pub fn thread_count(&self) -> usize {
        thread_budget(self.threads)
    }
}

/// A thread budget as a count of threads: every core when it is 0, and never more than the
/// cores.
pub fn thread_budget(budget: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match budget {
        0 => cores,
        n => n.min(cores),
    }
}

/// The largest rotation searched, in degrees.
pub const MAX_ROTATION: f32 = 15.0;
/// The step between rotations searched, in degrees.
pub const ROTATION_STEP: f32 = 1.0;

/// The rotations searched when [`DetectOptions::rotation`] is on, in degrees, nearest first.
pub fn rotation_angles() -> impl Iterator<Item = f32> {
    let n = (MAX_ROTATION / ROTATION_STEP).round() as i32;
    (1..=n).flat_map(|k| {
        let a = k as f32 * ROTATION_STEP;
        [a, -a]
    })
}

/// Whether the input could carry a mark at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Signal {
    #[default]
    Enough,
    /// Too small, too short or empty: the absence of a mark means nothing.
    NotEnough(String),
}

/// What the extractor found.
#[derive(Clone, Debug, Default)]
pub struct Detection {
    pub signal: Signal,
    /// A payload passed its check code.
    pub found: bool,
    pub payload: Option<Payload>,
    /// The key that read it ("default" or its file).
    pub key: Option<String>,
    /// 2 × (share of coded bits agreeing with the decoded codeword) − 1 when found: 1 for a clean
    /// channel, near 0 at the limit of decoding.
    pub confidence: f32,
    /// Share of coded bits agreeing with the decoded codeword (0.5 is chance).
    pub agreement: f32,
    /// The best sync score (pilot correlation peak, in standard deviations).
    pub sync_score: f32,
    /// Tile period found, in units of 64 working-grid pixels (a coarse tile read on the
    /// half-size grid counts twice its period there); a 0.71 crop multiplies it by 1/0.71.
    pub scale: f32,
    /// Tile offset in tile bins.
    pub offset: (usize, usize),
    pub flipped: bool,
    /// The rotation of the best candidate in degrees, clockwise (0 unless rotations were
    /// searched); with [`scale`](Self::scale) and [`flipped`](Self::flipped), where the mark was
    /// found.
    pub rotation: f32,
    pub frames_used: usize,
    /// Words checked against the keyed tag (up to [`LIST_SIZE`] for each candidate decoded and
    /// each channel).
    pub decodes: usize,
    /// Upper bound on the probability that an unmarked video gives this result.
    pub false_positive_bound: f64,
    /// The decoded payload even when its check failed (for measuring bit accuracy).
    pub best_guess: Option<Payload>,
    /// The version of the mark that was read (see [`algorithm`]): the current one, or an
    /// earlier one whose channel differs.
    pub algorithm: Option<&'static str>,
}

impl Detection {
    /// Records a decoded word, and where it was read, as the best guess so far.
    fn note(&mut self, d: &payload::Decoded, c: &Candidate, hyp: &Hypothesis<'_>) {
        self.best_guess = Some(d.payload);
        self.agreement = d.agreement;
        self.scale = c.scale * hyp.grid.unit();
        self.offset = c.shift;
        self.flipped = hyp.flipped;
        self.rotation = hyp.rotation;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::marks::SpectralEmbedder;
    use crate::marks::key::SplitMix;
    use crate::marks::spectral::{ALGORITHM, EARLIER_ALGORITHMS};

    /// The matched-filter output of a tile carrying `p` on `channel` under `key` (whose layout
    /// is `layout`) at origin (0, 0), each cell's value plus Gaussian noise of `sigma`.
    fn noisy_cells(
        key: &WatermarkKey,
        layout: &Layout,
        p: Payload,
        channel: Channel,
        sigma: f32,
        seed: u64,
    ) -> Vec<f32> {
        let mut rng = SplitMix(seed);
        let mut g = vec![0f32; TILE * TILE];
        for (cell, v) in layout.cells(key, p, channel).into_iter().enumerate() {
            g[cell_bin(cell, (0, 0))] = v + sigma * rng.normal();
        }
        g
    }

    #[test]
    fn the_shortened_channel_reads_marks_the_full_one_loses_in_the_same_noise() {
        let key = WatermarkKey::default_key();
        let layout = Layout::new(&key);
        let p = Payload::new(key.issuer_id(), 0x3C_5A5A_0F0F);
        let reads = |channel: Channel| {
            (0..200)
                .filter(|&seed| {
                    let g = noisy_cells(&key, &layout, p, channel, 2.4, 900 + seed);
                    let soft = read_soft(&g, &layout, (0, 0), channel);
                    // The bits off the channel are erased, and the rest have unit variance.
                    assert!(soft[..channel.sent().start].iter().all(|&v| v == 0.0));
                    let sent = &soft[channel.sent()];
                    let ms = sent.iter().map(|v| v * v).sum::<f32>() / sent.len() as f32;
                    assert!((ms - 1.0).abs() < 1e-3);
                    let list = payload::decode_list(key.bytes(), &soft, LIST_SIZE, Some(p.issuer));
                    list.unwrap().iter().any(|d| d.tag_ok && d.payload == p)
                })
                .count()
        };
        let (full, shortened) = (reads(Channel::Full), reads(Channel::Shortened));
        // Per-cell noise of 2.4 (each bit's cells add up) is near the full channel's limit:
        // it reads 19 of the 200 words, the shortened one 108.
        assert!(full >= 5, "the channel shows nothing: {full}");
        assert!(
            shortened >= 3 * full,
            "shortened {shortened} vs full {full}"
        );
    }

    #[test]
    fn marks_of_the_earlier_channel_are_still_read_and_named() {
        let key = WatermarkKey::default_key();
        let p = Payload::new(key.issuer_id(), 0x01_0203_0405);
        let (w, h) = (320u32, 180u32);
        for (channel, name) in [
            (Channel::Full, EARLIER_ALGORITHMS[0]),
            (Channel::Shortened, ALGORITHM),
        ] {
            let emb = SpectralEmbedder::on_channel(&key, p, w, h, 2.2, channel).unwrap();
            let mut acc = Accumulator::new();
            for t in 0..4u32 {
                // A smooth picture that drifts from frame to frame.
                let mut f = GrayImage::from_fn(w, h, |x, y| {
                    let (x, y) = (x as f32 + 3.0 * t as f32, y as f32);
                    image::Luma([(120.0 + 50.0 * (x / 23.0).sin() * (y / 31.0).cos()) as u8])
                });
                emb.mark_luma(&mut f).unwrap();
                acc.add(&f);
            }
            let d = acc.detect(std::slice::from_ref(&key));
            assert!(d.found, "{channel:?}: {d:?}");
            assert_eq!(d.payload, Some(p));
            assert_eq!(d.algorithm, Some(name));
        }
    }

    /// The plain 5×5 box high-pass, for comparison.
    fn box_high_pass(img: &[f32], w: usize, h: usize) -> Vec<f32> {
        let mean = box_mean(img, w, h, 2);
        img.iter().zip(&mean).map(|(v, m)| v - m).collect()
    }

    #[test]
    fn the_edge_preserving_high_pass_is_the_box_high_pass_where_the_picture_is_smooth() {
        let (w, h) = (23, 17);
        // A faint pattern on a gentle slope: every 5×5 neighbourhood stays within the limit.
        let img: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                100.0 + 0.2 * x + 0.1 * y + 1.5 * ((x * 1.7).sin() * (y * 0.9).cos())
            })
            .collect();
        let a = edge_preserving_high_pass(&img, w, h);
        let b = box_high_pass(&img, w, h);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!((x - y).abs() < 1e-4, "pixel {i}: {x} vs {y}");
        }
    }

    #[test]
    fn an_edge_does_not_leak_into_the_flat_pixels_beside_it() {
        let (w, h) = (20, 10);
        // Black left half, white right half, and one faint bump on the black side by the edge.
        let mut img: Vec<f32> = (0..w * h)
            .map(|i| if i % w < 10 { 16.0 } else { 235.0 })
            .collect();
        img[5 * w + 9] += 2.0;
        let out = edge_preserving_high_pass(&img, w, h);
        for y in 0..h {
            for x in 0..w {
                let v = out[y * w + x];
                let expect = if (y, x) == (5, 9) {
                    // The bump minus its share of the mean of the 15 black pixels around it.
                    2.0 - 2.0 / 15.0
                } else if (3..=7).contains(&y) && (7..=9).contains(&x) {
                    // A black neighbour of the bump sees it in its mean.
                    let n = ((x + 2).min(9) - (x - 2) + 1) * ((y + 2).min(h - 1) - (y - 2) + 1);
                    -2.0 / n as f32
                } else {
                    0.0
                };
                assert!((v - expect).abs() < 1e-4, "({x}, {y}): {v} vs {expect}");
            }
        }
        // The box filter, by contrast, puts the edge's ringing on the black pixels.
        assert!(box_high_pass(&img, w, h)[5 * w + 8].abs() > 40.0);
    }

    #[test]
    fn whitening_evens_out_a_strong_band_and_keeps_an_empty_tile_empty() {
        // White noise plus a band of low frequencies 30 times stronger, as a picture leaves.
        let mut rng = SplitMix(21);
        let fft = Fft2::new();
        let noise: Vec<f32> = (0..TILE * TILE).map(|_| rng.normal()).collect();
        let mut spec = fft.spectrum(&noise);
        let band = |i: usize| {
            let (x, y) = (i % TILE, i / TILE);
            let d = |v: usize| v.min(TILE - v);
            d(x) <= 6 && d(y) <= 6
        };
        for (i, c) in spec.iter_mut().enumerate() {
            if band(i) {
                *c *= 30.0;
            }
        }
        let mean_magnitude = |spec: &[Complex32], inside: bool| {
            let v: Vec<f32> = (0..spec.len())
                .filter(|&i| band(i) == inside)
                .map(|i| spec[i].norm())
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        let before = mean_magnitude(&spec, true) / mean_magnitude(&spec, false);
        whiten(&mut spec);
        let after = mean_magnitude(&spec, true) / mean_magnitude(&spec, false);
        assert!(before > 20.0, "{before}");
        // Only the band's rim, where the 3×3 neighbourhood straddles it, stays off.
        assert!((0.5..2.0).contains(&after), "{after}");
        let mut empty = vec![Complex32::new(0.0, 0.0); TILE * TILE];
        whiten(&mut empty);
        assert!(empty.iter().all(|c| c.norm() == 0.0));
    }
}
