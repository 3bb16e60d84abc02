//! Sign a clip, read it back: trusted with our anchor, valid without, absent when unsigned.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../media/tests/common/mod.rs"]
mod common;

use verity_provenance::{C2paState, ManifestSpec, Origin, read_manifest, sign_file};
use verity_signing::{InitOptions, KeyAlg, TrustStore, init_keys, load_home_signer};

#[test]
fn generated_clip_round_trip() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    init_keys(
        &home,
        &InitOptions {
            org: "Acme".into(),
            alg: KeyAlg::Es256,
            force: false,
        },
    )?;
    let signer = load_home_signer(&home)?;
    let trust = TrustStore::from_home_dir(&home.join("trust"))?;
    let clip = common::short_clip(dir.path(), "clip.mp4")?;

    assert_eq!(read_manifest(&clip, &trust)?.state, C2paState::Absent);

    let out = dir.path().join("signed.mp4");
    let spec = ManifestSpec::new("clip.mp4", Origin::Generated);
    let outcome = sign_file(&clip, &out, &spec, &signer, &trust)?;
    assert!(!outcome.manifest.is_empty());

    let r = read_manifest(&out, &trust)?;
    assert_eq!(r.state, C2paState::Trusted, "{:#?}", r.codes.failure);
    assert!(r.ai_generated);
    assert!(r.actions.iter().any(|a| a.action == "c2pa.created"));
    assert!(
        r.assertions
            .iter()
            .any(|(l, _)| l == "cawg.training-mining")
    );
    assert_eq!(
        r.signer
            .as_ref()
            .and_then(|s| s.common_name.clone())
            .as_deref(),
        Some("Acme C2PA Signer")
    );
    assert!(
        r.claim_generator
            .as_deref()
            .unwrap_or_default()
            .contains("verity"),
        "{:?}",
        r.claim_generator
    );

    // Without our anchor: valid but not trusted, and the code says why.
    let r = read_manifest(&out, &TrustStore::new())?;
    assert_eq!(r.state, C2paState::Valid);
    assert!(
        r.codes
            .failure
            .iter()
            .any(|c| c.code == "signingCredential.untrusted"),
        "{:#?}",
        r.codes
    );

    // An existing video: opened, with the source (and its manifest) as the parent ingredient.
    let again = dir.path().join("again.mp4");
    sign_file(
        &out,
        &again,
        &ManifestSpec::new(
            "again.mp4",
            Origin::Existing {
                source: out.clone(),
            },
        ),
        &signer,
        &trust,
    )?;
    let r = read_manifest(&again, &trust)?;
    assert_eq!(r.state, C2paState::Trusted, "{:#?}", r.codes.failure);
    assert!(!r.ai_generated);
    assert!(
        r.actions.iter().any(|a| a.action == "c2pa.opened"),
        "{:?}",
        r.actions
    );
    assert_eq!(r.ingredients.len(), 1);
    assert!(
        r.ingredients[0].has_manifest,
        "the source's manifest is kept"
    );
    Ok(())
}

#[test]
fn a_failed_sign_leaves_nothing_behind() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    init_keys(
        &home,
        &InitOptions {
            org: "Acme".into(),
            alg: KeyAlg::Ed25519,
            force: false,
        },
    )?;
    let signer = load_home_signer(&home)?;
    let trust = TrustStore::new();
    // Not an MP4 inside: c2pa refuses it midway.
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, vec![0x5au8; 10_000])?;
    let out = dir.path().join("out.mp4");
    let spec = ManifestSpec::new("junk", Origin::Generated);
    assert!(sign_file(&junk, &out, &spec, &signer, &trust).is_err());
    // A wrong extension is refused before anything is written.
    let txt = dir.path().join("out.txt");
    assert!(sign_file(&junk, &txt, &spec, &signer, &trust).is_err());
    let mut left: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    left.sort();
    assert_eq!(left, vec!["home".to_string(), "junk.mp4".to_string()]);
    Ok(())
}

/// An SVG whose `c2pa:manifest` element holds bytes that are not a manifest store: a store is
/// there and damaged (invalid, unreadable), not "no manifest".
#[test]
fn a_damaged_encoded_store_is_unreadable_not_absent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svg = dir.path().join("damaged.svg");
    let body = |manifest: &str| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><metadata>{manifest}</metadata><rect width="8" height="8"/></svg>"#
        )
    };
    // "some test data", base64: not JUMBF.
    std::fs::write(
        &svg,
        body(
            r#"<c2pa:manifest xmlns:c2pa="http://c2pa.org/manifest">c29tZSB0ZXN0IGRhdGE=</c2pa:manifest>"#,
        ),
    )?;
    let r = read_manifest(&svg, &TrustStore::default())?;
    assert_eq!(r.state, C2paState::Invalid, "{:?}", r.codes);
    assert!(r.is_unreadable(), "{:?}", r.codes);
    // The same SVG without the element has no manifest.
    std::fs::write(&svg, body(""))?;
    assert_eq!(
        read_manifest(&svg, &TrustStore::default())?.state,
        C2paState::Absent
    );
    Ok(())
}
