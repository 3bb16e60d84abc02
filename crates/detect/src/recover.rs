//! Durable credentials: a manifest brought back through the watermark.
//!
//! C2PA 2.2 §18.10: a manifest found through a soft binding must itself carry that soft binding.
//! The recovered manifest is validated against the file; its hard binding fails whenever the
//! file was re-encoded or had its metadata stripped, which is expected and explained, not called
//! tampering.

use std::path::Path;

use verity_provenance::marks::Payload;
use verity_provenance::marks::spectral::{ALGORITHM, EARLIER_ALGORITHMS};
use verity_provenance::repository::ManifestStore;
use verity_provenance::{C2paState, read_manifest_with_data};
use verity_signing::TrustStore;

use crate::error::Result;
use crate::report::C2paSection;

/// The recovered manifest when the file has none of its own and the repository holds one whose
/// soft binding matches `payload`.
pub(crate) fn recover(
    embedded: &C2paSection,
    payload: Payload,
    repo: &dyn ManifestStore,
    path: &Path,
    trust: &TrustStore,
) -> Result<Option<C2paSection>> {
    // A file with no manifest, one too damaged to read, or one kept remotely that was not
    // fetched, says nothing of its origin by itself: the watermark may. A readable manifest,
    // valid or not, speaks for the file.
    let speaks_for_itself = match embedded.manifest.state {
        C2paState::Absent | C2paState::Remote => false,
        _ => !embedded.manifest.is_unreadable(),
    };
    if speaks_for_itself {
        return Ok(None);
    }
    let value = payload.to_hex();
    // Manifests made before the mark's current version are stored under its earlier names.
    let names = || std::iter::once(ALGORITHM).chain(EARLIER_ALGORITHMS.iter().copied());
    let mut record = None;
    for name in names() {
        record = repo.lookup(name, &value)?;
        if record.is_some() {
            break;
        }
    }
    let Some(record) = record else {
        return Ok(None);
    };
    let manifest = read_manifest_with_data(&record.manifest, path, trust)?;
    let binds = manifest
        .soft_bindings()
        .iter()
        .any(|(alg, v)| names().any(|n| n == alg) && *v == value);
    if !binds {
        // Not the manifest of this mark: do not present it as this file's.
        tracing::warn!(
            value,
            "a repository manifest was found under the payload, but its soft binding does not name it"
        );
        return Ok(None);
    }
    Ok(Some(C2paSection {
        manifest,
        recovered_via: Some("watermark".into()),
        embedded_failure: embedded
            .manifest
            .codes
            .failure
            .iter()
            .find(|c| c.is(verity_provenance::manifest::Code::ManifestUnreadable))
            .cloned(),
        repository_error: None,
        init_segment_alone: false,
    }))
}
