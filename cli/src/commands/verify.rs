//! `verity verify FILE`: the report and verdict, with exit codes scripts can branch on.
//! Parse → resolve → `verify` → print.

use std::sync::Arc;

use verity_detect::{Report, VerdictLabel, VerifyRequest};
use verity_provenance::Home;
use verity_provenance::repository::{ManifestStore, Stores};
use verity_service::resolver::RemoteResolver;

use crate::args::VerifyArgs;
use crate::exit;
use crate::output;

pub fn run(args: &VerifyArgs, home: &Home) -> anyhow::Result<u8> {
    let mut opts = VerifyRequest {
        trust: args.trust.clone(),
        allow: args.allow.clone(),
        watermark_key: args.marks.watermark_key.clone(),
        repository: args.marks.repository.clone(),
        skip_marks: args.no_marks,
        fragments: fragments(&args.fragments)?,
        manifest_store: args.manifest.clone(),
        search_rotation: args.search_rotation,
        skip_classifier: args.classifier.no_classifier,
        detector: args.classifier.detector.clone(),
        classifier_read: args.classifier.classifier_read.into(),
        threads: 0,
    }
    .resolve(home)?;
    if let Some(url) = &args.resolver {
        // The local repository first, then the remote resolver.
        let remote: Arc<dyn ManifestStore> = Arc::new(
            RemoteResolver::new(url, args.resolver_token.clone())
                .map_err(|e| anyhow::anyhow!("--resolver {url}: {e}"))?,
        );
        opts.repository = Some(match opts.repository.take() {
            Some(local) => Arc::new(Stores(vec![local, remote])),
            None => remote,
        });
    }
    let report = verity_detect::verify(&args.file, &opts)?;
    if args.json {
        output::json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(match report.verdict.label {
        VerdictLabel::AiGeneratedSigned
        | VerdictLabel::ContainsAiSigned
        | VerdictLabel::SignedOtherOrigin
        | VerdictLabel::WatermarkedRecovered => exit::OK,
        VerdictLabel::Tampered | VerdictLabel::InvalidCredentials => exit::INVALID,
        VerdictLabel::NoEvidence
        | VerdictLabel::WatermarkedNoManifest
        | VerdictLabel::LikelySynthetic => exit::NO_CREDENTIALS,
        VerdictLabel::RemoteCredentials | VerdictLabel::FragmentsNeeded => exit::NOT_CHECKED,
    })
}

/// The fragment files the patterns name, each pattern's matches sorted by name. A pattern that
/// matches nothing is an error: a missing fragment would make the hash fail for no reason.
fn fragments(patterns: &[String]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for p in patterns {
        let mut found: Vec<std::path::PathBuf> = glob::glob(p)
            .map_err(|e| anyhow::anyhow!("--fragments {p}: not a valid pattern ({e})"))?
            .filter_map(Result::ok)
            .filter(|f| f.is_file())
            .collect();
        if found.is_empty() {
            anyhow::bail!("--fragments {p}: no such file");
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn print_human(r: &Report) {
    println!("{}: {}", r.file.name, r.verdict.label.as_str());
    println!("  {}", r.verdict.summary);
    for e in &r.verdict.evidence {
        println!("  - {e}");
    }
    let c = &r.c2pa.manifest;
    println!(
        "  c2pa: {}{}{}",
        serde_json::to_value(c.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        r.c2pa
            .recovered_via
            .as_deref()
            .map(|v| format!(" (recovered via {v})"))
            .unwrap_or_default(),
        c.claim_generator
            .as_deref()
            .map(|g| format!(", made with {g}"))
            .unwrap_or_default()
    );
    if !c.actions.is_empty() {
        let acts: Vec<&str> = c.actions.iter().map(|a| a.action.as_str()).collect();
        println!("  actions: {}", acts.join(", "));
    }
    for i in &c.ingredients {
        println!(
            "  ingredient: {} ({}{})",
            i.title.as_deref().unwrap_or("untitled"),
            i.relationship,
            if i.has_manifest {
                ", with its own manifest"
            } else {
                ""
            }
        );
    }
    println!(
        "  file: {}x{} {:.3} fps, {}, sha256 {}",
        r.file.width,
        r.file.height,
        r.file.fps,
        output::seconds(r.file.duration_s),
        &r.file.sha256[..16.min(r.file.sha256.len())]
    );
}
