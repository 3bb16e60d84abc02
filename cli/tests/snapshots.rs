//! `verify --json` is a public contract: its field names and what each case reports are kept as
//! insta snapshots (`cli/tests/snapshots/`) for five cases: a signed generated clip, a signed
//! real clip, a re-encoded copy recovered through the watermark, a tampered copy, and an
//! unsigned file. Fields that change from run to run (hashes, random payloads, times, scores
//! computed in floating point) are redacted; their presence and type are still checked.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::Value;
use support::{verify_json, verity};

/// The fields that differ between runs, by path, and what kind of value each must hold.
const VOLATILE: &[(&str, Kind)] = &[
    ("file.sha256", Kind::String),
    ("file.size_bytes", Kind::Number),
    ("c2pa.manifest_label", Kind::String),
    ("c2pa.signer.cert_serial_number", Kind::String),
    ("watermark.payload", Kind::String),
    ("watermark.asset_id", Kind::Number),
    ("watermark.issuer", Kind::Number),
    ("watermark.confidence", Kind::Number),
    ("watermark.sync_score", Kind::Number),
    ("watermark.false_positive_bound", Kind::Number),
    ("watermark.frames_used", Kind::Number),
    ("watermark.scale", Kind::Number),
    ("visible_mark.confidence", Kind::Number),
    ("visible_mark.frames_used", Kind::Number),
    ("timings_ms", Kind::Object),
    // The classifier's figures change whenever its weights do; its shape stays.
    ("classifier.synthetic_probability", Kind::Number),
    ("classifier.model", Kind::String),
    ("classifier.operating_point", Kind::Object),
    ("classifier.segments", Kind::Array),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    String,
    Number,
    Object,
    Array,
}

/// `report` with each volatile field (when present and not null) checked for its kind and
/// replaced by a placeholder.
fn redact(mut report: Value, dir: &str) -> Value {
    for (path, kind) in VOLATILE {
        let pointer = format!("/{}", path.replace('.', "/"));
        let Some(at) = report.pointer_mut(&pointer) else {
            continue;
        };
        if at.is_null() {
            continue;
        }
        let ok = match kind {
            Kind::String => at.is_string(),
            Kind::Number => at.is_number(),
            Kind::Object => at.is_object(),
            Kind::Array => at.is_array(),
        };
        assert!(ok, "{path} should be a {kind:?}: {at}");
        *at = Value::String(format!("[{path}]"));
    }
    // Without a mark, `flipped` is the orientation of the decoder's best guess at noise, which
    // follows the test's freshly made watermark key: either value, run to run.
    if report.pointer("/watermark/found") == Some(&Value::Bool(false)) {
        if let Some(at) = report.pointer_mut("/watermark/flipped") {
            assert!(at.is_boolean(), "watermark.flipped should be a bool: {at}");
            *at = Value::String("[watermark.flipped]".into());
        }
    }
    scrub_strings(&mut report, dir);
    report
}

/// Every string in `v` with what changes between runs replaced: the test's folder, manifest
/// URNs, payloads, issuer and asset ids, and figures computed in floating point.
fn scrub_strings(v: &mut Value, dir: &str) {
    match v {
        Value::String(s) => *s = scrub(s, dir),
        Value::Array(a) => a.iter_mut().for_each(|x| scrub_strings(x, dir)),
        Value::Object(o) => o.values_mut().for_each(|x| scrub_strings(x, dir)),
        _ => {}
    }
}

fn scrub(s: &str, dir: &str) -> String {
    let mut s = s.replace(dir, "[dir]");
    s = replace_after(&s, "urn:c2pa:", 36, "[urn]");
    s = replace_after(&s, "issuer ", 5, "[issuer]");
    s = replace_after(&s, "asset ", 10, "[asset]");
    s = replace_after(&s, "verity-detector@", 12, "[model]");
    for figure in [
        "correlation ",
        "at most ",
        "synthetic probability ",
        "threshold of ",
        "flags ",
        "% of the ",
        // The classifier's rate on unseen scenes: "and K of N non-AI clips (R %, …) cut from S
        // real scenes".
        "and ",
        " of ",
        "clips (",
        "cut from ",
    ] {
        s = figures_redacted(&s, figure);
    }
    hex16_redacted(&s)
}

/// `s` with the number right after each `marker` (if any) replaced by `[figure]`.
fn figures_redacted(s: &str, marker: &str) -> String {
    redacted_after(s, marker, "[figure]", |tail| {
        let len: usize = tail
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-'))
            .map(char::len_utf8)
            .sum();
        // A word after the marker ("and the", "evidence-only") is not a figure.
        tail[..len]
            .starts_with(|c: char| c.is_ascii_digit())
            .then_some(len)
    })
}

