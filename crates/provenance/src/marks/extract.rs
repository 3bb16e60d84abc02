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

use std::borrow::Cow;
use std::sync::Arc;

use image::GrayImage;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::key::WatermarkKey;
use super::payload::{self, CODED_BITS, Channel, Payload};
use super::resample::area_resize;
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
/// Candidates whose sync score is below this are not worth a decode.
const MIN_SYNC: f32 = 4.0;
/// Words the list decoder returns for each candidate decoded; each one checked counts in the
/// false-positive bound.
pub const LIST_SIZE: usize = 16;
/// Words checked per key at most: every decode's whole list, for both channels (twice this with
/// the rotation search).
pub const MAX_WORDS: usize = MAX_DECODES * 2 * LIST_SIZE;
/// Coarse scale peaks refined by the fine search, per hypothesis.
const FINE_PEAKS: usize = 3;
/// The fine search's reach on either side of a coarse peak, relative to its scale.
const FINE_SPAN: f32 = 0.02;

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

/// Filtered frames added up on one grid.
#[derive(Clone, Debug, Default)]
struct Pool {
    w: usize,
    h: usize,
    sum: Vec<f32>,
}

impl Pool {
    fn new(w: usize, h: usize) -> Self {
        Pool {
            w,
            h,
            sum: vec![0.0; w * h],
        }
    }

    /// Adds one frame on this grid: high-passed, weighted by activity, scaled to unit variance
    /// and clipped. False (and nothing added) when the frame is flat.
    fn add(&mut self, grid: &[f32]) -> bool {
        let (w, h) = (self.w, self.h);
        let hp = edge_preserving_high_pass(grid, w, h);
        // Weight each pixel by its neighbourhood's activity: flat areas, where the mark stands
        // clear of the picture, count fully; edges and texture, which swamp it, count little.
        let abs: Vec<f32> = hp.iter().map(|v| v.abs()).collect();
        let activity = box_mean(&abs, w, h, 4);
        let mut hp: Vec<f32> = hp
            .iter()
            .zip(&activity)
            .map(|(v, a)| v / (a + ACTIVITY_FLOOR))
            .collect();
        let n = hp.len() as f32;
        let mean = hp.iter().sum::<f32>() / n;
        let var = hp.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        if var < 1e-6 {
            return false;
        }
        let inv = 1.0 / var.sqrt();
        for v in &mut hp {
            *v = ((*v - mean) * inv).clamp(-3.0, 3.0);
        }
        for (s, v) in self.sum.iter_mut().zip(&hp) {
            *s += v;
        }
        true
    }

    /// The pooled image mirrored left to right.
    fn mirrored(&self) -> Vec<f32> {
        let w = self.w;
        (0..self.h)
            .flat_map(|y| (0..w).rev().map(move |x| (y, x)))
            .map(|(y, x)| self.sum[y * w + x])
            .collect()
    }

    /// Whether one tile (at scale 1) fits.
    fn holds_a_tile(&self) -> bool {
        self.w >= TILE && self.h >= TILE
    }
}

/// The 2×2 area average of a `w`×`h` grid (an odd last row or column is dropped).
fn halve(grid: &[f32], w: usize, h: usize) -> Vec<f32> {
    let (hw, hh) = (w / 2, h / 2);
    let mut out = vec![0f32; hw * hh];
    for y in 0..hh {
        let (a, b) = (&grid[2 * y * w..], &grid[(2 * y + 1) * w..]);
        for (x, o) in out[y * hw..(y + 1) * hw].iter_mut().enumerate() {
            *o = 0.25 * (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]);
        }
    }
    out
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

/// Which pooled grid a picture comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grid {
    /// The working grid: fine-geometry tiles at scales from [`MIN_SCALE`].
    Fine,
    /// The half-size grid: coarse-geometry tiles, at scales from [`COARSE_MIN_SCALE`] (below
    /// it the fine grid sees the same periods better).
    Coarse,
}

impl Grid {
    fn scales(self) -> (f32, f32) {
        match self {
            Grid::Fine => (MIN_SCALE, MAX_SCALE),
            Grid::Coarse => (COARSE_MIN_SCALE, MAX_SCALE),
        }
    }

    /// Working-grid pixels per pixel of this grid.
    fn unit(self) -> f32 {
        match self {
            Grid::Fine => 1.0,
            Grid::Coarse => 2.0,
        }
    }
}

/// One picture the tile is searched in: a pooled image, mirrored or rotated.
struct Hypothesis<'a> {
    img: Cow<'a, [f32]>,
    w: usize,
    h: usize,
    grid: Grid,
    flipped: bool,
    rotation: f32,
}

