//! Real clips made softer without any network: the non-AI look-alikes of F3 and F4.
//!
//! F3 and F4 are real frames that a network re-drew, and a re-drawn frame is softer than the
//! source. A classifier shown only those as soft real frames learns "soft means synthetic" and
//! flags every real clip a platform resized or re-compressed. These arms show it the same
//! softness made by plain signal processing, so that only the networks' own traces separate
//! the labels:
//! - [`resampled`]: down by a factor from 1/4 to 3/4 and up again, through a random pair of
//!   the usual filters (the F4 arm's own down-sampling among them);
//! - [`degraded`]: a Gaussian blur, JPEG at a low quality, or a platform's path (smaller,
//!   H.264 at a high CRF, decoded and scaled back up).

use std::path::Path;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::imageops::{self, FilterType};
use image::{ImageDecoder, RgbImage};
use verity_generate::rng::Rng;

use crate::error::{CorpusError, Result};
use verity_media::{Picture, PixelFormat, Reader, ReaderOptions};

/// The factors [`resampled`] draws from (one per clip).
pub const FACTORS: [f32; 5] = [0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75];

const DOWN: [FilterType; 4] = [
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
    FilterType::Gaussian,
];
const UP: [FilterType; 3] = [
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
];

/// How one [`degraded`] clip was softened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Degrade {
    /// A Gaussian blur of this sigma (pixels).
    Blur(f32),
    /// Each frame through JPEG at this quality.
    Jpeg(u8),
    /// Scaled by `scale`, encoded as H.264 at `crf`, decoded and scaled back.
    Platform { scale: f32, crf: u8 },
}

impl Degrade {
    pub fn draw(rng: &mut Rng) -> Degrade {
        match rng.below(3) {
            0 => Degrade::Blur(rng.range(0.6, 1.8)),
            1 => Degrade::Jpeg(rng.range(12.0, 45.0) as u8),
            _ => Degrade::Platform {
                scale: rng.range(0.45, 0.8),
                crf: rng.range(34.0, 45.0) as u8,
            },
        }
    }
}

/// The side a frame of `side` pixels takes at `factor`, even (H.264 needs it) and at least 8.
fn scaled(side: u32, factor: f32) -> u32 {
    (((side as f32 * factor) / 2.0).round() as u32 * 2).max(8)
}

/// A real clip down by one of [`FACTORS`] and up again, through a random down and up filter.
pub fn resampled(frames: &[RgbImage], rng: &mut Rng) -> Vec<RgbImage> {
    let factor = FACTORS[rng.below(FACTORS.len())];
    let down = DOWN[rng.below(DOWN.len())];
    let up = UP[rng.below(UP.len())];
    frames
        .iter()
        .map(|f| {
            let (w, h) = f.dimensions();
            let small = imageops::resize(f, scaled(w, factor), scaled(h, factor), down);
            imageops::resize(&small, w, h, up)
        })
        .collect()
}

/// A real clip softened by one [`Degrade`] drawn from `rng`.
pub fn degraded(frames: &[RgbImage], rng: &mut Rng) -> Result<Vec<RgbImage>> {
    apply(frames, Degrade::draw(rng))
}

/// `frames` softened by `how`. The frames keep their size.
pub fn apply(frames: &[RgbImage], how: Degrade) -> Result<Vec<RgbImage>> {
    match how {
        Degrade::Blur(sigma) => Ok(frames.iter().map(|f| imageops::blur(f, sigma)).collect()),
        Degrade::Jpeg(q) => frames.iter().map(|f| jpeg(f, q)).collect(),
        Degrade::Platform { scale, crf } => platform(frames, scale, crf),
    }
}

fn jpeg(img: &RgbImage, quality: u8) -> Result<RgbImage> {
    let bad = |e: image::ImageError| CorpusError::Image {
        path: "(a frame through JPEG)".into(),
        reason: e.to_string(),
    };
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .map_err(bad)?;
    let dec = JpegDecoder::new(std::io::Cursor::new(&buf)).map_err(bad)?;
    let (w, h) = dec.dimensions();
    let mut px = vec![0u8; dec.total_bytes() as usize];
    dec.read_image(&mut px).map_err(bad)?;
    RgbImage::from_raw(w, h, px).ok_or_else(|| CorpusError::Image {
        path: "(a frame through JPEG)".into(),
        reason: "the decoded frame has the wrong size".into(),
    })
}

