//! The streaming writer: frames and audio in, an MP4 out.
//!
//! The file is written beside the target under a temporary name and renamed over the target only
//! when [`Writer::finish`] succeeds; a writer dropped before that removes its temporary file, so
//! a failed or interrupted write never leaves a half-written video that looks whole.

use std::path::{Path, PathBuf};

use ffmpeg_next::{Dictionary, Packet, Rescale, codec, encoder, format};

use crate::convert::{self, ConverterCache};
use crate::decode::{AudioPacket, AudioStreamParams};
use crate::demux;
use crate::encode::{self, AacEncoder, ConstantBitRate, Preset, RateControl, VideoEncoder};
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, ColorSpec, Rational, VideoFrame};
use verity_fs::TempPath;

/// What to do with audio in the output.
#[derive(Debug, Default)]
pub enum AudioOutput {
    /// No audio track.
    #[default]
    None,
    /// Encode [`AudioFrame`]s to AAC.
    Aac {
        sample_rate: u32,
        channels: u16,
        /// Bits per second; `None` lets the encoder choose (about 64 kb/s a channel, as the ffmpeg CLI does).
        bit_rate: Option<u64>,
    },
    /// Copy compressed packets from a source stream untouched.
    Passthrough(AudioStreamParams),
}

/// How to write a file.
#[derive(Debug)]
pub struct WriterOptions {
    pub width: u32,
    pub height: u32,
    /// Nominal frame rate (frames per second, as a fraction).
    pub frame_rate: Rational,
    /// Time base of the `pts` of the frames that will be written; `None` means one tick per frame
    /// (1/frame_rate).
    pub time_base: Option<Rational>,
    /// libx264 constant rate factor, 0–51 (unused when `cbr` is set).
    pub crf: u8,
    /// A constant bit rate in place of the CRF; `None`: the CRF.
    pub cbr: Option<ConstantBitRate>,
    /// A key frame every this many frames and nowhere else (no scene-cut key frames), and
    /// B-frames in a fixed pattern rather than placed by the picture (libx264's `b-adapt=0`),
    /// so that every GOP of one length has one structure; `None`: libx264's own choice of both.
    pub key_interval: Option<u32>,
    pub preset: Preset,
    /// Encode on one thread, so that the same frames always give the same stream: under a
    /// constant bit rate libx264's frame threads steer the rate control by how their work
    /// happens to interleave, and two runs differ. `false`: libx264's own thread count.
    pub deterministic: bool,
    /// Y'CbCr matrix and range of the output.
    pub color: ColorSpec,
    pub audio: AudioOutput,
    /// Clockwise display rotation in degrees (0, 90, 180 or 270), written as the video stream's
    /// display matrix, as the source's was: the frames are stored as decoded and a player turns
    /// them (a portrait phone clip stays portrait). 0 writes no matrix.
    pub rotation_deg: f64,
}

impl WriterOptions {
    /// H.264 at CRF 23, preset medium, BT.709 (BT.601 below 720 lines), no audio.
    pub fn new(width: u32, height: u32, frame_rate: Rational) -> Self {
        WriterOptions {
            width,
            height,
            frame_rate,
            time_base: None,
            crf: 23,
            cbr: None,
            key_interval: None,
            preset: Preset::Medium,
            deterministic: false,
            color: ColorSpec::guess_for_height(height),
            audio: AudioOutput::None,
            rotation_deg: 0.0,
        }
    }
}

/// What a finished write produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WriteSummary {
    pub path: PathBuf,
    pub video_frames: u64,
    pub audio_packets: u64,
    pub bytes: u64,
}

enum AudioSink {
    None,
    Aac { enc: Box<AacEncoder>, stream: usize },
    Copy { stream: usize },
}

