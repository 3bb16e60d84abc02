//! Resynchronising: the tile's period, offset, mirroring and rotation found in the pooled image by
//! folding it onto one tile and correlating its whitened spectrum with the key's pilot.

use super::*;

/// Candidates whose sync score is below this are not worth a decode.
pub(super) const MIN_SYNC: f32 = 4.0;
/// Coarse scale peaks refined by the fine search, per hypothesis.
pub(super) const FINE_PEAKS: usize = 3;
/// The fine search's reach on either side of a coarse peak, relative to its scale.
pub(super) const FINE_SPAN: f32 = 0.02;

/// Which pooled grid a picture comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Grid {
    /// The working grid: fine-geometry tiles at scales from [`MIN_SCALE`].
    Fine,
    /// The half-size grid: coarse-geometry tiles, at scales from [`COARSE_MIN_SCALE`] (below
    /// it the fine grid sees the same periods better).
    Coarse,
}

impl Grid {
    pub(super) fn scales(self) -> (f32, f32) {
        match self {
            Grid::Fine => (MIN_SCALE, MAX_SCALE),
            Grid::Coarse => (COARSE_MIN_SCALE, MAX_SCALE),
        }
    }

    /// Working-grid pixels per pixel of this grid.
    pub(super) fn unit(self) -> f32 {
        match self {
            Grid::Fine => 1.0,
            Grid::Coarse => 2.0,
        }
    }
}

/// One picture the tile is searched in: a pooled image, mirrored or rotated.
pub(super) struct Hypothesis<'a> {
    pub(super) img: Cow<'a, [f32]>,
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) grid: Grid,
    pub(super) flipped: bool,
    pub(super) rotation: f32,
}

impl<'a> Hypothesis<'a> {
    pub(super) fn new(
        pool: &Pool,
        img: &'a [f32],
        grid: Grid,
        flipped: bool,
        rotation: f32,
    ) -> Self {
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

/// [`search`] on every hypothesis, spread over up to `threads` threads when there are many;
/// each candidate comes with its hypothesis's index. (A worker that failed would only lose its
/// own candidates.)
pub(super) fn search_all(
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
pub(super) fn rotate(img: &[f32], w: usize, h: usize, deg: f32) -> Vec<f32> {
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

/// One sync hypothesis.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    pub(super) scale: f32,
    pub(super) shift: (usize, usize),
    pub(super) z: f32,
}

/// Coarse-to-fine search for the tile period over the hypothesis's grid's scales; returns the
/// refined best few.
pub(super) fn search(hyp: &Hypothesis<'_>, pilot: &[Complex32], fft: &Fft2) -> Vec<Candidate> {
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
pub(super) fn fold(
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
pub(super) fn whiten(spec: &mut [Complex32]) {
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
pub(super) fn correlate(folded: &[f32], pilot: &[Complex32], fft: &Fft2, scale: f32) -> Candidate {
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
pub(super) fn matched(folded: &[f32], fft: &Fft2) -> Vec<f32> {
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

/// The plain 5×5 high-pass on a periodic TILE×TILE tile: what the extractor's filter does to the
/// mark alone (the mark's swing between neighbours is mostly inside [`SIMILAR_LEVELS`], so there
/// the two filters nearly agree).
pub(super) fn periodic_high_pass(tile: &[f32]) -> Vec<f32> {
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
pub(super) struct Fft2 {
    pub(super) fwd: Arc<dyn Fft<f32>>,
    pub(super) inv: Arc<dyn Fft<f32>>,
}

impl Fft2 {
    pub(super) fn new() -> Self {
        let mut p = FftPlanner::new();
        Fft2 {
            fwd: p.plan_fft_forward(TILE),
            inv: p.plan_fft_inverse(TILE),
        }
    }

    pub(super) fn run(fft: &Arc<dyn Fft<f32>>, data: &mut [Complex32]) {
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

    pub(super) fn spectrum(&self, tile: &[f32]) -> Vec<Complex32> {
        let mut data: Vec<Complex32> = tile.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        Self::run(&self.fwd, &mut data);
        data
    }

    pub(super) fn inverse_real(&self, mut spec: Vec<Complex32>) -> Vec<f32> {
        Self::run(&self.inv, &mut spec);
        let scale = 1.0 / (TILE * TILE) as f32;
        spec.iter().map(|c| c.re * scale).collect()
    }
}
