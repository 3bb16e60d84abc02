//! Opening a file: checks on the path, FFmpeg's container probe, and a plain diagnosis when it fails.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Once;

use ffmpeg_next::format;

use crate::error::{MediaError, Result};

static INIT: Once = Once::new();

/// Initialises FFmpeg once per process and silences its own logging: verity reports problems
/// through [`MediaError`] and `tracing`, not through FFmpeg's stderr lines.
pub(crate) fn init() {
    INIT.call_once(|| {
        // `init` only fails on FFmpeg builds older than any this crate compiles against.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
    });
}

/// Lets FFmpeg print its own warnings to stderr (for `-vv` debugging).
pub fn set_ffmpeg_logging(enabled: bool) {
    init();
    let level = if enabled {
        ffmpeg_next::util::log::Level::Warning
    } else {
        ffmpeg_next::util::log::Level::Quiet
    };
    ffmpeg_next::util::log::set_level(level);
}

/// Opens `path` as a media container, or says in plain words why it is not one.
/// Returns the input and the file's size in bytes.
pub(crate) fn open(path: &Path) -> Result<(format::context::Input, u64)> {
    init();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MediaError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(MediaError::io(path, e)),
    };
    if !meta.is_file() {
        return Err(MediaError::NotAFile {
            path: path.to_path_buf(),
            kind: verity_fs::describe_kind(&meta),
        });
    }
    if meta.len() == 0 {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Read one byte first so that permission problems surface as an I/O error, not as an FFmpeg one.
    File::open(path).map_err(|e| MediaError::io(path, e))?;

    match format::input(path) {
        Ok(input) => {
            if input.format().name() == "tty" {
                return Err(MediaError::NotMedia {
                    path: path.to_path_buf(),
                    detail: "it is a text file".into(),
                });
            }
            Ok((input, meta.len()))
        }
        Err(e) => Err(diagnose(path, meta.len(), e)),
    }
}

/// For a file FFmpeg opened: why its MP4 box structure looks cut short, if it does. FFmpeg
/// reads a moov cut inside its last track without complaint, and then lists fewer streams or an
/// unknown pixel format; this says so instead of leaving it silent.
pub(crate) fn structure_damage(path: &Path, container: &str, len: u64) -> Option<String> {
    if !container.split(',').any(|n| n == "mp4" || n == "mov") {
        return None;
    }
    scan_iso_bmff(path, len)
}

/// Explains why FFmpeg could not open a file: a cut-short MP4, a text file, or unknown bytes.
fn diagnose(path: &Path, len: u64, err: ffmpeg_next::Error) -> MediaError {
    let mut head = Vec::with_capacity(4096);
    if let Ok(file) = File::open(path) {
        let _ = file.take(4096).read_to_end(&mut head);
    }
    if let Some(brand) = still_image_brand(&head) {
        return MediaError::NotMedia {
            path: path.to_path_buf(),
            detail: format!(
                "it is a still image (HEIF/AVIF, brand '{brand}'), not a video; `verify` checks \
                 an image's C2PA manifest but its marks are for video"
            ),
        };
    }
    if looks_like_iso_bmff(&head) {
        if let Some(detail) = scan_iso_bmff(path, len) {
            return MediaError::Truncated {
                path: path.to_path_buf(),
                detail,
            };
        }
        return MediaError::NotMedia {
            path: path.to_path_buf(),
            detail: format!("the MP4 structure is damaged ({err})"),
        };
    }
    if looks_like_text(&head) {
        return MediaError::NotMedia {
            path: path.to_path_buf(),
            detail: "it is a text file".into(),
        };
    }
    MediaError::NotMedia {
        path: path.to_path_buf(),
        detail: format!("no known container format was recognised ({err})"),
    }
}

const TOP_LEVEL_BOXES: [&[u8; 4]; 8] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof", b"styp",
];

fn looks_like_iso_bmff(head: &[u8]) -> bool {
    head.len() >= 8 && TOP_LEVEL_BOXES.iter().any(|b| &head[4..8] == b.as_slice())
}

/// The major brand of an HEIF or AVIF still image (`heic`, `avif`…): ISO BMFF too, but with no
/// movie box, which the box scan would otherwise call a cut-short video.
fn still_image_brand(head: &[u8]) -> Option<&str> {
    if head.len() < 12 || &head[4..8] != b"ftyp" {
        return None;
    }
    let brand = std::str::from_utf8(&head[8..12]).ok()?;
    // Still-image brands only: image sequences (msf1, avis, heis) may hold a movie.
    matches!(brand, "heic" | "heix" | "heim" | "mif1" | "avif").then_some(brand)
}

fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let printable = head
        .iter()
        .filter(|&&b| {
            b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
        })
        .count();
    std::str::from_utf8(head).is_ok() || printable * 100 >= head.len() * 98
}

/// [`scan_boxes`] over the file at `path`.
fn scan_iso_bmff(path: &Path, len: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    scan_boxes(&mut file, len)
}

/// Walks the top-level boxes of ISO BMFF (MP4/MOV) bytes of length `len`. Returns why they look
/// cut short, or `None` when the box structure is whole (or not one this scan understands).
///
/// Every step moves forward by at least a header's length, and sizes are added with overflow
/// checks, so a hostile size (a 64-bit size that wraps around) cannot send the scan backwards:
/// it ends after at most `len / 8` boxes.
pub fn scan_boxes<R: Read + Seek>(file: &mut R, len: u64) -> Option<String> {
    walk_boxes(file, len, |_| {})
}