/// Writes an MP4 (H.264 + optional AAC or copied audio), one frame at a time.
pub struct Writer {
    target: PathBuf,
    /// The file being written; removed when the writer is dropped unfinished.
    tmp: Option<TempPath>,
    out: Option<format::context::Output>,
    video: VideoEncoder,
    video_stream: usize,
    /// Time base of the incoming frames' pts.
    in_tb: Rational,
    color: ColorSpec,
    width: u32,
    height: u32,
    audio: AudioSink,
    converter: ConverterCache,
    frames: u64,
    audio_packets: u64,
    finished: bool,
    /// The rate whose exact size the stream is brought to at the end, when asked.
    exact: Option<ConstantBitRate>,
    frame_rate: Rational,
    rotation_deg: f64,
    /// FFmpeg's name of the output format (`mp4` or `mov`).
    container: &'static str,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("target", &self.target)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

fn container_for(target: &Path) -> Result<&'static str> {
    let ext = target
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => Ok("mp4"),
        "mov" => Ok("mov"),
        _ => Err(MediaError::InvalidOption {
            name: "output file extension",
            value: if ext.is_empty() {
                "(none)".into()
            } else {
                format!(".{ext}")
            },
            allowed: ".mp4, .m4v or .mov".into(),
        }),
    }
}

impl Writer {
    /// Creates the temporary output beside `path` and opens the encoders.
    pub fn create(path: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer> {
        demux::init();
        let target = path.as_ref().to_path_buf();
        let container = container_for(&target)?;
        encode::check_crf(opts.crf)?;
        if opts.width < 2 || opts.height < 2 || opts.width > 16384 || opts.height > 16384 {
            return Err(MediaError::InvalidOption {
                name: "frame size",
                value: format!("{}x{}", opts.width, opts.height),
                allowed: "2x2 to 16384x16384".into(),
            });
        }
        if !opts.frame_rate.is_positive() || opts.frame_rate.as_f64() > 1000.0 {
            return Err(MediaError::InvalidOption {
                name: "frame rate",
                value: opts.frame_rate.to_string(),
                allowed: "a positive rate of at most 1000 fps".into(),
            });
        }
        if target.is_dir() {
            return Err(MediaError::NotAFile {
                path: target,
                kind: "a directory",
            });
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(MediaError::io(
                &target,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the output folder does not exist",
                ),
            ));
        }
        let tmp = TempPath::beside(&target).map_err(|e| MediaError::io(&target, e))?;
        let mut out = format::output_as(tmp.path(), container)
            .map_err(|e| MediaError::ffmpeg(&target, "creating the output", e))?;
        let global_header = out.format().flags().contains(format::Flags::GLOBAL_HEADER);
        // From here on, a failure drops `tmp`, which removes the temporary file.

        // x264 needs even dimensions for 4:2:0.
        if opts.width % 2 != 0 || opts.height % 2 != 0 {
            return Err(MediaError::InvalidOption {
                name: "frame size",
                value: format!("{}x{}", opts.width, opts.height),
                allowed: "even width and height (H.264 4:2:0)".into(),
            });
        }
        if let Some(k) = opts.key_interval
            && (k == 0 || k > i32::MAX as u32)
        {
            return Err(MediaError::InvalidOption {
                name: "key-frame interval",
                value: k.to_string(),
                allowed: format!("1 to {} frames", i32::MAX),
            });
        }
        if let Some(c) = opts.cbr
            && (c.bits_per_s == 0 || c.buffer_bits == 0)
        {
            return Err(MediaError::InvalidOption {
                name: "constant bit rate",
                value: format!("{} b/s, buffer {} b", c.bits_per_s, c.buffer_bits),
                allowed: "a rate and a buffer of at least 1 bit".into(),
            });
        }
        if let Some(c) = opts.cbr.filter(|c| c.exact_size) {
            check_exact_size(c, &opts)?;
        }
        let in_tb = opts.time_base.unwrap_or(opts.frame_rate.invert());
        let video = VideoEncoder::open(
            opts.width,
            opts.height,
            opts.frame_rate,
            in_tb,
            RateControl {
                crf: opts.crf,
                cbr: opts.cbr,
                key_interval: opts.key_interval,
                preset: opts.preset,
                single_thread: opts.deterministic,
            },
            opts.color,
            global_header,
        )
        .map_err(|e| MediaError::ffmpeg(&target, "opening the H.264 encoder (libx264)", e))?;
        let video_stream = {
            let mut st = out
                .add_stream(encoder::find(codec::Id::H264))
                .map_err(|e| MediaError::ffmpeg(&target, "adding the video stream", e))?;
            st.set_parameters(&video.enc);
            st.set_time_base(ffmpeg_next::Rational::from(in_tb));
            set_display_rotation(&mut st, opts.rotation_deg)
                .map_err(|e| MediaError::ffmpeg(&target, "writing the display rotation", e))?;
            st.index()
        };

        let audio = match opts.audio {
            AudioOutput::None => AudioSink::None,
            AudioOutput::Aac {
                sample_rate,
                channels,
                bit_rate,
            } => {
                if sample_rate == 0 || channels == 0 || channels > 8 {
                    return Err(MediaError::InvalidOption {
                        name: "audio format",
                        value: format!("{sample_rate} Hz, {channels} channels"),
                        allowed: "a positive sample rate and 1 to 8 channels".into(),
                    });
                }
                let enc = AacEncoder::open(sample_rate, channels, bit_rate, global_header)
                    .map_err(|e| MediaError::ffmpeg(&target, "opening the AAC encoder", e))?;
                let mut st = out
                    .add_stream(encoder::find(codec::Id::AAC))
                    .map_err(|e| MediaError::ffmpeg(&target, "adding the audio stream", e))?;
                st.set_parameters(&enc.enc);
                st.set_time_base(ffmpeg_next::Rational::from(enc.time_base()));
                AudioSink::Aac {
                    stream: st.index(),
                    enc: Box::new(enc),
                }
            }
            AudioOutput::Passthrough(src) => {
                let mut st = out
                    .add_stream(encoder::find(codec::Id::None))
                    .map_err(|e| MediaError::ffmpeg(&target, "adding the audio stream", e))?;
                st.set_parameters(src.params);
                st.set_time_base(ffmpeg_next::Rational::from(src.time_base));
                // SAFETY: the stream's parameters are valid; a zero tag lets the muxer choose its own.
                unsafe {
                    (*st.parameters().as_mut_ptr()).codec_tag = 0;
                }
                AudioSink::Copy { stream: st.index() }
            }
        };

        let mut header = Dictionary::new();
        header.set("movflags", "+faststart");
        out.write_header_with(header)
            .map_err(|e| MediaError::ffmpeg(&target, "writing the MP4 header", e))?;

        Ok(Writer {
            target,
            tmp: Some(tmp),
            out: Some(out),
            video,
            video_stream,
            in_tb,
            color: opts.color,
            width: opts.width,
            height: opts.height,
            audio,
            converter: ConverterCache::default(),
            frames: 0,
            audio_packets: 0,
            finished: false,
            exact: opts.cbr.filter(|c| c.exact_size),
            frame_rate: opts.frame_rate,
            rotation_deg: opts.rotation_deg,
            container,
        })
    }

