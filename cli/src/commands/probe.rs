//! `verity probe FILE`: stream information.

use crate::args::ProbeArgs;
use crate::exit;
use crate::output;

pub fn run(args: &ProbeArgs) -> anyhow::Result<u8> {
    let info = verity_media::probe(&args.file)?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            file: String,
            #[serde(flatten)]
            info: &'a verity_media::StreamInfo,
        }
        output::json(&Out {
            file: args.file.display().to_string(),
            info: &info,
        })?;
        return Ok(probe_exit(&info));
    }
    let v = &info.video;
    println!(
        "{}: {}, {}, {}, {}",
        args.file.display(),
        info.container,
        output::seconds(info.duration_s),
        output::bytes(info.size_bytes),
        output::bit_rate(info.bit_rate)
    );
    println!(
        "  video #{}: {} {}x{}, {}, {} frames, {} {}/{}, rotation {}°, {}",
        v.index,
        v.codec,
        v.width,
        v.height,
        if v.fps > 0.0 {
            format!("{:.3} fps ({})", v.fps, v.frame_rate)
        } else {
            "frame rate unknown (no frames)".to_string()
        },
        v.frames.map_or_else(|| "?".to_string(), |n| n.to_string()),
        v.pixel_format,
        v.color.matrix.as_str(),
        v.color.range.as_str(),
        v.rotation_deg,
        output::bit_rate(v.bit_rate)
    );
    if let Some(a) = &info.audio {
        println!(
            "  audio #{}: {} {} Hz {} ({} channels), {}",
            a.index,
            a.codec,
            a.sample_rate,
            a.layout,
            a.channels,
            output::bit_rate(a.bit_rate)
        );
    }
    for s in info
        .streams
        .iter()
        .filter(|s| s.index != v.index && Some(s.index) != info.audio.as_ref().map(|a| a.index))
    {
        println!("  other #{}: {} {}", s.index, s.kind, s.codec);
    }
    Ok(probe_exit(&info))
}

/// 0 for a whole file; 3 (partial) when the file is damaged, with the reason on stderr: what
/// was listed may be incomplete.
fn probe_exit(info: &verity_media::StreamInfo) -> u8 {
    match &info.damage {
        Some(why) => {
            eprintln!("warning: the file is damaged, so this may be incomplete: {why}");
            exit::PARTIAL
        }
        None => exit::OK,
    }
}
