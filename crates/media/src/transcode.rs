//! A plain re-encode: the baseline every later stage (stamping, signing) is measured against.

use std::path::Path;

use serde::Serialize;

use crate::decode::{AudioMode, Completion, Item, Reader, ReaderOptions};
use crate::encode::Preset;
use crate::error::{MediaError, Result};
use crate::frame::{PixelFormat, VideoFrame};
use crate::mux::{AudioOutput, WriteSummary, Writer, WriterOptions};
use crate::probe::StreamInfo;
use verity_fs::TempPath;

/// What to do with the source's audio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioChoice {
    /// Decode and re-encode to AAC (what `ffmpeg -c:a aac` does).
    #[default]
    Aac,
    /// Copy the compressed audio untouched.
    Copy,
    /// Drop the audio.
    None,
}

/// Settings of a transcode.
#[derive(Clone, Copy, Debug)]
pub struct TranscodeOptions {
    pub crf: u8,
    pub preset: Preset,
    pub audio: AudioChoice,
    /// AAC bit rate when re-encoding audio, in bits per second; `None` lets the encoder choose,
    /// as the ffmpeg CLI does.
    pub audio_bit_rate: Option<u64>,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        TranscodeOptions {
            crf: 23,
            preset: Preset::Medium,
            audio: AudioChoice::Aac,
            audio_bit_rate: None,
        }
    }
}

/// Progress of a running transcode, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub frames_done: u64,
    /// Frames expected in total, when the container says.
    pub frames_expected: Option<u64>,
    /// Presentation time reached, in seconds.
    pub time_s: f64,
}

/// What a transcode did.
#[derive(Clone, Debug, Serialize)]
pub struct TranscodeReport {
    pub input: StreamInfo,
    pub output: WriteSummary,
    /// `None` when the whole input was read; otherwise why it stopped early.
    pub damage: Option<String>,
}

impl TranscodeReport {
    /// True when the input was cut short or damaged and only part of it was transcoded.
    pub fn is_partial(&self) -> bool {
        self.damage.is_some()
    }
}

/// Re-encodes `input` to an H.264 MP4 at `output`, keeping size, frame rate and timing.
///
/// Pictures stay in the source's 4:2:0 Y'CbCr (no RGB round trip). A damaged or cut-short input
/// is transcoded as far as it decodes, and the report says so. The output appears only when the
/// write succeeds.
pub fn transcode(
    input: &Path,
    output: &Path,
    opts: &TranscodeOptions,
    progress: impl FnMut(Progress),
) -> Result<TranscodeReport> {
    transcode_with(input, output, opts, |_| Ok(()), progress)
}

/// [`transcode`], with `edit` applied to every decoded frame (in `Yuv420p`) before it is
/// encoded. An error from `edit` stops the transcode and removes the partial output.
pub fn transcode_with(
    input: &Path,
    output: &Path,
    opts: &TranscodeOptions,
    edit: impl FnMut(&mut VideoFrame) -> std::result::Result<(), String>,
    progress: impl FnMut(Progress),
) -> Result<TranscodeReport> {
    let (report, tmp) = transcode_unpublished(input, output, opts, edit, progress)?;
    tmp.persist(output).map_err(|e| MediaError::io(output, e))?;
    Ok(report)
}

/// [`transcode_with`], leaving the finished file under its temporary name beside `output` for
/// the caller to publish (see [`Writer::finish_unpublished`]). Dropping the [`TempPath`]
/// removes it.
pub fn transcode_unpublished(
    input: &Path,
    output: &Path,
    opts: &TranscodeOptions,
    mut edit: impl FnMut(&mut VideoFrame) -> std::result::Result<(), String>,
    mut progress: impl FnMut(Progress),
) -> Result<(TranscodeReport, TempPath)> {
    let audio_mode = match opts.audio {
        AudioChoice::Aac => AudioMode::Decode,
        AudioChoice::Copy => AudioMode::Passthrough,
        AudioChoice::None => AudioMode::Skip,
    };
    let mut reader = Reader::open(
        input,
        ReaderOptions {
            format: PixelFormat::Yuv420p,
            audio: audio_mode,
            ..ReaderOptions::default()
        },
    )?;
    let info = reader.info().clone();
    let v = &info.video;
    let audio = match (opts.audio, &info.audio) {
        (AudioChoice::Aac, Some(a)) => AudioOutput::Aac {
            sample_rate: a.sample_rate,
            channels: a.channels,
            bit_rate: opts.audio_bit_rate,
        },
        (AudioChoice::Copy, Some(_)) => reader
            .audio_stream_params()
            .map(AudioOutput::Passthrough)
            .unwrap_or_default(),
        _ => AudioOutput::None,
    };
    let mut writer = Writer::create(
        output,
        WriterOptions {
            width: v.width,
            height: v.height,
            frame_rate: v.frame_rate,
            time_base: Some(v.time_base),
            crf: opts.crf,
            cbr: None,
            key_interval: None,
            preset: opts.preset,
            deterministic: false,
            color: v.color,
            audio,
            rotation_deg: v.rotation_deg,
        },
    )?;
    let expected = v
        .frames
        .or_else(|| v.duration_s.map(|d| (d * v.fps).round() as u64));
    let mut frames = 0u64;
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Video(mut f) => {
                edit(&mut f).map_err(|detail| MediaError::Edit {
                    path: input.to_path_buf(),
                    frame: f.index,
                    detail,
                })?;
                writer.write_video(&f)?;
                frames += 1;
                progress(Progress {
                    frames_done: frames,
                    frames_expected: expected,
                    time_s: f.time_s(),
                });
            }
            Item::Audio(a) => writer.write_audio(&a)?,
            Item::AudioPacket(p) => writer.write_audio_packet(&p)?,
        }
    }
    let damage = match reader.completion() {
        Completion::Damaged { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    if frames == 0 {
        // Dropping the writer removes its temporary file: nothing is left behind.
        return Err(MediaError::Truncated {
            path: input.to_path_buf(),
            detail: format!(
                "not a single video frame could be decoded ({})",
                damage.unwrap_or_else(|| "the video stream is empty".into())
            ),
        });
    }
    let (output, tmp) = writer.finish_unpublished()?;
    Ok((
        TranscodeReport {
            input: info,
            output,
            damage,
        },
        tmp,
    ))
}
