//! The encoders: H.264 through libx264 and AAC through FFmpeg's native encoder.

use std::str::FromStr;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::util::{color, frame};
use ffmpeg_next::{ChannelLayout, Dictionary, Packet, Rescale, codec, encoder};

use crate::error::MediaError;
use crate::frame::{AudioFrame, ColorSpec, Matrix, Range, Rational};

/// libx264's speed/size trade-off presets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    #[default]
    Medium,
    Slow,
    Slower,
    Veryslow,
}

impl Preset {
    pub const ALL: [Preset; 9] = [
        Preset::Ultrafast,
        Preset::Superfast,
        Preset::Veryfast,
        Preset::Faster,
        Preset::Fast,
        Preset::Medium,
        Preset::Slow,
        Preset::Slower,
        Preset::Veryslow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
            Preset::Slow => "slow",
            Preset::Slower => "slower",
            Preset::Veryslow => "veryslow",
        }
    }
}

/// Constant bit rate, in place of the CRF: every second of video costs the same bits. libx264
/// pads a picture simpler than the rate with filler and its hypothetical reference decoder's
/// buffer bounds how far a harder one may run over, so a file's size says little of its content.
/// With `exact_size` it says nothing: the stream ends with filler up to the most the buffer
/// allows ([`ConstantBitRate::stream_bytes`]), so every stream of one length has one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstantBitRate {
    /// Bits per second.
    pub bits_per_s: u32,
    /// The decoder buffer, in bits: the most a stretch of pictures may run over the rate.
    pub buffer_bits: u32,
    /// Pad the stream's last picture with filler data up to exactly
    /// [`ConstantBitRate::stream_bytes`]: how far a clip ran over the rate (which follows how
    /// hard it was to code) no longer shows in its size.
    pub exact_size: bool,
}

/// The share of the decoder buffer filled before the first picture is taken out (libx264's
/// `vbv-init`, set explicitly so that [`ConstantBitRate::stream_bytes`] rests on it).
const BUFFER_INIT: f64 = 0.9;

impl ConstantBitRate {
    /// The rate libx264 is given, in bits per second: it counts in kbit, rounded up so that
    /// the rate is never below the one asked.
    fn effective_bits_per_s(&self) -> u64 {
        u64::from(self.bits_per_s.div_ceil(1000)) * 1000
    }

    /// The size of an exact-size stream of `frames` pictures at `frame_rate`, in bytes: about
    /// the most the decoder buffer model lets arrive by the time the last picture is taken out
    /// (the buffer's initial fill, then the rate for every frame after the first; libx264 may
    /// round its rate and buffer down a little). The bytes the model leaves out (libx264's
    /// options message in the first picture, about 0.7 kB, and a byte per start code in an
    /// MP4) must fit in what a stream leaves of its buffer at the end: over the 1,876
    /// canonical clips of the detector's dataset the unpadded streams stayed 4 kB or more below
    /// it (the largest 30,276 of 34,300 bytes). A stream over it is an error, not a file. `None` for no frames, a rate that is not positive, or
    /// a size past `u64`.
    pub fn stream_bytes(&self, frames: u64, frame_rate: Rational) -> Option<u64> {
        if frames == 0 || !frame_rate.is_positive() {
            return None;
        }
        let buffer = u64::from(self.buffer_bits.div_ceil(1000)) * 1000;
        let initial = (buffer as f64 * BUFFER_INIT).floor() as u64;
        // (frames - 1) frame durations at the rate, exactly: bits × den / num.
        let (num, den) = (
            u64::try_from(frame_rate.num).ok()?,
            u64::try_from(frame_rate.den).ok()?,
        );
        let after_first = self
            .effective_bits_per_s()
            .checked_mul(frames - 1)?
            .checked_mul(den)?
            / num;
        Some(initial.checked_add(after_first)? / 8)
    }
}

/// How libx264 spends bits and places key frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateControl {
    pub(crate) crf: u8,
    pub(crate) cbr: Option<ConstantBitRate>,
    pub(crate) key_interval: Option<u32>,
    pub(crate) preset: Preset,
    /// One encoder thread (a stream that does not depend on thread timing).
    pub(crate) single_thread: bool,
}

