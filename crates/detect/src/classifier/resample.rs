//! Resampling drawn on training frames of both labels: down by a random factor and up again,
//! as a platform that serves a smaller copy and a player that scales it back do.
//!
//! Two networks of the data (F3's decoders, F4's upsamplers) make real frames softer. A
//! classifier that sees softness only on synthetic clips learns "soft means synthetic" and
//! flags real footage that was resized: the first run on all four families took 5 of 15 plain
//! upscales for synthetic and fell to AUC 0.557 under a 0.5× resize. Resampled on both labels
//! with the same chance, softness cannot tell them apart; the network has to find what the
//! generators leave that a resize keeps.

use image::RgbImage;
use image::imageops::{self, FilterType};

use super::Rng;

/// The chance that a training sample is resampled, unless told otherwise.
pub const CHANCE: f32 = 0.25;

/// The down-sampling filters a sample draws from; up-sampling is always the canonical view's
/// own (a triangle filter, see `canon::window`), since that is how a smaller file is scored.
const DOWN: [FilterType; 3] = [
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
];

/// Brings the three frames of a triple down by one factor from 0.4 to 0.9 and up again.
pub(crate) fn draw(frames: &mut [RgbImage; 3], rng: &mut Rng) {
    let factor = rng.range(0.4, 0.9);
    let down = DOWN[rng.below(DOWN.len())];
    for f in frames.iter_mut() {
        let (w, h) = f.dimensions();
        let (sw, sh) = (
            ((w as f32 * factor).round() as u32).max(1),
            ((h as f32 * factor).round() as u32).max(1),
        );
        let small = imageops::resize(f, sw, sh, down);
        *f = imageops::resize(&small, w, h, FilterType::Triangle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn checker(side: u32) -> RgbImage {
        RgbImage::from_fn(side, side, |x, y| {
            let c = if (x + y) % 2 == 0 { 220 } else { 30 };
            Rgb([c, c, c])
        })
    }

    fn detail(img: &RgbImage) -> f64 {
        let (w, h) = img.dimensions();
        let mut s = 0.0;
        for y in 0..h {
            for x in 1..w {
                s += f64::from(img.get_pixel(x, y)[0].abs_diff(img.get_pixel(x - 1, y)[0]));
            }
        }
        s / f64::from((w - 1) * h)
    }

    #[test]
    fn keeps_the_size_and_takes_the_finest_detail_away() {
        let mut rng = Rng::new(1);
        for _ in 0..8 {
            let mut t = [checker(64), checker(64), checker(64)];
            draw(&mut t, &mut rng);
            for f in &t {
                assert_eq!(f.dimensions(), (64, 64));
                assert!(detail(f) < 0.5 * detail(&checker(64)));
            }
        }
    }
}
