//! The `verity` binary: exit codes, one-line errors, JSON output, help.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use support::verity;

// The media crate's test helpers (making clips with the ffmpeg CLI), shared rather than copied.
#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
mod support;

fn clip(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    common::lavfi(
        dir,
        name,
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=d=2"),
        extra,
    )
    .unwrap_or_else(|e| panic!("making {name}: {e}"))
}

#[test]
fn probe_json_and_text() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let f = clip(dir.path(), "a.mp4", &[]);
    let out = verity(dir.path())
        .args(["probe", "--json"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out)?;
    assert_eq!(v["video"]["width"], 320);
    assert_eq!(v["video"]["height"], 240);
    assert_eq!(v["video"]["fps"], 30.0);
    assert_eq!(v["video"]["frames"], 60);
    assert_eq!(v["audio"]["codec"], "aac");
    assert!((v["duration_s"].as_f64().unwrap_or(0.0) - 2.0).abs() < 0.05);

    verity(dir.path())
        .arg("probe")
        .arg(&f)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("h264 320x240").and(predicate::str::contains("audio #1: aac")),
        );
    Ok(())
}

#[test]
fn bad_inputs_exit_1_with_one_line() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(d.join("empty.mp4"), b"")?;
    std::fs::write(d.join("text.mp4"), "just some text\n".repeat(20))?;
    let cases: [(&str, &str); 4] = [
        ("empty.mp4", "empty"),
        ("text.mp4", "text file"),
        ("missing.mp4", "no such file"),
        (".", "directory"),
    ];
    for (name, says) in cases {
        for cmd in [vec!["probe"], vec!["transcode"]] {
            let mut c = verity(d);
            c.args(&cmd).arg(d.join(name));
            if cmd[0] == "transcode" {
                c.arg(d.join("out.mp4"));
            }
            let out = c.assert().code(1).get_output().clone();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{name}: {err}");
            assert!(
                err.starts_with("error: ") && err.contains(says),
                "{name}: {err}"
            );
            assert!(
                !d.join("out.mp4").exists(),
                "a failed transcode left an output"
            );
        }
    }
    Ok(())
}

#[test]
fn transcode_full_and_truncated() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let f = clip(d, "a.mp4", &["-movflags", "+faststart"]);
    let out = d.join("b.mp4");
    let json = verity(d)
        .args([
            "transcode",
            "--crf",
            "30",
            "--preset",
            "ultrafast",
            "--json",
        ])
        .arg(&f)
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json)?;
    assert_eq!(v["output"]["video_frames"], 60);
    assert_eq!(v["partial"], false);
    assert!(out.is_file());

    // Cut at half: exit 3, a warning, and the output holds what decoded.
    let bytes = std::fs::read(&f)?;
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2])?;
    let out2 = d.join("c.mp4");
    verity(d)
        .args(["transcode", "--preset", "ultrafast"])
        .arg(&cut)
        .arg(&out2)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("warning:").and(predicate::str::contains("cut short")));
    assert!(out2.is_file());
    Ok(())
}

#[test]
fn usage_errors_name_the_allowed_values() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    verity(dir.path())
        .args(["transcode", "a.mp4", "b.mp4", "--crf", "60"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("0..=51"));
    verity(dir.path())
        .args(["transcode", "a.mp4", "b.mp4", "--preset", "warp"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ultrafast"));
    verity(dir.path()).arg("--help").assert().success().stdout(
        predicate::str::contains("probe")
            .and(predicate::str::contains("transcode"))
            .and(predicate::str::contains("--home")),
    );
    Ok(())
}

#[test]
fn generate_refuses_bad_requests_before_any_work() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let out = d.join("clip.mp4");
    let cases: [(&[&str], &str); 4] = [
        (&["a red ball dances"], "did not understand: `dances`"),
        (&["a red and blue ball falls"], "contradiction"),
        (&["a red ball falls", "--duration", "0"], "invalid duration"),
        (&["a red ball falls", "--size", "0x512"], "invalid size"),
    ];
    for (args, says) in cases {
        verity(d)
            .arg("generate")
            .args(args)
            .arg("-o")
            .arg(&out)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(says));
    }
    // A model card's block is named in an HTML comment: a name that could end the comment is
    // refused, and so is a block without a card, before anything is loaded.
    verity(d)
        .args(["eval", "detector", "--card", "card.md", "--block", "a-->b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("letters, digits or dashes"));
    verity(d)
        .args(["eval", "detector", "--block", "eval-fresh2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--card"));
    // A rate on unseen scenes is recorded only from a fresh split, into a named classifier
    // folder; more real scenes join training only beside a dataset, not with a fresh split.
    verity(d)
        .args([
            "eval",
            "detector",
            "--record",
            "--detector",
            "models/detector",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--test-data"));
    verity(d)
        .args(["eval", "detector", "--record", "--test-data", "fresh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--detector"));
    verity(d)
        .args([
            "train",
            "detector",
            "--fresh-test",
            "data",
            "--also-train",
            "fresh",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    verity(d)
        .args([
            "train",
            "detector",
            "--data-only",
            "--also-validate",
            "fresh",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    // The evaluation checks its guidance before it loads the model.
    verity(d)
        .args(["eval", "generator", "--guidance", "50"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--guidance must be from 0 to 20"));
    // One prompt from the shipped model: the scores, the denoising error per level and the
    // contact sheet (the renderer's row above the model's, 16 frames of 32x32, 3x).
    let sheet = d.join("sheet.png");
    let out_json = verity(d)
        .args([
            "eval",
            "generator",
            "--prompts",
            "1",
            "--denoise-clips",
            "1",
            "--json",
        ])
        .args([
            "--model",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../models/generator"),
        ])
        .arg("--sheet")
        .arg(&sheet)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = support::json(&out_json);
    assert_eq!(v["summary"]["clips"], 1);
    assert_eq!(v["denoising"].as_array().map(Vec::len), Some(6));
    assert!(v["denoising"][5]["one_step"].as_f64() > v["denoising"][0]["one_step"].as_f64());
    let png = std::fs::read(&sheet)?;
    assert_eq!(&png[1..4], b"PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into()?),
        u32::from_be_bytes(png[20..24].try_into()?),
    );
    assert_eq!((w, h), (16 * 32 * 3, 2 * 32 * 3));
    assert!(!d.join("sheet.png.tmp").exists());
    // Keys exist but the model does not.
    verity(d).args(["keys", "init"]).assert().success();
    verity(d)
        .args(["generate", "a red ball falls", "--model"])
        .arg(d.join("no-model"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("model weights are missing"));
    assert!(!out.exists());
    Ok(())
}
