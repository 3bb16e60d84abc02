//! verity's C2PA signing and reading against c2pa-rs's own minimal sign and read, on the same
//! file, interleaved in one run. Run through `benches/c2pa.sh`, which makes the 100 MB input.
//!
//!   cargo bench -p verity-provenance --bench c2pa_sign_read -- INPUT.mp4 [RUNS]
//!
//! - peer sign: `Builder` with a one-action manifest and c2pa's own signer (`create_signer::from_keys`);
//! - verity sign: `verity_provenance::sign_file` with verity's full manifest for an existing video
//!   (actions, the source as parent ingredient, cawg.training-mining) and verity's ring signer;
//! - peer read: `Reader::from_context(Context::new()).with_file(..)`, default settings;
//! - verity read: `verity_provenance::read_manifest` against a trust store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use verity_provenance::{ManifestSpec, Origin, read_manifest, sign_file};
use verity_signing::{InitOptions, KeyAlg, KeyPaths, TrustStore, init_keys, load_home_signer};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let input = PathBuf::from(
        args.first()
            .ok_or_else(|| anyhow::anyhow!("usage: c2pa_sign_read INPUT.mp4 [RUNS]"))?,
    );
    let runs: usize = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let dir = tempfile::tempdir_in(input.parent().unwrap_or(Path::new(".")))?;
    let home = dir.path().join("home");
    init_keys(
        &home,
        &InitOptions {
            org: "Bench".into(),
            alg: KeyAlg::Es256,
            force: false,
        },
    )?;
    let ours = load_home_signer(&home)?;
    let trust = TrustStore::from_home_dir(&home.join("trust"))?;
    let paths = KeyPaths::in_home(&home);
    let peer = c2pa::create_signer::from_keys(
        &std::fs::read(paths.chain())?,
        &std::fs::read(paths.signer_key())?,
        c2pa::SigningAlg::Es256,
        None,
    )?;
    let size_mb = std::fs::metadata(&input)?.len() as f64 / 1e6;

    let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for i in 0..runs {
        let peer_out = dir.path().join(format!("peer-{i}.mp4"));
        let our_out = dir.path().join(format!("ours-{i}.mp4"));
        // Alternate the order so that neither side always runs second.
        let order: [usize; 2] = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let start = Instant::now();
            if side == 0 {
                let mut b = c2pa::Builder::from_context(c2pa::Context::new()).with_definition(
                    r#"{"title":"peer","assertions":[{"label":"c2pa.actions","data":{"actions":[{"action":"c2pa.opened"}]}}]}"#,
                )?;
                let mut src = std::fs::File::open(&input)?;
                let mut dst = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&peer_out)?;
                b.sign(peer.as_ref(), "video/mp4", &mut src, &mut dst)?;
                t[0].push(start.elapsed().as_secs_f64());
            } else {
                let spec = ManifestSpec::new(
                    "ours",
                    Origin::Existing {
                        source: input.clone(),
                    },
                );
                sign_file(&input, &our_out, &spec, &ours, &trust)?;
                t[1].push(start.elapsed().as_secs_f64());
            }
        }
        for side in order {
            let start = Instant::now();
            if side == 0 {
                let r = c2pa::Reader::from_context(c2pa::Context::new()).with_file(&peer_out)?;
                anyhow::ensure!(r.active_manifest().is_some());
                t[2].push(start.elapsed().as_secs_f64());
            } else {
                let r = read_manifest(&our_out, &trust)?;
                anyhow::ensure!(
                    r.state == verity_provenance::C2paState::Trusted,
                    "{:?}",
                    r.codes.failure
                );
                t[3].push(start.elapsed().as_secs_f64());
            }
        }
        std::fs::remove_file(&peer_out)?;
        std::fs::remove_file(&our_out)?;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (ps, os, pr, or) = (
        median(&mut t[0]),
        median(&mut t[1]),
        median(&mut t[2]),
        median(&mut t[3]),
    );
    println!(
        "input: {} ({size_mb:.1} MB), median of {runs} interleaved runs",
        input.display()
    );
    println!("| step | c2pa-rs alone | verity | ratio (verity/c2pa-rs) |");
    println!("|---|---|---|---|");
    println!("| sign | {ps:.3} s | {os:.3} s | {:.3} |", os / ps);
    println!(
        "| read and validate | {pr:.3} s | {or:.3} s | {:.3} |",
        or / pr
    );
    Ok(())
}
