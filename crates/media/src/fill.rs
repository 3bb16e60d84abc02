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

/// The offset of the length prefix of the last filler-data NAL unit in `data`, a packet of
/// NAL units each led by a 4-byte length; `None` when it holds none (or is malformed before
/// one is found).
fn last_filler(data: &[u8]) -> Option<usize> {
    let (mut pos, mut found) = (0usize, None);
    while let Some(prefix) = data.get(pos..pos + 4) {
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        let start = pos + 4;
        let end = start.saturating_add(len);
        if len == 0 || end > data.len() {
            break;
        }
        if data[start] & 0x1F == FILLER_NAL {
            found = Some(pos);
        }
        pos = end;
    }
    found
}

/// How the one edited packet changes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Edit {
    /// A new filler NAL unit after the packet's last.
    Append(Vec<u8>),
    /// `by` more 0xFF bytes in the filler NAL unit whose length prefix is at `at`: for a
    /// shortfall smaller than a new unit.
    Grow { at: usize, by: usize },
}

impl Edit {
    /// `data` with the edit made; `None` when a grown unit's length would not fit its prefix
    /// or `at` is not in the packet.
    fn apply(&self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            Edit::Append(f) => Some([data, f.as_slice()].concat()),
            Edit::Grow { at, by } => {
                let prefix = data.get(*at..*at + 4)?;
                let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
                let grown = len.checked_add(u32::try_from(*by).ok()?)?;
                // The header byte stays first; the new 0xFF bytes follow it (a filler unit's
                // payload is 0xFF bytes, then the stop bit).
                let header = *at + 5;
                let mut v = Vec::with_capacity(data.len() + by);
                v.extend_from_slice(&data[..*at]);
                v.extend_from_slice(&grown.to_be_bytes());
                v.extend_from_slice(data.get(*at + 4..header)?);
                v.resize(v.len() + by, 0xFF);
                v.extend_from_slice(data.get(header..)?);
                Some(v)
            }
        }
    }
}

/// The copy to make: `edit` on the `packet`-th (from 1) packet of stream `video`.
struct Plan {
    video: usize,
    packet: u64,
    edit: Option<Edit>,
    rotation_deg: f64,
    container: &'static str,
}