impl<'a> Hypothesis<'a> {
    fn new(pool: &Pool, img: &'a [f32], grid: Grid, flipped: bool, rotation: f32) -> Self {
        Self {
            img: Cow::Borrowed(img),
            w: pool.w,
            h: pool.h,
            grid,
            flipped,
            rotation,
        }
    }
}

/// The state of reading one key: its layout and pilot, the running detection and the decodes
/// spent.
struct Decoding<'a> {
    key: &'a WatermarkKey,
    layout: &'a Layout,
    pilot: &'a [Complex32],
    fft: &'a Fft2,
    threads: usize,
    det: &'a mut Detection,
    attempts: &'a mut usize,
}

impl Decoding<'_> {
    /// Searches every hypothesis and decodes the best candidates, at most [`MAX_DECODES`] of
    /// them, each into a list of words; true when a word passed its check.
    fn try_hypotheses(&mut self, hyps: &[Hypothesis<'_>]) -> bool {
        let mut candidates: Vec<(Candidate, &Hypothesis<'_>)> =
            search_all(hyps, self.pilot, self.fft, self.threads)
                .into_iter()
                .filter_map(|(i, c)| hyps.get(i).map(|hyp| (c, hyp)))
                .collect();
        candidates.sort_by(|a, b| b.0.z.total_cmp(&a.0.z));
        let det = &mut *self.det;
        for (c, hyp) in candidates.iter().take(MAX_DECODES) {
            det.sync_score = det.sync_score.max(c.z);
            if c.z < MIN_SYNC && det.best_guess.is_some() {
                break;
            }
            let folded = fold(&hyp.img, hyp.w, hyp.h, c.scale, 0, 0, hyp.w, hyp.h);
            let g = matched(&folded, self.fft);
            // The current version's channel first, then the earlier versions'.
            for channel in Channel::ALL {
                let soft = read_soft(&g, self.layout, c.shift, channel);
                let Some(words) = payload::decode_list(
                    self.key.bytes(),
                    &soft,
                    LIST_SIZE,
                    Some(self.key.issuer_id()),
                ) else {
                    continue;
                };
                for (rank, d) in words.iter().enumerate() {
                    *self.attempts += 1;
                    if d.tag_ok {
                        det.note(d, c, hyp);
                        det.found = true;
                        det.payload = Some(d.payload);
                        det.key = Some(self.key.origin().to_string());
                        det.algorithm = Some(algorithm(channel));
                        det.sync_score = c.z;
                        return true;
                    }
                    // The best guess (for bit accuracy) is the most likely word of the
                    // current version's channel, at the candidate where it agrees best with
                    // that channel.
                    if rank == 0
                        && channel == Channel::CURRENT
                        && (det.best_guess.is_none() || d.agreement > det.agreement)
                    {
                        det.note(d, c, hyp);
                    }
                }
            }
        }
        false
    }
}

/// [`search`] on every hypothesis, spread over up to `threads` threads when there are many;
/// each candidate comes with its hypothesis's index. (A worker that failed would only lose its
/// own candidates.)
fn search_all(
    hyps: &[Hypothesis<'_>],
    pilot: &[Complex32],
    fft: &Fft2,
    threads: usize,
) -> Vec<(usize, Candidate)> {
    let run = |first: usize, chunk: &[Hypothesis<'_>]| -> Vec<(usize, Candidate)> {
        chunk
            .iter()
            .enumerate()
            .flat_map(|(i, hyp)| {
                search(hyp, pilot, fft)
                    .into_iter()
                    .map(move |c| (first + i, c))
            })
            .collect()
    };
    if hyps.len() <= 2 || threads < 2 {
        return run(0, hyps);
    }
    let per = hyps.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = hyps
            .chunks(per)
            .enumerate()
            .map(|(k, chunk)| s.spawn(move || run(k * per, chunk)))
            .collect();
        workers
            .into_iter()
            .flat_map(|j| j.join().unwrap_or_default())
            .collect()
    })
}

/// Undoes a clockwise turn of the image by `deg` degrees about its centre (bilinear; what comes
/// from outside the image is 0).
fn rotate(img: &[f32], w: usize, h: usize, deg: f32) -> Vec<f32> {
    let (sin, cos) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let at = |x: isize, y: isize| -> f32 {
        if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
            0.0
        } else {
            img[y as usize * w + x as usize]
        }
    };
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let dy = y as f32 - cy;
        for x in 0..w {
            let dx = x as f32 - cx;
            let sx = cx + cos * dx - sin * dy;
            let sy = cy + sin * dx + cos * dy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            out[y * w + x] = (1.0 - fy) * ((1.0 - fx) * at(x0, y0) + fx * at(x0 + 1, y0))
                + fy * ((1.0 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        }
    }
    out
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

/// One sync hypothesis.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    scale: f32,
    shift: (usize, usize),
    z: f32,
}

