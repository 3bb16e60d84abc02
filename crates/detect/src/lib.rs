//! verity-detect: the verify pipeline. One call, [`verify`], turns a suspect file into a
//! [`Report`]: the file's facts, its C2PA credentials, its marks (the spectral watermark and the
//! visible badge), and a verdict with its evidence. When the file has lost its manifest, the
//! watermark's payload finds it again in the manifest repository. The classifier scores whether
//! the pictures are synthetic; `layers_checked` says which layers were looked at (the classifier
//! only when it ran).

pub mod classifier;
mod error;
pub mod marks;
mod plan;
mod recover;
mod report;
mod verdict;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use verity_provenance::marks::{DetectOptions, WatermarkKey};
use verity_provenance::repository::ManifestStore;
use verity_signing::TrustStore;

pub use error::{DetectError, Result};
pub use plan::VerifyRequest;
pub use report::{C2paSection, FileInfo, Report, Verdict, VerdictLabel};
pub use verdict::decide;

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Whose signatures count as trusted.
    pub trust: TrustStore,
    /// Spectral-mark keys to try before the documented default key, in this order.
    pub keys: Vec<WatermarkKey>,
    /// Where to look a manifest up by the payload of the mark, when the file has none.
    pub repository: Option<Arc<dyn ManifestStore>>,
    /// Why the repository could not be opened, when it could not: `verify` goes on without it
    /// and says so in the report (`c2pa.repository_error`), instead of failing every file.
    pub repository_unavailable: Option<String>,
    /// Leave the watermark layers out (C2PA only).
    pub skip_marks: bool,
    /// The fragments of a fragmented MP4 kept in pieces, when the file is its init segment:
    /// the manifest's hash covers them too. Empty for an ordinary file.
    pub fragments: Vec<std::path::PathBuf>,
    /// A manifest store kept apart from the file (a `.c2pa` file: a sidecar, or a remote
    /// manifest fetched by the user) to check the file against instead of what it embeds.
    /// Not with `fragments`.
    pub manifest_store: Option<std::path::PathBuf>,
    /// The most threads one verification uses; 0 takes every core. The file hash, the manifest
    /// and the marks are read side by side when there are 2 or more, one after another with 1.
    pub threads: usize,
    /// The synthetic-video classifier; `None` leaves that layer out (`classifier: null`).
    pub classifier: Option<Arc<classifier::score::Detector>>,
    /// Why the classifier could not be loaded, when it could not: the report says the layer
    /// is unavailable and the verdict rests on the others.
    pub classifier_unavailable: Option<String>,
    /// How the classifier reads the file (spread over it, or at its key frames).
    pub classifier_read: classifier::score::Reading,
    /// The spectral-mark searches beyond the default ones (rotation: slower on a video without
    /// a mark).
    pub mark_search: DetectOptions,
}

/// The classifier's part of one verification.
enum ClassifierRun {
    Model(Arc<classifier::score::Detector>),
    Unavailable(String),
}

