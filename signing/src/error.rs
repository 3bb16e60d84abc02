//! The one error type of verity-signing. No variant ever carries key material.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no signing keys in {dir}")]
    NoKeys { dir: PathBuf },

    #[error("signing keys already exist in {dir}")]
    KeysExist { dir: PathBuf },

    /// The private key could not be used. `reason` describes the format, never the bytes.
    #[error("{path}: cannot use the private key: {reason}")]
    BadKey { path: PathBuf, reason: String },

    #[error("{path}: cannot read the certificate chain: {reason}")]
    BadChain { path: PathBuf, reason: String },

    /// The chain or the signing certificate breaks the C2PA certificate profile.
    #[error("the certificate chain cannot sign C2PA manifests: {}", problems.join("; "))]
    Profile { problems: Vec<String> },

    #[error("the private key does not belong to the signing certificate `{subject}`")]
    KeyMismatch { subject: String },

    #[error("{path}: cannot read the trust anchors: {reason}")]
    BadAnchor { path: PathBuf, reason: String },

    #[error("invalid {name} `{value}`: expected {allowed}")]
    InvalidOption {
        name: &'static str,
        value: String,
        allowed: String,
    },

    #[error("making certificates failed: {0}")]
    Generate(String),
}

pub type Result<T, E = SigningError> = std::result::Result<T, E>;

impl SigningError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        SigningError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
