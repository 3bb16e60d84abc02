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

/// Explains why FFmpeg could not open a file: a cut-short MP4, a text file, or unknown bytes.
fn diagnose(path: &Path, len: u64, err: ffmpeg_next::Error) -> MediaError {
    let mut head = Vec::with_capacity(4096);
    if let Ok(file) = File::open(path) {
        let _ = file.take(4096).read_to_end(&mut head);
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

/// Walks the top-level boxes of an ISO BMFF (MP4/MOV) file. Returns why the file looks cut short,
/// or `None` when its box structure is whole.
fn scan_iso_bmff(path: &Path, len: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let mut pos = 0u64;
    let mut seen_moov = false;
    let mut seen_moof = false;
    while pos < len {
        if len - pos < 8 {
            return Some(format!("{} stray bytes after the last box", len - pos));
        }
        file.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 16];
        let want = usize::try_from((len - pos).min(16)).ok()?;
        file.read_exact(&mut hdr[..want]).ok()?;
        let size32 = u64::from(u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]));
        let kind = String::from_utf8_lossy(&hdr[4..8]).into_owned();
        let size = match size32 {
            0 => len - pos, // box runs to the end of the file
            1 if want >= 16 => u64::from_be_bytes([
                hdr[8], hdr[9], hdr[10], hdr[11], hdr[12], hdr[13], hdr[14], hdr[15],
            ]),
            s => s,
        };
        if size < 8 {
            return None; // not a box structure we understand; let the caller call it damaged
        }
        seen_moov |= kind == "moov";
        seen_moof |= kind == "moof";
        if pos + size > len {
            return Some(format!(
                "the '{kind}' box at byte {pos} needs {size} bytes but the file ends after {} \
                 (file is {len} bytes)",
                len - pos
            ));
        }
        pos += size;
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
        assert!(why.contains("'mdat' box"), "{why}");

        // A whole structure with no moov is a cut-short file too.
        let whole = &bytes[..16];
        std::fs::write(&p, whole)?;
        let why = scan_iso_bmff(&p, 16).unwrap_or_default();
        assert!(why.contains("moov"), "{why}");
        Ok(())
    }
}
