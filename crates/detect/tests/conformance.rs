//! C2PA files verity did not make, or made to be awkward: a remote manifest, an ingredient whose
//! own manifest fails, a source that fails when it is signed. Each file is made by the test.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../../signing/tests/common/chain.rs"]
mod chain;
#[path = "../../media/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;

use verity_detect::{Report, VerdictLabel, VerifyOptions, verify};
use verity_media::Preset;
use verity_provenance::marks::MarkOptions;
use verity_provenance::stamp::{ManifestLayer, StampOptions, stamp_file};
use verity_provenance::{C2paState, ManifestSpec, Origin, sign_file};
use verity_signing::{RingSigner, TrustStore};

fn verify_with(path: &Path, trust: &TrustStore) -> Report {
    verify(
        path,
        &VerifyOptions {
            trust: trust.clone(),
            skip_marks: true,
            ..VerifyOptions::default()
        },
    )
    .unwrap()
}

/// A file whose manifest lives at a URL: reported as remote with its URL, not as damaged, and
/// not fetched.
#[test]
fn a_remote_manifest_is_named_not_called_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (signer, trust) = support::acme_home(&d.join("home"));
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let url = "http://127.0.0.1:9/manifests/clip.c2pa";
    let mut b = c2pa::Builder::from_context(verity_provenance::manifest::context(&trust).unwrap())
        .with_definition(
            r#"{"title": "clip.mp4", "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}"#,
        )
        .unwrap();
    b.set_remote_url(url);
    b.set_no_embed(true);
    let remote = d.join("remote.mp4");
    {
        let mut src = std::fs::File::open(&clip).unwrap();
        let mut dst = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&remote)
            .unwrap();
        b.sign(&signer as &RingSigner, "video/mp4", &mut src, &mut dst)
            .unwrap();
    }
    let r = verify_with(&remote, &trust);
    assert_eq!(r.c2pa.manifest.state, C2paState::Remote);
    assert_eq!(r.c2pa.manifest.remote_url.as_deref(), Some(url));
    assert_eq!(r.verdict.label, VerdictLabel::RemoteCredentials);
    assert!(r.verdict.summary.contains(url), "{}", r.verdict.summary);
    assert!(r.c2pa.manifest.codes.failure.is_empty());
}

/// A clip signed, then its manifest changed after signing, then signed again as an ingredient:
/// signing warns, and verifying the new file shows the ingredient's recorded failure.
#[test]
fn a_failing_source_is_warned_about_and_its_failure_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (signer, trust) = support::acme_home(&d.join("home"));
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let parent = d.join("parent.mp4");
    let spec = ManifestSpec::new("parent.mp4", Origin::Generated);
    sign_file(&clip, &parent, &spec, &signer, &trust).unwrap();
    // Change one byte of the parent's title inside its manifest: the claim's hash of that
    // assertion no longer matches.
    let mut bytes = std::fs::read(&parent).unwrap();
    let at = bytes
        .windows(b"c2pa.training-mining".len())
        .position(|w| w == b"c2pa.training-mining")
        .or_else(|| bytes.windows(9).position(|w| w == b"c2pa.hash"))
        .unwrap();
    let flip = at + 40;
    bytes[flip] ^= 0x20;
    let broken = d.join("broken-parent.mp4");
    std::fs::write(&broken, &bytes).unwrap();
    let r = verify_with(&broken, &trust);
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Invalid,
        "{:?}",
        r.c2pa.manifest.codes
    );

    let child = d.join("child.mp4");
    let spec = ManifestSpec::new(
        "child.mp4",
        Origin::Existing {
            source: broken.clone(),
        },
    );
    let report = stamp_file(
        &broken,
        &child,
        &StampOptions {
            marks: MarkOptions {
                visible: None,
                spectral: None,
            },
            manifest: Some((
                spec,
                ManifestLayer {
                    signer: &signer,
                    trust: &trust,
                    repository: None,
                },
            )),
            crf: 18,
            preset: Preset::Veryfast,
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("fails validation"),
        "{:?}",
        report.warnings
    );

    let r = verify_with(&child, &trust);
    let ing = &r.c2pa.manifest.ingredients[0];
    assert!(
        !ing.recorded_failures.is_empty(),
        "the ingredient's failure at signing is shown: {ing:?}"
    );
    assert!(
        r.verdict
            .evidence
            .iter()
            .any(|e| e.contains("already failed validation when it was signed in")),
        "{:?}",
        r.verdict.evidence
    );
}

