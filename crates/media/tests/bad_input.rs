//! Every kind of bad input gets its own typed error, names the file, and leaves nothing behind.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::path::Path;

use verity_media::{Completion, MediaError, Reader, ReaderOptions, TranscodeOptions, transcode};

use common::lavfi;

fn open_err(p: &Path) -> MediaError {
    match Reader::open(p, ReaderOptions::default()) {
        Ok(_) => panic!("{} opened but should not", p.display()),
        Err(e) => {
            let line = e.to_string();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(line.contains(&name), "error does not name the file: {line}");
            assert!(!line.contains('\n'), "error is not one line: {line}");
            // probe gives the same answer as the reader
            assert_eq!(
                verity_media::probe(p).err().map(|e| e.to_string()),
                Some(line)
            );
            e
        }
    }
}

/// The folder holds only the files named: no temporary or partial outputs.
fn assert_only(dir: &Path, names: &[&str]) -> anyhow::Result<()> {
    let mut found: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    found.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want, "unexpected files left behind");
    Ok(())
}

#[test]
fn empty_random_text_missing_directory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();

    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"")?;
    assert!(matches!(open_err(&empty), MediaError::Empty { .. }));

    let random = d.join("random.mp4");
    // Deterministic pseudo-random bytes (xorshift), so the test cannot flake.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&random, bytes)?;
    assert!(matches!(open_err(&random), MediaError::NotMedia { .. }));

    let text = d.join("notes.mp4");
    std::fs::write(&text, "these are meeting notes, not a video\n".repeat(50))?;
    match open_err(&text) {
        MediaError::NotMedia { detail, .. } => assert!(detail.contains("text"), "{detail}"),
        e => panic!("text file gave {e:?}"),
    }

    assert!(matches!(
        open_err(&d.join("nope.mp4")),
        MediaError::NotFound { .. }
    ));

    let sub = d.join("folder.mp4");
    std::fs::create_dir(&sub)?;
    assert!(matches!(
        open_err(&sub),
        MediaError::NotAFile {
            kind: "a directory",
            ..
        }
    ));
    // A device or a FIFO is named for what it is, and refused without reading it: /dev/zero
    // would never end and a FIFO would block forever.
    assert!(matches!(
        open_err(std::path::Path::new("/dev/zero")),
        MediaError::NotAFile {
            kind: "a character device",
            ..
        }
    ));
    Ok(())
}

#[test]
fn audio_without_video() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("voice.m4a");
    common::ffmpeg(&[
        "-f".as_ref(),
        "lavfi".as_ref(),
        "-i".as_ref(),
        "sine=d=1".as_ref(),
        "-c:a".as_ref(),
        "aac".as_ref(),
        out.as_os_str(),
    ])?;
    match open_err(&out) {
        MediaError::NoVideo { streams, .. } => assert!(streams.contains("audio aac"), "{streams}"),
        e => panic!("audio-only gave {e:?}"),
    }
    Ok(())
}

#[test]
fn mp4_cut_at_half() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    // ffmpeg's default MP4 puts the index at the end: cut in half, the index is gone.
    let whole = lavfi(
        d,
        "whole.mp4",
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=d=2"),
        &[],
    )?;
    let bytes = std::fs::read(&whole)?;
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2])?;
    match open_err(&cut) {
        MediaError::Truncated { detail, .. } => assert!(detail.contains("box"), "{detail}"),
        e => panic!("cut MP4 gave {e:?}"),
    }

    // With the index first (+faststart), half the media is still readable: the reader hands out
    // what decodes, and says the file is damaged.
    let fast = lavfi(
        d,
        "fast.mp4",
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=d=2"),
        &["-movflags", "+faststart"],
    )?;
    let bytes = std::fs::read(&fast)?;
    let cutfs = d.join("cutfs.mp4");
    std::fs::write(&cutfs, &bytes[..bytes.len() / 2])?;
    let mut r = Reader::open(&cutfs, ReaderOptions::default())?;
    let mut n = 0;
    while r.next_frame()?.is_some() {
        n += 1;
    }
    assert!(n > 5 && n < 60, "decoded {n} of 60 frames");
    match r.completion() {
        Completion::Damaged {
            decoded_until_s,
            expected_s,
            reason,
        } => {
            assert!(*decoded_until_s < 1.9, "{decoded_until_s}");
            assert_eq!(*expected_s, Some(2.0));
            assert!(reason.contains("cut short"), "{reason}");
        }
        c => panic!("cut file read as {c:?}"),
    }

    // Transcoding it keeps what decodes and reports the damage.
    let out = d.join("out.mp4");
    let report = transcode(&cutfs, &out, &TranscodeOptions::default(), |_| {})?;
    assert!(report.is_partial());
    assert_eq!(report.output.video_frames, n);
    assert!(out.is_file());
    assert_only(
        d,
        &["whole.mp4", "cut.mp4", "fast.mp4", "cutfs.mp4", "out.mp4"],
    )
}

#[test]
fn failed_writes_leave_nothing_behind() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let src = lavfi(d, "src.mp4", "testsrc2=s=320x240:r=30:d=1", None, &[])?;

    // A bad input: the output never appears.
    let junk = d.join("junk.mp4");
    std::fs::write(&junk, "not a video")?;
    assert!(
        transcode(
            &junk,
            &d.join("a.mp4"),
            &TranscodeOptions::default(),
            |_| {}
        )
        .is_err()
    );

    // A writer dropped before `finish` (an error midway, or a panic) removes its temporary file.
    {
        let info = verity_media::probe(&src)?;
        let mut w = verity_media::Writer::create(
            d.join("b.mp4"),
            verity_media::WriterOptions::new(
                info.video.width,
                info.video.height,
                info.video.frame_rate,
            ),
        )?;
        let mut r = Reader::open(&src, ReaderOptions::default())?;
        if let Some(f) = r.next_frame()? {
            w.write_video(&f)?;
        }
        // A frame of the wrong size is refused with an error that names both sizes.
        let mut small = r.next_frame()?.ok_or_else(|| anyhow::anyhow!("no frame"))?;
        small.picture = verity_media::Picture::Rgb(image::RgbImage::new(64, 48));
        let err = w
            .write_video(&small)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("64x48") && err.contains("320x240"), "{err}");
    }
    // An unsupported extension is refused before anything is written.
    let err = transcode(&src, &d.join("c.avi"), &TranscodeOptions::default(), |_| {})
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains(".avi"), "{err}");
    assert_only(d, &["src.mp4", "junk.mp4"])
}

#[test]
fn inconsistent_planes_are_refused_not_a_panic() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut w = verity_media::Writer::create(
        dir.path().join("x.mp4"),
        verity_media::WriterOptions::new(64, 48, verity_media::Rational::new(25, 1)),
    )?;
    let frame = verity_media::VideoFrame {
        index: 0,
        pts: 0,
        time_base: verity_media::Rational::new(1, 25),
        color: verity_media::ColorSpec::default(),
        picture: verity_media::Picture::Yuv420 {
            y: image::GrayImage::new(64, 48),
            u: image::GrayImage::new(10, 10),
            v: image::GrayImage::new(32, 24),
        },
    };
    let err = w
        .write_video(&frame)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("10x10") && err.contains("32x24"), "{err}");
    drop(w);
    assert_only(dir.path(), &[])
}
