//! The canonical view: what the classifier looks at, for training clips and suspect files alike.
//!
//! Every clip of every arm of the training data is encoded once at this size, rate and length
//! (H.264 at a constant 96 kbit/s, every stream padded to one exact size, one key frame per clip
//! and one fixed pattern of frame types, preset medium, one encoder thread, no marks), so that
//! nothing but the content tells the arms apart: not the file's size or bit rate (a CRF spends
//! bits by content, synthetic clips are simpler, and even a constant rate lets a hard clip run
//! over by up to its buffer), nor where its key frames or B-frames fall (libx264 places both
//! by the picture unless told). A suspect file is brought to the same view (size and framing)
//! by the same function before it is scored, but not through the same encode: its own
//! compression stays, which the training data does not cover (see the model card).

use image::{RgbImage, imageops};

/// Side of the square canonical frame, in pixels.
pub const SIZE: u32 = 128;
/// Canonical frame rate.
pub const FPS: u32 = 24;
/// Frames in a canonical clip (2 s).
pub const FRAMES: usize = 48;
/// The canonical encode's constant bit rate, in bits per second: about 500 bytes per 128-pixel
/// frame, so that at 24 fps every arm is coded well (above 45 dB PSNR for most clips).
pub const BIT_RATE: u32 = 96_000;
/// The canonical encode's decoder buffer, in bits: one second at the rate.
pub const BUFFER_BITS: u32 = 96_000;
/// Frames between key frames: one per clip, at its start, and none where the picture changes.
pub const KEY_INTERVAL: u32 = FRAMES as u32;
/// The canonical encode's rate control: [`BIT_RATE`] with a [`BUFFER_BITS`] buffer, every
/// stream padded with filler to the one size the buffer allows
/// ([`verity_media::ConstantBitRate::stream_bytes`]).
pub const RATE: verity_media::ConstantBitRate = verity_media::ConstantBitRate {
    bits_per_s: BIT_RATE,
    buffer_bits: BUFFER_BITS,
    exact_size: true,
};
/// The canonical encode in words, as a dataset's index records it: a dataset made with another
/// encode is refused rather than mixed with this one.
pub const ENCODE: &str = "H.264 preset medium on one thread, constant 96000 bit/s with filler, \
    96000-bit buffer, every stream padded to one exact size, a key frame every 48 frames and no \
    other, fixed B-frames";

/// The exact size of a canonical clip's video stream of `frames` frames, in bytes (`None` for
/// no frames).
pub fn stream_bytes(frames: usize) -> Option<u64> {
    RATE.stream_bytes(frames as u64, verity_media::Rational::new(FPS as i32, 1))
}

/// Writes `frames` (all of the first one's size) as H.264 at the canonical frame rate, with
/// the encoder settings `set` chooses over [`verity_media::WriterOptions::new`]'s and the
/// colour matrix for the frame height. What the dataset's clips and training's platform copies
/// are both written with.
pub fn write_frames(
    path: &std::path::Path,
    frames: &[RgbImage],
    set: impl FnOnce(&mut verity_media::WriterOptions),
) -> Result<(), verity_media::MediaError> {
    use verity_media::{ColorSpec, Picture, Rational, VideoFrame, Writer, WriterOptions};
    let (w, h) = frames.first().map_or((SIZE, SIZE), |f| f.dimensions());
    let mut wo = WriterOptions::new(w, h, Rational::new(FPS as i32, 1));
    set(&mut wo);
    let color = ColorSpec::guess_for_height(h);
    wo.color = color;
    let mut writer = Writer::create(path, wo)?;
    for (i, img) in frames.iter().enumerate() {
        writer.write_video(&VideoFrame {
            index: i as u64,
            pts: i as i64,
            time_base: Rational::new(1, FPS as i32),
            color,
            picture: Picture::Rgb(img.clone()),
        })?;
    }
    writer.finish()?;
    Ok(())
}

/// The centre square of `img` (the largest that fits), resized to [`SIZE`] with a triangle
/// (area-like) filter. A frame already at the canonical size is returned unchanged.
pub fn view(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    if w == SIZE && h == SIZE {
        return img.clone();
    }
    let side = w.min(h).max(1);
    let (x, y) = ((w - side) / 2, (h - side) / 2);
    // A large frame is first averaged over k × k blocks (k = side / SIZE / 2, so that the
    // triangle filter still sees at least two source pixels per output pixel): the same
    // low-pass, at a fraction of the cost of a wide filter over a 1080p frame.
    if let Some(k) = shrink_factor(w, h)
        && let Some(small) = box_shrink(img, (x, y, side), k)
    {
        return imageops::resize(&small, SIZE, SIZE, imageops::FilterType::Triangle);
    }
    let crop = imageops::crop_imm(img, x, y, side, side).to_image();
    imageops::resize(&crop, SIZE, SIZE, imageops::FilterType::Triangle)
}

/// What a suspect file's frame is scored as. A frame at least [`SIZE`] on its short side is
/// brought to the canonical view ([`view`]); a smaller one is never brought up: its centre
/// square is kept at its own size, the side cut down to a multiple of 8 (the features' grid).
/// The network is convolutional with a global average, so it takes any such square; an
/// upscale here would add the very trace of interpolation that the classifier reads as
/// synthesis, to real and generated frames alike (what the evaluation's 0.5× resize, a
/// 64-pixel copy of a canonical clip, measures).
pub fn scoring_view(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let short = w.min(h);
    let side = short / 8 * 8;
    if short >= SIZE || side < 8 {
        return view(img);
    }
    let (x, y) = ((w - side) / 2, (h - side) / 2);
    imageops::crop_imm(img, x, y, side, side).to_image()
}

