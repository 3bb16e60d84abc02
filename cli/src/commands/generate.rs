//! `verity generate PROMPT -o OUT.mp4`: the bundled model, stamped through the sign path.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use verity_generate::pipeline::{GenerateOptions, generate, load_model};
use verity_signing::{KeyPaths, TrustStore};

use crate::args::{GenerateArgs, GlobalArgs};
use crate::commands::{keys::signer, train::device};
use crate::exit;
use crate::home::Home;
use crate::output;

pub fn run(args: &GenerateArgs, home: &Home, global: &GlobalArgs) -> anyhow::Result<u8> {
    let opts = GenerateOptions {
        seed: args.seed,
        steps: args.steps,
        guidance: args.guidance,
        duration_s: args.duration,
        fps: args.fps,
        width: args.size.0,
        height: args.size.1,
        ..Default::default()
    };
    // Everything that can be refused is checked before the slow work: options, prompt, keys, model.
    opts.validate()?;
    verity_generate::parse(&args.prompt)?;
    verity_provenance::manifest::mime_for(&args.output)?;
    let signer = signer(&args.keys, home)?;
    let trust = TrustStore::from_home_dir(&KeyPaths::in_home(home.root()).trust_dir)?;
    let dev = device()?;
    let model = load_model(&args.model, &dev)?;

    let bar = ProgressBar::new(0);
    if global.quiet || args.json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = generate(
        &model,
        &args.prompt,
        &args.output,
        &opts,
        &signer,
        &trust,
        &dev,
        |stage, i, n| {
            bar.set_message(stage.to_string());
            bar.set_length(n as u64);
            bar.set_position(i as u64);
        },
    );
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        output::json(&report)?;
    } else {
        println!(
            "{}: {} frames at {}x{}, {} fps; signed, AI-generated (\"{}\", seed {})",
            report.output.display(),
            report.frames,
            opts.width,
            opts.height,
            opts.fps,
            report.generation.canonical_prompt,
            opts.seed
        );
    }
    Ok(exit::OK)
}
