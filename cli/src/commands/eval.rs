//! `verity eval generator`: prompt adherence of the bundled generator.

use verity_generate::denoise::{LevelError, denoising_error};
use verity_generate::eval::{EvalOptions, Summary, evaluate, table, write_contact_sheet};
use verity_generate::pipeline::load_model;

use crate::args::{EvalCommand, EvalDetectorArgs, GlobalArgs};
use crate::commands::train::device;
use crate::exit;
use crate::output;

/// The card's block for `eval generator` and `eval detector`.
const BLOCK: &str = "eval";
/// The card's block for `eval detector --test-data`.
const FRESH_BLOCK: &str = "eval-fresh";
/// Prompts shown by `--sheet`.
const SHEET_CLIPS: usize = 8;
/// Each pixel of the 32x32 clips becomes a block this wide on the sheet.
const SHEET_SCALE: u32 = 3;

pub fn run(cmd: &EvalCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    let a = match cmd {
        EvalCommand::Generator(a) => a,
        EvalCommand::Detector(a) => return detector(a, global),
    };
    if a.prompts == 0 || a.steps == 0 {
        anyhow::bail!("--prompts and --steps must be at least 1");
    }
    if let Some(g) = a
        .guidance
        .filter(|g| !verity_generate::sample::guidance_ok(*g))
    {
        anyhow::bail!("--guidance must be from 0 to 20, not {g}");
    }
    verity_generate::memory::keep_freed_memory();
    let dev = device()?;
    let loaded = load_model(&a.model, &dev)?;
    let guidance = a.guidance.unwrap_or(loaded.config().guidance);
    let opts = EvalOptions {
        prompts: a.prompts,
        steps: a.steps,
        guidance: Some(guidance),
        seed: a.seed,
    };
    let bar = output::progress_bar(
        a.prompts as u64,
        "scoring [{bar:40}] {pos}/{len} prompts, eta {eta}",
        global.quiet || a.json,
    );
    let keep = if a.sheet.is_some() { SHEET_CLIPS } else { 0 };
    let evaluated = evaluate(&loaded.model, &opts, keep, &dev, |i, _| {
        bar.set_position(i as u64)
    });
    bar.finish_and_clear();
    let evaluated = evaluated?;
    let (ours, truth) = (&evaluated.ours, &evaluated.truth);
    let denoising: Vec<LevelError> = if a.denoise_clips > 0 {
        if !(global.quiet || a.json) {
            eprintln!(
                "measuring the denoising error on {} clips…",
                a.denoise_clips
            );
        }
        denoising_error(&loaded.model, a.denoise_clips, a.seed, &dev)?
    } else {
        Vec::new()
    };
    let mut t = table(&evaluated);
    if !denoising.is_empty() {
        t = format!(
            "{t}\n\nDenoising error on {} training clips (`verity_generate::denoise`):\n\n{}",
            a.denoise_clips,
            verity_generate::denoise::table(&denoising)
        );
    }
    if let Some(path) = &a.sheet {
        write_contact_sheet(path, &evaluated.frames, SHEET_SCALE)?;
        eprintln!("wrote the contact sheet to {}", path.display());
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            model: &'a str,
            weights_sha256: &'a str,
            steps: usize,
            guidance: f32,
            seed: u64,
            summary: Summary,
            renderer: Summary,
            /// The renderer's clips with the asked object in the nearest other colour.
            decoys: Summary,
            /// The renderer's clips with the asked object in another shape.
            shape_decoys: Summary,
            denoising: &'a [LevelError],
            clips: &'a [verity_generate::eval::ClipScore],
        }
        output::json(&Out {
            model: &loaded.name,
            weights_sha256: &loaded.weights_sha256,
            steps: a.steps,
            guidance,
            seed: a.seed,
            summary: Summary::of(ours),
            renderer: Summary::of(truth),
            decoys: Summary::of(&evaluated.decoys),
            shape_decoys: Summary::of(&evaluated.shape_decoys),
            denoising: &denoising,
            clips: ours,
        })?;
    } else {
        println!("{t}");
    }
    if let Some(card) = &a.card {
        let block = format!(
            "`verity eval generator --prompts {} --steps {} --guidance {} --seed {} --denoise-clips {}` on weights `{}`:\n\n{t}",
            a.prompts,
            a.steps,
            guidance,
            a.seed,
            a.denoise_clips,
            &loaded.weights_sha256[..16.min(loaded.weights_sha256.len())]
        );
        write_into_card(card, BLOCK, &block)?;
        eprintln!("wrote the table into {}", card.display());
    }
    Ok(exit::OK)
}

