//! `verity generate PROMPT -o OUT.mp4`: the bundled model (built into the binary) or `--model`,
//! stamped through the same core as `sign`. Parse → resolve → `generate` → print.

use verity_generate::pipeline::{GenerateOptions, generate, load_bundled_model, load_model};
use verity_provenance::{Home, StampPlan, StampRequest};

use crate::args::{GenerateArgs, GlobalArgs};
use crate::commands::train::device;
use crate::exit;
use crate::output;

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
    // Everything that can be refused is checked before the slow work: options, prompt, keys,
    // marks, model.
    opts.validate()?;
    verity_generate::parse(&args.prompt)?;
    verity_provenance::manifest::mime_for(&args.output)?;
    let plan = StampPlan::resolve(
        home,
        &StampRequest {
            visible: !args.no_visible,
            watermark: !args.no_watermark,
            manifest: true,
            badge: args.badge.style(),
            identity: args.keys.identity(),
            watermark_key: args.marks.watermark_key.clone(),
            repository: args.marks.repository.clone(),
            ..StampRequest::default()
        },
    )?;
    let layer = plan
        .layer()
        .ok_or_else(|| anyhow::anyhow!("a generated clip is always signed"))?;
    // A size too small for the marks is refused before the model loads.
    verity_provenance::marks::Stamper::new(&plan.marks, opts.width, opts.height)?;
    let dev = device()?;
    let model = match &args.model {
        Some(dir) => load_model(dir, &dev)?,
        None => load_bundled_model(&dev)?,
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
        &plan.marks,
        layer,
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
            report.stamp.output.display(),
            report.stamp.frames,
            opts.width,
            opts.height,
            opts.fps,
            report.generation.canonical_prompt,
            opts.seed
        );
    }
    Ok(exit::OK)
}