    /// The file this writer will produce.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Encodes one video frame. Its `pts` is read in the frame's own time base.
    pub fn write_video(&mut self, frame: &VideoFrame) -> Result<()> {
        if frame.width() != self.width || frame.height() != self.height {
            return Err(MediaError::FrameMismatch {
                path: self.target.clone(),
                index: frame.index,
                detail: format!(
                    "it is {}x{} but the output is {}x{}",
                    frame.width(),
                    frame.height(),
                    self.width,
                    self.height
                ),
            });
        }
        if let crate::frame::Picture::Yuv420 { u, v, .. } = &frame.picture {
            let want = (self.width.div_ceil(2), self.height.div_ceil(2));
            if u.dimensions() != want || v.dimensions() != want {
                return Err(MediaError::FrameMismatch {
                    path: self.target.clone(),
                    index: frame.index,
                    detail: format!(
                        "its chroma planes are {}x{} and {}x{} but 4:2:0 at {}x{} needs {}x{}",
                        u.width(),
                        u.height(),
                        v.width(),
                        v.height(),
                        self.width,
                        self.height,
                        want.0,
                        want.1
                    ),
                });
            }
        }
        let mut yuv =
            convert::to_yuv420_frame(&frame.picture, frame.color, self.color, &mut self.converter)
                .map_err(|e| {
                    MediaError::ffmpeg(&self.target, "converting a frame for encoding", e)
                })?;
        let pts = frame.pts.rescale(frame.time_base, self.in_tb);
        self.video
            .send(&mut yuv, pts)
            .map_err(|e| MediaError::ffmpeg(&self.target, "encoding video", e))?;
        self.frames += 1;
        self.drain_video()
    }

