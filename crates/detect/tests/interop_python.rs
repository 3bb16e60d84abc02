//! The C2PA conformance suite against c2pa-python, an independent implementation, in one run:
//! c2pa-python signs the files with certificates the test makes (a PS256 signer without `O=`,
//! a remote manifest, a sidecar, each IPTC digital source type on `c2pa.created` and on
//! `c2pa.edited`, an ingredient whose claim is changed after signing); c2pa-rs signs a
//! fragmented MP4 in pieces (c2pa-python cannot). Each file's expected state, verdict, AI
//! declaration and codes are written down here, and verity's report and c2pa-python's reading
//! are both compared with them and with each other.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../media/tests/common/mod.rs"]
mod common;
#[path = "../../../tests/interop/python.rs"]
mod python;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use verity_detect::{Report, VerdictLabel, VerifyOptions, verify};
use verity_provenance::C2paState;
use verity_provenance::manifest::AiContent;
use verity_provenance::manifest::source_type::{IPTC_NAMESPACE, TERMS};
use verity_signing::TrustStore;

const REMOTE_URL: &str = "http://127.0.0.1:9/manifests/remote.c2pa";

/// What a file must read as, for verity and for c2pa-python.
struct Expected {
    state: C2paState,
    label: VerdictLabel,
    /// The AI declaration: what, on which action, with which IPTC term.
    ai: Option<(AiContent, &'static str, &'static str)>,
    /// The active manifest's failure codes.
    failures: &'static [&'static str],
    /// The ingredients' failure codes.
    ingredient_failures: &'static [&'static str],
}

fn ok(label: VerdictLabel, ai: Option<(AiContent, &'static str, &'static str)>) -> Expected {
    Expected {
        state: C2paState::Trusted,
        label,
        ai,
        failures: &[],
        ingredient_failures: &[],
    }
}

/// The written-down expectation for each IPTC term on an action.
fn expected_for_term(action: &'static str, term: &'static str) -> Expected {
    use AiContent::{ContainsGenerated, Generated};
    match (action, term) {
        ("c2pa.created", "trainedAlgorithmicMedia") => ok(
            VerdictLabel::AiGeneratedSigned,
            Some((Generated, action, term)),
        ),
        (_, "trainedAlgorithmicMedia") | (_, "compositeWithTrainedAlgorithmicMedia") => ok(
            VerdictLabel::ContainsAiSigned,
            Some((ContainsGenerated, action, term)),
        ),
        _ => ok(VerdictLabel::SignedOtherOrigin, None),
    }
}

fn verify_with(
    path: &Path,
    trust: &TrustStore,
    store: Option<PathBuf>,
    fragments: Vec<PathBuf>,
) -> Report {
    verify(
        path,
        &VerifyOptions {
            trust: trust.clone(),
            skip_marks: true,
            manifest_store: store,
            fragments,
            ..VerifyOptions::default()
        },
    )
    .unwrap()
}

fn codes(list: &[verity_provenance::StatusCode]) -> BTreeSet<String> {
    list.iter().map(|c| c.code.clone()).collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn python_state(state: C2paState) -> &'static str {
    match state {
        C2paState::Trusted => "Trusted",
        C2paState::Valid => "Valid",
        C2paState::Invalid => "Invalid",
        other => panic!("c2pa-python has no state for {other:?}"),
    }
}

