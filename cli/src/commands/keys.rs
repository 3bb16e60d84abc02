//! `verity keys init` and `verity keys show`.

use verity_provenance::{Home, Identity};
use verity_signing::InitOptions;

use crate::args::{KeyArgs, KeysCommand};
use crate::exit;
use crate::output;

pub fn run(cmd: &KeysCommand, home: &Home) -> anyhow::Result<u8> {
    match cmd {
        KeysCommand::Init(a) => {
            let report = verity_signing::init_keys(
                home.root(),
                &InitOptions {
                    org: a.org.clone(),
                    alg: a.alg,
                    force: a.force,
                },
            )?;
            let (mark_path, mark_key, made) = home.init_watermark_key(a.force)?;
            if a.json {
                #[derive(serde::Serialize)]
                struct Out<'a, T: serde::Serialize> {
                    #[serde(flatten)]
                    certificates: &'a T,
                    watermark_key: String,
                    watermark_issuer: String,
                }
                output::json(&Out {
                    certificates: &report,
                    watermark_key: mark_path.display().to_string(),
                    watermark_issuer: format!("{:05x}", mark_key.issuer_id()),
                })?;
            } else {
                println!(
                    "made a {} root CA and a signing certificate for `{}`",
                    a.alg, a.org
                );
                println!(
                    "  signing key    {} (mode 0600)",
                    report.signer_key.display()
                );
                println!("  chain          {}", report.chain.display());
                println!(
                    "  CA key         {} (mode 0600; keep it offline if you can)",
                    report.ca_key.display()
                );
                println!("  trust anchor   {}", report.trust_anchor.display());
                println!("  signer sha256  {}", report.signer.sha256);
                println!(
                    "  watermark key  {} (mode 0600; issuer id {:05x}{})",
                    mark_path.display(),
                    mark_key.issuer_id(),
                    if made { "" } else { ", kept from before" }
                );
                println!(
                    "clips you sign now verify as trusted here; give the trust anchor to others who should trust them"
                );
            }
            Ok(exit::OK)
        }
        KeysCommand::Show(a) => show(&a.keys, a.json, home),
    }
}

/// Loads the identity the flags name (else the home's): proves the key matches its chain.
fn signer(keys: &KeyArgs, home: &Home) -> anyhow::Result<verity_signing::RingSigner> {
    Ok(match keys.identity() {
        Identity::Files { key, chain } => verity_signing::load_signer(&key, &chain)?,
        Identity::Home => home.signer()?,
    })
}

fn show(keys: &KeyArgs, json: bool, home: &Home) -> anyhow::Result<u8> {
    let chain_path = keys.chain.clone().unwrap_or_else(|| home.keys().chain());
    let chain = verity_signing::load_certificates(&chain_path).map_err(|e| match e {
        verity_signing::SigningError::Io { .. } if keys.chain.is_none() => {
            anyhow::anyhow!(verity_signing::SigningError::NoKeys {
                dir: home.keys().dir
            })
        }
        other => other.into(),
    })?;
    let certs: Vec<verity_signing::CertSummary> = chain
        .iter()
        .map(|d| verity_signing::describe(d).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let problems = verity_signing::check_chain_now(&chain);
    // Loading the key too proves that it matches (and reports why not).
    let usable = signer(keys, home).map(|_| ()).map_err(|e| e.to_string());
    let trust = home.trust()?;
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            chain_file: String,
            chain: &'a [verity_signing::CertSummary],
            profile_problems: &'a [String],
            usable: bool,
            problem: Option<String>,
            trust_anchors: Vec<verity_signing::CertSummary>,
        }
        output::json(&Out {
            chain_file: chain_path.display().to_string(),
            chain: &certs,
            profile_problems: &problems,
            usable: usable.is_ok(),
            problem: usable.clone().err(),
            trust_anchors: trust.describe_anchors(),
        })?;
    } else {
        println!("chain {}", chain_path.display());
        for (i, c) in certs.iter().enumerate() {
            let role = if i == 0 {
                "signer"
            } else if c.is_ca {
                "CA"
            } else {
                "cert"
            };
            println!("  [{role}] {}", c.subject);
            println!("         issuer  {}", c.issuer);
            println!("         key     {}", c.key);
            println!("         valid   {} to {}", c.not_before, c.not_after);
            println!("         sha256  {}", c.sha256);
        }
        match &usable {
            Ok(()) => {
                println!("ready to sign: the key matches and the chain meets the C2PA profile")
            }
            Err(why) => println!("NOT usable: {why}"),
        }
        println!(
            "trust anchors in {}: {}",
            home.trust_dir().display(),
            trust.anchors().len()
        );
        for a in trust.describe_anchors() {
            println!("  {} (sha256 {})", a.subject, &a.sha256[..16]);
        }
    }
    Ok(if usable.is_ok() {
        exit::OK
    } else {
        exit::ERROR
    })
}
