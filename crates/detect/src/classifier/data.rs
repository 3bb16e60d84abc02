//! The classifier's dataset as training reads it: an index of canonical clips with their
//! labels, arms, sources and splits (verity-corpus builds it), and the frames of those clips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use verity_media::{Picture, PixelFormat, Reader, ReaderOptions, Sampling};

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

impl Entry {
    /// A non-AI clip cut from a real scene: the scene itself, its codec copies and its softened
    /// and output-path versions. CGI and test patterns have source files but are not camera
    /// footage; renders and generated clips have none.
    pub fn non_ai_real_scene(&self) -> bool {
        self.label == 0
            && self.source_file.is_some()
            && !matches!(self.arm.as_str(), "cgi" | "lavfi")
    }
}

/// A split beside the dataset that lends a run its clips cut from real scenes
/// ([`Index::lent_beside`]).
#[derive(Clone, Debug)]
pub struct Lent {
    /// The split's folder.
    pub dir: PathBuf,
    /// The split's index fingerprint, recorded by the run.
    pub fingerprint: String,
    /// Its real scenes among the clips lent, each once.
    pub scenes: Vec<String>,
    /// The clips lent, each file made absolute.
    pub entries: Vec<Entry>,
}

/// The dataset: what the canonical encode was, and every clip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    pub size: u32,
    pub fps: u32,
    pub frames: usize,
    /// The canonical encode ([`canon::ENCODE`]); empty in a dataset from before it was recorded.
    #[serde(default)]
    pub encode: String,
    /// The CRF of a dataset from before the encode was recorded (read, never written).
    #[serde(default, rename = "crf", skip_serializing)]
    pub old_crf: Option<u8>,
    /// The generator's weights that made the synthetic arms.
    pub generator_weights_sha256: String,
    /// The seed the clips were drawn with (their scenes, windows and splits follow from it).
    #[serde(default)]
    pub data_seed: u64,
    /// The SHA-256 of each network besides the generator that made clips here, by name: F3's
    /// decoders (`f3-<design>`) and F4's upscalers (`f4-x2`, `f4-x4`); empty in a dataset from
    /// before they were recorded, and in one without those arms.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks_sha256: BTreeMap<String, String>,
    pub entries: Vec<Entry>,
}

/// The index's file name inside the dataset folder.
pub const INDEX: &str = "index.json";

impl Index {
    /// An index of `entries` made with the canonical encode of this build.
    pub fn canonical(
        generator_weights_sha256: String,
        data_seed: u64,
        entries: Vec<Entry>,
    ) -> Index {
        Index {
            size: canon::SIZE,
            fps: canon::FPS,
            frames: canon::FRAMES,
            encode: canon::ENCODE.into(),
            old_crf: None,
            generator_weights_sha256,
            data_seed,
            networks_sha256: BTreeMap::new(),
            entries,
        }
    }

