//! The one error type of verity-generate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error(transparent)]
    Prompt(#[from] crate::prompt::PromptError),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the model weights are missing: {hint}")]
    MissingWeights { path: PathBuf, hint: String },

    /// The weights file cannot be read, or does not fit the config.
    #[error("{path}: the model weights are unusable: {reason}")]
    BadWeights { path: PathBuf, reason: String },

    #[error("{path}: the model config is invalid: {reason}")]
    BadConfig { path: PathBuf, reason: String },

    /// A checkpoint's train_state.json is there but cannot be read as one; resuming from it
    /// would restart the step count and the recipe.
    #[error("{path}: the training state is unreadable: {reason}")]
    BadTrainState { path: PathBuf, reason: String },

    #[error("invalid {name} `{value}`: expected {allowed}")]
    InvalidOption {
        name: &'static str,
        value: String,
        allowed: String,
    },

    #[cfg(feature = "pipeline")]
    #[error(transparent)]
    Media(Box<verity_media::MediaError>),

    #[cfg(feature = "pipeline")]
    #[error(transparent)]
    Provenance(Box<verity_provenance::ProvenanceError>),

    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub type Result<T, E = GenerateError> = std::result::Result<T, E>;

impl GenerateError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        GenerateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
