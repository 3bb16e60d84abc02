//! The one error type of verity-provenance.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// c2pa refused to build or sign the manifest.
    #[error("{path}: signing the C2PA manifest failed: {source}")]
    Sign {
        path: PathBuf,
        #[source]
        source: Box<c2pa::Error>,
    },

    /// The trust settings could not be applied.
    #[error("setting up C2PA validation failed: {0}")]
    Settings(#[source] Box<c2pa::Error>),

    #[error("{path}: C2PA does not support this file type ({detail})")]
    Unsupported { path: PathBuf, detail: String },

    #[error(transparent)]
    Signing(#[from] verity_signing::SigningError),
}

pub type Result<T, E = ProvenanceError> = std::result::Result<T, E>;

impl ProvenanceError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ProvenanceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
