//! Rate control and key frames: a constant bit rate makes a plain clip and a noisy one the same
//! size where the CRF makes them differ many times over, and a fixed key-frame interval places
//! every key frame.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use image::{Rgb, RgbImage};
use verity_media::{
    ConstantBitRate, Picture, Rational, Reader, ReaderOptions, VideoFrame, Writer, WriterOptions,
    count_key_frames, video_packets,
};

const SIDE: u32 = 128;
const FPS: i32 = 24;
const FRAMES: u32 = 48;

/// A slow gradient pan: next to nothing to code.
fn plain(i: u32) -> RgbImage {
    RgbImage::from_fn(SIDE, SIDE, |x, y| {
        Rgb([((x + i) % 256) as u8, (y * 2 % 256) as u8, 96])
    })
}

/// Fresh noise in every frame: as much to code as a picture can hold.
fn noisy(i: u32) -> RgbImage {
    let mut s = 0x9e37_79b9u32.wrapping_mul(i + 1);
    RgbImage::from_fn(SIDE, SIDE, |_, _| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        Rgb([s as u8, (s >> 8) as u8, (s >> 16) as u8])
    })
}

/// The gradient, then from frame 32 on fresh noise: a change of picture.
fn cut(i: u32) -> RgbImage {
    if i < 32 { plain(i) } else { noisy(i) }
}

/// A writer set up by `set`, with every frame of `frame` written and the file not yet finished.
fn written(
    path: &Path,
    frame: fn(u32) -> RgbImage,
    set: impl FnOnce(&mut WriterOptions),
) -> Writer {
    let mut opts = WriterOptions::new(SIDE, SIDE, Rational::new(FPS, 1));
    set(&mut opts);
    let color = opts.color;
    let mut w = Writer::create(path, opts).unwrap();
    for i in 0..FRAMES {
        w.write_video(&VideoFrame {
            index: u64::from(i),
            pts: i64::from(i),
            time_base: Rational::new(1, FPS),
            color,
            picture: Picture::Rgb(frame(i)),
        })
        .unwrap();
    }
    w
}

fn write(path: &Path, frame: fn(u32) -> RgbImage, set: impl FnOnce(&mut WriterOptions)) -> u64 {
    written(path, frame, set).finish().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Checks that `set` makes `Writer::create` refuse its options, with nothing at `path`.
fn assert_refused(path: &Path, set: fn(&mut WriterOptions)) {
    let mut opts = WriterOptions::new(SIDE, SIDE, Rational::new(FPS, 1));
    set(&mut opts);
    let Err(err) = Writer::create(path, opts) else {
        panic!("accepted");
    };
    assert!(
        matches!(err, verity_media::MediaError::InvalidOption { .. }),
        "{err}"
    );
    assert!(!path.exists());
}

const CBR: ConstantBitRate = ConstantBitRate {
    bits_per_s: 96_000,
    buffer_bits: 96_000,
    exact_size: false,
};

#[test]
fn a_constant_bit_rate_makes_plain_and_noisy_clips_one_size() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let crf = |o: &mut WriterOptions| o.crf = 23;
    let cbr = |o: &mut WriterOptions| {
        o.cbr = Some(CBR);
        o.key_interval = Some(FRAMES);
    };
    let (crf_plain, crf_noisy) = (
        write(&at("a.mp4"), plain, crf),
        write(&at("b.mp4"), noisy, crf),
    );
    let (cbr_plain, cbr_noisy) = (
        write(&at("c.mp4"), plain, cbr),
        write(&at("d.mp4"), noisy, cbr),
    );
    eprintln!("CRF 23: {crf_plain} / {crf_noisy} bytes; CBR: {cbr_plain} / {cbr_noisy} bytes");
    assert!(
        crf_noisy > 5 * crf_plain,
        "the CRF spends by content: {crf_plain} vs {crf_noisy}"
    );
    // Two seconds at the rate, give or take the decoder buffer and the container.
    let two_s = u64::from(CBR.bits_per_s) * 2 / 8;
    let slack = u64::from(CBR.buffer_bits) / 8 + 2_000;
    for size in [cbr_plain, cbr_noisy] {
        assert!(
            size.abs_diff(two_s) <= slack,
            "{size} bytes, not {two_s} ± {slack}"
        );
    }
    // The filler pads the plain clip: it costs as much as the noisy one, near enough.
    assert!(
        cbr_plain.abs_diff(cbr_noisy) * 10 <= cbr_noisy,
        "{cbr_plain} vs {cbr_noisy}"
    );
    // Still a clip that decodes, at the size and length written.
    let info = verity_media::probe(at("c.mp4")).unwrap();
    assert_eq!((info.video.width, info.video.height), (SIDE, SIDE));
    assert_eq!(info.expected_frames(), Some(u64::from(FRAMES)));
}

#[test]
fn a_fixed_key_frame_interval_places_every_key_frame() {
    let dir = tempfile::tempdir().unwrap();
    for (interval, keys) in [(FRAMES, 1), (12, 4), (10, 5)] {
        let path = dir.path().join(format!("every-{interval}.mp4"));
        write(&path, cut, |o| o.key_interval = Some(interval));
        assert_eq!(count_key_frames(&path).unwrap(), keys, "every {interval}");
    }
}

