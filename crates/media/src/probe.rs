//! Stream information: what a file holds, read from its headers without decoding.

use std::path::Path;

use ffmpeg_next::{codec, format, media};
use serde::Serialize;

use crate::demux;
use crate::error::{MediaError, Result};
use crate::frame::{ColorSpec, Range, Rational};

/// What a media file holds.
#[derive(Clone, Debug, Serialize)]
pub struct StreamInfo {
    /// FFmpeg's short name of the container, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// Size of the file in bytes.
    pub size_bytes: u64,
    /// Duration of the whole file, when the container states it.
    pub duration_s: Option<f64>,
    /// Overall bit rate in bits per second, when known.
    pub bit_rate: Option<u64>,
    pub video: VideoInfo,
    /// The first audio stream, if any.
    pub audio: Option<AudioInfo>,
    /// Every stream in the file, in container order.
    pub streams: Vec<StreamSummary>,
    /// Why the file looks damaged although FFmpeg opened it (an MP4 whose boxes run past its
    /// end, say): what it reports may be incomplete. `null` for a whole file.
    pub damage: Option<String>,
}

impl StreamInfo {
    /// The video's frame count: the container's index, else its duration times its frame rate.
    pub fn expected_frames(&self) -> Option<u64> {
        self.video.frames.or_else(|| {
            self.video
                .duration_s
                .map(|d| (d * self.video.fps).round() as u64)
        })
    }
}

/// The video stream that verity reads.
#[derive(Clone, Debug, Serialize)]
pub struct VideoInfo {
    /// Index of the stream in the container.
    pub index: usize,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Average frame rate as a fraction (e.g. 30000/1001).
    pub frame_rate: Rational,
    /// Average frame rate in frames per second.
    pub fps: f64,
    /// Frame count from the container's index, when it has one.
    pub frames: Option<u64>,
    pub duration_s: Option<f64>,
    /// Clockwise rotation in degrees that a player applies on display (0, 90, 180 or 270).
    pub rotation_deg: f64,
    /// FFmpeg's name for the decoded pixel format, e.g. `yuv420p`.
    pub pixel_format: String,
    pub color: ColorSpec,
    pub bit_rate: Option<u64>,
    pub time_base: Rational,
    /// Presentation time of the first frame, in seconds.
    pub start_s: f64,
}

/// An audio stream.
#[derive(Clone, Debug, Serialize)]
pub struct AudioInfo {
    pub index: usize,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub layout: String,
    pub bit_rate: Option<u64>,
    pub duration_s: Option<f64>,
    pub time_base: Rational,
}

