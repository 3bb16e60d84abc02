//! The baselines and confound probes beside the classifier: hand-made features of a clip and a
//! logistic regression on them, trained on the training split and scored on the test split.
//!
//! - metadata: duration, frame rate, size, bit rate, key frames (what a clip-length classifier
//!   exploits; the canonical encode should leave nothing here);
//! - trivial content: mean luma, saturation, blur (variance of the Laplacian), bit rate;
//! - spectral: the azimuthally averaged log power spectrum of the middle frame's luma, in 12
//!   radial bands (the classic frequency-artifact detector).

use image::RgbImage;
use rustfft::{FftPlanner, num_complex::Complex};

use super::data::ClipFrames;

/// Metadata features of a file whose video holds `key_frames` key frames (its GOP).
pub fn metadata(info: &verity_media::StreamInfo, key_frames: u64) -> Vec<f64> {
    let d = info.duration_s.unwrap_or(0.0);
    let bits = if d > 0.0 {
        info.size_bytes as f64 * 8.0 / d
    } else {
        0.0
    };
    vec![
        d,
        info.video.fps,
        f64::from(info.video.width),
        f64::from(info.video.height),
        (bits + 1.0).ln(),
        key_frames as f64,
    ]
}

fn luma(p: &image::Rgb<u8>) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// Trivial-content features of a clip's middle frames, plus its log bit rate.
pub fn trivial(clip: &ClipFrames, log_bitrate: f64) -> Vec<f64> {
    let mut sum = [0.0f64; 3];
    let n = clip.triples.len().max(1) as f64;
    for (_, t) in &clip.triples {
        let img = &t[1];
        let (w, h) = img.dimensions();
        let px = f64::from(w * h).max(1.0);
        let mut lum = 0.0;
        let mut sat = 0.0;
        for p in img.pixels() {
            lum += luma(p);
            let mx = f64::from(p[0].max(p[1]).max(p[2]));
            let mn = f64::from(p[0].min(p[1]).min(p[2]));
            sat += if mx > 0.0 { (mx - mn) / mx } else { 0.0 };
        }
        sum[0] += lum / px;
        sum[1] += sat / px;
        sum[2] += laplacian_variance(img).ln_1p();
    }
    vec![sum[0] / n, sum[1] / n, sum[2] / n, log_bitrate]
}

fn laplacian_variance(img: &RgbImage) -> f64 {
    let (w, h) = img.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let l = |x: u32, y: u32| luma(img.get_pixel(x, y));
    let mut vals = Vec::with_capacity(((w - 2) * (h - 2)) as usize);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            vals.push(l(x - 1, y) + l(x + 1, y) + l(x, y - 1) + l(x, y + 1) - 4.0 * l(x, y));
        }
    }
    let m = vals.iter().sum::<f64>() / vals.len() as f64;
    vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / vals.len() as f64
}

/// Radial bands of the spectral baseline.
pub const BANDS: usize = 12;

/// The mean over a clip's middle frames of the log power spectrum of the luma, averaged in
/// [`BANDS`] radial bands.
pub fn spectral(clip: &ClipFrames) -> Vec<f64> {
    let mut acc = [0.0f64; BANDS];
    let mut planner = FftPlanner::<f64>::new();
    for (_, t) in &clip.triples {
        let img = &t[1];
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut data: Vec<Complex<f64>> = img
            .pixels()
            .map(|p| Complex::new(luma(p) / 255.0, 0.0))
            .collect();
        // Rows, then columns.
        let row = planner.plan_fft_forward(w);
        for r in data.chunks_mut(w) {
            row.process(r);
        }
        let col = planner.plan_fft_forward(h);
        let mut column = vec![Complex::new(0.0, 0.0); h];
        for x in 0..w {
            for y in 0..h {
                column[y] = data[y * w + x];
            }
            col.process(&mut column);
            for y in 0..h {
                data[y * w + x] = column[y];
            }
        }
        let mut sums = vec![(0.0f64, 0usize); BANDS];
        for y in 0..h {
            for x in 0..w {
                let fy = if y <= h / 2 { y } else { h - y } as f64 / (h / 2) as f64;
                let fx = if x <= w / 2 { x } else { w - x } as f64 / (w / 2) as f64;
                let r = (fx * fx + fy * fy).sqrt() / std::f64::consts::SQRT_2;
                let b = ((r * BANDS as f64) as usize).min(BANDS - 1);
                sums[b].0 += (data[y * w + x].norm_sqr() + 1e-12).ln();
                sums[b].1 += 1;
            }
        }
        for (a, (s, c)) in acc.iter_mut().zip(sums) {
            *a += s / c.max(1) as f64;
        }
    }
    let n = clip.triples.len().max(1) as f64;
    acc.iter().map(|a| a / n).collect()
}

/// A logistic regression on standardised features, fitted by full-batch gradient descent with
/// a small L2 penalty.
#[derive(Clone, Debug)]
pub struct Logistic {
    mean: Vec<f64>,
    sd: Vec<f64>,
    w: Vec<f64>,
    b: f64,
}

impl Logistic {
    pub fn fit(x: &[Vec<f64>], y: &[u8]) -> Logistic {
        let d = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mean: Vec<f64> = (0..d)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let sd: Vec<f64> = (0..d)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if v > 1e-18 { v.sqrt() } else { 1.0 }
            })
            .collect();
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| (0..d).map(|j| (r[j] - mean[j]) / sd[j]).collect())
            .collect();
        // Balanced: each class weighs half.
        let pos = y.iter().filter(|&&l| l == 1).count().max(1) as f64;
        let neg = (y.len() as f64 - pos).max(1.0);
        let mut w = vec![0.0; d];
        let mut b = 0.0;
        for _ in 0..2000 {
            let mut gw = vec![0.0; d];
            let mut gb = 0.0;
            for (r, &l) in z.iter().zip(y) {
                let s = b + r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>();
                let p = 1.0 / (1.0 + (-s).exp());
                let weight = if l == 1 { 0.5 / pos } else { 0.5 / neg };
                let e = (p - f64::from(l)) * weight;
                for j in 0..d {
                    gw[j] += e * r[j];
                }
                gb += e;
            }
            for j in 0..d {
                w[j] -= 0.5 * (gw[j] + 1e-3 * w[j]);
            }
            b -= 0.5 * gb;
        }
        Logistic { mean, sd, w, b }
    }

    /// The decision value (log-odds) of one feature row.
    pub fn score(&self, r: &[f64]) -> f64 {
        self.b
            + r.iter()
                .enumerate()
                .map(|(j, v)| (v - self.mean[j]) / self.sd[j] * self.w[j])
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_regression_separates_a_separable_set() {
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i), 1.0]).collect();
        let y: Vec<u8> = (0..40).map(|i| u8::from(i >= 20)).collect();
        let m = Logistic::fit(&x, &y);
        let s: Vec<f64> = x.iter().map(|r| m.score(r)).collect();
        assert_eq!(super::super::metrics::auc(&s, &y), Some(1.0));
        assert!(m.score(&[39.0, 1.0]) > 0.0 && m.score(&[0.0, 1.0]) < 0.0);
    }
}
