//! Overlays drawn on training frames of both labels: a box of one colour holding sharp,
//! text-like strokes, at a random place and size, moving a little from frame to frame, as
//! the visible badge verity stamps and the logos and captions platforms add do.
//!
//! The first shipped weights read verity's own badge as camera detail: a generated clip scored
//! 0.98 without it and 0.00 with it. Drawn on real and synthetic clips alike, with the same
//! chance, an overlay's edges cannot tell the labels apart, so the network has to look past
//! them.

use image::{Rgb, RgbImage};

use super::Rng;

/// The chance that a training sample gets an overlay, unless told otherwise.
pub const CHANCE: f32 = 0.3;

/// Draws one overlay across the three frames of a triple (the same box, shifted by up to two
/// pixels a frame, as a moving badge is).
pub(crate) fn draw(frames: &mut [RgbImage; 3], rng: &mut Rng) {
    let (w, h) = frames[0].dimensions();
    if w < 16 || h < 16 {
        return;
    }
    let bw = ((w as f32) * rng.range(0.15, 0.45)) as u32;
    let bh = ((h as f32) * rng.range(0.08, 0.2)) as u32;
    let (bw, bh) = (bw.max(6), bh.max(4));
    let x0 = rng.below((w - bw) as usize + 1) as i64;
    let y0 = rng.below((h - bh) as usize + 1) as i64;
    let (dx, dy) = (rng.below(5) as i64 - 2, rng.below(5) as i64 - 2);
    let fill = Rgb([
        rng.below(256) as u8,
        rng.below(256) as u8,
        rng.below(256) as u8,
    ]);
    let alpha = rng.range(0.5, 1.0);
    // Strokes in the contrasting colour: letters of one to three pixels across.
    let ink = if u32::from(fill[0]) + u32::from(fill[1]) + u32::from(fill[2]) > 384 {
        Rgb([16, 16, 16])
    } else {
        Rgb([240, 240, 240])
    };
    let mut strokes = Vec::new();
    let mut cx = 2u32;
    while cx + 3 < bw {
        let sw = 1 + rng.below(3) as u32;
        let top = rng.below((bh / 3).max(1) as usize) as u32;
        let len = (bh - top).saturating_sub(rng.below((bh / 3).max(1) as usize) as u32);
        strokes.push((cx, top, sw, len.max(1)));
        if rng.below(3) == 0 {
            // A crossbar.
            strokes.push((cx, top + len / 2, 2 + rng.below(4) as u32, 1));
        }
        cx += sw + 1 + rng.below(3) as u32;
    }
    for (t, frame) in frames.iter_mut().enumerate() {
        let ox = x0 + dx * t as i64;
        let oy = y0 + dy * t as i64;
        let put = |img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>, a: f32| {
            if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
                return;
            }
            let p = img.get_pixel_mut(x as u32, y as u32);
            for k in 0..3 {
                p[k] = (f32::from(c[k]) * a + f32::from(p[k]) * (1.0 - a)).round() as u8;
            }
        };
        for y in 0..i64::from(bh) {
            for x in 0..i64::from(bw) {
                put(frame, ox + x, oy + y, fill, alpha);
            }
        }
        for &(sx, sy, sw, sl) in &strokes {
            for y in sy..(sy + sl).min(bh) {
                for x in sx..(sx + sw).min(bw) {
                    put(frame, ox + i64::from(x), oy + i64::from(y), ink, 1.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_is_a_bounded_box_that_moves_a_little() {
        let grey = RgbImage::from_pixel(128, 128, Rgb([128, 128, 128]));
        for seed in 0..50 {
            let mut f = [grey.clone(), grey.clone(), grey.clone()];
            draw(&mut f, &mut Rng::new(seed));
            let changed: Vec<Vec<(u32, u32)>> = f
                .iter()
                .map(|img| {
                    img.enumerate_pixels()
                        .filter(|(_, _, p)| p[0] != 128 || p[1] != 128 || p[2] != 128)
                        .map(|(x, y, _)| (x, y))
                        .collect()
                })
                .collect();
            for c in &changed {
                assert!(!c.is_empty(), "seed {seed}: nothing drawn");
                // At most 45 % × 20 % of the frame.
                assert!(c.len() <= 58 * 26, "seed {seed}: {} pixels", c.len());
            }
        }
    }
}
