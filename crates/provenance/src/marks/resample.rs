//! Area-average resampling of luma planes, shared by the mark readers: both look at a frame on a
//! reduced grid, so that a 1080p video costs about what a 288p or 360p one does.

use image::GrayImage;

/// Area-average resize of a luma plane to `gw`×`gh` (a downscale, or a copy at the same size).
pub(crate) fn area_resize(img: &GrayImage, gw: usize, gh: usize) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let spans = |n_in: usize, n_out: usize| -> Vec<Vec<(usize, f32)>> {
        let scale = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|o| {
                let (a, b) = (o as f64 * scale, (o + 1) as f64 * scale);
                let mut v = Vec::new();
                let mut i = a.floor() as usize;
                while (i as f64) < b && i < n_in {
                    let lo = a.max(i as f64);
                    let hi = b.min(i as f64 + 1.0);
                    if hi > lo {
                        v.push((i, ((hi - lo) / scale) as f32));
                    }
                    i += 1;
                }
                v
            })
            .collect()
    };
    let cols = spans(w, gw);
    let rows = spans(h, gh);
    let px = img.as_raw();
    let mut tmp = vec![0f32; gw * h];
    for y in 0..h {
        let row = &px[y * w..(y + 1) * w];
        for (x, span) in cols.iter().enumerate() {
            tmp[y * gw + x] = span.iter().map(|&(i, wt)| f32::from(row[i]) * wt).sum();
        }
    }
    let mut out = vec![0f32; gw * gh];
    for (y, span) in rows.iter().enumerate() {
        let dst = &mut out[y * gw..(y + 1) * gw];
        for &(i, wt) in span {
            for (d, s) in dst.iter_mut().zip(&tmp[i * gw..(i + 1) * gw]) {
                *d += s * wt;
            }
        }
    }
    out
}

/// [`area_resize`] to an 8-bit picture, rounded.
pub(crate) fn area_resize_gray(img: &GrayImage, gw: usize, gh: usize) -> GrayImage {
    let data = area_resize(img, gw, gh)
        .into_iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    // The buffer has exactly gw×gh samples, so this cannot fail; fall back to an empty picture
    // rather than panic if it ever did.
    GrayImage::from_raw(gw as u32, gh as u32, data).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_averages_blocks_and_keeps_the_mean() {
        // A 4×2 picture of two flat halves, halved on each side: each output pixel is the mean of
        // its 2×2 block.
        let img = GrayImage::from_raw(4, 2, vec![10, 30, 200, 100, 30, 10, 100, 200]).unwrap();
        let out = area_resize(&img, 2, 1);
        assert_eq!(out, vec![20.0, 150.0]);
        // A non-integer ratio keeps the overall mean.
        let img = GrayImage::from_fn(7, 5, |x, y| image::Luma([(x * 30 + y * 7) as u8]));
        let mean_in = img.as_raw().iter().map(|&v| f32::from(v)).sum::<f32>() / 35.0;
        let out = area_resize(&img, 3, 2);
        let mean_out = out.iter().sum::<f32>() / 6.0;
        assert!((mean_in - mean_out).abs() < 0.5, "{mean_in} vs {mean_out}");
        let g = area_resize_gray(&img, 3, 2);
        assert_eq!(g.dimensions(), (3, 2));
    }
}
