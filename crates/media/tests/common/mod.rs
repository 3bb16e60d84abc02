//! Helpers shared by verity-media's integration tests: test clips and measurements.
#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::Command;

use verity_media::{AudioMode, Item, PixelFormat, Reader, ReaderOptions};

/// The cache that `scripts/fetch-media.sh` fills.
pub fn media_dir() -> PathBuf {
    // The workspace root (the folder with Cargo.lock) above whichever crate includes this file.
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    while !dir.join("Cargo.lock").is_file() && dir.pop() {}
    dir.join(".cache/media")
}

/// A fetched test file, or `None` (with a message) when it is missing. Under `make test`
/// (`VERITY_REQUIRE_MEDIA=1`) a missing file fails the test instead of skipping it.
pub fn fetched(name: &str) -> Option<PathBuf> {
    let p = media_dir().join(name);
    if p.is_file() {
        return Some(p);
    }
    let msg = format!(
        "test media {} is missing: run `scripts/fetch-media.sh` (or `make test`, which does)",
        p.display()
    );
    if std::env::var_os("VERITY_REQUIRE_MEDIA").is_some_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("skipping: {msg}");
    None
}

/// Runs `ffmpeg -hide_banner -loglevel error -nostdin -y ARGS…` and checks that it succeeded.
pub fn ffmpeg<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .status()
        .map_err(|e| {
            anyhow::anyhow!("cannot run ffmpeg (install it with scripts/install-deps.sh): {e}")
        })?;
    anyhow::ensure!(
        status.success(),
        "ffmpeg {:?} failed",
        args.iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// Makes a clip with the ffmpeg CLI's lavfi sources. `video` is a lavfi graph such as
/// `testsrc2=s=320x240:r=30:d=2`; `audio` an optional one such as `sine=f=440:d=2`.
pub fn lavfi(
    dir: &Path,
    name: &str,
    video: &str,
    audio: Option<&str>,
    extra: &[&str],
) -> anyhow::Result<PathBuf> {
    let out = dir.join(name);
    let mut args = vec!["-f", "lavfi", "-i", video];
    if let Some(a) = audio {
        args.extend(["-f", "lavfi", "-i", a]);
    }
    args.extend([
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
    ]);
    if audio.is_some() {
        args.extend(["-c:a", "aac", "-shortest"]);
    }
    args.extend(extra);
    let out_str = out.to_string_lossy().into_owned();
    args.push(&out_str);
    ffmpeg(&args)?;
    Ok(out)
}

/// A 1-second 320x240 test clip with a sine tone: the clip most tests sign and check.
pub fn short_clip(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    lavfi(
        dir,
        name,
        "testsrc2=s=320x240:r=30:d=1",
        Some("sine=d=1"),
        &[],
    )
}

/// Everything measured about a file by decoding it fully.
#[derive(Debug)]
pub struct Decoded {
    pub frames: u64,
    pub last_time_s: f64,
    pub audio_samples: u64,
    pub sample_rate: u32,
}

pub fn decode_all(path: &Path) -> anyhow::Result<Decoded> {
    let mut r = Reader::open(
        path,
        ReaderOptions {
            format: PixelFormat::Gray8,
            audio: AudioMode::Decode,
            ..Default::default()
        },
    )?;
    let mut d = Decoded {
        frames: 0,
        last_time_s: 0.0,
        audio_samples: 0,
        sample_rate: r.info().audio.as_ref().map_or(0, |a| a.sample_rate),
    };
    while let Some(item) = r.next_item()? {
        match item {
            Item::Video(f) => {
                d.frames += 1;
                d.last_time_s = f.time_s();
            }
            Item::Audio(a) => d.audio_samples += a.frames() as u64,
            Item::AudioPacket(_) => {}
        }
    }
    Ok(d)
}

/// Mean luma PSNR of `b` against `a`, frame by frame in presentation order (MSE averaged over
/// all frames, as ffmpeg's psnr filter reports "average").
pub fn luma_psnr(a: &Path, b: &Path) -> anyhow::Result<f64> {
    let opts = ReaderOptions {
        format: PixelFormat::Gray8,
        ..Default::default()
    };
    let mut ra = Reader::open(a, opts)?;
    let mut rb = Reader::open(b, opts)?;
    let mut sum = 0.0;
    let mut n = 0u64;
    while let (Some(fa), Some(fb)) = (ra.next_frame()?, rb.next_frame()?) {
        let (ya, yb) = (
            fa.luma().ok_or_else(|| anyhow::anyhow!("no luma"))?,
            fb.luma().ok_or_else(|| anyhow::anyhow!("no luma"))?,
        );
        anyhow::ensure!(ya.dimensions() == yb.dimensions(), "frame sizes differ");
        let se: f64 = ya
            .as_raw()
            .iter()
            .zip(yb.as_raw())
            .map(|(x, y)| {
                let d = f64::from(*x) - f64::from(*y);
                d * d
            })
            .sum();
        sum += se / ya.as_raw().len() as f64;
        n += 1;
    }
    anyhow::ensure!(n > 0, "no frames to compare");
    let mse = (sum / n as f64).max(1e-10);
    Ok(10.0 * (255.0 * 255.0 / mse).log10())
}
