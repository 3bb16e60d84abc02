//! `verity keys`, `verity sign` and `verity verify` as users run them.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
mod support;

use std::os::unix::fs::PermissionsExt;

use predicates::prelude::*;
use support::{json, verify_json, verity};

#[test]
fn keys_sign_verify_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let signed = d.join("signed.mp4");

    // No keys yet: sign says how to make them, and writes nothing.
    verity(&home)
        .args(["sign"])
        .arg(&clip)
        .arg("-o")
        .arg(&signed)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("verity keys init"));
    assert!(!signed.exists());

    verity(&home)
        .args(["keys", "init", "--org", "Acme News", "--alg", "es256"])
        .assert()
        .success();
    let mode = std::fs::metadata(home.join("keys/signer.key.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // A second init refuses without --force.
    verity(&home)
        .args(["keys", "init"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    let show = verity(&home)
        .args(["keys", "show", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let show = json(&show);
    assert_eq!(show["usable"], true);
    assert_eq!(show["chain"][0]["key"], "ecdsa-p256");
    assert_eq!(show["trust_anchors"].as_array().map(Vec::len), Some(1));

    let out = verity(&home)
        .args(["sign", "--json"])
        .arg(&clip)
        .arg("-o")
        .arg(&signed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sign = json(&out);
    // 320×240 holds no 1.25 coarse tiles: the fine cells, at full strength.
    assert_eq!(sign["mark_geometry"], "fine", "{sign}");
    assert_eq!(sign["mark_gain"], 1.0, "{sign}");

    // Trusted here (exit 0) …
    let r = verify_json(&home, &signed, 0);
    assert_eq!(r["c2pa"]["state"], "trusted");
    assert_eq!(r["verdict"]["label"], "signed-other-origin");
    assert_eq!(r["c2pa"]["actions"][0]["action"], "c2pa.opened");
    assert_eq!(r["c2pa"]["ingredients"][0]["relationship"], "parentOf");
    assert_eq!(r["file"]["width"], 320);
    assert_eq!(
        r["layers_checked"],
        serde_json::json!(["c2pa", "watermark", "visible_mark", "classifier"])
    );
    // All three layers: the watermark (with the soft binding and action in the manifest) and
    // the badge are found.
    assert_eq!(r["c2pa"]["actions"][1]["action"], "c2pa.watermarked");
    assert_eq!(r["watermark"]["found"], true, "{r}");
    assert_eq!(
        r["watermark"]["key"],
        home.join("keys/watermark.key").display().to_string()
    );
    assert!(r["watermark"]["false_positive_bound"].as_f64().unwrap() <= 1e-6);
    assert_eq!(r["watermark"]["algorithm"], "org.verity.spectral.3");
    assert_eq!(r["visible_mark"]["found"], true, "{r}");
    let payload = r["watermark"]["payload"].as_str().unwrap().to_string();
    assert_eq!(sign["payload"], payload.as_str());
    assert!(
        home.join(format!("manifests/org.verity.spectral.3/{payload}.c2pa"))
            .is_file()
    );

    // A re-encode drops the manifest; the watermark brings the credentials back (exit 0).
    let copy = d.join("copy.mp4");
    verity(&home)
        .args(["transcode", "--crf", "23"])
        .arg(&signed)
        .arg(&copy)
        .assert()
        .success();
    let r = verify_json(&home, &copy, 0);
    assert_eq!(r["verdict"]["label"], "watermarked-recovered", "{r}");
    assert_eq!(r["c2pa"]["recovered_via"], "watermark");
    assert_eq!(r["c2pa"]["hard_binding_failed"], true);
    assert_eq!(r["watermark"]["payload"], payload.as_str());

    // Turned 8° (as ffmpeg turns it, clockwise): the upright search misses the mark, the
    // rotation search finds it, and the credentials come back.
    let turned = d.join("turned.mp4");
    let copy_s = copy.to_string_lossy().into_owned();
    let turned_s = turned.to_string_lossy().into_owned();
    common::ffmpeg(&[
        "-i",
        &copy_s,
        "-vf",
        "rotate=8*PI/180",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        &turned_s,
    ])
    .unwrap();
    let r = verify_json(&home, &turned, 5);
    assert_eq!(r["watermark"]["found"], false, "{r}");
    let out = verity(&home)
        .args(["verify", "--json", "--search-rotation"])
        .arg(&turned)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r = json(&out);
    assert_eq!(r["verdict"]["label"], "watermarked-recovered", "{r}");
    assert_eq!(r["watermark"]["payload"], payload.as_str());
    let deg = r["watermark"]["rotation_deg"].as_f64().unwrap();
    assert!((deg - 8.0).abs() <= 1.0, "{r}");
    verity(&home)
        .args(["verify", "--search-rotation", "--no-marks"])
        .arg(&turned)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));

    // Without the repository: a watermark, no manifest (exit 5).
    verity(&home)
        .args(["verify", "--repository"])
        .arg(d.join("no-repo"))
        .arg(&copy)
        .assert()
        .code(5)
        .stdout(predicate::str::contains("watermarked-no-manifest"));

    // A damaged repository is reported in the verdict, not fatal, and left as it is.
    let damaged = d.join("damaged-repo");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(damaged.join("repository.json"), b"{not json").unwrap();
    verity(&home)
        .args(["verify", "--repository"])
        .arg(&damaged)
        .arg(&copy)
        .assert()
        .code(5)
        .stdout(
            predicate::str::contains("watermarked-no-manifest")
                .and(predicate::str::contains("repository could not be searched"))
                .and(predicate::str::contains("damaged"))
                .and(predicate::str::contains("has none for its watermark").not()),
        );
    assert_eq!(
        std::fs::read(damaged.join("repository.json")).unwrap(),
        b"{not json"
    );

    // … valid but untrusted in another home (exit 0), and trusted again with --trust.
    let other = d.join("other");
    assert_eq!(verify_json(&other, &signed, 0)["c2pa"]["state"], "valid");
    let anchor = home.join("trust/acme-news-root.pem");
    let out = verity(&other)
        .args(["verify", "--json", "--trust"])
        .arg(&anchor)
        .arg(&signed)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(json(&out)["c2pa"]["state"], "trusted");

    // Unsigned: no credentials, exit 5, not an error.
    verity(&home)
        .args(["verify"])
        .arg(&clip)
        .assert()
        .code(5)
        .stdout(predicate::str::contains("no-evidence"));

    // Tampered: exit 4.
    let mut bytes = std::fs::read(&signed).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 0x40;
    let bad = d.join("bad.mp4");
    std::fs::write(&bad, bytes).unwrap();
    verity(&home).args(["verify"]).arg(&bad).assert().code(4);

    // A missing --trust path is a clear error.
    verity(&home)
        .args(["verify", "--trust"])
        .arg(d.join("no-such-dir"))
        .arg(&signed)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no-such-dir")
                .and(predicate::str::contains("no such file or directory")),
        );
}

#[test]
fn bad_keys_are_refused_before_signing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let clip = common::lavfi(d, "clip.mp4", "testsrc2=s=160x120:r=25:d=1", None, &[]).unwrap();
    verity(&home).args(["keys", "init"]).assert().success();

    // An unreadable key: named, and its content never printed.
    let key = d.join("key.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = d.join("out.mp4");
    let err = verity(&home)
        .args(["sign"])
        .arg(&clip)
        .arg("-o")
        .arg(&out)
        .arg("--key")
        .arg(&key)
        .arg("--chain")
        .arg(home.join("keys/signer.chain.pem"))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains("key.pem") && !err.contains("SECRET"), "{err}");
    assert!(!out.exists());

    // The CA's own key with the chain: the key does not match the signing certificate.
    verity(&home)
        .args(["sign"])
        .arg(&clip)
        .arg("-o")
        .arg(&out)
        .arg("--key")
        .arg(home.join("keys/ca.key.pem"))
        .arg("--chain")
        .arg(home.join("keys/signer.chain.pem"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "does not belong to the signing certificate",
        ));
    assert!(!out.exists());

    // Not a video: refused before any key is touched.
    let txt = d.join("notes.mp4");
    std::fs::write(&txt, "not a video\n".repeat(10)).unwrap();
    verity(&home)
        .args(["sign"])
        .arg(&txt)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("text file"));
    assert!(!out.exists());
}

#[test]
fn a_picture_too_small_for_the_mark_is_refused_and_reads_as_not_enough_signal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    verity(&home).args(["keys", "init"]).assert().success();
    let tiny = common::lavfi(d, "tiny.mp4", "testsrc2=s=96x64:r=10:d=1", None, &[]).unwrap();
    let out = d.join("tiny-signed.mp4");
    verity(&home)
        .args(["sign"])
        .arg(&tiny)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "too small to carry the spectral mark",
        ));
    assert!(!out.exists());
    let names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}"); // home and tiny.mp4: no temporary left behind

    // The badge and the manifest alone still work on it …
    verity(&home)
        .args(["sign", "--no-watermark", "--no-visible"])
        .arg(&tiny)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    // … and verify says the picture is too small to tell, rather than "no mark".
    let r = verify_json(&home, &out, 0);
    assert_eq!(r["watermark"]["signal"], "not-enough", "{r}");
    assert_eq!(r["watermark"]["found"], false);
    assert!(
        r["verdict"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("not enough signal")),
        "{r}"
    );
}
