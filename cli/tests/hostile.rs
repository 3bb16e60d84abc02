//! Hostile and careless input, as a user or an uploader would give it: a box size that wraps
//! around, files c2pa cannot parse, a damaged manifest or repository, interrupts, devices and
//! FIFOs where keys belong, rotated clips, and options out of range. Each case is made by the
//! test itself.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../crates/media/tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::{json, verify_json, verity};

/// Every command here must answer well within this, whatever the input: a guard against a
/// hang, not a measure of speed.
const GUARD: Duration = Duration::from_secs(300);

fn home_with_keys(d: &Path) -> PathBuf {
    let home = d.join("home");
    verity(&home)
        .args(["keys", "init", "--org", "Acme News"])
        .assert()
        .success();
    home
}

/// `verity sign -q INPUT -o OUTPUT`, which must succeed.
fn sign(home: &Path, input: &Path, output: &Path) {
    verity(home)
        .args(["sign", "-q"])
        .arg(input)
        .arg("-o")
        .arg(output)
        .assert()
        .success();
}

/// `bytes` with one more top-level box that claims 100 bytes but has only its header: c2pa
/// refuses such a file ("box size extends beyond asset bounds"); FFmpeg plays it.
fn with_cut_trailing_box(src: &Path, dst: &Path) {
    let mut b = std::fs::read(src).unwrap();
    b.extend_from_slice(&100u32.to_be_bytes());
    b.extend_from_slice(b"free");
    std::fs::write(dst, b).unwrap();
}

#[test]
fn a_box_size_that_wraps_around_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    // b[:32] + an 8-byte free box + a free box whose 64-bit size is 2^64 - 8 + b[40:]: the
    // scan's `pos + size` wrapped back to the box before, forever.
    let b = std::fs::read(&clip).unwrap();
    let mut evil = b[..32].to_vec();
    evil.extend_from_slice(&8u32.to_be_bytes());
    evil.extend_from_slice(b"free");
    evil.extend_from_slice(&1u32.to_be_bytes());
    evil.extend_from_slice(b"free");
    evil.extend_from_slice(&(u64::MAX - 7).to_be_bytes());
    evil.extend_from_slice(&b[40..]);
    let f = d.join("wrap.mp4");
    std::fs::write(&f, evil).unwrap();
    let out = d.join("out.mp4");
    for args in [
        vec!["probe"],
        vec!["verify"],
        vec!["transcode"],
        vec!["sign"],
    ] {
        let mut cmd = verity(&home);
        cmd.args(&args).arg(&f);
        match args[0] {
            "transcode" => {
                cmd.arg(&out);
            }
            "sign" => {
                cmd.arg("-o").arg(&out);
            }
            _ => {}
        }
        cmd.timeout(GUARD)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("the 'free' box at byte 40"));
        assert!(!out.exists());
    }
}

/// "No manifest", "a manifest that cannot be parsed" and "a file c2pa cannot parse" are three
/// findings; in none of them is the file called tampered, and the marks and the recovery run in
/// all three.
#[test]
fn files_c2pa_cannot_parse_keep_their_marks_and_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let clip = common::lavfi(d, "clip.mp4", "testsrc2=s=640x360:r=30:d=3", None, &[]).unwrap();

    // An unsigned clip with a cut trailing box: no evidence, and c2pa's refusal is said.
    let plain = d.join("plain-cut.mp4");
    with_cut_trailing_box(&clip, &plain);
    let r = verify_json(&home, &plain, 5);
    assert_eq!(r["verdict"]["label"], "no-evidence", "{r}");
    assert_eq!(r["c2pa"]["state"], "absent");
    assert_eq!(
        r["c2pa"]["codes"]["informational"][0]["code"],
        "verity.container.unparsed"
    );
    assert!(
        r["verdict"]["evidence"][0]
            .as_str()
            .unwrap()
            .contains("could not parse its container")
    );
    assert!(r["watermark"].is_object(), "the marks were checked: {r}");

    // A signed clip whose manifest was stripped by a re-encode, then given a cut trailing box:
    // still recovered through the watermark.
    let signed = d.join("signed.mp4");
    sign(&home, &clip, &signed);
    let stripped = d.join("stripped.mp4");
    common::ffmpeg(&[
        "-i".as_ref(),
        signed.as_os_str(),
        "-map_metadata".as_ref(),
        "-1".as_ref(),
        "-c:v".as_ref(),
        "libx264".as_ref(),
        "-crf".as_ref(),
        "18".as_ref(),
        stripped.as_os_str(),
    ])
    .unwrap();
    let stripped_cut = d.join("stripped-cut.mp4");
    with_cut_trailing_box(&stripped, &stripped_cut);
    let r = verify_json(&home, &stripped_cut, 0);
    assert_eq!(r["verdict"]["label"], "watermarked-recovered", "{r}");
    assert_eq!(r["c2pa"]["recovered_via"], "watermark");

    // A signed clip whose embedded manifest store is damaged beyond parsing (zeros over its
    // JUMBF boxes, the store's type UUID left): "unreadable", and the watermark still brings
    // back the credentials, with the damage said.
    let mut b = std::fs::read(&signed).unwrap();
    let jumb = b.windows(4).position(|w| w == b"jumb").unwrap();
    let uuid = b.windows(4).position(|w| w == b"jumd").unwrap() + 4;
    let start = uuid + 16 + 8; // after the store's description UUID, toggles and label
    b[start..start + 400].fill(0);
    assert!(jumb < start);
    let damaged = d.join("damaged-manifest.mp4");
    std::fs::write(&damaged, b).unwrap();
    let r = verify_json(&home, &damaged, 0);
    assert_eq!(r["verdict"]["label"], "watermarked-recovered", "{r}");
    assert_eq!(
        r["c2pa"]["embedded_failure"]["code"], "verity.manifest.unreadable",
        "{r}"
    );
    assert!(
        r["verdict"]["evidence"][0]
            .as_str()
            .unwrap()
            .contains("own manifest store cannot be used")
    );

    // The same damaged file with the watermark layer off: nothing to recover with, so the
    // damaged manifest is what is left to report, as invalid credentials.
    let r = verity(&home)
        .args(["verify", "--json", "--no-marks"])
        .arg(&damaged)
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let r = json(&r);
    assert_eq!(r["verdict"]["label"], "invalid-credentials", "{r}");
    assert_eq!(
        r["c2pa"]["codes"]["failure"][0]["code"],
        "verity.manifest.unreadable"
    );
}

