//! Credentials made before the mark's current version, whose soft binding and repository record
//! carry the mark's earlier algorithm name, still come back through the watermark; a manifest
//! whose soft binding names another algorithm does not.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../media/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;

use verity_detect::{VerdictLabel, VerifyOptions, verify};
use verity_media::Preset;
use verity_provenance::marks::spectral::{DEFAULT_STRENGTH, EARLIER_ALGORITHMS};
use verity_provenance::marks::{MarkOptions, Payload, SpectralOptions, WatermarkKey};
use verity_provenance::repository::{ManifestStore, RecordInfo, Repository};
use verity_provenance::stamp::{StampOptions, stamp_file};
use verity_provenance::{ManifestSpec, Origin, sign_file};
use verity_signing::{RingSigner, TrustStore};

/// Signs `marked` with a soft binding to `payload` under `binding` and stores the manifest in a
/// new repository at `root` under `record`.
#[allow(clippy::too_many_arguments)]
fn store_manifest(
    marked: &Path,
    signed: &Path,
    record: &str,
    binding: &str,
    payload: Payload,
    signer: &RingSigner,
    trust: &TrustStore,
    root: &Path,
) -> Repository {
    let mut spec = ManifestSpec::new("signed.mp4", Origin::Generated);
    spec.assertions.push((
        "c2pa.soft-binding".into(),
        serde_json::json!({
            "alg": binding,
            "blocks": [ { "scope": {}, "value": payload.to_hex() } ],
            "pad": [],
        }),
    ));
    let out = sign_file(marked, signed, &spec, signer, trust).unwrap();
    let repo = Repository::open_or_create(root).unwrap();
    let info = RecordInfo {
        algorithm: record.into(),
        value: payload.to_hex(),
        title: "signed.mp4".into(),
        file_name: "signed.mp4".into(),
        stored_at: 0,
    };
    repo.store(&info, &out.manifest).unwrap();
    repo
}

#[test]
fn a_manifest_stored_under_the_earlier_name_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let (signer, trust) = support::acme_home(&home);
    let clip = common::lavfi(d, "clip.mp4", "testsrc2=s=320x240:r=30:d=2", None, &[]).unwrap();

    // The mark alone, without a manifest: what a re-encode leaves of a signed clip.
    let key = WatermarkKey::default_key();
    let payload = Payload::new(key.issuer_id(), 0x12_3456_789A);
    let marked = d.join("marked.mp4");
    let opts = StampOptions {
        marks: MarkOptions {
            visible: None,
            spectral: Some(SpectralOptions {
                key,
                payload,
                strength: DEFAULT_STRENGTH,
            }),
        },
        manifest: None,
        crf: 18,
        preset: Preset::Veryfast,
    };
    stamp_file(&clip, &marked, &opts, |_| {}).unwrap();

    let verify_with = |repo: Repository| {
        verify(
            &marked,
            &VerifyOptions {
                trust: trust.clone(),
                repository: Some(std::sync::Arc::new(repo)),
                ..VerifyOptions::default()
            },
        )
        .unwrap()
    };

    // Made by version 1: the soft binding and the record carry the earlier name.
    let old = EARLIER_ALGORITHMS[0];
    let repo = store_manifest(
        &marked,
        &d.join("signed-v1.mp4"),
        old,
        old,
        payload,
        &signer,
        &trust,
        &d.join("repo-v1"),
    );
    let r = verify_with(repo);
    let found = r.watermark.as_ref().and_then(|w| w.payload.clone());
    assert_eq!(found, Some(payload.to_hex()));
    assert_eq!(r.verdict.label, VerdictLabel::WatermarkedRecovered);
    assert_eq!(r.c2pa.recovered_via.as_deref(), Some("watermark"));

    // A manifest stored under the mark's name but binding the payload under another algorithm
    // is not this mark's, and is not presented as the file's.
    let repo = store_manifest(
        &marked,
        &d.join("signed-other.mp4"),
        old,
        "com.example.other",
        payload,
        &signer,
        &trust,
        &d.join("repo-other"),
    );
    let r = verify_with(repo);
    assert_eq!(r.verdict.label, VerdictLabel::WatermarkedNoManifest);
    assert_eq!(r.c2pa.recovered_via, None);
}
