//! Exact-size streams: a finished MP4 copied packet for packet, its last video packet followed
//! by one filler-data NAL unit (H.264 type 12, which decoders skip) so that the video stream
//! comes to exactly the size asked. The pictures are not touched.

use std::path::Path;

use ffmpeg_next::{Dictionary, Packet, codec, format, media};

use crate::error::{MediaError, Result};

/// NAL unit type of filler data.
const FILLER_NAL: u8 = 12;
/// The smallest filler NAL unit in an MP4: a 4-byte length, the NAL header and the stop bit.
const MIN_FILLER: u64 = 6;

/// A filler-data NAL unit of exactly `bytes` bytes with a 4-byte length prefix (the form of
/// the video packets in an MP4): the header, `bytes − 6` bytes of 0xFF, the stop bit. `None`
/// below 6 bytes or above what the prefix can count.
fn filler(bytes: u64) -> Option<Vec<u8>> {
    if bytes < MIN_FILLER {
        return None;
    }
    let nal = u32::try_from(bytes - 4).ok()?;
    let mut v = Vec::with_capacity(usize::try_from(bytes).ok()?);
    v.extend_from_slice(&nal.to_be_bytes());
    v.push(FILLER_NAL);
    v.resize(v.len() + (nal as usize - 2), 0xFF);
    v.push(0x80);
    Some(v)
}

/// Whether the stream's decoder configuration (`avcC`) says its packets carry 4-byte NAL
/// lengths, the form [`filler`] writes.
fn four_byte_lengths(params: &codec::Parameters) -> bool {
    // SAFETY: `params` wraps a live AVCodecParameters; `extradata` holds `extradata_size` bytes
    // when it is not null.
    let extra = unsafe {
        let p = params.as_ptr();
        let (data, len) = ((*p).extradata, (*p).extradata_size);
        if data.is_null() || len < 5 {
            return false;
        }
        std::slice::from_raw_parts(data, len as usize)
    };
    extra[0] == 1 && extra[4] & 3 == 3
}

fn read_packet(input: &mut format::context::Input, target: &Path) -> Result<Option<Packet>> {
    let mut pkt = Packet::empty();
    match pkt.read(input) {
        Ok(()) => Ok(Some(pkt)),
        Err(ffmpeg_next::Error::Eof) => Ok(None),
        Err(e) => Err(MediaError::ffmpeg(
            target,
            "reading back the written file",
            e,
        )),
    }
}

fn exact_size_error(target: &Path, detail: String) -> MediaError {
    MediaError::ExactSize {
        path: target.to_path_buf(),
        detail,
    }
}

/// Copies the MP4 at `src` to `dst` (both H.264 as [`crate::Writer`] wrote them), with filler
/// after the last video packet so that the video stream holds exactly `stream_bytes` bytes.
/// `rotation_deg` is written again as the display matrix. Errors name `target`.
pub(crate) fn to_exact_size(
    src: &Path,
    dst: &Path,
    stream_bytes: u64,
    rotation_deg: f64,
    target: &Path,
) -> Result<()> {
    let mut input =
        format::input(src).map_err(|e| MediaError::ffmpeg(target, "reading back the file", e))?;
    let video = input
        .streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| exact_size_error(target, "the file has no video stream".into()))?;
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some(pkt) = read_packet(&mut input, target)? {
        if pkt.stream() == video {
            count += 1;
            bytes += pkt.size() as u64;
        }
    }
    if count == 0 {
        return Err(exact_size_error(target, "no picture was written".into()));
    }
    if bytes > stream_bytes {
        return Err(exact_size_error(
            target,
            format!(
                "the encoder wrote {bytes} bytes of video, over the {stream_bytes} asked: the \
                 rate control ran over its buffer"
            ),
        ));
    }
    let pad = stream_bytes - bytes;
    let fill = match pad {
        0 => None,
        _ => Some(filler(pad).ok_or_else(|| {
            exact_size_error(
                target,
                format!(
                    "the encoder wrote {bytes} bytes of video, {pad} short of the \
                     {stream_bytes} asked, and filler takes at least {MIN_FILLER}"
                ),
            )
        })?),
    };
    let in_params = input
        .stream(video)
        .map(|s| s.parameters())
        .ok_or_else(|| exact_size_error(target, "the video stream vanished".into()))?;
    if fill.is_some() && !four_byte_lengths(&in_params) {
        return Err(exact_size_error(
            target,
            "the video packets do not carry 4-byte NAL lengths".into(),
        ));
    }
    let last = Last {
        video,
        count,
        fill,
        rotation_deg,
    };
    copy_with_filler(src, dst, &last, target)
}