/// One line per stream.
#[derive(Clone, Debug, Serialize)]
pub struct StreamSummary {
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data`, `attachment` or `unknown`.
    pub kind: &'static str,
    pub codec: String,
}

/// Reads the stream information of `path`.
///
/// Fails with a [`MediaError`] for anything verity cannot use as a video, including a file that
/// holds audio but no video.
pub fn probe(path: impl AsRef<Path>) -> Result<StreamInfo> {
    let path = path.as_ref();
    let (input, size) = demux::open(path)?;
    stream_info(path, &input, size)
}

/// The key frames of `path`'s video stream, counted over its packets (the whole file is read,
/// nothing decoded): how a file places its key frames is part of its encode, and so of the
/// metadata a classifier could lean on. A file damaged part way counts the key frames before
/// the damage.
pub fn count_key_frames(path: impl AsRef<Path>) -> Result<u64> {
    Ok(video_packets(path)?.key_frames)
}

/// What a file's video stream holds, counted over its packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PacketTally {
    /// Packets (coded pictures).
    pub packets: u64,
    /// Of them, key frames.
    pub key_frames: u64,
    /// Bytes of all of them: the stream's size without the container.
    pub bytes: u64,
}

/// Counts the packets, key frames and bytes of `path`'s video stream (the whole file is read,
/// nothing decoded). A file damaged part way counts what comes before the damage.
pub fn video_packets(path: impl AsRef<Path>) -> Result<PacketTally> {
    let path = path.as_ref();
    let (mut input, size) = demux::open(path)?;
    let video = stream_info(path, &input, size)?.video.index;
    let mut tally = PacketTally::default();
    for (_, p) in input.packets().filter(|(s, _)| s.index() == video) {
        tally.packets += 1;
        tally.key_frames += u64::from(p.is_key());
        tally.bytes += p.size() as u64;
    }
    Ok(tally)
}

pub(crate) fn stream_info(
    path: &Path,
    input: &format::context::Input,
    size: u64,
) -> Result<StreamInfo> {
    let streams: Vec<StreamSummary> = input
        .streams()
        .map(|s| StreamSummary {
            index: s.index(),
            kind: kind_name(s.parameters().medium()),
            codec: codec_name(s.parameters().id()),
        })
        .collect();

    let video_stream = input
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Video)
        .filter(|s| {
            !s.disposition()
                .contains(format::stream::Disposition::ATTACHED_PIC)
        })
        .max_by_key(|s| {
            // Prefer the stream FFmpeg would pick: the largest picture.
            let (w, h) = dimensions(&s.parameters());
            u64::from(w) * u64::from(h)
        });
    let Some(vs) = video_stream else {
        let listed = if streams.is_empty() {
            "no streams at all".to_string()
        } else {
            streams
                .iter()
                .map(|s| format!("{} {}", s.kind, s.codec))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(MediaError::NoVideo {
            path: path.to_path_buf(),
            streams: listed,
        });
    };

    let params = vs.parameters();
    let (width, height) = dimensions(&params);
    let (pixel_format, color) = video_format(&params, height);
    let avg = vs.avg_frame_rate();
    // The average rate, else FFmpeg's guess of the base rate; a stream with no frames (a DASH
    // init segment) has neither, and its "base rate" is then the timescale (15360 "fps"):
    // no rate above 1000 fps is believed, and 0/1 says "unknown".
    let plausible = |r: ffmpeg_next::Rational| {
        r.numerator() > 0
            && r.denominator() > 0
            && f64::from(r.numerator()) / f64::from(r.denominator()) <= 1000.0
    };
    let frame_rate: Rational = if plausible(avg) {
        avg.into()
    } else if plausible(vs.rate()) {
        vs.rate().into()
    } else {
        Rational::new(0, 1)
    };
    let time_base: Rational = vs.time_base().into();
    let video = VideoInfo {
        index: vs.index(),
        codec: codec_name(params.id()),
        width,
        height,
        frame_rate,
        fps: frame_rate.as_f64(),
        frames: u64::try_from(vs.frames()).ok().filter(|&n| n > 0),
        duration_s: ticks_to_s(vs.duration(), time_base),
        rotation_deg: rotation(&vs),
        pixel_format,
        color,
        bit_rate: bit_rate_of(&params),
        time_base,
        start_s: ticks_to_s(vs.start_time(), time_base).unwrap_or(0.0),
    };

    let audio = input
        .streams()
        .find(|s| s.parameters().medium() == media::Type::Audio)
        .map(|s| audio_info(&s));

    let duration = input.duration();
    Ok(StreamInfo {
        container: input.format().name().to_string(),
        size_bytes: size,
        duration_s: (duration > 0)
            .then(|| duration as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)),
        bit_rate: u64::try_from(input.bit_rate()).ok().filter(|&b| b > 0),
        video,
        audio,
        streams,
        damage: demux::structure_damage(path, input.format().name(), size),
    })
}

fn audio_info(s: &format::stream::Stream<'_>) -> AudioInfo {
    let params = s.parameters();
    // SAFETY: `params` wraps a valid AVCodecParameters owned by the open input.
    let (rate, channels, layout_bits) = unsafe {
        let p = &*params.as_ptr();
        (p.sample_rate, p.channels, p.channel_layout)
    };
    let time_base: Rational = s.time_base().into();
    AudioInfo {
        index: s.index(),
        codec: codec_name(params.id()),
        sample_rate: u32::try_from(rate).unwrap_or(0),
        channels: u16::try_from(channels).unwrap_or(0),
        layout: layout_name(layout_bits, channels),
        bit_rate: bit_rate_of(&params),
        duration_s: ticks_to_s(s.duration(), time_base),
        time_base,
    }
}

/// FFmpeg's description of a channel layout ("stereo", "5.1(side)", …).
pub(crate) fn layout_name(bits: u64, channels: i32) -> String {
    let mut buf = [0 as std::ffi::c_char; 64];
    let bits = if bits == 0 {
        // SAFETY: plain function of an integer.
        unsafe { ffmpeg_next::ffi::av_get_default_channel_layout(channels) as u64 }
    } else {
        bits
    };
    // SAFETY: the buffer is valid for its whole length; FFmpeg NUL-terminates within it.
    unsafe {
        ffmpeg_next::ffi::av_get_channel_layout_string(
            buf.as_mut_ptr(),
            buf.len() as i32,
            channels,
            bits,
        );
        std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

fn dimensions(params: &codec::Parameters) -> (u32, u32) {
    // SAFETY: `params` wraps a valid AVCodecParameters.
    unsafe {
        let p = &*params.as_ptr();
        (
            u32::try_from(p.width).unwrap_or(0),
            u32::try_from(p.height).unwrap_or(0),
        )
    }
}

fn bit_rate_of(params: &codec::Parameters) -> Option<u64> {
    // SAFETY: `params` wraps a valid AVCodecParameters.
    let b = unsafe { (*params.as_ptr()).bit_rate };
    u64::try_from(b).ok().filter(|&b| b > 0)
}

fn video_format(params: &codec::Parameters, height: u32) -> (String, ColorSpec) {
    use ffmpeg_next::ffi::{AVColorRange, AVPixelFormat};
    // SAFETY: `params` wraps a valid AVCodecParameters; `format` holds an AVPixelFormat value.
    let (fmt, space, range) = unsafe {
        let p = &*params.as_ptr();
        (p.format, p.color_space, p.color_range)
    };
    let name = if fmt < 0 {
        "unknown".to_string()
    } else {
        // SAFETY: FFmpeg returns a static string or NULL for any integer.
        unsafe {
            let n = ffmpeg_next::ffi::av_get_pix_fmt_name(
                std::mem::transmute::<i32, AVPixelFormat>(fmt),
            );
            if n.is_null() {
                "unknown".to_string()
            } else {
                std::ffi::CStr::from_ptr(n).to_string_lossy().into_owned()
            }
        }
    };
    let mut color = ColorSpec::guess_for_height(height).with_stated_matrix(space);
    if range == AVColorRange::AVCOL_RANGE_JPEG || name.starts_with("yuvj") {
        color.range = Range::Full;
    }
    (name, color)
}

/// The clockwise display rotation from the stream's display matrix, in [0, 360).
fn rotation(s: &format::stream::Stream<'_>) -> f64 {
    for sd in s.side_data() {
        if sd.kind() == codec::packet::side_data::Type::DisplayMatrix && sd.data().len() >= 36 {
            // SAFETY: a display matrix is 9 native-endian i32 values; we checked the length.
            let ccw = unsafe {
                ffmpeg_next::ffi::av_display_rotation_get(sd.data().as_ptr().cast::<i32>())
            };
            if ccw.is_finite() {
                return (-ccw).round().rem_euclid(360.0);
            }
        }
    }
    0.0
}

pub(crate) fn ticks_to_s(ticks: i64, tb: Rational) -> Option<f64> {
    (ticks != ffmpeg_next::ffi::AV_NOPTS_VALUE && ticks >= 0 && tb.is_positive())
        .then(|| ticks as f64 * tb.as_f64())
}

fn kind_name(t: media::Type) -> &'static str {
    match t {
        media::Type::Video => "video",
        media::Type::Audio => "audio",
        media::Type::Subtitle => "subtitle",
        media::Type::Data => "data",
        media::Type::Attachment => "attachment",
        media::Type::Unknown => "unknown",
    }
}

pub(crate) fn codec_name(id: codec::Id) -> String {
    if id == codec::Id::None {
        "none".into()
    } else {
        id.name().to_string()
    }
}