/// `s` with the `len` characters after each `marker` replaced by `with` (when there are that
/// many).
fn replace_after(s: &str, marker: &str, len: usize, with: &str) -> String {
    redacted_after(s, marker, with, |tail| match tail.char_indices().nth(len) {
        Some((end, _)) => Some(end),
        None if tail.chars().count() == len => Some(tail.len()),
        None => None,
    })
}

/// `s` with the bytes after each `marker` that `span` measures (when it finds any) replaced by
/// `with`.
fn redacted_after(
    s: &str,
    marker: &str,
    with: &str,
    span: impl Fn(&str) -> Option<usize>,
) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(marker) {
        let start = i + marker.len();
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match span(tail).filter(|&n| n > 0) {
            Some(n) => {
                out.push_str(with);
                rest = &tail[n..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `s` with each run of exactly 16 hex digits (a payload) replaced.
fn hex16_redacted(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() == 16 {
            out.push_str("[payload]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[test]
fn verify_reports_keep_their_shape() {
    let Some(real) = common::fetched("carphone_pristine.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    verity(&home)
        .args(["keys", "init", "--org", "Snapshot Org", "--alg", "es256"])
        .assert()
        .success();

    // A generated clip from the model built into the binary, run from a folder outside the
    // repository (the model is found wherever verity runs).
    let generated = d.join("generated.mp4");
    verity(&home)
        .current_dir(d)
        .args([
            "generate",
            "a small red ball bounces from left to right while the camera is static",
            "--size",
            "256x256",
            "--duration",
            "1",
            "--fps",
            "12",
            "--steps",
            "2",
            "-o",
        ])
        .arg(&generated)
        .assert()
        .success();
    // A real clip, signed with all three layers.
    let signed = d.join("signed.mp4");
    verity(&home)
        .current_dir(d)
        .arg("sign")
        .arg(&real)
        .arg("-o")
        .arg(&signed)
        .assert()
        .success();
    // A platform's re-encode without metadata: recovered through the watermark.
    let reencoded = d.join("reencoded.mp4");
    common::ffmpeg(&[
        "-i".as_ref(),
        signed.as_os_str(),
        "-map_metadata".as_ref(),
        "-1".as_ref(),
        "-c:v".as_ref(),
        "libx264".as_ref(),
        "-crf".as_ref(),
        "23".as_ref(),
        reencoded.as_os_str(),
    ])
    .unwrap();
    // One byte of video changed.
    let tampered = d.join("tampered.mp4");
    let mut bytes = std::fs::read(&signed).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&tampered, bytes).unwrap();

    for (name, file, code) in [
        ("generated-signed", &generated, 0),
        ("real-signed", &signed, 0),
        ("reencoded-recovered", &reencoded, 0),
        ("tampered", &tampered, 4),
        ("unsigned", &real, 5),
    ] {
        let report = redact(verify_json(&home, file, code), &d.display().to_string());
        insta::assert_json_snapshot!(name, report);
    }
}

#[test]
fn only_what_changes_between_runs_is_scrubbed() {
    assert_eq!(
        hex16_redacted("payload 1986a78560d89ca7 in deadbeef and 0123456789abcdef0"),
        "payload [payload] in deadbeef and 0123456789abcdef0"
    );
    assert_eq!(
        scrub(
            "payload 1986a78560d89ca7 (issuer a5d20, asset 7c8e5a21ae), read with the /t/x/home/keys/watermark.key key; chance of a false match at most 4.7e-10 (C2PA 2.2 §18.10)",
            "/t/x"
        ),
        "payload [payload] (issuer [issuer], asset [asset]), read with the [dir]/home/keys/watermark.key key; chance of a false match at most [figure] (C2PA 2.2 §18.10)"
    );
    assert_eq!(
        scrub(
            "self#jumbf=/c2pa/urn:c2pa:ecf043bc-6e97-4910-9a7a-c210921027a9/c2pa.signature",
            "/t"
        ),
        "self#jumbf=/c2pa/urn:[urn]/c2pa.signature".replace("urn:[urn]", "urn:c2pa:[urn]")
    );
    assert_eq!(
        scrub("correlation 0.95 over 30 frames", "/t"),
        "correlation [figure] over 30 frames"
    );
    // The rate on unseen scenes is scrubbed; a count elsewhere ("from 12 frames") is not.
    assert_eq!(
        scrub(
            "flags 0.9 % of the 229 non-AI validation clips (at most 3.1 % at 95 % confidence, an optimistic figure) and 39 of 348 non-AI clips (11.2 %, at most 15.0 % at 95 % confidence) cut from 12 real scenes; key from 12 frames",
            "/t"
        ),
        "flags [figure] % of the [figure] non-AI validation clips (at most [figure] % at 95 % confidence, an optimistic figure) and [figure] of [figure] non-AI clips ([figure] %, at most [figure] % at 95 % confidence) cut from [figure] real scenes; key from 12 frames"
    );
}
