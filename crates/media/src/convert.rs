//! Pixel conversion between FFmpeg frames and [`Picture`]s.
//!
//! Planes are copied straight across when the layouts already match (the common case of 8-bit
//! 4:2:0 video); everything else goes through swscale with the colour matrix and range set
//! explicitly, so that a decode → RGB → encode round trip keeps the source's colours.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::frame;
use image::{GrayImage, ImageBuffer, RgbImage};

use crate::frame::{ColorSpec, Matrix, Picture, PixelFormat, Range};

/// One swscale context, remembered with the geometry it was made for.
pub(crate) struct Converter {
    ctx: scaling::Context,
    key: Key,
    out: frame::Video,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    src: (Pixel, u32, u32),
    dst: (Pixel, u32, u32),
    color: ColorSpec,
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter").finish_non_exhaustive()
    }
}

/// A cache of at most one converter: a stream keeps its geometry, so one is enough.
#[derive(Debug, Default)]
pub(crate) struct ConverterCache(Option<Converter>);

impl ConverterCache {
    /// Converts `input` to `dst` format and size. `color` is the Y'CbCr matrix and range on
    /// whichever side is Y'CbCr (both, for a Y'CbCr → Y'CbCr conversion, which keeps them).
    pub(crate) fn convert(
        &mut self,
        input: &frame::Video,
        dst: (Pixel, u32, u32),
        color: ColorSpec,
    ) -> Result<&frame::Video, ffmpeg_next::Error> {
        let key = Key {
            src: (input.format(), input.width(), input.height()),
            dst,
            color,
        };
        let fresh = match &self.0 {
            Some(c) => c.key != key,
            None => true,
        };
        if fresh {
            let mut ctx = scaling::Context::get(
                key.src.0,
                key.src.1,
                key.src.2,
                dst.0,
                dst.1,
                dst.2,
                // Shrinking is block averaging (area); anything else keeps every pixel.
                if key.dst.1 < key.src.1 || key.dst.2 < key.src.2 {
                    scaling::Flags::AREA
                } else {
                    scaling::Flags::BICUBIC
                } | scaling::Flags::ACCURATE_RND
                    | scaling::Flags::FULL_CHR_H_INT,
            )?;
            set_colorspace(&mut ctx, key.src.0, dst.0, color);
            self.0 = Some(Converter {
                ctx,
                key,
                out: frame::Video::empty(),
            });
        }
        match &mut self.0 {
            Some(c) => {
                c.ctx.run(input, &mut c.out)?;
                Ok(&c.out)
            }
            None => Err(ffmpeg_next::Error::Bug),
        }
    }
}

fn is_rgb(p: Pixel) -> bool {
    matches!(
        p,
        Pixel::RGB24 | Pixel::BGR24 | Pixel::RGBA | Pixel::BGRA | Pixel::ARGB | Pixel::ABGR
    )
}

fn set_colorspace(ctx: &mut scaling::Context, src: Pixel, dst: Pixel, color: ColorSpec) {
    use ffmpeg_next::ffi;
    let cs = match color.matrix {
        Matrix::Bt601 => ffi::SWS_CS_ITU601,
        Matrix::Bt709 => ffi::SWS_CS_ITU709,
    };
    let yuv_full = i32::from(color.range == Range::Full);
    let src_range = if is_rgb(src) { 1 } else { yuv_full };
    let dst_range = if is_rgb(dst) { 1 } else { yuv_full };
    // SAFETY: the context is valid for the lifetime of `ctx`; `sws_getCoefficients` returns a
    // pointer to a static table; brightness, contrast and saturation are FFmpeg's neutral values.
    unsafe {
        let table = ffi::sws_getCoefficients(cs);
        ffi::sws_setColorspaceDetails(
            ctx.as_mut_ptr(),
            table,
            src_range,
            table,
            dst_range,
            0,
            1 << 16,
            1 << 16,
        );
    }
}

/// Copies `height` rows of `width` bytes out of a strided plane into a tight buffer.
fn copy_plane(data: &[u8], stride: usize, width: u32, height: u32) -> GrayImage {
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(w * h);
    for row in 0..h {
        let start = row * stride;
        out.extend_from_slice(&data[start..start + w]);
    }
    // The buffer has exactly w*h bytes, so `from_raw` cannot fail; fall back to a blank plane.
    ImageBuffer::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
}

/// Writes a tight plane into a strided FFmpeg plane.
fn fill_plane(dst: &mut [u8], stride: usize, src: &[u8], width: u32, height: u32) {
    let (w, h) = (width as usize, height as usize);
    for row in 0..h {
        dst[row * stride..row * stride + w].copy_from_slice(&src[row * w..row * w + w]);
    }
}

fn is_8bit_planar_yuv(p: Pixel) -> bool {
    matches!(
        p,
        Pixel::YUV420P
            | Pixel::YUVJ420P
            | Pixel::YUV422P
            | Pixel::YUVJ422P
            | Pixel::YUV444P
            | Pixel::YUVJ444P
            | Pixel::YUV440P
            | Pixel::YUVJ440P
            | Pixel::YUV411P
            | Pixel::YUV410P
            | Pixel::NV12
            | Pixel::NV21
            | Pixel::GRAY8
    )
}

