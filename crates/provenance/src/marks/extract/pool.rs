//! Pooling: each frame's luma on the working grid (and the half-size one), high-passed by an
//! edge-preserving filter, weighted down where the picture is busy, and added up.

use super::*;

/// Filtered frames added up on one grid.
#[derive(Clone, Debug, Default)]
pub(super) struct Pool {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) sum: Vec<f32>,
}

impl Pool {
    pub(super) fn new(w: usize, h: usize) -> Self {
        Pool {
            w,
            h,
            sum: vec![0.0; w * h],
        }
    }

    /// Adds one frame on this grid: high-passed, weighted by activity, scaled to unit variance
    /// and clipped. False (and nothing added) when the frame is flat.
    pub(super) fn add(&mut self, grid: &[f32]) -> bool {
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
    pub(super) fn mirrored(&self) -> Vec<f32> {
        let w = self.w;
        (0..self.h)
            .flat_map(|y| (0..w).rev().map(move |x| (y, x)))
            .map(|(y, x)| self.sum[y * w + x])
            .collect()
    }

    /// Whether one tile (at scale 1) fits.
    pub(super) fn holds_a_tile(&self) -> bool {
        self.w >= TILE && self.h >= TILE
    }
}

/// The 2×2 area average of a `w`×`h` grid (an odd last row or column is dropped).
pub(super) fn halve(grid: &[f32], w: usize, h: usize) -> Vec<f32> {
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

/// Added to the local activity before dividing by it, in luma levels: about the mark's own
/// amplitude, so that a flat area is not amplified beyond it.
pub(super) const ACTIVITY_FLOOR: f32 = 1.0;

/// How far, in luma levels, a neighbour may differ from a pixel and still count in the local
/// mean that [`edge_preserving_high_pass`] subtracts: about twice the default amplitude, so
/// that most of the mark's own swing stays inside it while the picture's edges, its fine
/// texture and the codec's ringing around them fall outside. It was 8 levels; 4 read more
/// after compression, most of all on hard-edged pictures, where codec ringing of more than 4
/// levels let the edges back into the mean (the figures are in docs/benchmarks.md).
pub(super) const SIMILAR_LEVELS: f32 = 4.0;

/// `img` minus the mean of the pixels in its 5×5 neighbourhood that lie within
/// [`SIMILAR_LEVELS`] of it (a sigma filter). In a smooth area this is the plain 5×5 high-pass;
/// next to an edge or a bright dot it leaves the other side out, so the picture's edges do not
/// leak into the flat pixels beside them, where the mark is clearest. That matters most for
/// hard-edged pictures (text, graphics, cellular automata), where a linear high-pass buries the
/// mark under the edges' ringing.
pub(super) fn edge_preserving_high_pass(img: &[f32], w: usize, h: usize) -> Vec<f32> {
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
pub(super) fn box_mean(img: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
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