/// A fragmented MP4 kept in pieces, signed as c2pa signs DASH: the init segment alone cannot be
/// checked (and is not called tampered); with its fragments it validates.
#[test]
fn an_init_segment_is_checked_with_its_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (signer, trust) = support::acme_home(&d.join("home"));
    let (init, fragments) = support::signed_dash(d, "src", &d.join("signed"), &signer, &trust);

    let alone = verify_with(&init, &trust);
    assert_eq!(
        alone.verdict.label,
        VerdictLabel::FragmentsNeeded,
        "{:?}",
        alone.verdict
    );
    assert!(alone.c2pa.init_segment_alone);

    let whole = verify(
        &init,
        &VerifyOptions {
            trust: trust.clone(),
            skip_marks: true,
            fragments,
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        whole.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        whole.c2pa.manifest.codes
    );
    assert_eq!(whole.verdict.label, VerdictLabel::AiGeneratedSigned);
}

/// A signed PNG is checked as the image it is: its manifest validates, and the marks (for video)
/// are left out and said to be.
#[test]
fn a_still_image_is_checked_as_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (signer, trust) = support::acme_home(&d.join("home"));
    let png = d.join("still.png");
    common::ffmpeg(&[
        "-f".as_ref(),
        "lavfi".as_ref(),
        "-i".as_ref(),
        "testsrc2=s=320x240".as_ref(),
        "-frames:v".as_ref(),
        "1".as_ref(),
        png.as_os_str(),
    ])
    .unwrap();
    let signed = d.join("signed.png");
    let mut b = c2pa::Builder::from_context(verity_provenance::manifest::context(&trust).unwrap())
        .with_definition(
            r#"{"title": "still.png", "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}"#,
        )
        .unwrap();
    {
        let mut src = std::fs::File::open(&png).unwrap();
        let mut dst = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&signed)
            .unwrap();
        b.sign(&signer as &RingSigner, "image/png", &mut src, &mut dst)
            .unwrap();
    }
    let r = verify(
        &signed,
        &VerifyOptions {
            trust: trust.clone(),
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        r.c2pa.manifest.codes
    );
    assert_eq!(r.verdict.label, VerdictLabel::SignedOtherOrigin);
    assert_eq!(r.layers_checked, vec!["c2pa".to_string()]);
    assert!(r.watermark.is_none());
    assert!(
        r.verdict.evidence.iter().any(|e| e.contains("still image")),
        "{:?}",
        r.verdict.evidence
    );
}

/// A signing certificate whose subject has no Organization (`O=`), as many real ones (a
/// GlobalSign PS256 certificate among them) do not: c2pa 0.90 verified the signature, then failed
/// on the missing O and reported `claimSignature.mismatch`, which verity turned into "the manifest
/// was altered after signing". The file is valid and trusted.
#[test]
fn a_certificate_without_an_organisation_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, chain) = chain::make_chain(d, |_| {}, false);
    let root = d.join("root.pem");

    let signer = verity_signing::load_signer(&key, &chain).unwrap();
    let mut trust = TrustStore::new();
    trust.add_anchors(&root).unwrap();
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let signed = d.join("signed.mp4");
    sign_file(
        &clip,
        &signed,
        &ManifestSpec::new("signed.mp4", Origin::Generated),
        &signer,
        &trust,
    )
    .unwrap();
    let r = verify_with(&signed, &trust);
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        r.c2pa.manifest.codes.failure
    );
    assert_eq!(r.verdict.label, VerdictLabel::AiGeneratedSigned);
}