/// Verifies one file. Problems with the file's provenance are findings in the report, not
/// errors; only a file that cannot be read as a video at all is an error.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    let started = Instant::now();
    let mut timings = std::collections::BTreeMap::new();

    let t = Instant::now();
    let info = verity_media::probe(path)?;
    timings.insert("probe".to_string(), ms(t));

    // A still image (JPEG, PNG, WebP…) opens as a one-frame video; its C2PA manifest is checked
    // as the image it is, and the marks, which are for video, are left out.
    let still_image = is_still_image(&info.container);
    // The caller's own keys first: a clip signed here carries the home key's mark, and each key
    // tried before the one that reads costs a whole search. The default key last.
    let mut keys = opts.keys.clone();
    keys.push(WatermarkKey::default_key());
    // The file hash, the C2PA validation and the marks each read the file: side by side when
    // the thread budget allows, one after another when it is one thread.
    let threads = verity_provenance::marks::thread_budget(opts.threads);
    let mark_search = verity_provenance::marks::DetectOptions {
        threads,
        ..opts.mark_search
    };
    let hash = || {
        let t = Instant::now();
        sha256_file(path).map(|h| (h, ms(t)))
    };
    let scan_marks = (!opts.skip_marks && !still_image).then_some(|| {
        let t = Instant::now();
        marks::scan(path, &keys, mark_search).map(|m| (m, ms(t)))
    });
    let read = || {
        let t = Instant::now();
        read_c2pa(path, opts).map(|m| (m, ms(t)))
    };
    // The classifier never fails verification: a problem becomes an `unavailable` section.
    let classify = (!still_image).then_some(()).and_then(|()| {
        match (&opts.classifier, &opts.classifier_unavailable) {
            (Some(det), _) => Some(ClassifierRun::Model(det.clone())),
            (None, Some(reason)) => Some(ClassifierRun::Unavailable(reason.clone())),
            (None, None) => None,
        }
    });
    let run_classifier = |run: ClassifierRun| {
        let t = Instant::now();
        let section = match run {
            ClassifierRun::Model(det) => {
                det.score_file(path, opts.classifier_read)
                    .unwrap_or_else(|e| {
                        classifier::score::ClassifierSection::unavailable(
                            &det.name,
                            error_chain(&e),
                        )
                    })
            }
            ClassifierRun::Unavailable(reason) => {
                classifier::score::ClassifierSection::unavailable("verity-detector", reason)
            }
        };
        (section, ms(t))
    };
    let (sha256, manifest, scanned, classified) = if threads < 2 {
        (
            hash(),
            read(),
            scan_marks.map(|f| f()),
            classify.map(run_classifier),
        )
    } else {
        std::thread::scope(|s| {
            let hasher = s.spawn(hash);
            let scanner = scan_marks.map(|f| s.spawn(f));
            let manifest = read();
            let classified = classify.map(run_classifier);
            let failed = |what: &str| {
                DetectError::io(
                    path,
                    std::io::Error::other(format!("the {what} thread failed")),
                )
            };
            let hashed = hasher.join().unwrap_or_else(|_| Err(failed("hashing")));
            let scanned = scanner.map(|h| h.join().unwrap_or_else(|_| Err(failed("watermark"))));
            (hashed, manifest, scanned, classified)
        })
    };
    let classifier = classified.map(|(section, t)| {
        timings.insert("classifier".to_string(), t);
        section
    });
    let (sha256, hash_ms) = sha256?;
    let (manifest, c2pa_ms) = manifest?;
    timings.insert("hash".to_string(), hash_ms);
    timings.insert("c2pa".to_string(), c2pa_ms);
    let scanned = match scanned {
        Some(r) => {
            let ((spectral, badge), marks_ms) = r?;
            timings.insert("marks".to_string(), marks_ms);
            Some((spectral, badge))
        }
        None => None,
    };

    let file = FileInfo {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        size_bytes: info.size_bytes,
        container: info.container.clone(),
        duration_s: info.duration_s,
        width: info.video.width,
        height: info.video.height,
        fps: info.video.fps,
    };
    let mut c2pa = C2paSection::embedded(manifest);
    // An init segment given alone: its manifest's hash covers fragments that are not here, so
    // the hash cannot match, and that says nothing about tampering.
    c2pa.init_segment_alone =
        opts.fragments.is_empty() && verity_media::demux::is_init_segment(path);
    let mut layers = vec!["c2pa".to_string()];
    let mut watermark = None;
    let mut visible_mark = None;
    if let Some((spectral, badge)) = &scanned {
        layers.push("watermark".into());
        layers.push("visible_mark".into());
        watermark = Some(marks::WatermarkSection::from_detection(spectral));
        visible_mark = Some(badge.clone());
        if let (Some(payload), Some(repo)) = (spectral.payload, &opts.repository) {
            let t = Instant::now();
            match recover::recover(&c2pa, payload, repo.as_ref(), path, &opts.trust) {
                Ok(Some(recovered)) => c2pa = recovered,
                Ok(None) => {}
                // A damaged record is the repository's problem, not the file's: the rest of
                // the report stands, and says that recovery could not be tried.
                Err(e) => c2pa.repository_error = Some(error_chain(&e)),
            }
            timings.insert("recovery".to_string(), ms(t));
        }
    }
    if c2pa.repository_error.is_none() {
        c2pa.repository_error = opts.repository_unavailable.clone();
    }
    if classifier
        .as_ref()
        .is_some_and(|c| c.status != classifier::score::ClassifierStatus::Unavailable)
    {
        layers.push("classifier".into());
    }
    let mut verdict = verdict::decide(
        &c2pa,
        watermark.as_ref(),
        visible_mark.as_ref(),
        classifier.as_ref(),
    );
    if still_image {
        verdict.evidence.push(format!(
            "the file is a still image ({}): its C2PA manifest was checked; the watermark, the badge and the classifier are for video and were not",
            info.container
        ));
    }
    timings.insert("total".to_string(), ms(started));
    Ok(Report {
        file,
        verdict,
        c2pa,
        watermark,
        visible_mark,
        classifier,
        layers_checked: layers,
        timings_ms: timings,
    })
}

/// The manifest as the options ask for it read: embedded (or a sidecar beside the file), from
/// a manifest store given with the file, or with the file's fragments.
fn read_c2pa(path: &Path, opts: &VerifyOptions) -> Result<verity_provenance::ManifestReport> {
    use verity_provenance::manifest::{read_manifest_fragmented, read_manifest_sidecar};
    Ok(match (&opts.manifest_store, opts.fragments.is_empty()) {
        (Some(store), true) => read_manifest_sidecar(path, store, &opts.trust)?,
        (Some(_), false) => return Err(DetectError::StoreWithFragments),
        (None, true) => verity_provenance::read_manifest(path, &opts.trust)?,
        (None, false) => read_manifest_fragmented(path, &opts.fragments, &opts.trust)?,
    })
}

/// Whether FFmpeg's container name is a still-image reader (`png_pipe`, `jpeg_pipe`,
/// `webp_pipe`, `image2`…) rather than a video container.
fn is_still_image(container: &str) -> bool {
    container == "image2" || container.ends_with("_pipe")
}

/// An error and its causes, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| DetectError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| DetectError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