impl RateControl {
    /// libx264's own parameters (`x264-params`) for the rate and the key frames; `None` when
    /// the CRF and libx264's own key-frame choice stand.
    fn x264_params(&self) -> Option<String> {
        let mut p = Vec::new();
        if let Some(c) = self.cbr {
            // libx264 counts in kbit; round up so that the rate is never below the one asked.
            let kbit = |b: u32| b.div_ceil(1000);
            p.push(format!(
                "bitrate={0}:vbv-maxrate={0}:vbv-bufsize={1}:vbv-init={BUFFER_INIT}:\
                 nal-hrd=cbr:filler=1",
                kbit(c.bits_per_s),
                kbit(c.buffer_bits)
            ));
        }
        if let Some(k) = self.key_interval {
            // No scene-cut key frames, and B-frames placed by a fixed pattern rather than by
            // the picture (b-adapt=0): every GOP of one length has one structure, down to the
            // container's composition-time table.
            p.push(format!("keyint={k}:min-keyint={k}:scenecut=0:b-adapt=0"));
        }
        (!p.is_empty()).then(|| p.join(":"))
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = MediaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| MediaError::InvalidOption {
                name: "preset",
                value: s.to_string(),
                allowed: format!("one of {}", Preset::ALL.map(Preset::as_str).join(", ")),
            })
    }
}

/// The highest CRF libx264 accepts for 8-bit video.
pub const MAX_CRF: u8 = 51;

/// Checks a CRF value: 0 (lossless) to 51 (worst).
pub fn check_crf(crf: u8) -> Result<u8, MediaError> {
    if crf > MAX_CRF {
        return Err(MediaError::InvalidOption {
            name: "CRF",
            value: crf.to_string(),
            allowed: format!("0 (lossless) to {MAX_CRF} (smallest file)"),
        });
    }
    Ok(crf)
}

pub(crate) struct VideoEncoder {
    pub(crate) enc: encoder::Video,
    /// Ticks of the encoder (and of the frames fed to it).
    pub(crate) time_base: Rational,
    /// One frame's duration in encoder ticks.
    pub(crate) frame_ticks: i64,
    pub(crate) last_pts: Option<i64>,
}

impl VideoEncoder {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open(
        width: u32,
        height: u32,
        frame_rate: Rational,
        time_base: Rational,
        rate: RateControl,
        color: ColorSpec,
        global_header: bool,
    ) -> Result<Self, ffmpeg_next::Error> {
        let codec = encoder::find_by_name("libx264").ok_or(ffmpeg_next::Error::EncoderNotFound)?;
        let mut ctx = codec::context::Context::new_with_codec(codec);
        // Let libx264 pick its thread count, as the ffmpeg command line does, unless the
        // stream must not depend on thread timing.
        ctx.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: usize::from(rate.single_thread),
            ..Default::default()
        });
        let mut enc = ctx.encoder().video()?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(ffmpeg_next::Rational::from(time_base));
        enc.set_frame_rate(Some(ffmpeg_next::Rational::from(frame_rate)));
        enc.set_colorspace(match color.matrix {
            Matrix::Bt601 => color::Space::SMPTE170M,
            Matrix::Bt709 => color::Space::BT709,
        });
        enc.set_color_range(match color.range {
            Range::Limited => color::Range::MPEG,
            Range::Full => color::Range::JPEG,
        });
        // SAFETY: the context is valid and not yet opened; these are plain enum fields.
        unsafe {
            let p = enc.as_mut_ptr();
            let (prim, trc) = match color.matrix {
                Matrix::Bt601 => (
                    ffmpeg_next::ffi::AVColorPrimaries::AVCOL_PRI_SMPTE170M,
                    ffmpeg_next::ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE170M,
                ),
                Matrix::Bt709 => (
                    ffmpeg_next::ffi::AVColorPrimaries::AVCOL_PRI_BT709,
                    ffmpeg_next::ffi::AVColorTransferCharacteristic::AVCOL_TRC_BT709,
                ),
            };
            (*p).color_primaries = prim;
            (*p).color_trc = trc;
        }
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = Dictionary::new();
        if rate.cbr.is_none() {
            opts.set("crf", &rate.crf.to_string());
        }
        opts.set("preset", rate.preset.as_str());
        if let Some(params) = rate.x264_params() {
            opts.set("x264-params", &params);
        }
        let enc = enc.open_as_with(codec, opts)?;
        let frame_ticks = 1i64.rescale(frame_rate.invert(), time_base).max(1);
        Ok(VideoEncoder {
            enc,
            time_base,
            frame_ticks,
            last_pts: None,
        })
    }

    /// Sends one frame whose pts is already in encoder ticks; keeps pts strictly increasing.
    pub(crate) fn send(
        &mut self,
        frame: &mut frame::Video,
        pts: i64,
    ) -> Result<(), ffmpeg_next::Error> {
        let pts = match self.last_pts {
            Some(last) if pts <= last => last + 1,
            _ => pts,
        };
        self.last_pts = Some(pts);
        frame.set_pts(Some(pts));
        frame.set_kind(ffmpeg_next::picture::Type::None);
        self.enc.send_frame(frame)
    }

    /// Takes the packets the encoder has ready.
    pub(crate) fn receive(
        &mut self,
        mut sink: impl FnMut(Packet) -> Result<(), MediaError>,
    ) -> Result<(), MediaError> {
        let mut pkt = Packet::empty();
        while self.enc.receive_packet(&mut pkt).is_ok() {
            if pkt.duration() == 0 {
                pkt.set_duration(self.frame_ticks);
            }
            sink(std::mem::replace(&mut pkt, Packet::empty()))?;
        }
        Ok(())
    }
}