/// Copies the MP4 at `src` to `dst` (both H.264 as [`crate::Writer`] wrote them, in
/// `container`), with filler added so that the video stream holds exactly `stream_bytes`
/// bytes: a new filler unit after the last video packet, or, for a shortfall under the 6 bytes
/// of the smallest unit, the last filler unit libx264 wrote made longer. `rotation_deg` is
/// written again as the display matrix. Errors name `target`.
pub(crate) fn to_exact_size(
    src: &Path,
    dst: &Path,
    stream_bytes: u64,
    (rotation_deg, container): (f64, &'static str),
    target: &Path,
) -> Result<()> {
    let mut input =
        format::input(src).map_err(|e| MediaError::ffmpeg(target, "reading back the file", e))?;
    let video = input
        .streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| exact_size_error(target, "the file has no video stream".into()))?;
    let four_byte = input
        .stream(video)
        .is_some_and(|s| four_byte_lengths(&s.parameters()));
    if !four_byte {
        return Err(exact_size_error(
            target,
            "the video packets do not carry 4-byte NAL lengths".into(),
        ));
    }
    let (mut count, mut bytes, mut filler_at) = (0u64, 0u64, None);
    while let Some(pkt) = read_packet(&mut input, target)? {
        if pkt.stream() == video {
            count += 1;
            let data = pkt.data().unwrap_or(&[]);
            bytes += data.len() as u64;
            if let Some(at) = last_filler(data) {
                filler_at = Some((count, at));
            }
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
    let (packet, edit) = match (pad, filler(pad), filler_at) {
        (0, _, _) => (count, None),
        (_, Some(unit), _) => (count, Some(Edit::Append(unit))),
        (_, None, Some((packet, at))) => (
            packet,
            Some(Edit::Grow {
                at,
                by: usize::try_from(pad).unwrap_or(usize::MAX),
            }),
        ),
        (_, None, None) => {
            return Err(exact_size_error(
                target,
                format!(
                    "the encoder wrote {bytes} bytes of video, {pad} short of the \
                     {stream_bytes} asked, which is less than a filler unit takes \
                     ({MIN_FILLER} bytes), and wrote no filler unit to lengthen"
                ),
            ));
        }
    };
    let plan = Plan {
        video,
        packet,
        edit,
        rotation_deg,
        container,
    };
    copy_with(src, dst, &plan, target)
}

/// The second pass of [`to_exact_size`]: every packet of `src` into `dst`, the plan's packet
/// edited.
fn copy_with(src: &Path, dst: &Path, plan: &Plan, target: &Path) -> Result<()> {
    let mut input =
        format::input(src).map_err(|e| MediaError::ffmpeg(target, "reading back the file", e))?;
    let mut out = format::output_as(dst, plan.container)
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
        if st.index() == plan.video {
            crate::mux::set_display_rotation(&mut os, plan.rotation_deg)
                .map_err(|e| MediaError::ffmpeg(target, "writing the display rotation", e))?;
        }
        time_bases.push(st.time_base());
    }
    let mut header = Dictionary::new();
    header.set("movflags", "+faststart");
    out.write_header_with(header)
        .map_err(|e| MediaError::ffmpeg(target, "writing the copy's header", e))?;
    let (mut seen, mut edited) = (0u64, plan.edit.is_none());
    while let Some(mut pkt) = read_packet(&mut input, target)? {
        let index = pkt.stream();
        let (Some(from), Some(to)) = (
            time_bases.get(index).copied(),
            out.stream(index).map(|s| s.time_base()),
        ) else {
            continue;
        };
        if index == plan.video {
            seen += 1;
            if seen == plan.packet
                && let Some(edit) = &plan.edit
            {
                let data = edit.apply(pkt.data().unwrap_or(&[])).ok_or_else(|| {
                    exact_size_error(target, "the filler unit to lengthen moved".into())
                })?;
                let mut grown = Packet::copy(&data);
                grown.set_stream(index);
                grown.set_pts(pkt.pts());
                grown.set_dts(pkt.dts());
                grown.set_duration(pkt.duration());
                grown.set_flags(pkt.flags());
                pkt = grown;
                edited = true;
            }
        }
        pkt.set_position(-1);
        pkt.rescale_ts(from, to);
        pkt.write_interleaved(&mut out)
            .map_err(|e| MediaError::ffmpeg(target, "writing the exact-size copy", e))?;
    }
    if !edited {
        return Err(exact_size_error(
            target,
            format!("read {seen} video packets back, not the one to pad"),
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

    /// A packet of NAL units with 4-byte lengths.
    fn units(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| {
                (n.len() as u32)
                    .to_be_bytes()
                    .into_iter()
                    .chain(n.iter().copied())
            })
            .collect()
    }

    #[test]
    fn the_last_filler_unit_is_found_and_grown_in_place() {
        let slice: &[u8] = &[0x65, 1, 2, 3];
        let fill: &[u8] = &[FILLER_NAL, 0xFF, 0xFF, 0x80];
        let sei: &[u8] = &[0x06, 9, 0x80];
        let pkt = units(&[slice, fill, sei]);
        assert_eq!(last_filler(&pkt), Some(8));
        assert_eq!(last_filler(&units(&[slice, sei])), None);
        let mut cut = pkt.clone();
        cut.truncate(pkt.len() - sei.len() - 5);
        assert_eq!(
            last_filler(&cut),
            None,
            "a truncated filler unit is not one to grow"
        );

        let grown = Edit::Grow { at: 8, by: 3 }.apply(&pkt).unwrap();
        assert_eq!(grown.len(), pkt.len() + 3);
        let longer: &[u8] = &[FILLER_NAL, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80];
        assert_eq!(
            grown,
            units(&[slice, longer, sei]),
            "still three well-formed units"
        );
        assert_eq!(Edit::Grow { at: 99, by: 1 }.apply(&pkt), None);

        let appended = Edit::Append(filler(6).unwrap()).apply(&pkt).unwrap();
        assert_eq!(appended, units(&[slice, fill, sei, &[FILLER_NAL, 0x80]]));
    }
}