    /// Encodes decoded audio to AAC. The writer must have been created with [`AudioOutput::Aac`].
    pub fn write_audio(&mut self, af: &AudioFrame) -> Result<()> {
        let AudioSink::Aac { enc, stream } = &mut self.audio else {
            return Err(MediaError::InvalidOption {
                name: "audio",
                value: "a decoded audio frame".into(),
                allowed: "audio only when the writer was created with AudioOutput::Aac".into(),
            });
        };
        if af.sample_rate != enc.sample_rate || af.channels != enc.channels() {
            return Err(MediaError::FrameMismatch {
                path: self.target.clone(),
                index: 0,
                detail: format!(
                    "audio is {} Hz with {} channels but the output is {} Hz with {}",
                    af.sample_rate,
                    af.channels,
                    enc.sample_rate,
                    enc.channels()
                ),
            });
        }
        enc.push(af)
            .map_err(|e| MediaError::ffmpeg(&self.target, "encoding audio", e))?;
        let (stream, tb) = (*stream, enc.time_base());
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let target = &self.target;
        let count = &mut self.audio_packets;
        enc.receive(|pkt| write_packet(out, target, pkt, stream, tb).map(|()| *count += 1))
    }

    /// Copies one compressed audio packet. The writer must have been created with
    /// [`AudioOutput::Passthrough`].
    pub fn write_audio_packet(&mut self, ap: &AudioPacket) -> Result<()> {
        let AudioSink::Copy { stream } = self.audio else {
            return Err(MediaError::InvalidOption {
                name: "audio",
                value: "a compressed audio packet".into(),
                allowed: "packets only when the writer was created with AudioOutput::Passthrough"
                    .into(),
            });
        };
        let mut pkt = Packet::copy(&ap.data);
        pkt.set_pts(ap.pts);
        pkt.set_dts(ap.dts);
        pkt.set_duration(ap.duration);
        if ap.key {
            pkt.set_flags(codec::packet::Flags::KEY);
        }
        pkt.set_position(-1);
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        write_packet(out, &self.target, pkt, stream, ap.time_base)?;
        self.audio_packets += 1;
        Ok(())
    }

    fn drain_video(&mut self) -> Result<()> {
        let (stream, tb) = (self.video_stream, self.video.time_base);
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let target = &self.target;
        self.video
            .receive(|pkt| write_packet(out, target, pkt, stream, tb))
    }

    /// Flushes the encoders, completes the file and renames it over the target.
    pub fn finish(self) -> Result<WriteSummary> {
        let target = self.target.clone();
        let (summary, tmp) = self.finish_unpublished()?;
        tmp.persist(&target)
            .map_err(|e| MediaError::io(&target, e))?;
        Ok(summary)
    }

    /// Flushes the encoders and completes the file, but leaves it under its temporary name for
    /// the caller to read (to sign it into the target, say) and publish or drop. The summary
    /// names the target, which errors name too: the temporary is an implementation detail.
    pub fn finish_unpublished(mut self) -> Result<(WriteSummary, TempPath)> {
        self.video
            .enc
            .send_eof()
            .map_err(|e| MediaError::ffmpeg(&self.target, "flushing the video encoder", e))?;
        self.drain_video()?;
        if let AudioSink::Aac { enc, stream } = &mut self.audio {
            enc.flush()
                .map_err(|e| MediaError::ffmpeg(&self.target, "flushing the audio encoder", e))?;
            let (stream, tb) = (*stream, enc.time_base());
            if let Some(out) = self.out.as_mut() {
                let target = &self.target;
                let count = &mut self.audio_packets;
                enc.receive(|pkt| {
                    write_packet(out, target, pkt, stream, tb).map(|()| *count += 1)
                })?;
            }
        }
        let Some(mut out) = self.out.take() else {
            return Err(MediaError::ffmpeg(
                &self.target,
                "finishing the output",
                ffmpeg_next::Error::Bug,
            ));
        };
        out.write_trailer()
            .map_err(|e| MediaError::ffmpeg(&self.target, "writing the MP4 index", e))?;
        drop(out); // closes the file
        let Some(tmp) = self.tmp.take() else {
            return Err(MediaError::ffmpeg(
                &self.target,
                "finishing the output",
                ffmpeg_next::Error::Bug,
            ));
        };
        let tmp = match self.exact {
            Some(c) => self.to_exact_size(c, tmp)?,
            None => tmp,
        };
        self.finished = true;
        let bytes = std::fs::metadata(tmp.path()).map(|m| m.len()).unwrap_or(0);
        Ok((
            WriteSummary {
                path: self.target.clone(),
                video_frames: self.frames,
                audio_packets: self.audio_packets,
                bytes,
            },
            tmp,
        ))
    }
}