/// Replaces the text between the card's `<!-- NAME:start -->` and `<!-- NAME:end -->` markers
/// with `block` (or appends it with them).
fn write_into_card(card: &std::path::Path, name: &str, block: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(card).map_err(|e| anyhow::anyhow!("{}: {e}", card.display()))?;
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let block = format!("{start}\n{block}\n{end}");
    let new = match (text.find(&start), text.find(&end)) {
        (Some(s), Some(e)) if e > s => format!("{}{block}{}", &text[..s], &text[e + end.len()..]),
        _ => format!("{}\n{block}\n", text.trim_end()),
    };
    verity_fs::write_whole(card, new.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", card.display()))
}

/// `verity eval detector`.
fn detector(a: &EvalDetectorArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    use verity_detect::classifier::eval::{EvalOptions, evaluate};
    if a.bootstrap == 0 {
        anyhow::bail!("--bootstrap must be at least 1");
    }
    let det = verity_detect::classifier::resolve(a.detector.as_deref())?;
    let opts = EvalOptions {
        data: a.data.clone(),
        bootstrap: a.bootstrap,
        seed: a.seed,
        attacks_dir: a.attacks.clone(),
        held_out: a.held_out.clone(),
        seed_runs: a.seed_run.clone(),
        test_data: a.test_data.clone(),
    };
    let bar = output::progress_bar(0, "{msg} [{bar:40}] {pos}/{len}", global.quiet);
    let report = evaluate(&det, &opts, |stage, done, total| {
        bar.set_message(stage.to_string());
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    if a.record
        && let (Some(dir), Some(fresh)) = (&a.detector, &a.test_data)
    {
        let split = verity_detect::classifier::data::Index::load(fresh)?.fingerprint();
        let unseen = report
            .unseen(split)
            .ok_or_else(|| anyhow::anyhow!("--record needs a fresh test split"))?;
        let op = det.record_unseen(dir, unseen)?;
        eprintln!(
            "recorded in {}: {}",
            dir.join(verity_detect::classifier::score::DETECTOR_CONFIG)
                .display(),
            op.describe()
        );
    }
    let t = report.table();
    if a.json {
        output::json(&report)?;
    } else {
        println!("{t}");
    }
    if let Some(card) = &a.card {
        let block = format!(
            "`verity eval detector --data {}{} --bootstrap {} --seed {}{}{}{}{}`:\n\n{t}",
            a.data.display(),
            a.test_data
                .as_ref()
                .map_or(String::new(), |d| format!(" --test-data {}", d.display())),
            a.bootstrap,
            a.seed,
            a.detector
                .as_ref()
                .map_or(String::new(), |d| format!(" --detector {}", d.display())),
            a.attacks
                .as_ref()
                .map_or(String::new(), |d| format!(" --attacks {}", d.display())),
            a.held_out
                .iter()
                .map(|(f, d)| format!(" --held-out {f}={}", d.display()))
                .collect::<String>(),
            a.seed_run
                .iter()
                .map(|d| format!(" --seed-run {}", d.display()))
                .collect::<String>()
        );
        let name = match (&a.block, &a.test_data) {
            (Some(b), _) => b.as_str(),
            (None, Some(_)) => FRESH_BLOCK,
            (None, None) => BLOCK,
        };
        write_into_card(card, name, &block)?;
        eprintln!("wrote the tables into {}", card.display());
    }
    Ok(exit::OK)
}
