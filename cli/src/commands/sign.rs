//! `verity sign IN -o OUT`: decode → visible badge → spectral watermark → encode → C2PA
//! manifest (with `c2pa.watermarked` and the soft binding) → OUT, and the manifest into the
//! repository. `--no-visible`, `--no-watermark` and `--no-manifest` leave layers out.

use verity_provenance::marks::{MarkOptions, SpectralOptions, VisibleOptions};
use verity_provenance::stamp::{ManifestLayer, StampOptions, stamp_file};
use verity_provenance::{ManifestSpec, Origin};
use verity_signing::{KeyPaths, TrustStore};

use crate::args::{GlobalArgs, SignArgs};
use crate::commands::keys::signer;
use crate::exit;
use crate::home::Home;
use crate::marks;
use crate::output;

pub fn run(args: &SignArgs, home: &Home, global: &GlobalArgs) -> anyhow::Result<u8> {
    // Refuse a file that is not a readable video before touching any key.
    let info = verity_media::probe(&args.input)?;
    if args.no_visible && args.no_watermark && args.no_manifest {
        anyhow::bail!(
            "--no-visible, --no-watermark and --no-manifest together leave nothing to do"
        );
    }
    verity_media::check_crf(args.crf)?;
    let signer = if args.no_manifest {
        None
    } else {
        Some(signer(&args.keys, home)?)
    };
    let signer_name = signer
        .as_ref()
        .and_then(|s| {
            s.chain()
                .first()
                .and_then(|c| verity_signing::describe(c).ok())
        })
        .map(|c| c.subject)
        .unwrap_or_default();
    let issuer = args
        .badge
        .badge_text
        .clone()
        .unwrap_or_else(|| common_name(&signer_name).unwrap_or_else(|| "verity".into()));
    let visible = (!args.no_visible).then_some(VisibleOptions {
        text: issuer,
        opacity: args.badge.badge_opacity,
        size: args.badge.badge_size,
    });
    let spectral = if args.no_watermark {
        None
    } else {
        let mut s = SpectralOptions::new_asset(marks::signing_key(&args.marks, home)?)?;
        s.strength = args.strength;
        Some(s)
    };
    let key_origin = spectral.as_ref().map(|s| s.key.origin().to_string());
    let trust = TrustStore::from_home_dir(&KeyPaths::in_home(home.root()).trust_dir)?;
    let repository = if args.no_manifest || args.no_watermark {
        None
    } else {
        Some(marks::repository_for_sign(&args.marks, home)?)
    };
    let title = args.title.clone().unwrap_or_else(|| {
        args.output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into())
    });
    let manifest = signer.as_ref().map(|s| {
        (
            ManifestSpec::new(
                title,
                Origin::Existing {
                    source: args.input.clone(),
                },
            ),
            ManifestLayer {
                signer: s,
                trust: &trust,
                repository: repository.as_ref(),
            },
        )
    });
    let opts = StampOptions {
        marks: MarkOptions { visible, spectral },
        manifest,
        crf: args.crf,
        preset: args.preset,
    };
    let expected = info.video.frames.or_else(|| {
        info.video
            .duration_s
            .map(|d| (d * info.video.fps).round() as u64)
    });
    let bar = output::progress_bar(
        expected.unwrap_or(0),
        "stamping [{bar:40}] {pos}/{len} frames, eta {eta}",
        global.quiet || args.json,
    );
    let report = stamp_file(&args.input, &args.output, &opts, |p| {
        bar.set_position(p.frames_done)
    });
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            input: String,
            output: String,
            signer: Option<&'a str>,
            layers: Vec<&'static str>,
            payload: Option<String>,
            /// "fine" or "coarse": the size of the mark's cells, chosen from the first frame with content.
            mark_geometry: Option<&'static str>,
            /// The share of its strength the mark was added at (below 1 to keep SSIM 0.99).
            mark_gain: Option<f32>,
            watermark_key: Option<&'a str>,
            manifest_bytes: Option<usize>,
            repository: Option<String>,
            frames: u64,
            duration_s: Option<f64>,
            damage: Option<&'a str>,
            warnings: &'a [String],
        }
        let mut layers = Vec::new();
        if report.visible_mark {
            layers.push("visible_mark");
        }
        if report.payload.is_some() {
            layers.push("watermark");
        }
        if report.manifest_bytes.is_some() {
            layers.push("c2pa");
        }
        output::json(&Out {
            input: args.input.display().to_string(),
            output: report.output.display().to_string(),
            signer: signer.as_ref().map(|_| signer_name.as_str()),
            layers,
            payload: report.payload.map(|p| p.to_hex()),
            mark_geometry: report.mark_shape.map(|(g, _)| g.name()),
            mark_gain: report.mark_shape.map(|(_, k)| k),
            watermark_key: key_origin.as_deref(),
            manifest_bytes: report.manifest_bytes,
            repository: report.repository.as_ref().map(|p| p.display().to_string()),
            frames: report.frames,
            duration_s: info.duration_s,
            damage: report.damage.as_deref(),
            warnings: &report.warnings,
        })?;
    } else {
        println!("{} → {}", args.input.display(), report.output.display());
        if report.visible_mark {
            println!("  visible badge  on");
        }
        if let Some(p) = report.payload {
            println!(
                "  watermark      payload {} (issuer {:05x}, asset {:010x}; {} key)",
                p.to_hex(),
                p.issuer,
                p.asset,
                key_origin.as_deref().unwrap_or("?")
            );
            if let Some((g, k)) = report.mark_shape {
                println!(
                    "                 {} cells, at {:.0}% of the strength",
                    g.name(),
                    100.0 * k
                );
            }
        }
        if let Some(n) = report.manifest_bytes {
            println!(
                "  C2PA manifest  signed by {signer_name} ({})",
                output::bytes(n as u64)
            );
        }
        if let Some(r) = &report.repository {
            println!("  repository     {}", r.display());
        }
        if let Some(d) = &report.damage {
            eprintln!("warning: the input is damaged ({d}); only what decoded was stamped");
        }
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

/// The CN of an RFC 4514-like subject string.
pub fn common_name(subject: &str) -> Option<String> {
    subject
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_string)
}