/// Where the filler goes: after the `count`-th packet of stream `video`.
struct Last {
    video: usize,
    count: u64,
    fill: Option<Vec<u8>>,
    rotation_deg: f64,
}

/// The second pass of [`to_exact_size`]: every packet of `src` into `dst`, `last.fill` after
/// the last video packet.
fn copy_with_filler(src: &Path, dst: &Path, last: &Last, target: &Path) -> Result<()> {
    let Last {
        video,
        count,
        ref fill,
        rotation_deg,
    } = *last;
    let mut input =
        format::input(src).map_err(|e| MediaError::ffmpeg(target, "reading back the file", e))?;
    let mut out = format::output_as(dst, "mp4")
        .map_err(|e| MediaError::ffmpeg(target, "creating the exact-size copy", e))?;
    let mut time_bases = Vec::new();
    for st in input.streams() {
        let mut os = out
            .add_stream(ffmpeg_next::encoder::find(codec::Id::None))
            .map_err(|e| MediaError::ffmpeg(target, "adding a stream to the copy", e))?;
        os.set_parameters(st.parameters());
        os.set_time_base(st.time_base());
        // SAFETY: the stream's parameters are valid; a zero tag lets the muxer choose its own.
        unsafe {
            (*os.parameters().as_mut_ptr()).codec_tag = 0;
        }
        if st.index() == video {
            crate::mux::set_display_rotation(&mut os, rotation_deg)
                .map_err(|e| MediaError::ffmpeg(target, "writing the display rotation", e))?;
        }
        time_bases.push(st.time_base());
    }
    let mut header = Dictionary::new();
    header.set("movflags", "+faststart");
    out.write_header_with(header)
        .map_err(|e| MediaError::ffmpeg(target, "writing the copy's header", e))?;
    let mut seen = 0u64;
    while let Some(mut pkt) = read_packet(&mut input, target)? {
        let index = pkt.stream();
        let (Some(from), Some(to)) = (
            time_bases.get(index).copied(),
            out.stream(index).map(|s| s.time_base()),
        ) else {
            continue;
        };
        if index == video {
            seen += 1;
            if seen == count
                && let Some(f) = &fill
            {
                let mut grown = Packet::copy(&[pkt.data().unwrap_or(&[]), f.as_slice()].concat());
                grown.set_pts(pkt.pts());
                grown.set_dts(pkt.dts());
                grown.set_duration(pkt.duration());
                grown.set_flags(pkt.flags());
                pkt = grown;
            }
        }
        pkt.set_position(-1);
        pkt.rescale_ts(from, to);
        pkt.write_interleaved(&mut out)
            .map_err(|e| MediaError::ffmpeg(target, "writing the exact-size copy", e))?;
    }
    if seen != count {
        return Err(exact_size_error(
            target,
            format!("read {seen} video packets back where {count} were written"),
        ));
    }
    out.write_trailer()
        .map_err(|e| MediaError::ffmpeg(target, "writing the copy's index", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filler_unit_is_exactly_the_size_asked_and_well_formed() {
        assert_eq!(filler(5), None);
        for n in [6u64, 7, 100, 4_000] {
            let f = filler(n).unwrap_or_default();
            assert_eq!(f.len() as u64, n);
            let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as u64;
            assert_eq!(len + 4, n, "the prefix counts the rest");
            assert_eq!(f[4], FILLER_NAL);
            assert_eq!(*f.last().unwrap_or(&0), 0x80, "the stop bit ends it");
            assert!(f[5..f.len() - 1].iter().all(|&b| b == 0xFF));
        }
    }
}
