//! Platform copies: a training clip as a sharing platform serves it, coded again with H.264 at
//! the platform's quality, half the time at a smaller size, then brought back to the canonical
//! view the way a suspect file is.
//!
//! The classifiers trained with the softened arms kept verity's generator (F1) after a lossless
//! 0.5× resize (AUC 0.998) and after an H.264 re-encode at the full size (0.999), but not after
//! both at once (0.586): the generator's traces survive either, and H.264 at 64 pixels takes
//! them away, which the in-loop resize with JPEG ([`super::resample`]) does not imitate. So
//! every training clip also gets real H.264 copies, made once when training loads its clips
//! (about 80 ms a copy on one core here; their frames take about 0.9 MB a copy in memory), and
//! a sample is drawn from one of them with a set chance, on either label. The model card's
//! run 6 measured it: the copies did not give the generator back after that resize. VP9 is never used here: the evaluation's VP9 attack stays a codec the network
//! did not see.

use std::path::Path;

use image::RgbImage;
use image::imageops::{self, FilterType};
use verity_media::{Picture, PixelFormat, Preset, Reader, ReaderOptions, Sampling};

use super::Rng;
use super::canon;
use super::data::{ClipFrames, read_triples_known};
use crate::error::{DetectError, Result};

/// The chance that a training sample is drawn from a platform copy, unless told otherwise.
pub const CHANCE: f32 = 0.0;
/// Platform copies made of each training clip.
pub const COPIES: usize = 2;

/// The down-sampling filters a copy draws from (FFmpeg's default scaler is bicubic, near
/// Catmull-Rom; browsers and phones use others).
const DOWN: [FilterType; 3] = [
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
];

/// How one copy is made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// The size of the coded copy against the canonical one (1 for none).
    pub factor: f32,
    /// The filter it is brought down with (unused at factor 1).
    pub filter: FilterType,
    /// libx264's constant rate factor.
    pub crf: u8,
}

impl Recipe {
    /// Half the copies keep the size and are coded at CRF 24–34 (a platform's re-encode);
    /// the other half are brought down by 0.4–0.9 and coded at CRF 18–32 (a smaller copy).
    pub(crate) fn draw(rng: &mut Rng) -> Recipe {
        if rng.below(2) == 0 {
            Recipe {
                factor: 1.0,
                filter: FilterType::Triangle,
                crf: 24 + rng.below(11) as u8,
            }
        } else {
            Recipe {
                factor: rng.range(0.4, 0.9),
                filter: DOWN[rng.below(DOWN.len())],
                crf: 18 + rng.below(15) as u8,
            }
        }
    }

    /// The coded size for a `side`-pixel square: even (4:2:0 needs it), at least 16.
    pub fn side(self, side: u32) -> u32 {
        let s = (side as f32 * self.factor).round() as u32;
        (s & !1).clamp(16, side.max(16) & !1)
    }
}

/// The recipes of the copies of the clip whose dataset seed is `clip` for a run of `seed` (the
/// same every time the run loads, so a resumed run trains on the copies it began with, and the
/// same for a clip whichever arms a run leaves out).
pub fn recipes(seed: u64, clip: u64) -> [Recipe; COPIES] {
    let mut rng = Rng::for_step(seed ^ 0x504C_4154_464F_524D, clip);
    std::array::from_fn(|_| Recipe::draw(&mut rng))
}