/// Turns a decoded frame into a [`Picture`] of the requested layout.
pub(crate) fn to_picture(
    frame: &frame::Video,
    want: PixelFormat,
    color: ColorSpec,
    (w, h): (u32, u32),
    cache: &mut ConverterCache,
) -> Result<Picture, ffmpeg_next::Error> {
    let src = frame.format();
    let same_size = (w, h) == (frame.width(), frame.height());
    match want {
        PixelFormat::Gray8 if same_size && is_8bit_planar_yuv(src) => Ok(Picture::Gray(
            copy_plane(frame.data(0), frame.stride(0), w, h),
        )),
        PixelFormat::Yuv420p if same_size && matches!(src, Pixel::YUV420P | Pixel::YUVJ420P) => {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            Ok(Picture::Yuv420 {
                y: copy_plane(frame.data(0), frame.stride(0), w, h),
                u: copy_plane(frame.data(1), frame.stride(1), cw, ch),
                v: copy_plane(frame.data(2), frame.stride(2), cw, ch),
            })
        }
        PixelFormat::Gray8 => {
            let out = cache.convert(frame, (Pixel::GRAY8, w, h), color)?;
            Ok(Picture::Gray(copy_plane(out.data(0), out.stride(0), w, h)))
        }
        PixelFormat::Yuv420p => {
            let out = cache.convert(frame, (Pixel::YUV420P, w, h), color)?;
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            Ok(Picture::Yuv420 {
                y: copy_plane(out.data(0), out.stride(0), w, h),
                u: copy_plane(out.data(1), out.stride(1), cw, ch),
                v: copy_plane(out.data(2), out.stride(2), cw, ch),
            })
        }
        PixelFormat::Rgb24 => {
            let out = cache.convert(frame, (Pixel::RGB24, w, h), color)?;
            let (stride, data) = (out.stride(0), out.data(0));
            let mut buf = Vec::with_capacity(w as usize * h as usize * 3);
            for row in 0..h as usize {
                buf.extend_from_slice(&data[row * stride..row * stride + w as usize * 3]);
            }
            Ok(Picture::Rgb(
                RgbImage::from_raw(w, h, buf).unwrap_or_else(|| RgbImage::new(w, h)),
            ))
        }
    }
}

/// Builds a YUV 4:2:0 FFmpeg frame of `color` (the encoder's) from a [`Picture`] of
/// `pic_color`, converting only when the layout or colour differs.
pub(crate) fn to_yuv420_frame(
    pic: &Picture,
    pic_color: ColorSpec,
    color: ColorSpec,
    cache: &mut ConverterCache,
) -> Result<frame::Video, ffmpeg_next::Error> {
    let (w, h) = (pic.width(), pic.height());
    match pic {
        Picture::Yuv420 { y, u, v } if pic_color == color => {
            let mut f = frame::Video::new(Pixel::YUV420P, w, h);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let s0 = f.stride(0);
            fill_plane(f.data_mut(0), s0, y.as_raw(), w, h);
            let s1 = f.stride(1);
            fill_plane(f.data_mut(1), s1, u.as_raw(), cw, ch);
            let s2 = f.stride(2);
            fill_plane(f.data_mut(2), s2, v.as_raw(), cw, ch);
            Ok(f)
        }
        Picture::Yuv420 { y, u, v } => {
            // Different matrix or range: go through RGB so that swscale applies both tables.
            let mut src = frame::Video::new(Pixel::YUV420P, w, h);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let s0 = src.stride(0);
            fill_plane(src.data_mut(0), s0, y.as_raw(), w, h);
            let s1 = src.stride(1);
            fill_plane(src.data_mut(1), s1, u.as_raw(), cw, ch);
            let s2 = src.stride(2);
            fill_plane(src.data_mut(2), s2, v.as_raw(), cw, ch);
            let mut rgb_cache = ConverterCache::default();
            let rgb = rgb_cache.convert(&src, (Pixel::RGB24, w, h), pic_color)?;
            Ok(cache.convert(rgb, (Pixel::YUV420P, w, h), color)?.clone())
        }
        Picture::Rgb(img) => {
            let mut src = frame::Video::new(Pixel::RGB24, w, h);
            let s0 = src.stride(0);
            fill_plane(src.data_mut(0), s0, img.as_raw(), w * 3, h);
            Ok(cache.convert(&src, (Pixel::YUV420P, w, h), color)?.clone())
        }
        Picture::Gray(y) => {
            // A grey picture: luma as given, neutral chroma.
            let mut f = frame::Video::new(Pixel::YUV420P, w, h);
            let s0 = f.stride(0);
            fill_plane(f.data_mut(0), s0, y.as_raw(), w, h);
            for plane in 1..3 {
                f.data_mut(plane).fill(128);
            }
            Ok(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_yuv_rgb_keeps_colours() -> anyhow::Result<()> {
        crate::demux::init();
        let (w, h) = (64u32, 48u32);
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        let color = ColorSpec {
            matrix: Matrix::Bt601,
            range: Range::Limited,
        };
        let mut cache = ConverterCache::default();
        let yuv = to_yuv420_frame(&Picture::Rgb(img.clone()), color, color, &mut cache)?;
        let back = to_picture(
            &yuv,
            PixelFormat::Rgb24,
            color,
            (w, h),
            &mut ConverterCache::default(),
        )?;
        let Picture::Rgb(back) = back else {
            anyhow::bail!("asked for RGB")
        };
        // Smooth gradients survive 4:2:0 subsampling within a few code values.
        let max_err = img
            .as_raw()
            .iter()
            .zip(back.as_raw())
            .map(|(a, b)| (i16::from(*a) - i16::from(*b)).abs())
            .max()
            .unwrap_or(255);
        assert!(max_err <= 6, "max error {max_err}");
        Ok(())
    }
}
