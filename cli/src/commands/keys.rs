//! `verity keys init` and `verity keys show`.

use verity_provenance::Home;
use verity_signing::InitOptions;

use crate::args::{KeyArgs, KeysCommand};
use crate::exit;
use crate::output;

pub fn run(cmd: &KeysCommand, home: &Home) -> anyhow::Result<u8> {
    match cmd {
        KeysCommand::Init(a) => {
            let made = home.init_keys(&InitOptions {
                org: a.org.clone(),
                alg: a.alg,
                force: a.force,
            })?;
            let report = &made.certificates;
            if a.json {
                output::json(&made)?;
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
                    "  watermark key  {} (mode 0600; issuer id {}{})",
                    made.watermark_key,
                    made.watermark_issuer,
                    if made.watermark_key_made {
                        ""
                    } else {
                        ", kept from before"
                    }
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

fn show(keys: &KeyArgs, json: bool, home: &Home) -> anyhow::Result<u8> {
    let r = home.identity_report(&keys.identity())?;
    if json {
        output::json(&r)?;
    } else {
        println!("chain {}", r.chain_file);
        for (i, c) in r.chain.iter().enumerate() {
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
        match &r.problem {
            None => println!("ready to sign: the key matches and the chain meets the C2PA profile"),
            Some(why) => println!("NOT usable: {why}"),
        }
        println!(
            "trust anchors in {}: {}",
            home.trust_dir().display(),
            r.trust_anchors.len()
        );
        for a in &r.trust_anchors {
            println!(
                "  {} (sha256 {})",
                a.subject,
                &a.sha256[..16.min(a.sha256.len())]
            );
        }
    }
    Ok(if r.usable { exit::OK } else { exit::ERROR })
}
