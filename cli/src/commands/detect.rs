//! `verity detect FILE`: the synthetic-video classifier alone. Parse → resolve the classifier →
//! score → print.

use verity_detect::classifier::score::{ClassifierSection, ClassifierStatus};

use crate::args::DetectArgs;
use crate::exit;
use crate::output;

pub fn run(args: &DetectArgs) -> anyhow::Result<u8> {
    let detector = verity_detect::classifier::resolve(args.detector.as_deref())?;
    let section = detector.score_file(&args.file)?;
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
                println!(
                    "  threshold {:.2}: flags {:.1} % of the {} non-AI validation clips it was chosen on (at most {:.1} % at 95 % confidence there)",
                    op.threshold,
                    100.0 * op.measured_fpr,
                    op.negatives,
                    100.0 * op.fpr_upper_95
                );
            }
            for s in &c.segments {
                println!("  {:>7.2}–{:<7.2} s  {:.2}", s.start_s, s.end_s, s.score);
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
