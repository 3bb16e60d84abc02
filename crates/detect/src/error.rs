//! The one error type of verity-detect.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error(transparent)]
    Media(#[from] verity_media::MediaError),

    #[error(transparent)]
    Provenance(#[from] verity_provenance::ProvenanceError),

    #[error(
        "a manifest store kept apart from the file and fragments cannot be checked together: a fragmented MP4's manifest is in its init segment"
    )]
    StoreWithFragments,

    /// The classifier's weights or config are missing or damaged.
    #[error("{path}: the classifier's weights cannot be used ({reason})")]
    ClassifierWeights { path: PathBuf, reason: String },

    /// The classifier's dataset index is missing or not what this build reads.
    #[error("{path}: not a classifier dataset index ({reason})")]
    BadIndex { path: PathBuf, reason: String },

    /// A dataset (or a checkpoint) made for another dataset or canonical encode than this one.
    #[error("{path}: {reason}")]
    OtherDataset { path: PathBuf, reason: String },

    /// A training option is out of range.
    #[error("{name} {value} is out of range: {allowed}")]
    InvalidOption {
        name: &'static str,
        value: String,
        allowed: String,
    },

    #[error(transparent)]
    Tensor(#[from] candle_core::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = DetectError> = std::result::Result<T, E>;

impl DetectError {
    /// Whether the input caused this (see [`verity_provenance::ProvenanceError::is_bad_input`]),
    /// as opposed to the machine, the detector's own files or a bug.
    pub fn is_bad_input(&self) -> bool {
        match self {
            DetectError::Media(_) | DetectError::StoreWithFragments => true,
            DetectError::Provenance(p) => p.is_bad_input(),
            DetectError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ),
            _ => false,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DetectError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
