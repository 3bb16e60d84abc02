//! Decode → encode round trips: frame count, rate, size, duration and audio survive, and the
//! picture stays close to the source.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use std::path::Path;

use verity_media::{
    AudioChoice, AudioOutput, Item, PixelFormat, Preset, Reader, ReaderOptions, TranscodeOptions,
    Writer, WriterOptions, transcode,
};

use common::{decode_all, fetched, lavfi, luma_psnr};

/// Checks what a round trip must keep. `audio` says whether the source has audio to keep.
fn assert_round_trip(src: &Path, out: &Path) -> anyhow::Result<()> {
    let (a, b) = (verity_media::probe(src)?, verity_media::probe(out)?);
    assert_eq!(
        (a.video.width, a.video.height),
        (b.video.width, b.video.height),
        "size"
    );
    assert!(
        (a.video.fps - b.video.fps).abs() < 0.01,
        "fps {} vs {}",
        a.video.fps,
        b.video.fps
    );

    let (da, db) = (decode_all(src)?, decode_all(out)?);
    assert!(
        da.frames.abs_diff(db.frames) <= 1,
        "frames {} vs {}",
        da.frames,
        db.frames
    );
    let frame_s = 1.0 / a.video.fps;
    assert!(
        (da.last_time_s - db.last_time_s).abs() <= frame_s + 1e-6,
        "last frame at {} vs {}",
        da.last_time_s,
        db.last_time_s
    );
    let (dur_a, dur_b) = (a.duration_s.unwrap_or(0.0), b.duration_s.unwrap_or(0.0));
    assert!(
        (dur_a - dur_b).abs() <= frame_s + 0.03,
        "duration {dur_a} vs {dur_b}"
    );

    eprintln!(
        "frames {} vs {}, audio samples {} vs {}",
        da.frames, db.frames, da.audio_samples, db.audio_samples
    );
    if a.audio.is_some() {
        let b_audio = b
            .audio
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("audio was lost"))?;
        assert_eq!(
            b_audio.channels,
            a.audio.as_ref().map_or(0, |x| x.channels),
            "channels"
        );
        // Within one video frame's worth of samples.
        let tolerance = (f64::from(da.sample_rate) * frame_s).ceil() as u64;
        assert!(
            da.audio_samples.abs_diff(db.audio_samples) <= tolerance,
            "audio samples {} vs {} (tolerance {tolerance})",
            da.audio_samples,
            db.audio_samples
        );
    }
    Ok(())
}

fn crf18() -> TranscodeOptions {
    TranscodeOptions {
        crf: 18,
        preset: Preset::Veryfast,
        ..Default::default()
    }
}

/// The RGB path that the watermark stages use: decode to RGB, encode from RGB, audio re-encoded.
fn rgb_round_trip(src: &Path, out: &Path) -> anyhow::Result<()> {
    let mut r = Reader::open(
        src,
        ReaderOptions {
            format: PixelFormat::Rgb24,
            audio: verity_media::AudioMode::Decode,
            ..Default::default()
        },
    )?;
    let info = r.info().clone();
    let mut opts = WriterOptions::new(info.video.width, info.video.height, info.video.frame_rate);
    opts.time_base = Some(info.video.time_base);
    opts.crf = 18;
    opts.preset = Preset::Veryfast;
    opts.color = info.video.color;
    if let Some(a) = &info.audio {
        opts.audio = AudioOutput::Aac {
            sample_rate: a.sample_rate,
            channels: a.channels,
            bit_rate: Some(192_000),
        };
    }
    let mut w = Writer::create(out, opts)?;
    while let Some(item) = r.next_item()? {
        match item {
            Item::Video(f) => {
                assert!(matches!(f.picture, verity_media::Picture::Rgb(_)));
                w.write_video(&f)?;
            }
            Item::Audio(a) => w.write_audio(&a)?,
            Item::AudioPacket(_) => anyhow::bail!("asked for decoded audio"),
        }
    }
    w.finish()?;
    Ok(())
}

fn check_both_paths(src: &Path, dir: &Path) -> anyhow::Result<()> {
    let yuv = dir.join("yuv.mp4");
    let report = transcode(src, &yuv, &crf18(), |_| {})?;
    assert!(!report.is_partial(), "{:?}", report.damage);
    assert_round_trip(src, &yuv)?;
    let psnr = luma_psnr(src, &yuv)?;
    eprintln!("{}: YUV path luma PSNR {psnr:.2} dB", src.display());
    assert!(
        psnr >= 40.0,
        "{}: YUV path luma PSNR {psnr:.2} dB < 40",
        src.display()
    );

    let rgb = dir.join("rgb.mp4");
    rgb_round_trip(src, &rgb)?;
    assert_round_trip(src, &rgb)?;
    let psnr = luma_psnr(src, &rgb)?;
    eprintln!("{}: RGB path luma PSNR {psnr:.2} dB", src.display());
    assert!(
        psnr >= 40.0,
        "{}: RGB path luma PSNR {psnr:.2} dB < 40",
        src.display()
    );
    Ok(())
}

#[test]
fn lavfi_testsrc2_with_audio() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = lavfi(
        dir.path(),
        "t.mp4",
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=f=440:d=2:r=48000"),
        &[],
    )?;
    check_both_paths(&src, dir.path())
}

#[test]
fn lavfi_mandelbrot_and_bars() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let m = lavfi(
        dir.path(),
        "m.mp4",
        "mandelbrot=s=320x240:r=24",
        None,
        &["-t", "1.5"],
    )?;
    check_both_paths(&m, dir.path())?;
    let b = lavfi(
        dir.path(),
        "b.mp4",
        "smptehdbars=s=1280x720:r=25:d=1",
        Some("sine=f=1000:d=1:r=44100"),
        &[],
    )?;
    check_both_paths(&b, dir.path())
}

#[test]
fn real_footage_bikes() -> anyhow::Result<()> {
    let Some(src) = fetched("bikes.mp4") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    check_both_paths(&src, dir.path())
}

#[test]
fn real_footage_bigbuckbunny_with_5_1_audio() -> anyhow::Result<()> {
    let Some(src) = fetched("bigbuckbunny.mp4") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    check_both_paths(&src, dir.path())?;

    // Passthrough keeps the audio bit for bit.
    let copy = dir.path().join("copy.mp4");
    transcode(
        &src,
        &copy,
        &TranscodeOptions {
            audio: AudioChoice::Copy,
            ..crf18()
        },
        |_| {},
    )?;
    assert_round_trip(&src, &copy)?;
    let packets = |p: &Path| -> anyhow::Result<Vec<Vec<u8>>> {
        let mut r = Reader::open(
            p,
            ReaderOptions {
                format: PixelFormat::Gray8,
                audio: verity_media::AudioMode::Passthrough,
                ..Default::default()
            },
        )?;
        let mut v = Vec::new();
        while let Some(item) = r.next_item()? {
            if let Item::AudioPacket(pk) = item {
                v.push(pk.data);
            }
        }
        Ok(v)
    };
    assert_eq!(
        packets(&src)?,
        packets(&copy)?,
        "passthrough changed the audio"
    );
    Ok(())
}