/// Coarse-to-fine search for the tile period over the hypothesis's grid's scales; returns the
/// refined best few.
fn search(hyp: &Hypothesis<'_>, pilot: &[Complex32], fft: &Fft2) -> Vec<Candidate> {
    let (img, w, h) = (&hyp.img[..], hyp.w, hyp.h);
    // Coarse: a central window, 0.6% steps.
    let (ww, wh) = (w.min(192), h.min(192));
    let (x0, y0) = ((w - ww) / 2, (h - wh) / 2);
    let mut coarse = Vec::new();
    let (lo, hi) = hyp.grid.scales();
    let mut r = lo;
    while r <= hi {
        let f = fold(img, w, h, r, x0, y0, ww, wh);
        coarse.push(correlate(&f, pilot, fft, r));
        r *= 1.006;
    }
    coarse.sort_by(|a, b| b.z.total_cmp(&a.z));
    // The best three coarse peaks at distinct scales: a peak's neighbours in scale are the same
    // peak, which the fine search below covers anyway.
    let mut peaks: Vec<Candidate> = Vec::with_capacity(FINE_PEAKS);
    for c in coarse {
        if peaks.len() == FINE_PEAKS {
            break;
        }
        if peaks
            .iter()
            .all(|p| (c.scale / p.scale - 1.0).abs() > FINE_SPAN)
        {
            peaks.push(c);
        }
    }
    // Fine: the whole image, 0.1% steps within ±2% of each peak's scale.
    let mut fine = Vec::new();
    for c in &peaks {
        let mut best = *c;
        let steps = (FINE_SPAN / 0.001).round() as i32;
        for k in -steps..=steps {
            let r = c.scale * (1.0 + 0.001 * k as f32);
            let f = fold(img, w, h, r, 0, 0, w, h);
            let cand = correlate(&f, pilot, fft, r);
            if cand.z > best.z {
                best = cand;
            }
        }
        fine.push(best);
    }
    fine
}

/// Folds the window (x0, y0, ww, wh) of the image onto one TILE×TILE tile for period 64·r:
/// the mean of the pixels falling in each bin.
#[allow(clippy::too_many_arguments)]
fn fold(
    img: &[f32],
    w: usize,
    _h: usize,
    r: f32,
    x0: usize,
    y0: usize,
    ww: usize,
    wh: usize,
) -> Vec<f32> {
    let bin = |u: usize| ((u as f32 + 0.5) / r).floor() as usize % TILE;
    let cols: Vec<usize> = (x0..x0 + ww).map(bin).collect();
    let mut sum = vec![0f32; TILE * TILE];
    let mut ncol = [0f32; TILE];
    let mut nrow = [0f32; TILE];
    for &c in &cols {
        ncol[c] += 1.0;
    }
    for y in y0..y0 + wh {
        let by = bin(y);
        nrow[by] += 1.0;
        let row = &img[y * w + x0..y * w + x0 + ww];
        let out = &mut sum[by * TILE..(by + 1) * TILE];
        for (v, &c) in row.iter().zip(&cols) {
            out[c] += v;
        }
    }
    for by in 0..TILE {
        for bx in 0..TILE {
            let n = nrow[by] * ncol[bx];
            sum[by * TILE + bx] = if n > 0.0 {
                sum[by * TILE + bx] / n
            } else {
                0.0
            };
        }
    }
    sum
}

