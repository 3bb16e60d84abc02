//! Interop with c2pa-python, both ways: it reads verity's signed MP4 as trusted and sees the same
//! assertions; verity reports a file c2pa-python signed (with a CA made by the test, in Python)
//! as trusted when given that CA.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
#[path = "../../tests/interop/python.rs"]
mod python;
mod support;

use python::{py, python};
use support::verity;

#[test]
fn c2pa_python_reads_ours_as_trusted_with_the_same_assertions() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let signed = d.join("signed.mp4");
    verity(&home)
        .args(["keys", "init", "--org", "Interop Org", "--alg", "es256"])
        .assert()
        .success();
    verity(&home)
        .arg("sign")
        .arg(&clip)
        .arg("-o")
        .arg(&signed)
        .assert()
        .success();

    let anchor = home.join("trust/interop-org-root.pem");
    let theirs: serde_json::Value = serde_json::from_str(&py(
        &python,
        &["read".as_ref(), signed.as_os_str(), anchor.as_os_str()],
    ))
    .unwrap();
    assert_eq!(theirs["validation_state"], "Trusted", "{theirs}");
    assert_eq!(theirs["failures"], serde_json::json!([]), "{theirs}");
    assert_eq!(theirs["signer"], "Interop Org C2PA Signer");

    // verity's own view of the same file lists the same assertions and actions.
    let ours = verity(&home)
        .args(["verify", "--json"])
        .arg(&signed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ours: serde_json::Value = serde_json::from_slice(&ours).unwrap();
    let our_actions: Vec<&str> = ours["c2pa"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    let their_actions: Vec<&str> = theirs["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(our_actions, their_actions);
    let labels: Vec<&str> = theirs["assertion_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(labels.contains(&"cawg.training-mining"), "{labels:?}");
    assert!(
        labels.iter().any(|l| l.starts_with("c2pa.actions")),
        "{labels:?}"
    );
}

#[test]
fn verity_trusts_a_c2pa_python_signature_given_its_ca() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = d.join("ca");
    py(&python, &["make-ca".as_ref(), ca.as_os_str()]);
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let signed = d.join("python-signed.mp4");
    py(
        &python,
        &[
            "sign".as_ref(),
            ca.join("key.pem").as_os_str(),
            ca.join("chain.pem").as_os_str(),
            clip.as_os_str(),
            signed.as_os_str(),
        ],
    );
    let home = d.join("home"); // empty: nothing trusted but what --trust adds
    let out = verity(&home)
        .args(["verify", "--json", "--trust"])
        .arg(ca.join("root.pem"))
        .arg(&signed)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["c2pa"]["state"], "trusted", "{r}");
    assert_eq!(r["verdict"]["label"], "ai-generated-signed");
    assert_eq!(r["c2pa"]["signer"]["common_name"], "Interop Python Signer");
    // Without the CA: valid, not trusted.
    let out = verity(&home)
        .args(["verify", "--json"])
        .arg(&signed)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["c2pa"]["state"], "valid");
}
