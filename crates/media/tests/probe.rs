//! Stream information read from the headers.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;

use common::lavfi;

#[test]
fn stream_info_of_a_lavfi_clip() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = lavfi(
        dir.path(),
        "p.mp4",
        "testsrc2=s=320x240:r=30000/1001:d=2",
        Some("sine=d=2:r=48000"),
        &[],
    )?;
    let info = verity_media::probe(&src)?;
    assert_eq!(info.container, "mov,mp4,m4a,3gp,3g2,mj2");
    assert_eq!((info.video.width, info.video.height), (320, 240));
    assert_eq!(
        info.video.frame_rate,
        verity_media::Rational::new(30000, 1001)
    );
    assert_eq!(info.video.codec, "h264");
    assert_eq!(info.video.pixel_format, "yuv420p");
    assert_eq!(info.video.rotation_deg, 0.0);
    assert!(info.video.bit_rate.is_some_and(|b| b > 0));
    let a = info
        .audio
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no audio"))?;
    assert_eq!(
        (a.codec.as_str(), a.sample_rate, a.channels),
        ("aac", 48000, 1)
    );
    assert_eq!(a.layout, "mono");
    assert_eq!(info.streams.len(), 2);
    assert!(info.size_bytes > 0);
    Ok(())
}

/// The raw `av_display_rotation_get` value (counter-clockwise degrees) as ffprobe prints it,
/// read independently of verity's own code.
fn ffprobe_raw_rotation(path: &std::path::Path) -> anyhow::Result<f64> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream_side_data=rotation",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().trim_end_matches(',').parse()?)
}

#[test]
fn rotation_from_the_display_matrix() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let plain = lavfi(
        dir.path(),
        "plain.mp4",
        "testsrc2=s=320x240:r=25:d=1",
        None,
        &[],
    )?;
    assert_eq!(verity_media::probe(&plain)?.video.rotation_deg, 0.0);
    for tag in ["90", "270"] {
        // On a stream copy, the mov muxer turns the `rotate` tag into the display matrix.
        let rotated = dir.path().join(format!("r{tag}.mp4"));
        let tag_arg = format!("rotate={tag}");
        common::ffmpeg(&[
            "-i".as_ref(),
            plain.as_os_str(),
            "-c".as_ref(),
            "copy".as_ref(),
            "-metadata:s:v:0".as_ref(),
            tag_arg.as_ref(),
            rotated.as_os_str(),
        ])?;
        let raw = ffprobe_raw_rotation(&rotated)?;
        let ours = verity_media::probe(&rotated)?.video.rotation_deg;
        // verity reports the clockwise angle a player applies, as FFmpeg's players do:
        // theta = -av_display_rotation_get(matrix), in [0, 360).
        assert!(raw.abs() > 1.0, "ffprobe saw no rotation for rotate={tag}");
        assert!(ours > 0.0 && ours < 360.0, "rotate={tag}: {ours}");
        assert_eq!(
            (ours + raw).rem_euclid(360.0),
            0.0,
            "rotate={tag}: ours {ours}, raw {raw}"
        );
    }
    Ok(())
}