/// Whether `path` is the init segment of a fragmented MP4 kept in pieces (DASH, CMAF): a whole
/// box structure with a movie box but no media of its own (no `moof`, no `mdat`). Its C2PA
/// manifest covers the fragments, so it can be validated only together with them.
pub fn is_init_segment(path: &Path) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut types = Vec::new();
    let damage = walk_boxes(&mut file, len, |t| types.push(t));
    damage.is_none()
        && types.iter().any(|t| t == b"moov")
        && !types.iter().any(|t| t == b"moof" || t == b"mdat")
}

/// [`scan_boxes`], calling `seen` with each top-level box type in order.
fn walk_boxes<R: Read + Seek>(
    file: &mut R,
    len: u64,
    mut seen: impl FnMut([u8; 4]),
) -> Option<String> {
    let mut pos = 0u64;
    let mut seen_moov = false;
    let mut seen_moof = false;
    while pos < len {
        let left = len - pos;
        if left < 8 {
            return Some(format!(
                "{left} stray bytes after the last box, at byte {pos}"
            ));
        }
        file.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 16];
        let want = usize::try_from(left.min(16)).ok()?;
        file.read_exact(&mut hdr[..want]).ok()?;
        let size32 = u64::from(u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]));
        let kind = box_type(&hdr[4..8]);
        let (size, header) = match size32 {
            0 => (left, 8), // the box runs to the end of the file
            1 if want >= 16 => (
                u64::from_be_bytes([
                    hdr[8], hdr[9], hdr[10], hdr[11], hdr[12], hdr[13], hdr[14], hdr[15],
                ]),
                16,
            ),
            1 => {
                return Some(format!(
                    "the {kind} box at byte {pos} has a 64-bit size, but the file ends {left} \
                     bytes into its header"
                ));
            }
            s => (s, 8),
        };
        if size < header {
            return None; // not a box structure we understand; let the caller call it damaged
        }
        seen_moov |= &hdr[4..8] == b"moov";
        seen_moof |= &hdr[4..8] == b"moof";
        seen([hdr[4], hdr[5], hdr[6], hdr[7]]);
        if size > left {
            return Some(format!(
                "the {kind} box at byte {pos} is {size} bytes long, but only {left} bytes of \
                 the file are left from there (the file is {len} bytes)"
            ));
        }
        pos += size; // size <= left = len - pos: no overflow
    }
    if !seen_moov && !seen_moof {
        return Some(
            "the MP4 index ('moov' box) is missing; the file was probably cut short while it \
             was written"
                .into(),
        );
    }
    None
}

/// A box type for a message: `'moov'` when it is printable ASCII, else its hex bytes, so that
/// a hostile file cannot put control characters on the user's terminal.
fn box_type(fourcc: &[u8]) -> String {
    if fourcc.iter().all(|b| (0x20..0x7f).contains(b)) {
        format!("'{}'", String::from_utf8_lossy(fourcc))
    } else {
        let hex: String = fourcc.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_text_and_boxes() {
        assert!(looks_like_text(b"hello world\nthis is text\n"));
        assert!(!looks_like_text(&[0u8, 1, 2, 3, 200, 17, 0, 0]));
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom");
        assert!(looks_like_iso_bmff(&mp4));
        assert!(!looks_like_iso_bmff(b"RIFF....AVI "));
    }

    #[test]
    fn scan_finds_a_box_that_runs_past_the_end() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("cut.mp4");
        let mut bytes = vec![0, 0, 0, 16];
        bytes.extend_from_slice(b"ftypisom\0\0\0\0");
        bytes.extend_from_slice(&[0, 0, 1, 0]); // an mdat of 256 bytes…
        bytes.extend_from_slice(b"mdat");
        bytes.extend_from_slice(&[7u8; 40]); // …of which only 48 are present
        std::fs::write(&p, &bytes)?;
        let why = scan_iso_bmff(&p, bytes.len() as u64).unwrap_or_default();
        assert!(
            why.contains("'mdat' box at byte 16 is 256 bytes long"),
            "{why}"
        );
        assert!(why.contains("only 48 bytes"), "{why}");

        // A whole structure with no moov is a cut-short file too.
        let whole = &bytes[..16];
        std::fs::write(&p, whole)?;
        let why = scan_iso_bmff(&p, 16).unwrap_or_default();
        assert!(why.contains("moov"), "{why}");
        Ok(())
    }

    /// A 64-bit size that wraps `pos + size` around used to send the scan back to an earlier
    /// box, forever. Every wrapping size now ends the scan at once with the box's true offset.
    #[test]
    fn a_wrapping_64_bit_size_ends_the_scan() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("wrap.mp4");
        for huge in [u64::MAX - 7, u64::MAX - 6, u64::MAX, u64::MAX - 15] {
            let mut bytes = vec![0, 0, 0, 16];
            bytes.extend_from_slice(b"ftypisom\0\0\0\0");
            bytes.extend_from_slice(&[0, 0, 0, 8]);
            bytes.extend_from_slice(b"free");
            bytes.extend_from_slice(&[0, 0, 0, 1]);
            bytes.extend_from_slice(b"free");
            bytes.extend_from_slice(&huge.to_be_bytes());
            bytes.extend_from_slice(&[0u8; 64]);
            std::fs::write(&p, &bytes)?;
            let why = scan_iso_bmff(&p, bytes.len() as u64).unwrap_or_default();
            assert!(why.contains("'free' box at byte 24"), "{huge}: {why}");
        }
        Ok(())
    }

    #[test]
    fn still_images_are_not_called_cut_short_videos() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(still_image_brand(&heic), Some("heic"));
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0isomiso2");
        assert_eq!(still_image_brand(&mp4), None);
    }

    #[test]
    fn box_types_are_printed_safely() {
        assert_eq!(box_type(b"moov"), "'moov'");
        assert_eq!(box_type(&[0x1b, b'[', b'2', b'J']), "0x1b5b324a");
    }
}