#[test]
fn a_zero_rate_or_interval_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.mp4");
    for set in [
        (|o: &mut WriterOptions| o.key_interval = Some(0)) as fn(&mut WriterOptions),
        |o| {
            o.cbr = Some(ConstantBitRate {
                bits_per_s: 0,
                buffer_bits: 1,
                exact_size: true,
            })
        },
        |o| {
            o.cbr = Some(ConstantBitRate {
                bits_per_s: 96_000,
                buffer_bits: 0,
                exact_size: false,
            })
        },
        |o| o.key_interval = Some(u32::MAX),
    ] {
        assert_refused(&path, set);
    }
}

/// Every picture of `path`, as RGB bytes.
fn pictures(path: &Path) -> Vec<Vec<u8>> {
    let mut r = Reader::open(path, ReaderOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        match f.picture {
            Picture::Rgb(img) => out.push(img.into_raw()),
            other => panic!("asked for RGB, got {:?}", other.format()),
        }
    }
    out
}

#[test]
fn an_exact_size_stream_has_one_size_whatever_the_picture_and_the_same_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let exact = |o: &mut WriterOptions| {
        o.cbr = Some(ConstantBitRate {
            exact_size: true,
            ..CBR
        });
        o.key_interval = Some(FRAMES);
        o.deterministic = true;
    };
    let want = CBR
        .stream_bytes(u64::from(FRAMES), Rational::new(FPS, 1))
        .unwrap();
    // 0.9 of the buffer, then 47 frames at the rate: (86,400 + 188,000) bits.
    assert_eq!(want, 34_300);
    let mut files = Vec::new();
    let mut streams = Vec::new();
    for (name, frame) in [
        ("plain", plain as fn(u32) -> RgbImage),
        ("noisy", noisy),
        ("cut", cut),
    ] {
        let path = at(&format!("{name}.mp4"));
        files.push(write(&path, frame, exact));
        let tally = video_packets(&path).unwrap();
        assert_eq!(tally.packets, u64::from(FRAMES), "{name}");
        assert_eq!(tally.key_frames, 1, "{name}");
        streams.push(tally.bytes);
    }
    eprintln!("exact size: files {files:?}, streams {streams:?}");
    assert!(
        streams.iter().all(|&b| b == want),
        "{streams:?} against {want}"
    );
    assert!(
        files.iter().all(|&f| f == files[0]),
        "one file size: {files:?}"
    );

    // Without the padding the streams differ, and the pictures are the same either way: the
    // filler only follows the last one (and one encoder thread codes them alike every time).
    let loose = |o: &mut WriterOptions| {
        o.cbr = Some(CBR);
        o.key_interval = Some(FRAMES);
        o.deterministic = true;
    };
    let mut loose_streams = Vec::new();
    for (name, frame) in [("plain", plain as fn(u32) -> RgbImage), ("noisy", noisy)] {
        let path = at(&format!("{name}-loose.mp4"));
        write(&path, frame, loose);
        loose_streams.push(video_packets(&path).unwrap().bytes);
        let (a, b) = (pictures(&path), pictures(&at(&format!("{name}.mp4"))));
        assert_eq!(a.len(), FRAMES as usize, "{name}");
        let differ: Vec<usize> = (0..a.len().min(b.len()))
            .filter(|&i| a[i] != b[i])
            .collect();
        assert!(
            a == b,
            "{name}: the padded copy decodes to other pictures: {differ:?} of {} / {}",
            a.len(),
            b.len()
        );
    }
    assert!(loose_streams.iter().all(|&b| b < want), "{loose_streams:?}");

    // The copy keeps what the writer was asked for beyond the stream: here a display rotation.
    let turned = at("turned.mp4");
    write(&turned, plain, |o| {
        exact(o);
        o.rotation_deg = 90.0;
    });
    assert_eq!(video_packets(&turned).unwrap().bytes, want);
    let info = verity_media::probe(&turned).unwrap();
    assert_eq!(info.video.rotation_deg.rem_euclid(360.0), 90.0, "{info:?}");
    assert_ne!(
        loose_streams[0], loose_streams[1],
        "the rate alone leaves a difference"
    );
}

#[test]
fn an_exact_size_it_cannot_make_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.mp4");
    let exact = ConstantBitRate {
        exact_size: true,
        ..CBR
    };
    // A buffer smaller than one frame at the rate (4,000 bits at 96 kbit/s and 24 fps), and
    // audio beside an exact-size stream, are refused before anything is written.
    for set in [
        (|o: &mut WriterOptions| {
            o.cbr = Some(ConstantBitRate {
                buffer_bits: 3_999,
                exact_size: true,
                ..CBR
            })
        }) as fn(&mut WriterOptions),
        |o| {
            o.cbr = Some(ConstantBitRate {
                exact_size: true,
                ..CBR
            });
            o.audio = verity_media::AudioOutput::Aac {
                sample_rate: 48_000,
                channels: 2,
                bit_rate: None,
            };
        },
    ] {
        assert_refused(&path, set);
    }

    // One frame of buffer is accepted, but fresh noise in every frame cannot be held to it:
    // the stream runs over its exact size, and the write fails with nothing left behind.
    let w = written(&path, noisy, |o| {
        o.cbr = Some(ConstantBitRate {
            buffer_bits: 4_000,
            ..exact
        });
        o.key_interval = Some(FRAMES);
        o.deterministic = true;
    });
    let err = w.finish().unwrap_err();
    assert!(
        matches!(err, verity_media::MediaError::ExactSize { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ran over its buffer"), "{err}");
    assert!(!path.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