/// A damaged manifest repository is reported, not fatal: a file with its own manifest still
/// verifies.
#[test]
fn a_damaged_repository_does_not_fail_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let clip = common::lavfi(d, "clip.mp4", "testsrc2=s=320x240:r=30:d=2", None, &[]).unwrap();
    let signed = d.join("signed.mp4");
    sign(&home, &clip, &signed);
    std::fs::write(home.join("manifests/repository.json"), b"{ not json").unwrap();
    let r = verify_json(&home, &signed, 0);
    assert_eq!(r["verdict"]["label"], "signed-other-origin", "{r}");
    let err = r["c2pa"]["repository_error"].as_str().unwrap();
    assert!(err.contains("repository.json"), "{err}");
    assert!(
        r["verdict"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e
                .as_str()
                .unwrap()
                .contains("repository could not be searched")),
        "{r}"
    );
}

/// Waits (bounded) until a hidden temporary appears in `dir`: the command is then writing.
fn wait_for_temporary(dir: &Path, child: &mut std::process::Child) -> bool {
    let deadline = Instant::now() + GUARD;
    while Instant::now() < deadline {
        let writing = std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with('.') && n.contains(".tmp")
        });
        if writing {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// SIGINT or SIGTERM in the middle of transcode or sign: the process ends with 128 + the
/// signal, and leaves nothing in the output folder: no output, no hidden temporary.
#[test]
fn an_interrupted_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    // Long enough that the work is still going when the signal comes (seconds of encoding at
    // preset medium), whatever the machine.
    let clip = common::lavfi(
        d,
        "long.mp4",
        "testsrc2=s=1280x720:r=30:d=20",
        None,
        &["-preset", "ultrafast"],
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("verity");
    for (cmd, signal) in [("transcode", libc::SIGINT), ("sign", libc::SIGTERM)] {
        let out_dir = d.join(format!("out-{cmd}"));
        std::fs::create_dir(&out_dir).unwrap();
        let out = out_dir.join("out.mp4");
        let mut c = std::process::Command::new(&bin);
        c.env("VERITY_HOME", &home).arg(cmd).arg(&clip);
        if cmd == "sign" {
            c.arg("-o");
        }
        let mut child = c
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_for_temporary(&out_dir, &mut child),
            "{cmd} ended before it wrote anything"
        );
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + signal), "{cmd}: {status:?}");
        let left: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "{cmd} left {left:?}");
    }
}