/// verity's report and c2pa-python's reading of one file against what is written down.
fn check(name: &str, ours: &Report, theirs: &Value, want: &Expected) {
    let m = &ours.c2pa.manifest;
    assert_eq!(
        m.state, want.state,
        "{name}: verity's state ({:?})",
        m.codes
    );
    assert_eq!(ours.verdict.label, want.label, "{name}: verity's verdict");
    assert_eq!(
        theirs["validation_state"],
        python_state(want.state),
        "{name}: c2pa-python's state ({theirs})"
    );
    // The codes: as written down, and the same in both.
    let want_failures: BTreeSet<String> = want.failures.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        codes(&m.codes.failure),
        want_failures,
        "{name}: verity's failures"
    );
    assert_eq!(
        strings(&theirs["failures"]),
        want_failures,
        "{name}: c2pa-python's failures"
    );
    let want_ing: BTreeSet<String> = want
        .ingredient_failures
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ours_ing: BTreeSet<String> = m
        .ingredients
        .iter()
        .flat_map(|i| codes(&i.failures))
        .collect();
    assert_eq!(ours_ing, want_ing, "{name}: verity's ingredient failures");
    assert_eq!(
        strings(&theirs["ingredient_failures"]),
        want_ing,
        "{name}: c2pa-python's ingredient failures"
    );
    // The actions and the source types they declare: the same in both.
    let our_actions: Vec<(String, Option<String>)> = m
        .actions
        .iter()
        .map(|a| (a.action.clone(), a.digital_source_type.clone()))
        .collect();
    let their_actions: Vec<(String, Option<String>)> = theirs["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a[0].as_str().unwrap().to_string(),
                a[1].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(our_actions, their_actions, "{name}: the actions");
    // The AI declaration, from the term the file declares.
    match (&m.ai_declaration, want.ai) {
        (None, None) => {}
        (Some(d), Some((content, action, term))) => {
            assert_eq!(d.content, content, "{name}");
            assert_eq!(d.action, action, "{name}");
            assert_eq!(
                d.digital_source_type,
                format!("{IPTC_NAMESPACE}{term}"),
                "{name}"
            );
            assert!(
                their_actions.contains(&(action.to_string(), Some(d.digital_source_type.clone()))),
                "{name}: c2pa-python reads no {action} declaring {term}"
            );
            assert!(
                ours.verdict
                    .evidence
                    .iter()
                    .any(|e| e.contains(&format!("declares the digital source type {term}:"))),
                "{name}: {:?}",
                ours.verdict.evidence
            );
        }
        (got, want) => panic!("{name}: AI declaration {got:?}, expected {want:?}"),
    }
    assert_eq!(
        m.signer
            .as_ref()
            .and_then(|s| s.common_name.clone())
            .as_deref(),
        theirs["signer"].as_str(),
        "{name}: the signer"
    );
}

/// verity's report of `out/name` (embedded manifest, marks skipped), checked with
/// c2pa-python's reading of it against `want`.
fn verify_and_check(
    out: &Path,
    name: &str,
    trust: &TrustStore,
    theirs: &Value,
    want: &Expected,
) -> Report {
    let ours = verify_with(&out.join(name), trust, None, Vec::new());
    check(name, &ours, &theirs[name], want);
    ours
}