/// The block size [`view`] averages a `w` × `h` frame over before its final resize (k = side /
/// SIZE / 2, so that the triangle filter still sees at least two source pixels per output
/// pixel); `None` when the frame is small enough to resize directly.
pub fn shrink_factor(w: u32, h: u32) -> Option<u32> {
    let k = w.min(h) / SIZE / 2;
    (k >= 2).then_some(k)
}

/// The square `(x, y, side)` of `img` averaged over `k` × `k` blocks (the right and bottom
/// remainders dropped), read straight from the frame's rows: no copy of the crop, no per-pixel
/// bounds checks. `None` when the square does not fit in `img` (never, from [`view`]).
fn box_shrink(img: &RgbImage, (x, y, side): (u32, u32, u32), k: u32) -> Option<RgbImage> {
    let n = (side / k) as usize;
    let k = k as usize;
    let area = (k * k) as u32;
    let stride = img.width() as usize * 3;
    let raw = img.as_raw();
    let mut sums = vec![0u32; n * 3];
    let mut out = Vec::with_capacity(n * n * 3);
    for oy in 0..n {
        sums.fill(0);
        for dy in 0..k {
            let start = (y as usize + oy * k + dy) * stride + x as usize * 3;
            let line = raw.get(start..start + n * k * 3)?;
            for (sum, block) in sums.chunks_exact_mut(3).zip(line.chunks_exact(k * 3)) {
                for px in block.chunks_exact(3) {
                    sum[0] += u32::from(px[0]);
                    sum[1] += u32::from(px[1]);
                    sum[2] += u32::from(px[2]);
                }
            }
        }
        out.extend(sums.iter().map(|s| ((s + area / 2) / area) as u8));
    }
    RgbImage::from_raw(n as u32, n as u32, out)
}

/// The square window of side `side` at (`x`, `y`) of `img`, resized to the canonical size: the
/// data's pans and zooms over photographs and crops of real footage.
pub fn window(img: &RgbImage, x: u32, y: u32, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let side = side.clamp(1, w.min(h).max(1));
    let (x, y) = (x.min(w - side), y.min(h - side));
    let crop = imageops::crop_imm(img, x, y, side, side).to_image();
    if side == SIZE {
        crop
    } else {
        imageops::resize(&crop, SIZE, SIZE, imageops::FilterType::Triangle)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The plain form of `view`'s block average: crop, then average pixel by pixel.
    fn reference_shrink(img: &RgbImage, x: u32, y: u32, side: u32, k: u32) -> RgbImage {
        let crop = imageops::crop_imm(img, x, y, side, side).to_image();
        let (w, h) = (crop.width() / k, crop.height() / k);
        let area = k * k;
        RgbImage::from_fn(w, h, |ox, oy| {
            let mut sum = [0u32; 3];
            for dy in 0..k {
                for dx in 0..k {
                    let p = crop.get_pixel(ox * k + dx, oy * k + dy);
                    for c in 0..3 {
                        sum[c] += u32::from(p[c]);
                    }
                }
            }
            image::Rgb(sum.map(|s| ((s + area / 2) / area) as u8))
        })
    }

    #[test]
    fn the_encode_in_words_names_every_setting() {
        // A change to a setting that forgot the words would let an old dataset pass as new.
        for value in [BIT_RATE, BUFFER_BITS, KEY_INTERVAL] {
            assert!(ENCODE.contains(&value.to_string()), "{value} in {ENCODE:?}");
        }
        assert!(ENCODE.contains("filler") && ENCODE.contains("H.264"));
        assert!(RATE.exact_size && ENCODE.contains("exact size"));
        assert!(ENCODE.contains("one thread") && ENCODE.contains("fixed B-frames"));
    }

    #[test]
    fn block_average_matches_the_plain_form() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for (w, h) in [
            (1920, 1080),
            (1080, 1920),
            (640, 527),
            (515, 700),
            (1000, 1000),
        ] {
            let img = RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]));
            let side = w.min(h);
            let (x, y) = ((w - side) / 2, (h - side) / 2);
            let k = side / SIZE / 2;
            assert!(k >= 2, "{w}x{h}");
            let fast = box_shrink(&img, (x, y, side), k).expect("the square fits");
            assert_eq!(fast, reference_shrink(&img, x, y, side, k), "{w}x{h}");
            assert_eq!(view(&img).dimensions(), (SIZE, SIZE));
        }
        // A square that does not fit is refused, not read past the frame.
        let img = RgbImage::new(600, 600);
        assert!(box_shrink(&img, (100, 100, 600), 2).is_none());
    }

    #[test]
    fn a_small_frame_is_scored_at_its_own_size_and_a_large_one_at_the_view() {
        let img = RgbImage::from_fn(100, 90, |x, y| {
            image::Rgb([x as u8, y as u8, (x ^ y) as u8])
        });
        // 90 is cut to 88, centred: columns 6.., rows 1.., every pixel as it was.
        let small = scoring_view(&img);
        assert_eq!(small.dimensions(), (88, 88));
        assert_eq!(small.get_pixel(0, 0), img.get_pixel(6, 1));
        assert_eq!(small.get_pixel(87, 87), img.get_pixel(93, 88));
        let large = RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 0]));
        assert_eq!(scoring_view(&large), view(&large));
        let canonical = RgbImage::from_fn(SIZE, SIZE, |x, y| image::Rgb([x as u8, y as u8, 7]));
        assert_eq!(scoring_view(&canonical), canonical);
    }
}