/// Smaller, through H.264 at `crf` in a temporary file, decoded and scaled back up.
fn platform(frames: &[RgbImage], scale: f32, crf: u8) -> Result<Vec<RgbImage>> {
    let Some(first) = frames.first() else {
        return Ok(Vec::new());
    };
    let (w, h) = first.dimensions();
    let (sw, sh) = (scaled(w, scale), scaled(h, scale));
    let small: Vec<RgbImage> = frames
        .iter()
        .map(|f| imageops::resize(f, sw, sh, FilterType::Lanczos3))
        .collect();
    let tmp = tempfile::Builder::new()
        .prefix("verity-platform-")
        .suffix(".mp4")
        .tempfile()
        .map_err(|e| CorpusError::io(Path::new("(a temporary file)"), e))?;
    crate::write_h264(tmp.path(), &small, crf)?;
    let mut reader = Reader::open(
        tmp.path(),
        ReaderOptions {
            format: PixelFormat::Rgb24,
            ..Default::default()
        },
    )?;
    let mut back = Vec::with_capacity(frames.len());
    while let Some(f) = reader.next_frame()? {
        if let Picture::Rgb(img) = f.picture {
            back.push(imageops::resize(&img, w, h, FilterType::CatmullRom));
        }
    }
    if back.len() != frames.len() {
        return Err(CorpusError::BadSource {
            path: tmp.path().to_path_buf(),
            reason: format!("{} frames written, {} read back", frames.len(), back.len()),
        });
    }
    Ok(back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_detect::classifier::canon::SIZE as SIDE;

    /// A frame with sharp detail: a one-pixel checkerboard under a gradient.
    fn sharp(seed: u32) -> RgbImage {
        RgbImage::from_fn(SIDE, SIDE, |x, y| {
            let c = if (x + y + seed) % 2 == 0 { 200 } else { 40 };
            image::Rgb([c, (x * 2) as u8, (y * 2) as u8])
        })
    }

    /// Mean absolute difference between horizontal neighbours: high for sharp frames.
    fn detail(img: &RgbImage) -> f64 {
        let (w, h) = img.dimensions();
        let mut s = 0.0;
        for y in 0..h {
            for x in 1..w {
                let (a, b) = (img.get_pixel(x, y)[0], img.get_pixel(x - 1, y)[0]);
                s += f64::from(a.abs_diff(b));
            }
        }
        s / f64::from((w - 1) * h)
    }

    fn clip() -> Vec<RgbImage> {
        (0..6).map(sharp).collect()
    }

    #[test]
    fn every_degradation_keeps_size_and_count_and_softens() {
        let src = clip();
        for how in [
            Degrade::Blur(1.0),
            Degrade::Jpeg(20),
            Degrade::Platform {
                scale: 0.5,
                crf: 40,
            },
        ] {
            let out = apply(&src, how).unwrap();
            assert_eq!(out.len(), src.len(), "{how:?}");
            assert!(
                out.iter().all(|f| f.dimensions() == (SIDE, SIDE)),
                "{how:?}"
            );
            let (before, after) = (detail(&src[0]), detail(&out[0]));
            assert!(after < before * 0.85, "{how:?}: detail {before} -> {after}");
        }
    }

    #[test]
    fn resampling_keeps_size_and_softens_at_every_factor() {
        let src = clip();
        let mut rng = Rng::new(7);
        for _ in 0..12 {
            let out = resampled(&src, &mut rng);
            assert_eq!(out.len(), src.len());
            assert!(out.iter().all(|f| f.dimensions() == (SIDE, SIDE)));
            assert!(detail(&out[0]) < detail(&src[0]) * 0.7);
        }
    }

    #[test]
    fn odd_sizes_stay_even_for_h264() {
        assert_eq!(scaled(128, 1.0 / 3.0), 42);
        assert_eq!(scaled(128, 0.75), 96);
        assert_eq!(scaled(10, 0.25), 8);
        assert_eq!(scaled(127, 0.5), 64);
        assert_eq!(scaled(99, 0.5), 50);
    }

    #[test]
    fn the_same_seed_draws_the_same_softening() {
        let src = clip();
        let a = resampled(&src, &mut Rng::new(3));
        let b = resampled(&src, &mut Rng::new(3));
        assert_eq!(a, b);
        assert_eq!(
            Degrade::draw(&mut Rng::new(5)),
            Degrade::draw(&mut Rng::new(5))
        );
    }
}
