//! `verity generate PROMPT -o OUT.mp4`: the bundled model, stamped through the sign path.

use verity_generate::pipeline::{GenerateOptions, generate, load_bundled_model, load_model};
use verity_signing::{KeyPaths, TrustStore};

use crate::args::{GenerateArgs, GlobalArgs};
use crate::commands::{keys::signer, train::device};
use crate::exit;
use crate::home::Home;
use crate::marks;
use crate::output;
use verity_generate::pipeline::Stamping;
use verity_provenance::marks::{MarkOptions, SpectralOptions, VisibleOptions};

/// Where the bundled generator lives, relative to the working directory.
const BUNDLED_MODEL_DIR: &str = "models/generator";

pub fn run(args: &GenerateArgs, home: &Home, global: &GlobalArgs) -> anyhow::Result<u8> {
    verity_generate::memory::keep_freed_memory();
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
    let signer_name = signer
        .chain()
        .first()
        .and_then(|c| verity_signing::describe(c).ok())
        .map(|c| c.subject)
        .unwrap_or_default();
    let visible = (!args.no_visible).then(|| VisibleOptions {
        text: args.badge.badge_text.clone().unwrap_or_else(|| {
            crate::commands::sign::common_name(&signer_name).unwrap_or_else(|| "verity".into())
        }),
        opacity: args.badge.badge_opacity,
        size: args.badge.badge_size,
    });
    let spectral = if args.no_watermark {
        None
    } else {
        Some(SpectralOptions::new_asset(marks::signing_key(
            &args.marks,
            home,
        )?)?)
    };
    let repository = if args.no_watermark {
        None
    } else {
        Some(marks::repository_for_sign(&args.marks, home)?)
    };
    let mark_opts = MarkOptions { visible, spectral };
    // A size too small for the marks is refused before the model loads.
    verity_provenance::marks::Stamper::new(&mark_opts, opts.width, opts.height)?;
    let dev = device()?;
    let model = match &args.model {
        Some(dir) => load_model(dir, &dev)?,
        None => load_bundled_model(std::path::Path::new(BUNDLED_MODEL_DIR), &dev)?,
    };

    let bar = output::progress_bar(
        0,
        "{msg:>9} [{bar:40}] {pos}/{len}",
        global.quiet || args.json,
    );
    let report = generate(
        &model,
        &args.prompt,
        &args.output,
        &opts,
        &Stamping {
            marks: &mark_opts,
            signer: &signer,
            trust: &trust,
            repository: repository.as_ref(),
        },
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
