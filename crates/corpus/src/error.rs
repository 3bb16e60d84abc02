use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong building the classifier's dataset.
#[derive(Debug, Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: not a readable image ({reason})")]
    Image { path: PathBuf, reason: String },

    #[error(
        "{dir}: no {what} sources; run scripts/fetch-detector-data.sh (make detector-data) first"
    )]
    NoSources { dir: PathBuf, what: &'static str },

    #[error("a data scale of {0} is out of range: more than 0, up to 100")]
    BadScale(f32),

    #[error(transparent)]
    Index(#[from] verity_detect::DetectError),

    #[error("{path}: {reason}")]
    BadSource { path: PathBuf, reason: String },

    #[error("{path}: not a dataset index ({reason})")]
    BadIndex { path: PathBuf, reason: String },

    #[error("{path}: {reason}")]
    OtherDataset { path: PathBuf, reason: String },

    #[error(transparent)]
    Media(#[from] verity_media::MediaError),

    #[error(transparent)]
    Generate(#[from] verity_generate::GenerateError),

    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

impl CorpusError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = CorpusError> = std::result::Result<T, E>;
