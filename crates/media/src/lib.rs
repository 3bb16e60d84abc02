//! verity-media: streaming video and audio I/O on FFmpeg.
//!
//! The pipeline stages are modules of their own: [`demux`] opens a file (and says plainly why it
//! cannot), [`decode`] hands out frames one at a time, [`encode`] and [`mux`] write an MP4.
//! Memory stays bounded by a few frames whatever the length of the clip.
//!
//! ```no_run
//! use verity_media::{Reader, ReaderOptions, Writer, WriterOptions};
//! # fn main() -> verity_media::Result<()> {
//! let mut reader = Reader::open("in.mp4", ReaderOptions::default())?;
//! let v = &reader.info().video;
//! let mut writer = Writer::create("out.mp4", WriterOptions::new(v.width, v.height, v.frame_rate))?;
//! while let Some(frame) = reader.next_frame()? {
//!     writer.write_video(&frame)?;
//! }
//! writer.finish()?;
//! # Ok(()) }
//! ```

mod convert;
pub mod decode;
pub mod demux;
pub mod encode;
mod error;
mod fill;
pub mod frame;
pub mod mux;
pub mod probe;
pub mod transcode;

pub use decode::{
    AudioMode, AudioPacket, AudioStreamParams, Completion, Item, Reader, ReaderOptions, Sampling,
};
pub use demux::set_ffmpeg_logging;
pub use encode::{ConstantBitRate, MAX_CRF, Preset, check_crf};
pub use error::{MediaError, Result};
pub use frame::{AudioFrame, ColorSpec, Matrix, Picture, PixelFormat, Range, Rational, VideoFrame};
pub use mux::{AudioOutput, WriteSummary, Writer, WriterOptions};
pub use probe::{
    AudioInfo, PacketTally, StreamInfo, StreamSummary, VideoInfo, count_key_frames, probe,
    video_packets,
};
pub use transcode::{
    AudioChoice, Progress, TranscodeOptions, TranscodeReport, transcode, transcode_unpublished,
    transcode_with,
};
pub use verity_fs::TempPath;