/// Whitens a folded tile's spectrum: each frequency is divided by the RMS magnitude of the 3×3
/// frequencies around it.
///
/// What a folded tile holds besides the mark (the picture left after the high-pass, and the
/// codec's error) is not white: most of it lies in a few bands, and those bands would dominate
/// a plain correlation. Dividing by the local magnitude (the phase transform of generalised
/// cross-correlation, with the magnitude smoothed so that the estimate is steadier than one
/// bin's) evens the bands out. [`correlate`] and [`read_soft`] both read the whitened tile
/// against the pattern as it is: a compromise between a plain correlation and the full matched
/// filter for the estimated noise (dividing by the power), which read fewer marks, as its
/// estimate holds the mark too and one tile's is noisy (docs/benchmarks.md).
fn whiten(spec: &mut [Complex32]) {
    let n = TILE;
    let power: Vec<f32> = spec.iter().map(|c| c.norm_sqr()).collect();
    // Separable circular 3×3 box sum of the power: rows, then columns.
    let mut rows = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            rows[y * n + x] =
                power[y * n + (x + n - 1) % n] + power[y * n + x] + power[y * n + (x + 1) % n];
        }
    }
    for y in 0..n {
        for x in 0..n {
            let local =
                (rows[((y + n - 1) % n) * n + x] + rows[y * n + x] + rows[((y + 1) % n) * n + x])
                    / 9.0;
            // A tile of zeros (no picture there) stays zero.
            let w = if local > 0.0 {
                local.sqrt().recip()
            } else {
                0.0
            };
            spec[y * n + x] *= w;
        }
    }
}

/// Circular cross-correlation of a folded tile, whitened, with the pilot; the peak and its
/// score.
fn correlate(folded: &[f32], pilot: &[Complex32], fft: &Fft2, scale: f32) -> Candidate {
    let mut spec = fft.spectrum(folded);
    whiten(&mut spec);
    for (s, p) in spec.iter_mut().zip(pilot) {
        *s *= p.conj();
    }
    let corr = fft.inverse_real(spec);
    let n = corr.len() as f32;
    let mean = corr.iter().sum::<f32>() / n;
    let sd = (corr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt();
    let (mut best, mut at) = (f32::NEG_INFINITY, 0usize);
    for (i, &v) in corr.iter().enumerate() {
        if v > best {
            best = v;
            at = i;
        }
    }
    Candidate {
        scale,
        shift: (at % TILE, at / TILE),
        z: if sd > 0.0 { (best - mean) / sd } else { 0.0 },
    }
}

/// The matched filter's output for every cell origin of a folded tile (whitened, see
/// [`whiten`]): [`read_soft`] picks the data cells' values from it.
fn matched(folded: &[f32], fft: &Fft2) -> Vec<f32> {
    // The response of one cell: its bilinear bump, high-passed as the picture was.
    let mut one = vec![0f32; CELLS * CELLS];
    one[0] = 1.0;
    let bump = periodic_high_pass(&render_tile(&one));
    // G = whitened folded ⋆ bump (circular), so G at a cell's origin bin is that cell's matched
    // output.
    let mut spec = fft.spectrum(folded);
    whiten(&mut spec);
    for (s, b) in spec.iter_mut().zip(fft.spectrum(&bump)) {
        *s *= b.conj();
    }
    fft.inverse_real(spec)
}

/// The index in a folded tile of `cell`'s origin, for a tile whose origin is at `shift`.
fn cell_bin(cell: usize, shift: (usize, usize)) -> usize {
    let (cx, cy) = (cell % CELLS, cell / CELLS);
    let bx = (cx * CELL_PX + shift.0) % TILE;
    let by = (cy * CELL_PX + shift.1) % TILE;
    by * TILE + bx
}

/// The soft value of each coded bit on `channel` from the [`matched`] output `g` of a tile
/// whose origin is at `shift`: the sum over the bit's data cells, spread signs removed, scaled
/// to unit variance over the bits on the channel. The bits off it are 0.
fn read_soft(g: &[f32], layout: &Layout, shift: (usize, usize), channel: Channel) -> Vec<f32> {
    let mut soft = vec![0f32; CODED_BITS];
    for (k, &(cell, chip)) in layout.data.iter().enumerate() {
        soft[Layout::bit(k, channel)] += chip * g[cell_bin(cell, shift)];
    }
    let sent = &mut soft[channel.sent()];
    let rms = (sent.iter().map(|v| v * v).sum::<f32>() / sent.len() as f32).sqrt();
    if rms > 0.0 {
        for v in sent {
            *v /= rms;
        }
    }
    soft
}

/// Added to the local activity before dividing by it, in luma levels: about the mark's own
/// amplitude, so that a flat area is not amplified beyond it.
const ACTIVITY_FLOOR: f32 = 1.0;

/// How far, in luma levels, a neighbour may differ from a pixel and still count in the local
/// mean that [`edge_preserving_high_pass`] subtracts: about twice the default amplitude, so
/// that most of the mark's own swing stays inside it while the picture's edges, its fine
/// texture and the codec's ringing around them fall outside. It was 8 levels; 4 read more
/// after compression, most of all on hard-edged pictures, where codec ringing of more than 4
/// levels let the edges back into the mean (the figures are in docs/benchmarks.md).
const SIMILAR_LEVELS: f32 = 4.0;

/// `img` minus the mean of the pixels in its 5×5 neighbourhood that lie within
/// [`SIMILAR_LEVELS`] of it (a sigma filter). In a smooth area this is the plain 5×5 high-pass;
/// next to an edge or a bright dot it leaves the other side out, so the picture's edges do not
/// leak into the flat pixels beside them, where the mark is clearest. That matters most for
/// hard-edged pictures (text, graphics, cellular automata), where a linear high-pass buries the
/// mark under the edges' ringing.
fn edge_preserving_high_pass(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    const R: usize = 2;
    let mut sum = vec![0f32; w * h];
    let mut count = vec![0f32; w * h];
    // One pass per offset of the window, each a straight loop over a row (which vectorises).
    for y in 0..h {
        let centre = &img[y * w..(y + 1) * w];
        for yy in y.saturating_sub(R)..=(y + R).min(h - 1) {
            let other = &img[yy * w..(yy + 1) * w];
            for dx in 0..=2 * R {
                // Neighbour x + dx - R for x in the range where it exists.
                let (lo, hi) = (R.saturating_sub(dx), (w + R).saturating_sub(dx).min(w));
                if lo >= hi {
                    continue;
                }
                let off = lo + dx - R;
                let s = &mut sum[y * w + lo..y * w + hi];
                let n = &mut count[y * w + lo..y * w + hi];
                let c = &centre[lo..hi];
                let o = &other[off..off + (hi - lo)];
                for (((s, n), &c), &o) in s.iter_mut().zip(n.iter_mut()).zip(c).zip(o) {
                    let near = f32::from(u8::from((o - c).abs() <= SIMILAR_LEVELS));
                    *s += near * o;
                    *n += near;
                }
            }
        }
    }
    // The pixel itself always counts, so no count is zero.
    img.iter()
        .zip(sum.iter().zip(&count))
        .map(|(v, (s, n))| v - s / n)
        .collect()
}

/// The mean over a (2r+1)² box (edges use the pixels that exist).
fn box_mean(img: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    // Horizontal then vertical running sums.
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &img[y * w..(y + 1) * w];
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            tmp[y * w + x] = row[a..=b].iter().sum::<f32>() / (b - a + 1) as f32;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            let mut s = 0.0;
            for yy in a..=b {
                s += tmp[yy * w + x];
            }
            out[y * w + x] = s / (b - a + 1) as f32;
        }
    }
    out
}

