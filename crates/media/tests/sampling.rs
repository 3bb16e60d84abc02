//! Sampling modes hand out the right frames and decode no more than they must; the luma plane
//! comes without colour conversion.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use verity_media::{PixelFormat, Reader, ReaderOptions, Sampling};

use common::lavfi;

#[test]
fn spread_picks_evenly_and_skips_work() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // 10 s at 30 fps = 300 frames, a key frame every 30.
    let src = lavfi(
        dir.path(),
        "s.mp4",
        "testsrc2=s=160x120:r=30:d=10",
        None,
        &["-g", "30", "-keyint_min", "30"],
    )?;
    let mut r = Reader::open(
        &src,
        ReaderOptions {
            format: PixelFormat::Gray8,
            sampling: Sampling::Spread(5),
            ..Default::default()
        },
    )?;
    let mut times = Vec::new();
    while let Some(f) = r.next_frame()? {
        assert_eq!(
            f.index,
            (f.time_s() * 30.0).round() as u64,
            "index matches time"
        );
        times.push(f.time_s());
    }
    // The middles of five 2-second slices: 1, 3, 5, 7, 9 s.
    assert_eq!(times.len(), 5, "{times:?}");
    for (t, want) in times.iter().zip([1.0, 3.0, 5.0, 7.0, 9.0]) {
        assert!((t - want).abs() <= 1.0 / 30.0 + 1e-9, "{times:?}");
    }
    eprintln!("spread(5) decoded {} of 300 frames", r.frames_decoded());
    // Seeking to the key frame before each pick decodes at most a GOP per pick.
    assert!(
        r.frames_decoded() <= 5 * 31,
        "decoded {} frames of 300",
        r.frames_decoded()
    );
    assert_eq!(r.completion(), &verity_media::Completion::Complete);
    Ok(())
}

#[test]
fn every_nth_and_luma() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = lavfi(
        dir.path(),
        "n.mp4",
        "testsrc2=s=160x120:r=25:d=2",
        None,
        &[],
    )?;
    let mut r = Reader::open(
        &src,
        ReaderOptions {
            format: PixelFormat::Gray8,
            sampling: Sampling::EveryNth(10),
            ..Default::default()
        },
    )?;
    let mut idx = Vec::new();
    while let Some(f) = r.next_frame()? {
        idx.push(f.index);
    }
    assert_eq!(idx, vec![0, 10, 20, 30, 40]);

    // The Gray8 plane is exactly the Y plane of the Yuv420p picture of the same frame.
    let mut g = Reader::open(
        &src,
        ReaderOptions {
            format: PixelFormat::Gray8,
            ..Default::default()
        },
    )?;
    let mut y = Reader::open(
        &src,
        ReaderOptions {
            format: PixelFormat::Yuv420p,
            ..Default::default()
        },
    )?;
    let (fg, fy) = (g.next_frame()?, y.next_frame()?);
    let (Some(fg), Some(fy)) = (fg, fy) else {
        anyhow::bail!("no frames")
    };
    assert_eq!(
        fg.luma().map(|l| l.as_raw().clone()),
        fy.luma().map(|l| l.as_raw().clone())
    );

    // Zero is refused with a message that says what is allowed.
    let err = Reader::open(
        &src,
        ReaderOptions {
            sampling: Sampling::Spread(0),
            ..Default::default()
        },
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("at least 1"), "{err}");
    Ok(())
}

/// A frame's index and luma bytes.
type Luma = (u64, Vec<u8>);

/// Every frame of `r`, with how many frames it decoded.
fn read_all(mut r: Reader) -> anyhow::Result<(Vec<Luma>, u64)> {
    let mut out = Vec::new();
    while let Some(f) = r.next_frame()? {
        let luma = f.luma().map(|l| l.as_raw().clone()).unwrap_or_default();
        out.push((f.index, luma));
    }
    assert_eq!(r.completion(), &verity_media::Completion::Complete);
    Ok((out, r.frames_decoded()))
}

