//! The manifest repository: durable credentials.
//!
//! Every manifest that `sign` makes is stored under its soft-binding value, so that when a copy
//! of the video has lost its embedded manifest (metadata stripped, or the video re-encoded) the
//! payload of its spectral mark brings the manifest back.
//!
//! The embedded default is a folder (by default `VERITY_HOME/manifests`):
//!
//! ```text
//! repository.json                          {"format": "verity-manifest-repository", "version": 1}
//! <algorithm>/<value>.c2pa                 the manifest store (JUMBF), as signed
//! <algorithm>/<value>.json                 what was signed: title, file name, time
//! ```
//!
//! Files are written whole (a temporary file, then a rename). A folder that exists but lacks a
//! readable `repository.json` is reported as damaged and never re-created over.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ProvenanceError, Result};

const MARKER: &str = "repository.json";
const FORMAT: &str = "verity-manifest-repository";

#[derive(Serialize, Deserialize)]
struct Marker {
    format: String,
    version: u32,
}

/// What is recorded beside each manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordInfo {
    pub algorithm: String,
    pub value: String,
    pub title: String,
    /// The signed file's name when it was signed.
    pub file_name: String,
    /// Seconds since the Unix epoch.
    pub stored_at: u64,
}

/// A manifest found in the repository.
#[derive(Clone, Debug)]
pub struct Record {
    pub info: RecordInfo,
    pub manifest: Vec<u8>,
}

/// Where manifests are kept for recovery, keyed by soft-binding (algorithm, value): the folder
/// [`Repository`] here, a database in the service. `Send + Sync`: one store serves concurrent
/// requests.
pub trait ManifestStore: std::fmt::Debug + Send + Sync {
    /// Stores a manifest under (alg, value), replacing an earlier one.
    fn store(&self, info: &RecordInfo, manifest: &[u8]) -> Result<()>;
    /// The manifest stored under (alg, value), if any. A record that cannot be read is an
    /// error, not a miss.
    fn lookup(&self, alg: &str, value: &str) -> Result<Option<Record>>;
    /// Where the store is, for reports: a folder's path, a database's name (never a secret).
    fn location(&self) -> String;
}

/// A folder of manifests keyed by soft-binding value.
#[derive(Clone, Debug)]
pub struct Repository {
    root: PathBuf,
}

fn damaged(path: &Path, reason: impl Into<String>) -> ProvenanceError {
    ProvenanceError::Repository {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Soft-binding algorithm names and values become file names: only plain characters.
fn check_name(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ProvenanceError::MarkOption {
            name: if what == "alg" {
                "soft-binding algorithm"
            } else {
                "soft-binding value"
            },
            value: s.to_string(),
            allowed: "letters, digits, '.', '-' and '_'".into(),
        })
    }
}

impl Repository {
    /// Opens the repository at `root`, creating it when the folder does not exist (or is
    /// empty). A folder with other content and no valid marker is an error.
    pub fn open_or_create(root: &Path) -> Result<Self> {
        let marker = root.join(MARKER);
        let empty = match std::fs::read_dir(root) {
            Ok(mut it) => it.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(ProvenanceError::io(root, e)),
        };
        if empty && !marker.exists() {
            std::fs::create_dir_all(root).map_err(|e| ProvenanceError::io(root, e))?;
            let m = Marker {
                format: FORMAT.into(),
                version: 1,
            };
            let bytes =
                serde_json::to_vec_pretty(&m).map_err(|e| damaged(&marker, e.to_string()))?;
            write_whole(&marker, &bytes)?;
        }
        Self::open(root)
    }

    /// Opens an existing repository; `Ok(None)` when there is none at `root`.
    pub fn open_existing(root: &Path) -> Result<Option<Self>> {
        if !root.exists() {
            return Ok(None);
        }
        Self::open(root).map(Some)
    }

    fn open(root: &Path) -> Result<Self> {
        let marker = root.join(MARKER);
        let bytes = match std::fs::read(&marker) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(
                    root,
                    format!(
                        "{MARKER} is missing; this folder is not a manifest repository, or it was damaged (it is left as it is)"
                    ),
                ));
            }
            Err(e) => return Err(ProvenanceError::io(&marker, e)),
        };
        let m: Marker = serde_json::from_slice(&bytes)
            .map_err(|e| damaged(&marker, format!("unreadable ({e}); it is left as it is")))?;
        if m.format != FORMAT || m.version != 1 {
            return Err(damaged(
                &marker,
                format!(
                    "format {} version {} is not one this verity reads",
                    m.format, m.version
                ),
            ));
        }
        Ok(Repository {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn paths(&self, alg: &str, value: &str) -> Result<(PathBuf, PathBuf)> {
        check_name("alg", alg)?;
        check_name("value", value)?;
        let dir = self.root.join(alg);
        Ok((
            dir.join(format!("{value}.c2pa")),
            dir.join(format!("{value}.json")),
        ))
    }

    fn store_record(&self, info: &RecordInfo, manifest: &[u8]) -> Result<()> {
        let (c2pa, json) = self.paths(&info.algorithm, &info.value)?;
        if let Some(dir) = c2pa.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ProvenanceError::io(dir, e))?;
        }
        write_whole(&c2pa, manifest)?;
        let bytes = serde_json::to_vec_pretty(info).map_err(|e| damaged(&json, e.to_string()))?;
        write_whole(&json, &bytes)
    }

    fn lookup_record(&self, alg: &str, value: &str) -> Result<Option<Record>> {
        let (c2pa, json) = self.paths(alg, value)?;
        let manifest = match std::fs::read(&c2pa) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ProvenanceError::io(&c2pa, e)),
        };
        if manifest.is_empty() {
            return Err(damaged(&c2pa, "the stored manifest is empty"));
        }
        let info_bytes = std::fs::read(&json).map_err(|e| ProvenanceError::io(&json, e))?;
        let info: RecordInfo = serde_json::from_slice(&info_bytes)
            .map_err(|e| damaged(&json, format!("unreadable record ({e})")))?;
        Ok(Some(Record { info, manifest }))
    }
}

impl ManifestStore for Repository {
    fn store(&self, info: &RecordInfo, manifest: &[u8]) -> Result<()> {
        self.store_record(info, manifest)
    }

    fn lookup(&self, alg: &str, value: &str) -> Result<Option<Record>> {
        self.lookup_record(alg, value)
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
}

/// Writes `bytes` to `path` whole or not at all, under a temporary name unique to this process
/// and thread (two requests storing one record never share a temporary).
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    verity_fs::write_whole(path, bytes).map_err(|e| ProvenanceError::io(path, e))
}

/// Several stores asked in turn: the first that holds a manifest for the binding answers; a
/// store that fails does not hide a later one's match (its error is returned only when no
/// store has one). New manifests go to the first store.
#[derive(Debug)]
pub struct Stores(pub Vec<std::sync::Arc<dyn ManifestStore>>);

impl ManifestStore for Stores {
    fn store(&self, info: &RecordInfo, manifest: &[u8]) -> Result<()> {
        match self.0.first() {
            Some(s) => s.store(info, manifest),
            None => Ok(()),
        }
    }

    fn lookup(&self, alg: &str, value: &str) -> Result<Option<Record>> {
        let mut failed = None;
        for s in &self.0 {
            match s.lookup(alg, value) {
                Ok(Some(r)) => return Ok(Some(r)),
                Ok(None) => {}
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn location(&self) -> String {
        self.0
            .iter()
            .map(|s| s.location())
            .collect::<Vec<_>>()
            .join(", then ")
    }
}
