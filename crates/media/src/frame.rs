//! Decoded frames: pictures with their timestamps, and PCM audio.

use image::{GrayImage, RgbImage};
use serde::Serialize;

/// A rational number, used for time bases (seconds per tick) and frame rates (frames per second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Rational {
    pub num: i32,
    pub den: i32,
}

impl Rational {
    pub const fn new(num: i32, den: i32) -> Self {
        Rational { num, den }
    }

    /// The value as a float; 0 when the denominator is 0.
    pub fn as_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            f64::from(self.num) / f64::from(self.den)
        }
    }

    /// 1/self, e.g. the time base of one tick per frame for a frame rate.
    pub fn invert(self) -> Self {
        Rational::new(self.den, self.num)
    }

    /// True when both parts are positive.
    pub fn is_positive(self) -> bool {
        self.num > 0 && self.den > 0
    }
}

impl std::fmt::Display for Rational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl From<ffmpeg_next::Rational> for Rational {
    fn from(r: ffmpeg_next::Rational) -> Self {
        Rational::new(r.numerator(), r.denominator())
    }
}

impl From<Rational> for ffmpeg_next::Rational {
    fn from(r: Rational) -> Self {
        ffmpeg_next::Rational::new(r.num, r.den)
    }
}

/// The pixel layout a reader hands out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// 8-bit packed RGB, full range.
    #[default]
    Rgb24,
    /// 8-bit planar Y'CbCr 4:2:0, as most video is stored: no colour conversion for such sources.
    Yuv420p,
    /// The 8-bit luma plane only: the cheapest way to look at a video.
    Gray8,
}

/// The Y'CbCr matrix of a picture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Matrix {
    /// ITU-R BT.601, the standard-definition matrix.
    Bt601,
    /// ITU-R BT.709, the high-definition matrix.
    #[default]
    Bt709,
}

impl Matrix {
    pub fn as_str(self) -> &'static str {
        match self {
            Matrix::Bt601 => "bt601",
            Matrix::Bt709 => "bt709",
        }
    }
}

/// Whether 8-bit samples use 16..=235 (limited, "TV") or 0..=255 (full, "PC").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Range {
    #[default]
    Limited,
    Full,
}

impl Range {
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Limited => "limited",
            Range::Full => "full",
        }
    }
}

/// How Y'CbCr samples map to RGB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ColorSpec {
    pub matrix: Matrix,
    pub range: Range,
}

impl ColorSpec {
    /// Takes the matrix a stream or frame states (BT.709, or BT.601 as BT.470BG or SMPTE 170M);
    /// any other or unspecified matrix keeps this one.
    pub(crate) fn with_stated_matrix(mut self, space: ffmpeg_next::ffi::AVColorSpace) -> Self {
        use ffmpeg_next::ffi::AVColorSpace::*;
        match space {
            AVCOL_SPC_BT709 => self.matrix = Matrix::Bt709,
            AVCOL_SPC_BT470BG | AVCOL_SPC_SMPTE170M => self.matrix = Matrix::Bt601,
            _ => {}
        }
        self
    }

    /// What players assume when a stream does not say: BT.709 from 720 lines up, BT.601 below.
    pub fn guess_for_height(height: u32) -> Self {
        ColorSpec {
            matrix: if height >= 720 {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            },
            range: Range::Limited,
        }
    }
}

/// The pixels of one video frame, in the layout the reader was asked for.
#[derive(Clone, Debug)]
pub enum Picture {
    /// Packed RGB, full range.
    Rgb(RgbImage),
    /// Planar 4:2:0: `u` and `v` are half the size of `y` in each direction, rounded up.
    Yuv420 {
        y: GrayImage,
        u: GrayImage,
        v: GrayImage,
    },
    /// The luma plane alone.
    Gray(GrayImage),
}

impl Picture {
    pub fn width(&self) -> u32 {
        match self {
            Picture::Rgb(img) => img.width(),
            Picture::Yuv420 { y, .. } | Picture::Gray(y) => y.width(),
        }
    }

    pub fn height(&self) -> u32 {
        match self {
            Picture::Rgb(img) => img.height(),
            Picture::Yuv420 { y, .. } | Picture::Gray(y) => y.height(),
        }
    }

    pub fn format(&self) -> PixelFormat {
        match self {
            Picture::Rgb(_) => PixelFormat::Rgb24,
            Picture::Yuv420 { .. } => PixelFormat::Yuv420p,
            Picture::Gray(_) => PixelFormat::Gray8,
        }
    }
}

/// One decoded video frame and when it is shown.
#[derive(Clone, Debug)]
pub struct VideoFrame {
    /// Position of the frame in presentation order, counting from 0 at the start of the stream.
    pub index: u64,
    /// Presentation timestamp, in ticks of `time_base`.
    pub pts: i64,
    /// Seconds per tick of `pts`.
    pub time_base: Rational,
    /// How the Y'CbCr samples (of this frame, or of the stream it was decoded from) map to RGB.
    pub color: ColorSpec,
    pub picture: Picture,
}

impl VideoFrame {
    /// Presentation time in seconds.
    pub fn time_s(&self) -> f64 {
        self.pts as f64 * self.time_base.as_f64()
    }

    pub fn width(&self) -> u32 {
        self.picture.width()
    }

    pub fn height(&self) -> u32 {
        self.picture.height()
    }

    /// The luma plane, without any conversion, when the frame has one (`Yuv420p` and `Gray8`).
    pub fn luma(&self) -> Option<&GrayImage> {
        match &self.picture {
            Picture::Yuv420 { y, .. } | Picture::Gray(y) => Some(y),
            Picture::Rgb(_) => None,
        }
    }

    /// Mutable access to the luma plane, when the frame has one.
    pub fn luma_mut(&mut self) -> Option<&mut GrayImage> {
        match &mut self.picture {
            Picture::Yuv420 { y, .. } | Picture::Gray(y) => Some(y),
            Picture::Rgb(_) => None,
        }
    }
}

/// Decoded audio: interleaved 32-bit float samples in [-1, 1].
#[derive(Clone, Debug)]
pub struct AudioFrame {
    /// Presentation timestamp of the first sample, in ticks of `time_base`.
    pub pts: i64,
    pub time_base: Rational,
    pub sample_rate: u32,
    pub channels: u16,
    /// The channel layout as FFmpeg names it ("mono", "stereo", "5.1", …).
    pub layout: String,
    /// `frames() * channels` samples, channel by channel within each frame.
    pub samples: Vec<f32>,
}

impl AudioFrame {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        if self.channels == 0 {
            0
        } else {
            self.samples.len() / usize::from(self.channels)
        }
    }

    pub fn time_s(&self) -> f64 {
        self.pts as f64 * self.time_base.as_f64()
    }
}
