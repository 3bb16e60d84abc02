//! The classifier's dataset as training reads it: an index of canonical clips with their
//! labels, arms, sources and splits (verity-corpus builds it), and the frames of those clips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use verity_media::{Picture, PixelFormat, Reader, ReaderOptions};

use super::canon;
use crate::error::{DetectError, Result};

/// Where a clip is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// The split of a source scene. The three real footage scenes are placed by hand (one per
/// split, so that each split has real camera footage; the iscc scene, whose codec copies are
/// the codec probe, is the test split's); every other scene by a hash of its name, 60/20/20.
pub fn split_of(source: &str) -> Split {
    match source {
        "bikes" => Split::Train,
        "carphone_pristine" => Split::Val,
        "iscc-demo" => Split::Test,
        s => match Sha256::digest(s.as_bytes())[0] % 10 {
            0..=5 => Split::Train,
            6..=7 => Split::Val,
            _ => Split::Test,
        },
    }
}

/// One clip of the dataset.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the index's folder.
    pub file: String,
    /// The arm's name (`real-video`, `generator`, …).
    pub arm: String,
    /// 1 synthetic, 0 not.
    pub label: u8,
    /// The generator family (`F1`, `F2`) of a synthetic clip.
    pub family: Option<String>,
    /// The scene: a real source's name, or the prompt of a generated or rendered clip.
    pub source: String,
    /// The real file it was cut from, if any.
    pub source_file: Option<String>,
    pub split: Split,
    pub seed: u64,
}

/// The dataset: what the canonical encode was, and every clip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    pub size: u32,
    pub fps: u32,
    pub frames: usize,
    pub crf: u8,
    /// The generator's weights that made the synthetic arms.
    pub generator_weights_sha256: String,
    pub entries: Vec<Entry>,
}

/// The index's file name inside the dataset folder.
pub const INDEX: &str = "index.json";

impl Index {
    /// Reads `dir/index.json`, refusing one made for another canonical encode.
    pub fn load(dir: &Path) -> Result<Index> {
        let path = dir.join(INDEX);
        let bytes = std::fs::read(&path).map_err(|e| DetectError::io(&path, e))?;
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| DetectError::BadIndex {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if (index.size, index.fps, index.frames, index.crf)
            != (canon::SIZE, canon::FPS, canon::FRAMES, canon::CRF)
        {
            return Err(DetectError::BadIndex {
                path,
                reason: "made for another canonical encode; rebuild it".into(),
            });
        }
        Ok(index)
    }

    /// Clips per arm and split.
    pub fn counts(&self) -> BTreeMap<(String, Split), usize> {
        let mut m = BTreeMap::new();
        for e in &self.entries {
            *m.entry((e.arm.clone(), e.split)).or_default() += 1;
        }
        m
    }
}

/// A clip's frames in memory: triples of consecutive canonical frames (the network's input is
/// one frame and its neighbours), spread over the clip.
#[derive(Clone, Debug)]
pub struct ClipFrames {
    /// Each triple's middle frame time in seconds, and the three frames.
    pub triples: Vec<(f64, [RgbImage; 3])>,
}

/// Reads up to `max_triples` triples of consecutive frames, spread evenly over the file, each
/// brought to the canonical view. Every frame is decoded (a triple needs its neighbours), but
/// only the frames of the chosen triples are converted and kept.
pub fn read_triples(path: &Path, max_triples: usize, max_frames: u64) -> Result<ClipFrames> {
    let info = verity_media::probe(path)?;
    let total = info.video.frames.unwrap_or(0).min(max_frames);
    read_triples_known(path, max_triples, total)
}

fn middles(total: u64, n: usize) -> Vec<u64> {
    if total < 3 || n == 0 {
        return Vec::new();
    }
    let usable = total - 2;
    let n = (n as u64).min(usable);
    (0..n).map(|k| 1 + (2 * k + 1) * usable / (2 * n)).collect()
}

fn read_triples_known(path: &Path, max_triples: usize, total: u64) -> Result<ClipFrames> {
    let opts = ReaderOptions {
        format: PixelFormat::Rgb24,
        ..Default::default()
    };
    let mut reader = Reader::open(path, opts)?;
    let wanted = middles(total, max_triples);
    let mut triples = Vec::with_capacity(wanted.len());
    let mut window: Vec<(f64, RgbImage)> = Vec::with_capacity(3);
    let mut next = 0;
    while next < wanted.len() {
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        let i = frame.index;
        let keep = wanted[next].saturating_sub(1) <= i && i <= wanted[next] + 1;
        if !keep {
            window.clear();
            continue;
        }
        let t = frame.time_s();
        let Picture::Rgb(img) = frame.picture else {
            continue;
        };
        window.push((t, canon::view(&img)));
        if window.len() == 3 {
            let [a, b, c]: [(f64, RgbImage); 3] = match std::mem::take(&mut window).try_into() {
                Ok(w) => w,
                Err(_) => break,
            };
            triples.push((b.0, [a.1, b.1, c.1]));
            next += 1;
        }
    }
    Ok(ClipFrames { triples })
}

/// Every clip of `index` read from `dir` (up to `triples` triples each), with its entry.
pub fn load_clips(
    dir: &Path,
    index: &Index,
    triples: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<(Entry, ClipFrames)>> {
    let mut out = Vec::with_capacity(index.entries.len());
    for (k, e) in index.entries.iter().enumerate() {
        let path: PathBuf = dir.join(&e.file);
        let frames = read_triples_known(&path, triples, canon::FRAMES as u64)?;
        if frames.triples.is_empty() {
            return Err(DetectError::BadIndex {
                path,
                reason: "a clip of the index has no frames".into(),
            });
        }
        out.push((e.clone(), frames));
        progress(k + 1, index.entries.len());
    }
    Ok(out)
}
