//! Signing a file: the manifest is embedded while the file is copied, streaming from file to
//! file, into a temporary name beside the output that is renamed only on success.

use std::path::{Path, PathBuf};

use verity_fs::TempPath;
use verity_signing::{DynSigner, TrustStore};

use super::build::{ManifestSpec, builder};
use super::context::context;
use crate::error::{ProvenanceError, Result};

/// What signing produced.
#[derive(Clone, Debug)]
pub struct SignOutcome {
    pub output: PathBuf,
    /// The manifest store as embedded (JUMBF): what the manifest repository keeps.
    pub manifest: Vec<u8>,
}

/// The MIME type c2pa uses for a video file, from its extension.
pub fn mime_for(path: &Path) -> Result<&'static str> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => Ok("video/mp4"),
        "mov" => Ok("video/quicktime"),
        _ => Err(ProvenanceError::Unsupported {
            path: path.to_path_buf(),
            detail: format!("extension `.{ext}`; verity signs .mp4, .m4v and .mov"),
        }),
    }
}

/// Embeds a manifest built from `spec` into a copy of `asset` written to `output`.
///
/// `output` may equal `asset`. Nothing appears at `output` unless signing succeeds: the file is
/// written under a temporary name and renamed. It is not fsynced; durability across power loss is
/// the file system's.
pub fn sign_file(
    asset: &Path,
    output: &Path,
    spec: &ManifestSpec,
    signer: &DynSigner,
    trust: &TrustStore,
) -> Result<SignOutcome> {
    sign_as(asset, asset, output, spec, signer, trust)
}

/// [`sign_file`] for an asset that is a temporary of the same output (a marked video not yet
/// published): errors name `output`, the file the user asked for, not the hidden temporary.
pub fn sign_from(
    asset: &Path,
    output: &Path,
    spec: &ManifestSpec,
    signer: &DynSigner,
    trust: &TrustStore,
) -> Result<SignOutcome> {
    sign_as(asset, output, output, spec, signer, trust)
}

/// Signs `asset` into `output`; `shown` is the name errors give the asset.
fn sign_as(
    asset: &Path,
    shown: &Path,
    output: &Path,
    spec: &ManifestSpec,
    signer: &DynSigner,
    trust: &TrustStore,
) -> Result<SignOutcome> {
    let format = mime_for(asset)?;
    mime_for(output)?;
    let mut b = builder(context(trust)?, spec, format)?;
    let mut src = std::fs::File::open(asset).map_err(|e| ProvenanceError::io(shown, e))?;
    let tmp = TempPath::beside(output).map_err(|e| ProvenanceError::io(output, e))?;
    let mut dst = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(tmp.path())
        .map_err(|e| ProvenanceError::io(output, e))?;
    let manifest = b
        .sign(signer, format, &mut src, &mut dst)
        .map_err(|source| ProvenanceError::Sign {
            path: shown.to_path_buf(),
            source: Box::new(source),
        })?;
    // Like the media writer (and ffmpeg and c2pa-rs), no fsync: the rename makes the output
    // appear whole or not at all if the process fails, which is the guarantee verity gives.
    drop(dst);
    tmp.persist(output)
        .map_err(|e| ProvenanceError::io(output, e))?;
    Ok(SignOutcome {
        output: output.to_path_buf(),
        manifest,
    })
}