#[test]
fn key_runs_start_at_key_frames_and_decode_little() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let gray = |sampling| ReaderOptions {
        format: PixelFormat::Gray8,
        sampling,
        ..Default::default()
    };
    // 10 s at 30 fps = 300 frames, a key frame every 30 (B-frames on, as libx264 makes them).
    let src = lavfi(
        dir.path(),
        "k.mp4",
        "testsrc2=s=160x120:r=30:d=10",
        None,
        &["-g", "30", "-keyint_min", "30", "-sc_threshold", "0"],
    )?;
    let (all, _) = read_all(Reader::open(&src, gray(Sampling::All))?)?;
    assert_eq!(all.len(), 300);
    let sampling = Sampling::KeyRuns {
        count: 10,
        len: 3,
        total: 300,
    };
    let (runs, decoded) = read_all(Reader::open(&src, gray(sampling))?)?;
    // Run targets 14, 44, …, 284 each move back to their GOP's key frame: 0, 30, …, 270.
    let want: Vec<u64> = (0..10).flat_map(|k| 30 * k..30 * k + 3).collect();
    let got: Vec<u64> = runs.iter().map(|r| r.0).collect();
    assert_eq!(got, want);
    // The frames are the ones a full read gives at the same places: seeking lost nothing.
    for (i, luma) in &runs {
        assert_eq!(Some(luma), all.get(*i as usize).map(|a| &a.1), "frame {i}");
    }
    eprintln!("key runs decoded {decoded} of 300 frames");
    assert!(decoded <= 150, "decoded {decoded} frames of 300");

    // Whatever the count, each run starts at the key frame of its target's GOP, and no seek
    // lands a GOP early (a target just before a key frame, where the key frame's decode time
    // is already past, is the case to get right).
    for count in 5..=30 {
        let sampling = Sampling::KeyRuns {
            count,
            len: 3,
            total: 300,
        };
        let (runs, decoded) = read_all(Reader::open(&src, gray(sampling))?)?;
        let mut want: Vec<u64> = Vec::new();
        for start in Sampling::run_starts(count, 3, 300) {
            let key = start / 30 * 30;
            let from = want
                .iter()
                .copied()
                .filter(|&i| i >= key)
                .max()
                .map_or(key, |i| i + 1);
            want.extend(from..from + 3);
        }
        let got: Vec<u64> = runs.iter().map(|r| r.0).collect();
        assert_eq!(got, want, "count {count}");
        // Each GOP visited decodes its runs plus what reordering holds back, never a GOP more.
        let gops = want
            .iter()
            .map(|i| i / 30)
            .collect::<std::collections::BTreeSet<_>>();
        assert!(
            decoded <= want.len() as u64 + 4 * gops.len() as u64,
            "count {count}: decoded {decoded} for {} frames in {} GOPs",
            want.len(),
            gops.len()
        );
    }

    // The same stream in Matroska, whose index (Cues) is written after the frames and read
    // only at a seek: the runs still start at every key frame, not all at the first.
    let mkv = dir.path().join("k.mkv");
    common::ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ])?;
    let sampling = Sampling::KeyRuns {
        count: 10,
        len: 3,
        total: 300,
    };
    let (runs, _) = read_all(Reader::open(&mkv, gray(sampling))?)?;
    let got: Vec<u64> = runs.iter().map(|r| r.0).collect();
    let want: Vec<u64> = (0..10).flat_map(|k| 30 * k..30 * k + 3).collect();
    assert_eq!(got, want, "Matroska");

    // Plain runs at the same targets decode everything up to the last one.
    let (_, decoded_runs) = read_all(Reader::open(
        &src,
        gray(Sampling::Runs {
            count: 10,
            len: 3,
            total: 300,
        }),
    )?)?;
    assert!(decoded_runs >= 285, "runs decoded {decoded_runs}");

    // One key frame for the whole clip: the runs that all land on it follow one another.
    let one = lavfi(
        dir.path(),
        "one.mp4",
        "testsrc2=s=160x120:r=30:d=4",
        None,
        &["-g", "300", "-sc_threshold", "0"],
    )?;
    let sampling = Sampling::KeyRuns {
        count: 5,
        len: 3,
        total: 120,
    };
    let (runs, decoded) = read_all(Reader::open(&one, gray(sampling))?)?;
    let got: Vec<u64> = runs.iter().map(|r| r.0).collect();
    assert_eq!(got, (0..15).collect::<Vec<u64>>());
    assert!(decoded <= 40, "decoded {decoded} frames of 120");

    // Zero runs or zero length is refused; so is whole audio with seeking.
    for bad in [
        Sampling::KeyRuns {
            count: 0,
            len: 3,
            total: 120,
        },
        Sampling::KeyRuns {
            count: 2,
            len: 0,
            total: 120,
        },
    ] {
        assert!(Reader::open(&one, gray(bad)).is_err());
    }
    let err = Reader::open(
        &one,
        ReaderOptions {
            sampling,
            audio: verity_media::AudioMode::Decode,
            ..Default::default()
        },
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("AudioMode::Skip"), "{err}");
    Ok(())
}

#[test]
fn shrink_by_averages_blocks_as_it_converts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = lavfi(
        dir.path(),
        "big.mp4",
        "testsrc2=s=640x480:r=25:d=0.4",
        None,
        &[],
    )?;
    let rgb = |shrink_by| ReaderOptions {
        format: PixelFormat::Rgb24,
        shrink_by,
        ..Default::default()
    };
    let mut full = Reader::open(&src, rgb(None))?;
    let mut small = Reader::open(&src, rgb(Some(4)))?;
    let mut frames = 0;
    while let (Some(f), Some(s)) = (full.next_frame()?, small.next_frame()?) {
        let (verity_media::Picture::Rgb(f), verity_media::Picture::Rgb(s)) = (f.picture, s.picture)
        else {
            anyhow::bail!("asked for RGB");
        };
        assert_eq!(s.dimensions(), (160, 120));
        // Each pixel is the mean of its 4 × 4 block of the full frame: within one code value
        // on average (the chroma is averaged at its own resolution, so the sharp colour edges
        // of the test pattern differ most).
        let mut worst = 0i32;
        let mut total = 0i64;
        for (x, y, p) in s.enumerate_pixels() {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..4 {
                    for dx in 0..4 {
                        sum += u32::from(f.get_pixel(4 * x + dx, 4 * y + dy)[c]);
                    }
                }
                let d = (i32::from(p[c]) - ((sum + 8) / 16) as i32).abs();
                worst = worst.max(d);
                total += i64::from(d);
            }
        }
        let mean = total as f64 / (160.0 * 120.0 * 3.0);
        assert!(mean < 1.0 && worst <= 64, "mean {mean}, worst {worst}");
        frames += 1;
    }
    assert_eq!(frames, 10);
    // A factor of 1 changes nothing.
    let mut one = Reader::open(&src, rgb(Some(1)))?;
    let first = one.next_frame()?.map(|f| (f.width(), f.height()));
    assert_eq!(first, Some((640, 480)));
    Ok(())
}