/// A platform copy of the canonical clip at `clip`: every frame resized and coded as `recipe`
/// says, through a temporary file beside `scratch` (removed after), and read back as
/// `triples` triples of the canonical view.
pub fn copy(clip: &Path, recipe: Recipe, triples: usize, scratch: &Path) -> Result<ClipFrames> {
    let mut reader = Reader::open(
        clip,
        ReaderOptions {
            format: PixelFormat::Rgb24,
            ..Default::default()
        },
    )?;
    let mut frames: Vec<RgbImage> = Vec::with_capacity(canon::FRAMES);
    while let Some(frame) = reader.next_frame()? {
        if let Picture::Rgb(img) = frame.picture {
            frames.push(img);
        }
    }
    let Some(first) = frames.first() else {
        return Err(DetectError::BadIndex {
            path: clip.to_path_buf(),
            reason: "a clip of the index has no frames".into(),
        });
    };
    let side = recipe.side(first.width().min(first.height()));
    let tmp = verity_fs::TempPath::beside(scratch).map_err(|e| DetectError::io(scratch, e))?;
    let coded: Vec<RgbImage> = frames
        .iter()
        .map(|img| {
            if img.dimensions() == (side, side) {
                img.clone()
            } else {
                imageops::resize(img, side, side, recipe.filter)
            }
        })
        .collect();
    canon::write_frames(tmp.path(), &coded, |wo| {
        wo.crf = recipe.crf;
        wo.preset = Preset::Medium;
        wo.deterministic = true;
    })?;
    let sampling = Sampling::Runs {
        count: triples as u64,
        len: 3,
        total: frames.len() as u64,
    };
    let copy = read_triples_known(tmp.path(), sampling, None, 0.0, canon::view)?;
    if copy.triples.is_empty() {
        return Err(DetectError::BadIndex {
            path: clip.to_path_buf(),
            reason: format!("its platform copy ({recipe:?}) has no frame triples"),
        });
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::classifier::tests::detail;

    #[test]
    fn recipes_are_fixed_by_seed_and_clip_and_cover_both_kinds() {
        assert_eq!(recipes(3, 7), recipes(3, 7));
        assert_ne!(recipes(3, 7), recipes(3, 8));
        assert_ne!(recipes(3, 7), recipes(4, 7));
        let all: Vec<Recipe> = (0..200).flat_map(|k| recipes(0, k)).collect();
        let kept = all.iter().filter(|r| r.factor == 1.0).count();
        assert!((150..250).contains(&kept), "{kept} of 400 keep the size");
        for r in &all {
            if r.factor == 1.0 {
                assert!((24..=34).contains(&r.crf), "{r:?}");
            } else {
                assert!(
                    (0.4..=0.9).contains(&r.factor) && (18..=32).contains(&r.crf),
                    "{r:?}"
                );
            }
        }
    }

    /// A 48-frame canonical clip of a moving one-pixel checkerboard with a gradient, written
    /// with libx264 near losslessly.
    fn fine_clip(path: &Path) {
        let frames: Vec<RgbImage> = (0..canon::FRAMES as u32)
            .map(|i| {
                RgbImage::from_fn(canon::SIZE, canon::SIZE, |x, y| {
                    let c = if (x + y + i) % 2 == 0 { 60 } else { 0 };
                    let v = (x + y) as u8 / 2 + c;
                    image::Rgb([v, v / 2 + 30, 200 - v / 2])
                })
            })
            .collect();
        canon::write_frames(path, &frames, |wo| wo.crf = 4).unwrap();
    }

    #[test]
    fn a_copy_is_coded_again_and_read_back_at_the_canonical_view() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.mp4");
        fine_clip(&clip);
        let scratch = dir.path().join("copy.mp4");
        let source = read_triples_known(
            &clip,
            Sampling::Runs {
                count: 6,
                len: 3,
                total: canon::FRAMES as u64,
            },
            None,
            0.0,
            canon::view,
        )
        .unwrap();
        let fine = detail(&source.triples[0].1[1]);
        assert!(fine > 20.0, "the source keeps its checkerboard: {fine}");

        let small = Recipe {
            factor: 0.5,
            filter: FilterType::CatmullRom,
            crf: 23,
        };
        let c = copy(&clip, small, 6, &scratch).unwrap();
        assert_eq!(c.triples.len(), 6);
        for (_, t) in &c.triples {
            for f in t {
                assert_eq!(f.dimensions(), (canon::SIZE, canon::SIZE));
            }
        }
        // A one-pixel checkerboard does not survive a 0.5x copy.
        let soft = detail(&c.triples[0].1[1]);
        assert!(soft < 0.25 * fine, "{soft} against {fine}");
        // The same recipe gives the same copy (one encoder thread).
        let again = copy(&clip, small, 6, &scratch).unwrap();
        assert!(
            c.triples
                .iter()
                .zip(&again.triples)
                .all(|(a, b)| a.1 == b.1)
        );

        // At the same size, a re-encode changes the pixels and keeps the picture.
        let same = Recipe {
            factor: 1.0,
            filter: FilterType::Triangle,
            crf: 34,
        };
        let c = copy(&clip, same, 6, &scratch).unwrap();
        let (a, b) = (&source.triples[0].1[1], &c.triples[0].1[1]);
        assert_ne!(a, b);
        let mean = |i: &RgbImage| i.pixels().map(|p| f64::from(p[1])).sum::<f64>() / 16384.0;
        assert!((mean(a) - mean(b)).abs() < 3.0, "{} {}", mean(a), mean(b));

        // Only the source is left in the folder: the copies' temporaries are gone.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|f| f.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("clip.mp4")]);
    }

    #[test]
    fn the_coded_side_is_even_and_bounded() {
        let r = |factor| Recipe {
            factor,
            filter: FilterType::Triangle,
            crf: 23,
        };
        assert_eq!(r(1.0).side(128), 128);
        assert_eq!(r(0.5).side(128), 64);
        assert_eq!(r(0.41).side(128), 52);
        assert_eq!(r(0.01).side(128), 16);
        assert_eq!(r(0.7).side(127), 88);
    }
}