/// Key, chain, trust and watermark-key options refuse devices, FIFOs and huge files at once,
/// naming what they are.
#[test]
fn key_and_trust_options_refuse_devices_fifos_and_huge_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let clip = common::short_clip(d, "clip.mp4").unwrap();
    let fifo = d.join("pipe.pem");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let huge = d.join("huge.pem");
    std::fs::write(&huge, vec![b'A'; 8 << 20]).unwrap();
    let out = d.join("out.mp4");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec!["verify".as_ref(), "--trust".as_ref(), "/dev/zero".as_ref()],
            "a character device",
        ),
        (
            vec!["verify".as_ref(), "--trust".as_ref(), fifo.as_os_str()],
            "a FIFO",
        ),
        (
            vec!["verify".as_ref(), "--allow".as_ref(), huge.as_os_str()],
            "more than the",
        ),
        (
            vec![
                "verify".as_ref(),
                "--watermark-key".as_ref(),
                "/dev/zero".as_ref(),
            ],
            "a character device",
        ),
        (
            vec![
                "verify".as_ref(),
                "--watermark-key".as_ref(),
                fifo.as_os_str(),
            ],
            "a FIFO",
        ),
        (
            vec!["sign".as_ref(), "--key".as_ref(), fifo.as_os_str()],
            "a FIFO",
        ),
        (
            vec![
                "sign".as_ref(),
                "--key".as_ref(),
                "/dev/zero".as_ref(),
                "--chain".as_ref(),
                "/dev/zero".as_ref(),
            ],
            "a character device",
        ),
    ];
    for (args, want) in cases {
        let mut cmd = verity(&home);
        cmd.args(&args).arg(&clip);
        if args[0] == "sign" {
            cmd.arg("-o").arg(&out);
            if !args.iter().any(|a| *a == "--chain") {
                cmd.arg("--chain").arg(home.join("keys/chain.pem"));
            }
        }
        cmd.timeout(GUARD)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(want));
        assert!(!out.exists());
    }
}

/// A clip with a 90° display matrix stays a rotated clip through transcode and sign.
#[test]
fn rotation_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let clip = common::lavfi(d, "clip.mp4", "testsrc2=s=320x240:r=30:d=2", None, &[]).unwrap();
    let rotated = d.join("rotated.mp4");
    common::ffmpeg(&[
        "-i".as_ref(),
        clip.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-metadata:s:v:0".as_ref(),
        "rotate=90".as_ref(),
        rotated.as_os_str(),
    ])
    .unwrap();
    let rotation = |f: &Path| {
        let out = verity(&home)
            .args(["probe", "--json"])
            .arg(f)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json(&out)["video"]["rotation_deg"].as_f64().unwrap()
    };
    let source = rotation(&rotated);
    assert_ne!(source, 0.0, "the test clip must be rotated");
    let t = d.join("t.mp4");
    verity(&home)
        .arg("transcode")
        .arg(&rotated)
        .arg(&t)
        .assert()
        .success();
    assert_eq!(rotation(&t), source);
    let s = d.join("s.mp4");
    sign(&home, &rotated, &s);
    assert_eq!(rotation(&s), source);
}

/// Options that cannot work are refused before any work, with the real reason.
#[test]
fn generate_refuses_a_seed_and_a_size_it_cannot_honour() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let out = d.join("g.mp4");
    verity(&home)
        .current_dir(env!("CARGO_MANIFEST_DIR").to_string() + "/..")
        .args([
            "generate",
            "a red ball bounces",
            "--seed",
            "18446744073709551615",
            "-o",
        ])
        .arg(&out)
        .timeout(GUARD)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid seed").and(predicate::str::contains("2^53")));
    verity(&home)
        .current_dir(env!("CARGO_MANIFEST_DIR").to_string() + "/..")
        .args(["generate", "a red ball bounces", "--size", "128x1024", "-o"])
        .arg(&out)
        .timeout(GUARD)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot hold the visible badge")
                .and(predicate::str::contains("pixels wide")),
        );
    assert!(!out.exists());
}

/// FFmpeg opens an MP4 whose moov is cut near its end without complaint; probe says the file is
/// damaged and exits 3 instead of 0.
#[test]
fn probe_warns_about_a_cut_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clip = common::lavfi(
        d,
        "clip.mp4",
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=d=2"),
        &[],
    )
    .unwrap();
    let b = std::fs::read(&clip).unwrap();
    // ffmpeg writes the moov last: cut its final 1 %.
    let moov = b.windows(4).rposition(|w| w == b"moov").unwrap() - 4;
    let size = u32::from_be_bytes(b[moov..moov + 4].try_into().unwrap()) as usize;
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &b[..moov + size * 99 / 100]).unwrap();
    verity(d).arg("probe").arg(&cut).assert().code(3).stderr(
        predicate::str::contains("the file is damaged").and(predicate::str::contains("'moov' box")),
    );
}

/// An error's cause is printed once, not once by the error and again as its source.
#[test]
fn causes_are_not_printed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_keys(d);
    let out = verity(&home)
        .args(["verify", "--trust"])
        .arg(d.join("missing.pem"))
        .arg(d.join("x.mp4"))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8_lossy(&out);
    let line = text.lines().find(|l| l.starts_with("error:")).unwrap();
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{line}");
    }
}
