//! `verity sign IN -o OUT`: the badge, the spectral watermark and a C2PA manifest on any video,
//! and the manifest into the repository. Parse → resolve → `stamp_file` → print.

use verity_provenance::marks::Payload;
use verity_provenance::stamp::stamp_file;
use verity_provenance::{StampPlan, StampRequest};

use crate::args::{GlobalArgs, SignArgs};
use crate::exit;
use crate::output;
use verity_provenance::Home;

pub fn run(args: &SignArgs, home: &Home, global: &GlobalArgs) -> anyhow::Result<u8> {
    // Refuse a file that is not a readable video before touching any key.
    let info = verity_media::probe(&args.input)?;
    if args.no_visible && args.no_watermark && args.no_manifest {
        anyhow::bail!(
            "--no-visible, --no-watermark and --no-manifest together leave nothing to do"
        );
    }
    verity_media::check_crf(args.crf)?;
    let plan = StampPlan::resolve(
        home,
        &StampRequest {
            visible: !args.no_visible,
            watermark: !args.no_watermark,
            manifest: !args.no_manifest,
            badge: args.badge.style(),
            strength: args.strength,
            identity: args.keys.identity(),
            watermark_key: args.marks.watermark_key.clone(),
            repository: args.marks.repository.clone(),
        },
    )?;
    let opts = plan.for_file(
        &args.input,
        &args.output,
        args.title.as_deref(),
        args.crf,
        args.preset,
    );
    let bar = output::progress_bar(
        info.expected_frames().unwrap_or(0),
        "stamping [{bar:40}] {pos}/{len} frames, eta {eta}",
        global.quiet || args.json,
    );
    let stamp = stamp_file(&args.input, &args.output, &opts, |p| {
        bar.set_position(p.frames_done)
    });
    bar.finish_and_clear();
    let report = plan.sign_report(&args.input, &stamp?);
    if args.json {
        output::json(&report)?;
    } else {
        print_human(&report);
    }
    // Warnings go to stderr in either mode: a script reading --json still sees them in the
    // report, and a person sees them whatever the format.
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(if report.damage.is_some() {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

fn print_human(r: &verity_provenance::SignReport) {
    println!("{} → {}", r.input, r.output);
    if r.layers.contains(&"visible_mark") {
        println!("  visible badge  on");
    }
    if let Some(p) = r.payload.as_deref().and_then(Payload::from_hex) {
        println!(
            "  watermark      payload {} (issuer {:05x}, asset {:010x}; {} key)",
            p.to_hex(),
            p.issuer,
            p.asset,
            r.watermark_key.as_deref().unwrap_or("?")
        );
        if let (Some(g), Some(k)) = (r.mark_geometry, r.mark_gain) {
            println!(
                "                 {g} cells, at {:.0}% of the strength",
                100.0 * k
            );
        }
    }
    if let Some(n) = r.manifest_bytes {
        println!(
            "  C2PA manifest  signed by {} ({})",
            r.signer.as_deref().unwrap_or("?"),
            output::bytes(n as u64)
        );
    }
    if let Some(repo) = &r.repository {
        println!("  repository     {repo}");
    }
    if let Some(d) = &r.damage {
        eprintln!("warning: the input is damaged ({d}); only what decoded was stamped");
    }
}
