//! verity-provenance: the provenance layers.
//!
//! - [`manifest`]: the C2PA manifest: build, sign (embedded, streaming from file to file) and read
//!   (validated offline against a trust store), also from a manifest recovered elsewhere;
//! - [`marks`]: the visible badge and the spectral mark (embed, extract, keys, payload);
//! - [`stamp`]: the sign pipeline for a file: decode → marks → encode → manifest;
//! - [`repository`]: manifests kept under their soft-binding value, for recovery.

mod error;
pub mod home;
pub mod manifest;
pub mod marks;
pub mod plan;
pub mod repository;
pub mod stamp;

pub use error::{ProvenanceError, Result};
pub use home::{Home, IdentityReport, KeysReport};
pub use manifest::{
    C2paState, ManifestReport, ManifestSpec, Origin, SignOutcome, StatusCode, read_manifest,
    read_manifest_with_data, sign_file, sign_from,
};
pub use plan::{BadgeStyle, Identity, SignReport, StampPlan, StampRequest};