#[test]
fn verity_and_c2pa_python_agree_on_the_conformance_suite() {
    let Some(python) = python::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = d.join("ca");
    python::py(&python, &["make-ca".as_ref(), ca.as_os_str()]);
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let out = d.join("suite");
    python::py(
        &python,
        &[
            "make-suite".as_ref(),
            ca.as_os_str(),
            clip.as_os_str(),
            out.as_os_str(),
            REMOTE_URL.as_ref(),
        ],
    );
    // The fragments are signed by verity's own signer; both readers trust both roots.
    let (signer, mut trust) = support::acme_home(&d.join("home"));
    trust.add_anchors(&ca.join("root.pem")).unwrap();
    let (init, fragments) = support::signed_dash(d, "fragments", &out, &signer, &trust);
    let anchors = d.join("anchors.pem");
    std::fs::write(&anchors, trust.anchors_pem()).unwrap();
    let theirs: Value = serde_json::from_str(&python::py(
        &python,
        &["read-suite".as_ref(), anchors.as_os_str(), out.as_os_str()],
    ))
    .unwrap();
    let mut checked = 0;

    // Each IPTC term, on c2pa.created and on c2pa.edited (after a c2pa.created of a capture).
    for (term, _) in TERMS {
        for action in ["c2pa.created", "c2pa.edited"] {
            let name = format!("{}-{term}.mp4", &action[5..]);
            verify_and_check(
                &out,
                &name,
                &trust,
                &theirs,
                &expected_for_term(action, term),
            );
            checked += 1;
        }
    }

    // A PS256 signer without O=: trusted by both, not "altered after signing".
    let name = "ps256-no-org.mp4";
    let ours = verify_and_check(
        &out,
        name,
        &trust,
        &theirs,
        &ok(VerdictLabel::SignedOtherOrigin, None),
    );
    assert_eq!(
        ours.c2pa.manifest.signer.as_ref().unwrap().alg.as_deref(),
        Some("ps256")
    );
    checked += 1;

    // An ingredient with its own manifest; then one byte of its claim changed after signing:
    // invalid, and the ingredient's own codes are what both report.
    let name = "good-ingredient.mp4";
    let ours = verify_and_check(
        &out,
        name,
        &trust,
        &theirs,
        &ok(VerdictLabel::SignedOtherOrigin, None),
    );
    assert!(ours.c2pa.manifest.ingredients[0].has_manifest);
    let name = "broken-ingredient.mp4";
    let ours = verify_and_check(
        &out,
        name,
        &trust,
        &theirs,
        &Expected {
            state: C2paState::Invalid,
            label: VerdictLabel::InvalidCredentials,
            ai: None,
            failures: &[],
            ingredient_failures: &["claimSignature.mismatch", "ingredient.manifest.mismatch"],
        },
    );
    assert!(
        ours.verdict
            .evidence
            .iter()
            .any(|e| e.contains("ingredient \"parent.mp4\"")
                && e.contains("claimSignature.mismatch")),
        "{:?}",
        ours.verdict.evidence
    );
    checked += 2;

    // A remote manifest: named with its URL, not fetched, not called damaged; c2pa-python
    // refuses it for the same reason. Given the store, both validate it.
    let name = "remote.mp4";
    let ours = verify_with(&out.join(name), &trust, None, Vec::new());
    assert_eq!(ours.c2pa.manifest.state, C2paState::Remote);
    assert_eq!(ours.verdict.label, VerdictLabel::RemoteCredentials);
    assert_eq!(ours.c2pa.manifest.remote_url.as_deref(), Some(REMOTE_URL));
    assert!(ours.c2pa.manifest.codes.failure.is_empty());
    let msg = theirs[name]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Remote:") && msg.contains(REMOTE_URL),
        "{msg}"
    );
    let store = out.join("remote.store");
    let ours = verify_with(&out.join(name), &trust, Some(store.clone()), Vec::new());
    check(
        "remote.mp4 + its store",
        &ours,
        &theirs["remote.mp4+store"],
        &ok(VerdictLabel::SignedOtherOrigin, None),
    );
    assert_eq!(
        ours.c2pa.manifest.sidecar.as_deref(),
        Some(store.to_str().unwrap())
    );
    assert_eq!(theirs["remote.mp4+store"]["embedded"], false);
    checked += 2;

    // A sidecar beside the video: verity reads it by itself and says so.
    let name = "sidecar.mp4";
    let ours = verify_with(&out.join(name), &trust, None, Vec::new());
    let want = ok(
        VerdictLabel::AiGeneratedSigned,
        Some((
            AiContent::Generated,
            "c2pa.created",
            "trainedAlgorithmicMedia",
        )),
    );
    check(name, &ours, &theirs["sidecar.mp4+store"], &want);
    let sidecar = out.join("sidecar.c2pa");
    assert_eq!(
        ours.c2pa.manifest.sidecar.as_deref(),
        Some(sidecar.to_str().unwrap())
    );
    assert!(
        ours.verdict
            .evidence
            .iter()
            .any(|e| e.contains("kept apart from the file")),
        "{:?}",
        ours.verdict.evidence
    );
    // c2pa-python reads the video as a stream, with no sidecar lookup: no manifest in it.
    let msg = theirs[name]["message"].as_str().unwrap();
    assert!(msg.starts_with("ManifestNotFound"), "{msg}");
    checked += 2;

    // A fragmented MP4 in pieces: trusted with its fragments, by both (c2pa-python reads each
    // fragment with the init segment); the init segment alone is not called tampered.
    let ours = verify_with(&init, &trust, None, fragments.clone());
    assert_eq!(
        ours.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        ours.c2pa.manifest.codes
    );
    assert_eq!(ours.verdict.label, VerdictLabel::AiGeneratedSigned);
    assert_eq!(
        theirs["fragments"]["validation_state"], "Trusted",
        "{}",
        theirs["fragments"]
    );
    assert_eq!(theirs["fragments"]["fragments_read"], fragments.len());
    assert_eq!(theirs["fragments"]["failures"], serde_json::json!([]));
    let alone = verify_with(&init, &trust, None, Vec::new());
    assert_eq!(alone.verdict.label, VerdictLabel::FragmentsNeeded);
    checked += 1;

    // Every file c2pa-python read was checked here.
    let read = theirs.as_object().unwrap().len();
    assert_eq!(
        read, checked,
        "c2pa-python read {read} files, {checked} were checked"
    );
}