impl Writer {
    /// The finished file at `tmp` copied to a new temporary with its video stream padded to
    /// the exact size of `rate` ([`ConstantBitRate::stream_bytes`]); `tmp` is removed.
    fn to_exact_size(&self, rate: ConstantBitRate, tmp: TempPath) -> Result<TempPath> {
        let bytes = rate
            .stream_bytes(self.frames, self.frame_rate)
            .ok_or_else(|| MediaError::ExactSize {
                path: self.target.clone(),
                detail: format!(
                    "{} frames at {} fps have no exact size",
                    self.frames, self.frame_rate
                ),
            })?;
        let exact = TempPath::beside(&self.target).map_err(|e| MediaError::io(&self.target, e))?;
        crate::fill::to_exact_size(
            tmp.path(),
            exact.path(),
            bytes,
            (self.rotation_deg, self.container),
            &self.target,
        )?;
        Ok(exact)
    }
}

/// What an exact-size stream needs beyond a constant rate: a buffer that holds at least one
/// frame at the rate (libx264 quietly enlarges a smaller one, and the exact size, reckoned on
/// the buffer asked, would then be too small), and no audio (the copy that pads the stream
/// is made for video alone).
fn check_exact_size(c: ConstantBitRate, opts: &WriterOptions) -> Result<()> {
    let (num, den) = (
        u64::try_from(opts.frame_rate.num).unwrap_or(0),
        u64::try_from(opts.frame_rate.den).unwrap_or(0),
    );
    // buffer ≥ rate / fps, that is buffer × num ≥ rate × den.
    if u64::from(c.buffer_bits) * num < u64::from(c.bits_per_s) * den {
        return Err(MediaError::InvalidOption {
            name: "exact-size buffer",
            value: format!("{} b at {} b/s", c.buffer_bits, c.bits_per_s),
            allowed: format!(
                "a buffer of at least one frame at the rate ({} fps)",
                opts.frame_rate
            ),
        });
    }
    if !matches!(opts.audio, AudioOutput::None) {
        return Err(MediaError::InvalidOption {
            name: "audio",
            value: "an audio track with an exact-size video stream".into(),
            allowed: "no audio when the video is brought to an exact size".into(),
        });
    }
    Ok(())
}

/// Gives the stream a display matrix for a clockwise rotation of `deg` (none for 0).
pub(crate) fn set_display_rotation(
    st: &mut format::stream::StreamMut<'_>,
    deg: f64,
) -> std::result::Result<(), ffmpeg_next::Error> {
    if !deg.is_finite() || deg.rem_euclid(360.0) == 0.0 {
        return Ok(());
    }
    let size = std::mem::size_of::<[i32; 9]>();
    // SAFETY: `st` is a live stream of an output context that has not written its header; the
    // side data FFmpeg allocates is `size` bytes, exactly the nine i32 a display matrix holds,
    // and it is filled before anything reads it.
    unsafe {
        let data = ffmpeg_next::ffi::av_stream_new_side_data(
            st.as_mut_ptr(),
            ffmpeg_next::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            size,
        );
        if data.is_null() {
            return Err(ffmpeg_next::Error::Other {
                errno: ffmpeg_next::util::error::ENOMEM,
            });
        }
        // `set` takes a clockwise angle (while `get`, which probe reads, returns the
        // counter-clockwise one).
        ffmpeg_next::ffi::av_display_rotation_set(data.cast::<i32>(), deg);
    }
    Ok(())
}

fn write_packet(
    out: &mut format::context::Output,
    target: &Path,
    mut pkt: Packet,
    stream: usize,
    from_tb: Rational,
) -> Result<()> {
    let to_tb = out
        .stream(stream)
        .map(|s| s.time_base())
        .unwrap_or_else(|| ffmpeg_next::Rational::from(from_tb));
    pkt.set_stream(stream);
    pkt.rescale_ts(ffmpeg_next::Rational::from(from_tb), to_tb);
    pkt.write_interleaved(out)
        .map_err(|e| MediaError::ffmpeg(target, "writing a packet", e))
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.finished {
            // Close the file before the temporary is removed.
            drop(self.out.take());
            drop(self.tmp.take());
        }
    }
}
