//! What the verify tests share: a signing home, and a signed fragmented MP4.

#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::Path;

use verity_signing::{InitOptions, KeyAlg, RingSigner, TrustStore, init_keys, load_home_signer};

/// A home at `home` with an Ed25519 signing identity for "Acme": its signer, and the trust
/// store that trusts it.
pub fn acme_home(home: &Path) -> (RingSigner, TrustStore) {
    init_keys(
        home,
        &InitOptions {
            org: "Acme".into(),
            alg: KeyAlg::Ed25519,
            force: false,
        },
    )
    .unwrap();
    let signer = load_home_signer(home).unwrap();
    let trust = TrustStore::from_home_dir(&home.join("trust")).unwrap();
    (signer, trust)
}

/// A 2-s clip cut into DASH pieces (init.mp4 and seg*.m4s, in `d/src_name`) and signed as c2pa
/// signs fragmented MP4, declared AI-generated, into `out`: the signed init segment and its
/// fragments in order.
pub fn signed_dash(
    d: &Path,
    src_name: &str,
    out: &Path,
    signer: &RingSigner,
    trust: &TrustStore,
) -> (std::path::PathBuf, Vec<std::path::PathBuf>) {
    use crate::common;
    let clip = common::lavfi(
        d,
        &format!("{src_name}.mp4"),
        "testsrc2=s=320x240:r=30:d=2",
        None,
        &["-g", "15"],
    )
    .unwrap();
    let src = d.join(src_name);
    std::fs::create_dir(&src).unwrap();
    common::ffmpeg(&[
        "-i".as_ref(),
        clip.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-f".as_ref(),
        "dash".as_ref(),
        "-seg_duration".as_ref(),
        "0.5".as_ref(),
        "-init_seg_name".as_ref(),
        "init.mp4".as_ref(),
        "-media_seg_name".as_ref(),
        "seg$Number$.m4s".as_ref(),
        src.join("clip.mpd").as_os_str(),
    ])
    .unwrap();
    let mut b = c2pa::Builder::from_context(verity_provenance::manifest::context(trust).unwrap())
        .with_definition(
            r#"{"title": "clip", "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}}]}"#,
        )
        .unwrap();
    b.sign_fragmented_files(
        signer,
        src.join("init.mp4").as_path(),
        Path::new("seg*.m4s"),
        out,
    )
    .unwrap();
    // c2pa writes each init segment and its fragments under a folder named for their source
    // folder.
    let signed = out.join(src_name);
    let mut fragments: Vec<_> = std::fs::read_dir(&signed)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "m4s"))
        .collect();
    fragments.sort();
    assert!(fragments.len() >= 2, "{fragments:?}");
    (signed.join("init.mp4"), fragments)
}
