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
    // Rows first: each output row is a weighted sum of one to a few whole input rows, a straight
    // loop over the width that vectorises; the columns are then reduced on the few rows left.
    let mut tmp = vec![0f32; w * gh];
    for (y, span) in rows.iter().enumerate() {
        let dst = &mut tmp[y * w..(y + 1) * w];
        for &(i, wt) in span {
            for (d, &s) in dst.iter_mut().zip(&px[i * w..(i + 1) * w]) {
                *d += f32::from(s) * wt;
            }
        }
    }
    let mut out = vec![0f32; gw * gh];
    for y in 0..gh {
        let row = &tmp[y * w..(y + 1) * w];
        for (x, span) in cols.iter().enumerate() {
            out[y * gw + x] = span.iter().map(|&(i, wt)| row[i] * wt).sum();
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

    #[test]
    fn area_resize_is_the_mean_over_each_output_pixels_area() {
        // Against the definition: each output pixel is the integral of the picture over its
        // footprint, taken here on a 1/8-pixel grid, divided by the footprint's area.
        // 45/8 and 27/8 input pixels a footprint: its edges fall on the 1/8-pixel grid exactly.
        let (w, h, gw, gh) = (45usize, 27usize, 8usize, 8usize);
        let img = GrayImage::from_fn(w as u32, h as u32, |x, y| {
            image::Luma([((x * 37 + y * 91) % 251) as u8])
        });
        let out = area_resize(&img, gw, gh);
        let (sx, sy) = (w as f64 / gw as f64, h as f64 / gh as f64);
        for oy in 0..gh {
            for ox in 0..gw {
                let (mut sum, mut n) = (0f64, 0f64);
                let steps =
                    |a: f64, b: f64| ((a * 8.0).round() as usize, (b * 8.0).round() as usize);
                let (x0, x1) = steps(ox as f64 * sx, (ox + 1) as f64 * sx);
                let (y0, y1) = steps(oy as f64 * sy, (oy + 1) as f64 * sy);
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        sum += f64::from(img.get_pixel((xx / 8) as u32, (yy / 8) as u32).0[0]);
                        n += 1.0;
                    }
                }
                let want = sum / n;
                let got = f64::from(out[oy * gw + ox]);
                assert!((got - want).abs() < 1e-3, "({ox}, {oy}): {got} vs {want}");
            }
        }
    }
}