/// The plain 5×5 high-pass on a periodic TILE×TILE tile: what the extractor's filter does to the
/// mark alone (the mark's swing between neighbours is mostly inside [`SIMILAR_LEVELS`], so there
/// the two filters nearly agree).
fn periodic_high_pass(tile: &[f32]) -> Vec<f32> {
    const R: i64 = 2;
    let n = TILE as i64;
    let at = |x: i64, y: i64| tile[(y.rem_euclid(n) * n + x.rem_euclid(n)) as usize];
    let mut out = vec![0f32; TILE * TILE];
    for y in 0..n {
        for x in 0..n {
            let mut s = 0.0;
            for dy in -R..=R {
                for dx in -R..=R {
                    s += at(x + dx, y + dy);
                }
            }
            out[(y * n + x) as usize] = at(x, y) - s / 25.0;
        }
    }
    out
}

/// 2-D FFTs of TILE×TILE real tiles.
struct Fft2 {
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
}

impl Fft2 {
    fn new() -> Self {
        let mut p = FftPlanner::new();
        Fft2 {
            fwd: p.plan_fft_forward(TILE),
            inv: p.plan_fft_inverse(TILE),
        }
    }

    fn run(fft: &Arc<dyn Fft<f32>>, data: &mut [Complex32]) {
        fft.process(data); // rows
        let mut col = vec![Complex32::new(0.0, 0.0); TILE];
        for x in 0..TILE {
            for y in 0..TILE {
                col[y] = data[y * TILE + x];
            }
            fft.process(&mut col);
            for y in 0..TILE {
                data[y * TILE + x] = col[y];
            }
        }
    }

    fn spectrum(&self, tile: &[f32]) -> Vec<Complex32> {
        let mut data: Vec<Complex32> = tile.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        Self::run(&self.fwd, &mut data);
        data
    }

    fn inverse_real(&self, mut spec: Vec<Complex32>) -> Vec<f32> {
        Self::run(&self.inv, &mut spec);
        let scale = 1.0 / (TILE * TILE) as f32;
        spec.iter().map(|c| c.re * scale).collect()
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
