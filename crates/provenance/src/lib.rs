//! verity-provenance: the provenance layers. For now the C2PA manifest: build, sign (embedded,
//! streaming from file to file) and read (validated offline against a trust store). The visible
//! and spectral marks join this crate with the marks issue.

mod error;
pub mod manifest;

pub use error::{ProvenanceError, Result};
pub use manifest::{
    C2paState, ManifestReport, ManifestSpec, Origin, SignOutcome, read_manifest, sign_file,
};
