//! `verity sign IN -o OUT`: embed a signed C2PA manifest. (The visible and invisible marks join
//! this command with the marks issue.)

use verity_provenance::{ManifestSpec, Origin};
use verity_signing::{KeyPaths, TrustStore};

use crate::args::SignArgs;
use crate::commands::keys::signer;
use crate::exit;
use crate::home::Home;
use crate::output;

pub fn run(args: &SignArgs, home: &Home) -> anyhow::Result<u8> {
    // Refuse a file that is not a readable video before touching any key.
    let info = verity_media::probe(&args.input)?;
    let signer = signer(&args.keys, home)?;
    let trust = TrustStore::from_home_dir(&KeyPaths::in_home(home.root()).trust_dir)?;
    let title = args.title.clone().unwrap_or_else(|| {
        args.output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into())
    });
    let spec = ManifestSpec::new(
        title,
        Origin::Existing {
            source: args.input.clone(),
        },
    );
    let outcome = verity_provenance::sign_file(&args.input, &args.output, &spec, &signer, &trust)?;
    let subject = signer
        .chain()
        .first()
        .and_then(|c| verity_signing::describe(c).ok())
        .map(|c| c.subject)
        .unwrap_or_default();
    if args.json {
        #[derive(serde::Serialize)]
        struct Out {
            input: String,
            output: String,
            signer: String,
            manifest_bytes: usize,
            duration_s: Option<f64>,
        }
        output::json(&Out {
            input: args.input.display().to_string(),
            output: outcome.output.display().to_string(),
            signer: subject,
            manifest_bytes: outcome.manifest.len(),
            duration_s: info.duration_s,
        })?;
    } else {
        println!(
            "{} → {}: signed by {subject} ({} manifest)",
            args.input.display(),
            outcome.output.display(),
            output::bytes(outcome.manifest.len() as u64)
        );
    }
    Ok(exit::OK)
}
