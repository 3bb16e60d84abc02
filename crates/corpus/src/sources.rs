//! The real sources the data is made from: footage (decoded once, kept small) and photographs
//! (moved over with slow pans and zooms), each with the name that decides its split.

use std::path::{Path, PathBuf};

use image::{RgbImage, imageops};
use verity_detect::classifier::canon;
use verity_media::{Picture, PixelFormat, Reader, ReaderOptions};

use crate::error::{CorpusError, Result};
use verity_generate::rng::Rng;

/// What a source file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Real camera footage.
    Video,
    /// Rendered animation (not AI, not a camera).
    Cgi,
    /// FFmpeg's synthetic test patterns.
    Lavfi,
    /// A photograph of a real scene.
    Photo,
}

/// One source file.
#[derive(Clone, Debug)]
pub struct Source {
    /// The scene it shows: every file of one scene has one name (the iscc demo in each of its
    /// codecs, the two views of one motorcycle), and the split is decided by it.
    pub name: String,
    pub kind: Kind,
    pub path: PathBuf,
}

impl Source {
    /// The file name without its folder, for the index.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The sources under `dir` (`video/`, `cgi/`, `lavfi/`, `photo/`), sorted by path; each of the
/// four folders must hold at least one file.
pub fn discover(dir: &Path) -> Result<Vec<Source>> {
    discover_in(dir, true)
}

/// The sources under `dir` as [`discover`] finds them, a missing or empty folder left out (a
/// fresh test split made from new footage alone); at least one source in all.
pub fn discover_some(dir: &Path) -> Result<Vec<Source>> {
    let out = discover_in(dir, false)?;
    if out.is_empty() {
        return Err(CorpusError::BadSource {
            path: dir.to_path_buf(),
            reason: "no sources in video/, cgi/, lavfi/ or photo/ (a fresh test split needs real footage in video/ at least)".into(),
        });
    }
    Ok(out)
}

fn discover_in(dir: &Path, all: bool) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for (sub, kind) in [
        ("video", Kind::Video),
        ("cgi", Kind::Cgi),
        ("lavfi", Kind::Lavfi),
        ("photo", Kind::Photo),
    ] {
        let d = dir.join(sub);
        if !all && !d.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&d).map_err(|e| CorpusError::io(&d, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() && all {
            return Err(CorpusError::NoSources { dir: d, what: sub });
        }
        for path in files {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = scene_name(&stem);
            out.push(Source { name, kind, path });
        }
    }
    Ok(out)
}

/// The scene a file shows: `motorcycle_left` and `motorcycle_right` are one scene.
fn scene_name(stem: &str) -> String {
    match stem {
        s if s.starts_with("motorcycle_") => "motorcycle".into(),
        s => s.to_string(),
    }
}

/// Decoded footage, its frames scaled so the short side is at most [`FOOTAGE_SIDE`].
#[derive(Debug)]
pub struct Footage {
    pub frames: Vec<RgbImage>,
    pub fps: f64,
}

/// The short side decoded footage is kept at (at most): windows are cut from it and scaled down
/// to the canonical size, never up, unless the source is smaller.
pub const FOOTAGE_SIDE: u32 = 256;
/// The longest stretch of footage read from one file.
const MAX_FOOTAGE_S: f64 = 90.0;

impl Footage {
    pub fn read(path: &Path) -> Result<Footage> {
        let opts = ReaderOptions {
            format: PixelFormat::Rgb24,
            ..Default::default()
        };
        let mut reader = Reader::open(path, opts)?;
        let mut frames = Vec::new();
        let mut last_t = 0.0;
        while let Some(f) = reader.next_frame()? {
            last_t = f.time_s();
            let Picture::Rgb(img) = f.picture else {
                continue;
            };
            frames.push(shrink(&img, FOOTAGE_SIDE));
            if last_t > MAX_FOOTAGE_S {
                break;
            }
        }
        if frames.len() < 8 {
            return Err(CorpusError::BadSource {
                path: path.to_path_buf(),
                reason: format!("only {} frames decoded", frames.len()),
            });
        }
        let fps = if last_t > 0.0 {
            (frames.len() - 1) as f64 / last_t
        } else {
            24.0
        };
        Ok(Footage { frames, fps })
    }