/// AAC encoding of interleaved f32 PCM, re-blocked into the encoder's frame size.
pub(crate) struct AacEncoder {
    pub(crate) enc: encoder::Audio,
    pub(crate) sample_rate: u32,
    channels: u16,
    layout: ChannelLayout,
    frame_size: usize,
    /// One queue per channel.
    fifo: Vec<Vec<f32>>,
    /// pts, in samples, of the first sample in the queue.
    next_pts: Option<i64>,
}

impl AacEncoder {
    pub(crate) fn open(
        sample_rate: u32,
        channels: u16,
        bit_rate: Option<u64>,
        global_header: bool,
    ) -> Result<Self, ffmpeg_next::Error> {
        let codec = encoder::find(codec::Id::AAC).ok_or(ffmpeg_next::Error::EncoderNotFound)?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()?;
        let layout = ChannelLayout::default(i32::from(channels));
        enc.set_rate(sample_rate as i32);
        enc.set_channel_layout(layout);
        enc.set_channels(i32::from(channels));
        enc.set_format(ffmpeg_next::format::Sample::F32(SampleType::Planar));
        if let Some(b) = bit_rate {
            enc.set_bit_rate(usize::try_from(b).unwrap_or(usize::MAX));
        }
        enc.set_time_base(ffmpeg_next::Rational::new(1, sample_rate as i32));
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let enc = enc.open_as(codec)?;
        let frame_size = (enc.frame_size() as usize).max(1);
        Ok(AacEncoder {
            enc,
            sample_rate,
            channels,
            layout,
            frame_size,
            fifo: vec![Vec::new(); usize::from(channels)],
            next_pts: None,
        })
    }

    pub(crate) fn time_base(&self) -> Rational {
        Rational::new(1, self.sample_rate as i32)
    }

    pub(crate) fn channels(&self) -> u16 {
        self.channels
    }

    /// Queues `af` and sends every whole encoder frame.
    pub(crate) fn push(&mut self, af: &AudioFrame) -> Result<(), ffmpeg_next::Error> {
        if self.next_pts.is_none() {
            self.next_pts = Some(af.pts.rescale(af.time_base, self.time_base()));
        }
        let ch = usize::from(self.channels);
        for (i, s) in af.samples.iter().enumerate() {
            self.fifo[i % ch].push(*s);
        }
        while self.fifo[0].len() >= self.frame_size {
            self.send_block(self.frame_size)?;
        }
        Ok(())
    }

    fn send_block(&mut self, n: usize) -> Result<(), ffmpeg_next::Error> {
        let mut f = frame::Audio::new(
            ffmpeg_next::format::Sample::F32(SampleType::Planar),
            n,
            self.layout,
        );
        f.set_rate(self.sample_rate);
        for (c, queue) in self.fifo.iter_mut().enumerate() {
            let plane = f.plane_mut::<f32>(c);
            plane[..n].copy_from_slice(&queue[..n]);
            queue.drain(..n);
        }
        let pts = self.next_pts.unwrap_or(0);
        f.set_pts(Some(pts));
        self.next_pts = Some(pts + n as i64);
        self.enc.send_frame(&f)
    }

    /// Sends what is left in the queue, then end of stream.
    pub(crate) fn flush(&mut self) -> Result<(), ffmpeg_next::Error> {
        let left = self.fifo.first().map_or(0, Vec::len);
        if left > 0 {
            self.send_block(left)?;
        }
        self.enc.send_eof()
    }

    pub(crate) fn receive(
        &mut self,
        mut sink: impl FnMut(Packet) -> Result<(), MediaError>,
    ) -> Result<(), MediaError> {
        let mut pkt = Packet::empty();
        while self.enc.receive_packet(&mut pkt).is_ok() {
            sink(std::mem::replace(&mut pkt, Packet::empty()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_parses_and_rejects() {
        assert_eq!("slow".parse::<Preset>().ok(), Some(Preset::Slow));
        let err = "warp"
            .parse::<Preset>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("warp") && err.contains("ultrafast"), "{err}");
        assert!(check_crf(51).is_ok());
        assert!(check_crf(52).is_err());
    }
}