    /// Reads `dir/index.json`, refusing one made for another canonical encode.
    pub fn load(dir: &Path) -> Result<Index> {
        let path = dir.join(INDEX);
        let bytes = std::fs::read(&path).map_err(|e| DetectError::io(&path, e))?;
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| DetectError::BadIndex {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if (index.size, index.fps, index.frames, index.encode.as_str())
            != (canon::SIZE, canon::FPS, canon::FRAMES, canon::ENCODE)
        {
            let encode = match (index.encode.as_str(), index.old_crf) {
                ("", Some(crf)) => format!("H.264 at CRF {crf}"),
                ("", None) => "an unrecorded encode".into(),
                (e, _) => e.to_string(),
            };
            return Err(DetectError::OtherDataset {
                reason: format!(
                    "this dataset was made with another canonical encode ({}x{}, {} fps, {} \
                     frames, {encode}) than this build's ({}x{}, {} fps, {} frames, {}); move \
                     {} aside and build the dataset again",
                    index.size,
                    index.size,
                    index.fps,
                    index.frames,
                    canon::SIZE,
                    canon::SIZE,
                    canon::FPS,
                    canon::FRAMES,
                    canon::ENCODE,
                    dir.display()
                ),
                path,
            });
        }
        Ok(index)
    }

    /// A short digest of the whole index (its encode, seeds and every entry): what names the
    /// caches made from this dataset's clips, so that a rebuilt dataset never meets them.
    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether any clip of the index, in any split, is of the scene `name` (a real source's
    /// name, or a prompt): a fresh test split must not share one.
    pub fn holds_scene(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.source == name)
    }

    /// The fresh test split `fresh`, loaded from `dir` (built with `verity train detector
    /// --fresh-test`), beside this dataset, in `main_dir`: refused unless every clip is a test clip, the same
    /// generator weights made it, and none of its real scenes is one this dataset holds. Each
    /// clip's file is made absolute, so that `main_dir.join` (or any folder's) leaves it as it
    /// is and the clips mix with this dataset's.
    pub fn fresh_beside(&self, main_dir: &Path, dir: &Path, mut fresh: Index) -> Result<Index> {
        let bad = |reason: String| DetectError::BadIndex {
            path: dir.join(INDEX),
            reason,
        };
        if let Some(e) = fresh.entries.iter().find(|e| e.split != Split::Test) {
            return Err(bad(format!(
                "not a fresh test split: {} is in the {} split (build one with `verity train detector --fresh-test`)",
                e.file,
                e.split.name()
            )));
        }
        if fresh.generator_weights_sha256 != self.generator_weights_sha256 {
            return Err(bad(format!(
                "made by other generator weights than {}",
                main_dir.display()
            )));
        }
        if let Some(e) = fresh
            .entries
            .iter()
            .find(|f| f.source_file.is_some() && self.holds_scene(&f.source))
        {
            return Err(bad(format!(
                "its real scene `{}` is one {} holds already",
                e.source,
                main_dir.display()
            )));
        }
        let root = std::fs::canonicalize(dir).map_err(|e| DetectError::io(dir, e))?;
        for e in &mut fresh.entries {
            e.file = root.join(&e.file).to_string_lossy().into_owned();
        }
        Ok(fresh)
    }

    /// The splits `dirs` (built with `verity train detector --fresh-test`) that lend a run on
    /// this dataset, in `main_dir`, their clips cut from real scenes (`flag` names the option:
    /// `--also-train`, `--also-validate`): each loaded beside it ([`Index::fresh_beside`]), with
    /// the clips `keep` takes. A split is refused when `keep` takes none of its clips (`what`
    /// says which clips it needed) or one of their scenes is in another of `dirs`.
    pub fn lent_beside(
        &self,
        main_dir: &Path,
        dirs: &[PathBuf],
        keep: impl Fn(&Entry) -> bool,
        flag: &str,
        what: &str,
    ) -> Result<Vec<Lent>> {
        let mut lent: Vec<Lent> = Vec::new();
        for dir in dirs {
            let loaded = Index::load(dir)?;
            let fingerprint = loaded.fingerprint();
            let fresh = self.fresh_beside(main_dir, dir, loaded)?;
            let bad = |reason: String| DetectError::BadIndex {
                path: dir.join(INDEX),
                reason,
            };
            let entries: Vec<Entry> = fresh.entries.into_iter().filter(|e| keep(e)).collect();
            let scenes = real_scenes_of(&entries);
            if scenes.is_empty() {
                return Err(bad(format!("it holds no {what}")));
            }
            // Two splits of one scene each pass `fresh_beside`, made against the dataset alone.
            if let Some(s) = scenes
                .iter()
                .find(|s| lent.iter().any(|l| l.scenes.contains(*s)))
            {
                return Err(bad(format!(
                    "its real scene `{s}` is in another {flag} split"
                )));
            }
            lent.push(Lent {
                dir: dir.clone(),
                fingerprint,
                scenes,
                entries,
            });
        }
        Ok(lent)
    }

    /// The real scenes of the index (the sources of clips cut from a real file), each once.
    pub fn real_scenes(&self) -> Vec<String> {
        real_scenes_of(&self.entries)
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

/// The real scenes of `entries` (the sources of clips cut from a real file), sorted, each once.
fn real_scenes_of(entries: &[Entry]) -> Vec<String> {
    let mut s: Vec<String> = entries
        .iter()
        .filter(|e| e.source_file.is_some())
        .map(|e| e.source.clone())
        .collect();
    s.sort();
    s.dedup();
    s
}

/// A clip's frames in memory: triples of consecutive canonical frames (the network's input is
/// one frame and its neighbours), spread over the clip.
#[derive(Clone, Debug)]
pub struct ClipFrames {
    /// Each triple's middle frame time in seconds, and the three frames.
    pub triples: Vec<(f64, [RgbImage; 3])>,
}

/// Where the triples of a file are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Spread evenly over the file ([`Sampling::Runs`]). Every frame up to the last triple is
    /// decoded (a triple needs its neighbours), but only the triples' frames are converted.
    Spread,
    /// The spread places moved back to the key frame at or before each
    /// ([`Sampling::KeyRuns`]), so that decoding costs about three frames per triple however
    /// long the file.
    KeyFrames,
}

/// Reads up to `max_triples` triples of consecutive frames from the first `max_frames` of
/// `path` (whose stream information is `info`), placed as `placement` says, each brought to
/// the view a suspect file is scored at ([`canon::scoring_view`]). With `shrink`, a large
/// frame is averaged over blocks as it is converted ([`canon::shrink_factor`]): the block
/// average [`canon::view`] would give it (within a code value), at a fraction of the cost.
pub fn read_triples(
    path: &Path,
    info: &verity_media::StreamInfo,
    max_triples: usize,
    max_frames: u64,
    placement: Placement,
    shrink: bool,
) -> Result<ClipFrames> {
    let (count, len, total) = (max_triples as u64, 3, frame_count(info).min(max_frames));
    let sampling = match placement {
        Placement::Spread => Sampling::Runs { count, len, total },
        Placement::KeyFrames => Sampling::KeyRuns { count, len, total },
    };
    let shrink = shrink
        .then(|| canon::shrink_factor(info.video.width, info.video.height))
        .flatten();
    read_triples_known(
        path,
        sampling,
        shrink,
        info.video.start_s,
        canon::scoring_view,
    )
}

/// The video's frame count: the stream's index or duration, else the container's duration (a
/// WebM stream often gives neither), times the frame rate.
pub fn frame_count(info: &verity_media::StreamInfo) -> u64 {
    info.expected_frames()
        .or_else(|| info.duration_s.map(|d| (d * info.video.fps).round() as u64))
        .unwrap_or(0)
}

/// The triples that `sampling` (runs of 3) hands out, each frame brought to `view`.
pub(crate) fn read_triples_known(
    path: &Path,
    sampling: Sampling,
    shrink_by: Option<u32>,
    start_s: f64,
    view: fn(&RgbImage) -> RgbImage,
) -> Result<ClipFrames> {
    let (Sampling::Runs { count, len, total } | Sampling::KeyRuns { count, len, total }) = sampling
    else {
        return Ok(ClipFrames {
            triples: Vec::new(),
        });
    };
    let starts = Sampling::run_starts(count, len, total);
    if starts.is_empty() {
        return Ok(ClipFrames {
            triples: Vec::new(),
        });
    }
    let opts = ReaderOptions {
        format: PixelFormat::Rgb24,
        sampling,
        shrink_by,
        ..Default::default()
    };
    let mut reader = Reader::open(path, opts)?;
    let mut triples = Vec::with_capacity(starts.len());
    let mut window: Vec<(u64, f64, RgbImage)> = Vec::with_capacity(3);
    while triples.len() < starts.len() {
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        // Times from the start of the video (an MPEG-TS stream starts at 1.4 s, say).
        let (i, t) = (frame.index, frame.time_s() - start_s);
        let Picture::Rgb(img) = frame.picture else {
            continue;
        };
        // A frame that does not follow the one before starts a new run (runs never touch, so
        // a gap means the next run began).
        if window.last().is_some_and(|w| w.0 + 1 != i) {
            window.clear();
        }
        window.push((i, t, view(&img)));
        if window.len() == 3 {
            let mut w = std::mem::take(&mut window).into_iter();
            if let (Some(a), Some(b), Some(c)) = (w.next(), w.next(), w.next()) {
                triples.push((b.1, [a.2, b.2, c.2]));
            }
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
        let sampling = Sampling::Runs {
            count: triples as u64,
            len: 3,
            total: canon::FRAMES as u64,
        };
        let frames = read_triples_known(&path, sampling, None, 0.0, canon::view)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn write(dir: &Path, index: &serde_json::Value) {
        std::fs::write(dir.join(INDEX), serde_json::to_vec(index).unwrap()).unwrap();
    }

    #[test]
    fn an_index_of_another_encode_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let this = Index::canonical("abc".into(), 0, Vec::new());
        write(dir.path(), &serde_json::to_value(&this).unwrap());
        assert_eq!(Index::load(dir.path()).unwrap().encode, canon::ENCODE);

        // A dataset from before the encode was recorded: CRF 23, no `encode`.
        let mut old = serde_json::to_value(&this).unwrap();
        let map = old.as_object_mut().unwrap();
        map.remove("encode");
        map.insert("crf".into(), 23.into());
        write(dir.path(), &old);
        let err = Index::load(dir.path()).unwrap_err();
        assert!(matches!(err, DetectError::OtherDataset { .. }), "{err}");
        let err = err.to_string();
        assert!(err.contains("H.264 at CRF 23"), "{err}");
        assert!(err.contains(canon::ENCODE), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");

        // Another encode, named in the error.
        let mut other = this.clone();
        other.encode = "H.264 at 1 Mbit/s".into();
        write(dir.path(), &serde_json::to_value(&other).unwrap());
        let err = Index::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("1 Mbit/s"), "{err}");
    }

    #[test]
    fn the_fingerprint_follows_the_encode_and_the_entries() {
        let a = Index::canonical("abc".into(), 0, Vec::new());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_eq!(a.fingerprint().len(), 12);
        let mut b = a.clone();
        b.encode = "H.264 at CRF 23".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
        let c = Index::canonical("abc".into(), 1, Vec::new());
        assert_ne!(a.fingerprint(), c.fingerprint());
        let entry = Entry {
            file: "clips/render/render-0000.mp4".into(),
            arm: "render".into(),
            label: 0,
            family: None,
            source: "a red ball".into(),
            source_file: None,
            split: Split::Train,
            seed: 1,
        };
        let d = Index::canonical("abc".into(), 0, vec![entry.clone()]);
        assert_ne!(a.fingerprint(), d.fingerprint());
        let e = Index::canonical("abc".into(), 0, vec![Entry { seed: 2, ..entry }]);
        assert_ne!(d.fingerprint(), e.fingerprint());
    }
}
