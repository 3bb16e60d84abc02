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
