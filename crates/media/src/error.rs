//! The one error type of verity-media.

use std::path::PathBuf;

/// Everything that can go wrong while reading or writing media.
///
/// Every variant names the file it is about, so that a caller can print it as one clear line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The path does not exist.
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },

    /// The path exists but is a directory or another non-regular file (a FIFO, a device).
    #[error("{path}: is {kind}, not a video file")]
    NotAFile { path: PathBuf, kind: &'static str },

    /// The file has no bytes at all.
    #[error("{path}: the file is empty (0 bytes)")]
    Empty { path: PathBuf },

    /// The bytes are not a container FFmpeg can read.
    #[error("{path}: not a video file: {detail}")]
    NotMedia { path: PathBuf, detail: String },

    /// The file is cut short: the container announces more data than the file holds.
    #[error("{path}: the file is truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },

    /// The container was read but holds no video stream.
    #[error("{path}: has no video stream (it holds: {streams})")]
    NoVideo { path: PathBuf, streams: String },

    /// The container holds a video stream whose codec this FFmpeg build cannot decode.
    #[error("{path}: cannot decode the video codec `{codec}`")]
    UnsupportedCodec { path: PathBuf, codec: String },

    /// An operating-system error while opening, reading, writing or renaming a file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An FFmpeg call failed. `op` says which step was running.
    #[error("{path}: {op} failed: {source}")]
    Ffmpeg {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: ffmpeg_next::Error,
    },

    /// An option is out of its allowed range.
    #[error("invalid {name} `{value}`: expected {allowed}")]
    InvalidOption {
        name: &'static str,
        value: String,
        allowed: String,
    },

    /// A frame handed to the writer does not fit the stream it was opened for.
    #[error("{path}: frame {index} does not fit the output: {detail}")]
    FrameMismatch {
        path: PathBuf,
        index: u64,
        detail: String,
    },

    /// An exact-size stream ([`crate::ConstantBitRate::exact_size`]) could not be made.
    #[error("{path}: cannot bring the video to its exact size: {detail}")]
    ExactSize { path: PathBuf, detail: String },

    /// The caller's per-frame edit (a mark, say) failed on a frame.
    #[error("{path}: frame {frame} could not be edited: {detail}")]
    Edit {
        path: PathBuf,
        frame: u64,
        detail: String,
    },
}

/// `Result` with [`MediaError`].
pub type Result<T, E = MediaError> = std::result::Result<T, E>;

impl MediaError {
    pub(crate) fn ffmpeg(
        path: &std::path::Path,
        op: &'static str,
        source: ffmpeg_next::Error,
    ) -> Self {
        MediaError::Ffmpeg {
            path: path.to_path_buf(),
            op,
            source,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        MediaError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
