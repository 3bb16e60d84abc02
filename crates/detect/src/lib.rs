//! verity-detect: the verify pipeline. One call, [`verify`], turns a suspect file into a
//! [`Report`]: the file's facts, its C2PA credentials, and a verdict with its evidence. The
//! watermark, visible-mark and classifier layers join the report as they land; until then their
//! fields are `null` and `layers_checked` says what was looked at.

mod error;
mod report;
mod verdict;

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use sha2::{Digest, Sha256};
use verity_signing::TrustStore;

pub use error::{DetectError, Result};
pub use report::{C2paSection, FileInfo, Report, Verdict, VerdictLabel};

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Whose signatures count as trusted.
    pub trust: TrustStore,
}

/// Verifies one file. Problems with the file's provenance are findings in the report, not
/// errors; only a file that cannot be read as a video at all is an error.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    let started = Instant::now();
    let mut timings = std::collections::BTreeMap::new();

    let t = Instant::now();
    let info = verity_media::probe(path)?;
    timings.insert("probe".to_string(), ms(t));

    // The file hash and the C2PA validation each read the whole file: run them side by side.
    let (sha256, manifest) = std::thread::scope(|s| {
        let hasher = s.spawn(|| {
            let t = Instant::now();
            sha256_file(path).map(|h| (h, ms(t)))
        });
        let t = Instant::now();
        let manifest = verity_provenance::read_manifest(path, &opts.trust).map(|m| (m, ms(t)));
        let hashed = hasher.join().unwrap_or_else(|_| {
            Err(DetectError::io(
                path,
                std::io::Error::other("the hashing thread failed"),
            ))
        });
        (hashed, manifest)
    });
    let (sha256, hash_ms) = sha256?;
    let (manifest, c2pa_ms) = manifest?;
    timings.insert("hash".to_string(), hash_ms);
    timings.insert("c2pa".to_string(), c2pa_ms);

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
    let c2pa = C2paSection::embedded(manifest);
    let verdict = verdict::decide(&c2pa);
    timings.insert("total".to_string(), ms(started));
    Ok(Report {
        file,
        verdict,
        c2pa,
        watermark: None,
        visible_mark: None,
        classifier: None,
        layers_checked: vec!["c2pa".into()],
        timings_ms: timings,
    })
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
