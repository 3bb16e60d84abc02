//! `verity transcode IN OUT`: a plain re-encode through verity-media.

use std::time::Instant;

use crate::args::{GlobalArgs, TranscodeArgs};
use crate::exit;
use crate::output;

pub fn run(args: &TranscodeArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let opts = verity_media::TranscodeOptions {
        crf: args.crf,
        preset: args.preset,
        audio: args.audio.into(),
        ..Default::default()
    };
    let bar = output::progress_bar(
        0,
        "{spinner} transcoding [{bar:40}] {pos}/{len} frames, {per_sec}, eta {eta}",
        global.quiet || args.json,
    );
    let started = Instant::now();
    let report = verity_media::transcode(&args.input, &args.output, &opts, |p| {
        if let Some(n) = p.frames_expected {
            bar.set_length(n.max(p.frames_done));
        }
        bar.set_position(p.frames_done);
    });
    bar.finish_and_clear();
    let report = report?;
    let elapsed = started.elapsed().as_secs_f64();

    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            report: &'a verity_media::TranscodeReport,
            partial: bool,
            elapsed_s: f64,
        }
        output::json(&Out {
            report: &report,
            partial: report.is_partial(),
            elapsed_s: elapsed,
        })?;
    } else {
        println!(
            "{} → {}: {} frames, {} in {elapsed:.1} s",
            args.input.display(),
            report.output.path.display(),
            report.output.video_frames,
            output::bytes(report.output.bytes),
        );
    }
    if let Some(why) = &report.damage {
        eprintln!(
            "warning: {}: the input is damaged; the output holds the {} frames that could be decoded: {why}",
            args.input.display(),
            report.output.video_frames
        );
        return Ok(exit::PARTIAL);
    }
    Ok(exit::OK)
}
