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
pub const CHANCE: f32 = 0.5;

/// The down-sampling filters a sample draws from; up-sampling is always the canonical view's
/// own (a triangle filter, see `canon::window`), since that is how a smaller file is scored.
const DOWN: [FilterType; 3] = [
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
];

/// Brings the three frames of a triple down by one factor from 0.4 to 0.9 and up again; half
/// the time the small frames also go through JPEG at a quality from 40 to 90, as a platform's
/// smaller copy is compressed at its size before it is scaled back.
pub(crate) fn draw(frames: &mut [RgbImage; 3], rng: &mut Rng) {
    let factor = rng.range(0.4, 0.9);
    let down = DOWN[rng.below(DOWN.len())];
    let quality = (rng.below(2) == 0).then(|| rng.range(40.0, 90.0) as u8);
    for f in frames.iter_mut() {
        let (w, h) = f.dimensions();
        let (sw, sh) = (
            ((w as f32 * factor).round() as u32).max(1),
            ((h as f32 * factor).round() as u32).max(1),
        );
        let mut small = imageops::resize(f, sw, sh, down);
        if let Some(q) = quality {
            // A frame JPEG cannot round-trip keeps its resized self.
            if let Some(c) = jpeg(&small, q) {
                small = c;
            }
        }
        *f = imageops::resize(&small, w, h, FilterType::Triangle);
    }
}

/// The side of the crops a small training step takes: the least side a file is scored at.
pub const SMALL_CROP: u32 = 64;

/// The chance that a training step is a small one (`shrink`), unless told otherwise.
pub const SMALL_CHANCE: f32 = 0.0;

/// The three frames of a triple brought down to one square side from [`SMALL_CROP`] to 120 (a
/// multiple of 8) and never back up, half the time through JPEG at a quality from 40 to 90 at
/// that size: a file under the canonical size as it is scored (`canon::scoring_view` keeps it
/// at its own size), with what its platform's coding left at that size. Resampling with
/// [`draw`] brings a sample back up, which a small suspect file no longer is.
pub(crate) fn shrink(frames: &[RgbImage; 3], rng: &mut Rng) -> [RgbImage; 3] {
    let side = SMALL_CROP + 8 * rng.below(8) as u32;
    let down = DOWN[rng.below(DOWN.len())];
    let quality = (rng.below(2) == 0).then(|| rng.range(40.0, 90.0) as u8);
    frames.each_ref().map(|f| {
        let small = imageops::resize(f, side, side, down);
        // A frame JPEG cannot round-trip keeps its resized self.
        quality.and_then(|q| jpeg(&small, q)).unwrap_or(small)
    })
}

/// `img` through JPEG at `quality`, or `None` if the codec refuses it.
fn jpeg(img: &RgbImage, quality: u8) -> Option<RgbImage> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .ok()?;
    image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg)
        .ok()
        .map(|d| d.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::tests::detail;
    use image::Rgb;

    fn checker(side: u32) -> RgbImage {
        RgbImage::from_fn(side, side, |x, y| {
            let c = if (x + y) % 2 == 0 { 220 } else { 30 };
            Rgb([c, c, c])
        })
    }

    #[test]
    fn jpeg_round_trips_a_small_frame() {
        let f = checker(40);
        let j = jpeg(&f, 60).unwrap();
        assert_eq!(j.dimensions(), (40, 40));
        assert_ne!(j, f, "JPEG at quality 60 changes a one-pixel checkerboard");
    }

    #[test]
    fn shrinks_to_a_side_the_scoring_view_keeps_and_never_comes_back_up() {
        let mut rng = Rng::new(3);
        let mut sides = std::collections::BTreeSet::new();
        for _ in 0..64 {
            let t = shrink(&[checker(128), checker(128), checker(128)], &mut rng);
            let side = t[0].width();
            assert!(t.iter().all(|f| f.dimensions() == (side, side)));
            assert!(
                (SMALL_CROP..128).contains(&side) && side % 8 == 0,
                "side {side}"
            );
            // What a file of this size is scored as is the frame itself.
            assert_eq!(crate::classifier::canon::scoring_view(&t[0]), t[0]);
            sides.insert(side);
        }
        assert_eq!(
            sides.len(),
            8,
            "every side from 64 to 120 is drawn: {sides:?}"
        );
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
