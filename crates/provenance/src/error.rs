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

    /// A spectral-mark key file is unusable.
    #[error("{path}: not a spectral-mark key: {reason}")]
    MarkKey { path: PathBuf, reason: String },

    #[error(
        "a {width}x{height} picture is too small to carry the spectral mark (each side must be at least {min} pixels)"
    )]
    TooSmallForMark { width: u32, height: u32, min: u32 },

    /// The visible badge does not fit: it is drawn at a fraction of the height, and needs a
    /// minimum height to be legible and a width in proportion to its height.
    #[error("a {width}x{height} picture cannot hold the visible badge: {need}")]
    BadgeDoesNotFit {
        width: u32,
        height: u32,
        need: String,
    },

    #[error("a frame is {}x{}, but the mark was prepared for {}x{}", got.0, got.1, expected.0, expected.1)]
    FrameSize {
        expected: (u32, u32),
        got: (u32, u32),
    },

    #[error(
        "the video has {frames} frame(s); the spectral mark needs at least {min} to be read back reliably"
    )]
    TooShortForMark { frames: u64, min: u64 },

    /// The manifest repository is damaged or not one.
    #[error("{path}: the manifest repository is damaged: {reason}")]
    Repository { path: PathBuf, reason: String },

    #[error(transparent)]
    Media(#[from] verity_media::MediaError),

    #[error("invalid {name} `{value}`: expected {allowed}")]
    MarkOption {
        name: &'static str,
        value: String,
        allowed: String,
    },
}

pub type Result<T, E = ProvenanceError> = std::result::Result<T, E>;

impl ProvenanceError {
    /// Whether the input caused this (a file that is damaged, cut short, of a kind C2PA does
    /// not take, or too small or short to stamp), as opposed to the machine or a bug: a
    /// service answers the first with a 4xx and the reason, the second with a 5xx.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ProvenanceError::Media(_)
            | ProvenanceError::Unsupported { .. }
            | ProvenanceError::TooSmallForMark { .. }
            | ProvenanceError::BadgeDoesNotFit { .. }
            | ProvenanceError::TooShortForMark { .. } => true,
            // Reading past the end, or bytes that do not parse: no write fails this way.
            ProvenanceError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ),
            _ => false,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ProvenanceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
