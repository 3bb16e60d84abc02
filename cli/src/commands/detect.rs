//! `verity detect FILE`: the synthetic-video classifier alone. Parse → resolve the classifier →
//! score → print.

use verity_detect::classifier::score::{ClassifierSection, ClassifierStatus, MAX_FRAMES, Unscored};

use crate::args::DetectArgs;
use crate::exit;
use crate::output;

pub fn run(args: &DetectArgs) -> anyhow::Result<u8> {
    let detector = verity_detect::classifier::resolve(args.detector.as_deref())?;
    let section = detector.score_file(&args.file, args.classifier_read.into())?;
    if args.json {
        output::json(&section)?;
    } else {
        print_human(&args.file, &section);
    }
    Ok(match (section.status, section.above_threshold) {
        (ClassifierStatus::Scored, Some(true)) => exit::LIKELY_SYNTHETIC,
        (ClassifierStatus::Scored, _) => exit::OK,
        _ => exit::NOT_CHECKED,
    })
}

fn print_human(file: &std::path::Path, c: &ClassifierSection) {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match (c.synthetic_probability, c.above_threshold) {
        (Some(p), Some(above)) => {
            println!(
                "{name}: {} (synthetic probability {p:.2})",
                if above {
                    "likely synthetic"
                } else {
                    "not flagged"
                }
            );
            if let Some(op) = &c.operating_point {
                println!("  {}", op.describe());
            }
            // Scored segments and unscored stretches, in the file's order.
            let mut rows: Vec<(f64, f64, String)> = c
                .segments
                .iter()
                .map(|s| (s.start_s, s.end_s, format!("{:.2}", s.score)))
                .chain(c.unscored.iter().map(|s| {
                    let why = s.why.describe();
                    (s.start_s, s.end_s, format!("not scored ({why})"))
                }))
                .collect();
            rows.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (start, end, what) in rows {
                println!("  {start:>7.2}–{end:<7.2} s  {what}");
            }
            if c.unscored
                .iter()
                .any(|s| s.why == Unscored::FarFromKeyFrames)
            {
                println!(
                    "  (read at the file's key frames; --classifier-read whole reaches every stretch of the first {MAX_FRAMES} frames, decoding them all)"
                );
            }
            println!(
                "  model {}; {} frame triples scored",
                c.model, c.frames_scored
            );
        }
        _ => println!(
            "{name}: not scored ({})",
            c.reason.as_deref().unwrap_or("no reason given")
        ),
    }
}