    pub fn duration_s(&self) -> f64 {
        self.frames.len() as f64 / self.fps
    }

    /// `n` canonical frames over `span_s` seconds from a random start, through one random
    /// square window (a fixed camera: the footage moves by itself).
    pub fn clip(&self, rng: &mut Rng, n: usize, span_s: f64) -> Vec<RgbImage> {
        let (w, h) = self.frames[0].dimensions();
        let m = w.min(h);
        let lo = (m as f32 * 0.6).max(canon::SIZE as f32).min(m as f32);
        let side = rng.range(lo, m as f32 + 1.0).min(m as f32) as u32;
        let x = rng.below((w - side + 1) as usize) as u32;
        let y = rng.below((h - side + 1) as usize) as u32;
        let spare = (self.duration_s() - span_s).max(0.0);
        let t0 = f64::from(rng.range(0.0, 1.0)) * spare;
        (0..n)
            .map(|k| {
                let t = t0 + k as f64 * span_s / n as f64;
                let i = ((t * self.fps).round() as usize).min(self.frames.len() - 1);
                canon::window(&self.frames[i], x, y, side)
            })
            .collect()
    }
}

/// A photograph, scaled so the short side is at most [`PHOTO_SIDE`].
#[derive(Debug)]
pub struct Photo(pub RgbImage);

/// The short side photographs are kept at (at most).
pub const PHOTO_SIDE: u32 = 512;

impl Photo {
    pub fn read(path: &Path) -> Result<Photo> {
        let img = image::open(path).map_err(|e| CorpusError::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let rgb = img.to_rgb8();
        if rgb.width().min(rgb.height()) < canon::SIZE {
            return Err(CorpusError::BadSource {
                path: path.to_path_buf(),
                reason: format!(
                    "{}x{} is smaller than the canonical {} pixels",
                    rgb.width(),
                    rgb.height(),
                    canon::SIZE
                ),
            });
        }
        Ok(Photo(shrink(&rgb, PHOTO_SIDE)))
    }

    /// `n` canonical frames of a slow pan and zoom: a square window moving in a straight line
    /// between two random places and sizes, eased at both ends as a camera operator would.
    pub fn clip(&self, rng: &mut Rng, n: usize) -> Vec<RgbImage> {
        let (w, h) = self.0.dimensions();
        let m = w.min(h) as f32;
        let lo = (m * 0.35).max(canon::SIZE as f32).min(m);
        let mut pick = || {
            let s = rng.range(lo, m);
            let x = rng.range(0.0, w as f32 - s);
            let y = rng.range(0.0, h as f32 - s);
            (x, y, s)
        };
        let (a, b) = (pick(), pick());
        // A pan of at most about a third of the frame per clip: slow, as footage pans.
        let reach = rng.range(0.15, 0.5);
        (0..n)
            .map(|k| {
                let u = k as f32 / (n.max(2) - 1) as f32;
                let e = reach * (0.5 - 0.5 * (std::f32::consts::PI * u).cos());
                let lerp = |p: f32, q: f32| p + (q - p) * e;
                let s = lerp(a.2, b.2);
                let x = lerp(a.0, b.0).clamp(0.0, w as f32 - s);
                let y = lerp(a.1, b.1).clamp(0.0, h as f32 - s);
                canon::window(
                    &self.0,
                    x.round() as u32,
                    y.round() as u32,
                    s.round() as u32,
                )
            })
            .collect()
    }
}

/// `img` scaled down (never up) so its short side is at most `side`.
fn shrink(img: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let m = w.min(h);
    if m <= side {
        return img.clone();
    }
    let (nw, nh) = (
        (u64::from(w) * u64::from(side) / u64::from(m)) as u32,
        (u64::from(h) * u64::from(side) / u64::from(m)) as u32,
    );
    imageops::resize(img, nw, nh, imageops::FilterType::Triangle)
}
