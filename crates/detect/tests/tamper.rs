//! The tamper matrix: every change to a signed clip is reported invalid or tampered with the
//! right code, and the untouched clip is trusted with our anchor, valid without it.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "../../media/tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};

use verity_detect::{Report, VerdictLabel, VerifyOptions, verify};
use verity_provenance::{C2paState, ManifestSpec, Origin, sign_file};
use verity_signing::{TrustStore, load_home_signer};

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    signed: PathBuf,
    trust: TrustStore,
    manifest: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let home = d.join("home");
    let (signer, trust) = support::acme_home(&home);
    let clip = common::lavfi(
        &d,
        "clip.mp4",
        "testsrc2=s=320x240:r=30:d=2",
        Some("sine=d=2"),
        &[],
    )
    .unwrap();
    let signed = d.join("signed.mp4");
    let spec = ManifestSpec::new("signed.mp4", Origin::Generated);
    let outcome = sign_file(&clip, &signed, &spec, &signer, &trust).unwrap();
    Fixture {
        _dir: dir,
        dir: d,
        signed,
        trust,
        manifest: outcome.manifest,
        chain: signer.chain().to_vec(),
    }
}

fn report(f: &Fixture, path: &Path) -> Report {
    verify(
        path,
        &VerifyOptions {
            trust: f.trust.clone(),
            ..VerifyOptions::default()
        },
    )
    .unwrap()
}

/// The verdict is `label` and the failure codes include `code`.
fn assert_finding(r: &Report, label: VerdictLabel, code: &str) {
    let codes = failures(r);
    assert_eq!(r.verdict.label, label, "{codes:?}");
    assert!(
        codes.iter().any(|c| c == code),
        "expected {code} in {codes:?}"
    );
}

fn failures(r: &Report) -> Vec<String> {
    r.c2pa
        .manifest
        .codes
        .failure
        .iter()
        .map(|c| c.code.clone())
        .collect()
}

/// Byte offset of the middle of packet `nth` of a stream, from ffprobe (not from verity).
fn packet_middle(path: &Path, stream: &str, nth: usize) -> usize {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pos,size",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(nth).expect("packets");
    let mut it = line.split(',').map(|v| v.trim().parse::<usize>().unwrap());
    let (pos, size) = (it.next().unwrap(), it.next().unwrap());
    pos + size / 2
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern present")
}

fn altered(f: &Fixture, name: &str, change: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(&f.signed).unwrap();
    change(&mut bytes);
    let p = f.dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn untouched_is_trusted_with_our_anchor_and_valid_without() {
    let f = fixture();
    let r = report(&f, &f.signed);
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        failures(&r)
    );
    assert_eq!(r.verdict.label, VerdictLabel::AiGeneratedSigned);
    let r = verify(&f.signed, &VerifyOptions::default()).unwrap();
    assert_eq!(r.c2pa.manifest.state, C2paState::Valid);
    assert_eq!(
        failures(&r),
        vec!["signingCredential.untrusted".to_string()]
    );
}

#[test]
fn flipped_video_or_audio_sample_is_tampering() {
    let f = fixture();
    for stream in ["v:0", "a:0"] {
        let at = packet_middle(&f.signed, stream, 4); // well inside the data
        let p = altered(&f, &format!("flip-{}.mp4", &stream[..1]), |b| b[at] ^= 0x01);
        let r = report(&f, &p);
        assert_eq!(r.c2pa.manifest.state, C2paState::Invalid, "{stream}");
        assert_finding(&r, VerdictLabel::Tampered, "assertion.bmffHash.mismatch");
    }
}

#[test]
fn flipped_signature_or_assertion_is_invalid() {
    let f = fixture();
    // The COSE signature ends its JUMBF box: the signature bytes are the last ones before the
    // box that follows the `c2pa.signature` description.
    let sig = altered(&f, "sig.mp4", |b| {
        let label = find(b, b"c2pa.signature\0");
        // The signature superbox starts 8 (superbox header) + 8 (jumd header) + 16 (UUID) + 1
        // (toggles) bytes before its label.
        let start = label - 33;
        let size =
            u32::from_be_bytes([b[start], b[start + 1], b[start + 2], b[start + 3]]) as usize;
        b[start + size - 10] ^= 0x01;
    });
    let r = report(&f, &sig);
    assert_finding(
        &r,
        VerdictLabel::InvalidCredentials,
        "claimSignature.mismatch",
    );

    // Change one letter inside the training-mining assertion, keeping its CBOR well formed.
    let asrt = altered(&f, "assertion.mp4", |b| {
        let label = find(b, b"cawg.training-mining\0");
        let word = label + find(&b[label..], b"notAllowed");
        b[word] = b'N';
    });
    let r = report(&f, &asrt);
    assert_finding(
        &r,
        VerdictLabel::InvalidCredentials,
        "assertion.hashedURI.mismatch",
    );
}

#[test]
fn replaced_certificate_chain_is_invalid() {
    let f = fixture();
    // Another identity's signing certificate, swapped in byte for byte (keys init writes
    // fixed-length serials, so one organisation's Ed25519 certificates all have one length).
    let other = tempfile::tempdir().unwrap();
    let (other_signer, _) = support::acme_home(other.path());
    let replacement = other_signer.chain().to_vec();
    assert_eq!(
        replacement[0].len(),
        f.chain[0].len(),
        "certificate lengths"
    );
    assert_ne!(replacement[0], f.chain[0]);
    let p = altered(&f, "chain.mp4", |b| {
        let at = find(b, &f.chain[0]);
        b[at..at + f.chain[0].len()].copy_from_slice(&replacement[0]);
    });
    let r = verify(
        &p,
        &VerifyOptions {
            trust: f.trust.clone(),
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Invalid,
        "{:?}",
        failures(&r)
    );
    assert_eq!(r.verdict.label, VerdictLabel::InvalidCredentials);
    assert!(
        failures(&r).contains(&"claimSignature.mismatch".to_string()),
        "{:?}",
        failures(&r)
    );
}

#[test]
fn reencoded_video_with_the_manifest_spliced_back_is_tampering() {
    let f = fixture();
    // Re-encode (which drops the manifest), then append the original manifest as a top-level box.
    let re = f.dir.join("re.mp4");
    common::ffmpeg(&[
        "-i".as_ref(),
        f.signed.as_os_str(),
        "-c:v".as_ref(),
        "libx264".as_ref(),
        "-crf".as_ref(),
        "30".as_ref(),
        re.as_os_str(),
    ])
    .unwrap();
    assert_eq!(
        report(&f, &re).verdict.label,
        VerdictLabel::NoEvidence,
        "a plain re-encode strips the manifest"
    );
    let boxed =
        c2pa::Builder::from_context(verity_provenance::manifest::context(&f.trust).unwrap())
            .compose_manifest(&f.manifest, "video/mp4")
            .unwrap();
    let mut bytes = std::fs::read(&re).unwrap();
    bytes.extend_from_slice(&boxed);
    let spliced = f.dir.join("spliced.mp4");
    std::fs::write(&spliced, bytes).unwrap();
    let r = report(&f, &spliced);
    assert_finding(&r, VerdictLabel::Tampered, "assertion.bmffHash.mismatch");
}

#[test]
fn corrupt_and_truncated_files_do_not_panic() {
    let f = fixture();
    // Garbage over the middle of the manifest.
    let corrupt = altered(&f, "corrupt.mp4", |b| {
        let at = find(b, b"c2pa.signature\0");
        for x in &mut b[at - 200..at + 200] {
            *x = 0xAB;
        }
    });
    let r = report(&f, &corrupt);
    assert_ne!(r.c2pa.manifest.state, C2paState::Trusted);
    assert_ne!(r.c2pa.manifest.state, C2paState::Valid);
    // Cut in half: either unreadable as a video (an error naming the file) or reported invalid.
    let bytes = std::fs::read(&f.signed).unwrap();
    let cut = f.dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match verify(
        &cut,
        &VerifyOptions {
            trust: f.trust.clone(),
            ..VerifyOptions::default()
        },
    ) {
        Err(e) => assert!(e.to_string().contains("cut.mp4"), "{e}"),
        Ok(r) => assert_ne!(r.c2pa.manifest.state, C2paState::Trusted),
    }
}

#[test]
fn fragmented_mp4_is_signed_and_tamper_evident() {
    let f = fixture();
    let frag = common::lavfi(
        &f.dir,
        "frag.mp4",
        "testsrc2=s=320x240:r=30:d=3",
        Some("sine=d=3"),
        &["-g", "30", "-movflags", "frag_keyframe+empty_moov"],
    )
    .unwrap();
    let home = f.dir.join("home");
    let signer = load_home_signer(&home).unwrap();
    let signed = f.dir.join("frag-signed.mp4");
    sign_file(
        &frag,
        &signed,
        &ManifestSpec::new("frag", Origin::Generated),
        &signer,
        &f.trust,
    )
    .unwrap();
    let r = report(&f, &signed);
    assert_eq!(
        r.c2pa.manifest.state,
        C2paState::Trusted,
        "{:?}",
        failures(&r)
    );

    // A flipped byte in a video sample of a later fragment is caught.
    let at = packet_middle(&signed, "v:0", 70); // in the third fragment
    let mut bytes = std::fs::read(&signed).unwrap();
    bytes[at] ^= 0x01;
    let bad = f.dir.join("frag-bad.mp4");
    std::fs::write(&bad, bytes).unwrap();
    let r = report(&f, &bad);
    assert_eq!(
        r.verdict.label,
        VerdictLabel::Tampered,
        "{:?}",
        failures(&r)
    );
}

#[test]
fn manifest_spliced_onto_an_unrelated_clip_is_tampering() {
    let f = fixture();
    let other = common::lavfi(
        &f.dir,
        "other.mp4",
        "mandelbrot=s=320x240:r=30",
        Some("sine=f=880:d=2"),
        &["-t", "2"],
    )
    .unwrap();
    let boxed =
        c2pa::Builder::from_context(verity_provenance::manifest::context(&f.trust).unwrap())
            .compose_manifest(&f.manifest, "video/mp4")
            .unwrap();
    let mut bytes = std::fs::read(&other).unwrap();
    bytes.extend_from_slice(&boxed);
    let spliced = f.dir.join("other-spliced.mp4");
    std::fs::write(&spliced, bytes).unwrap();
    let r = report(&f, &spliced);
    assert_finding(&r, VerdictLabel::Tampered, "assertion.bmffHash.mismatch");
}

#[test]
fn a_container_c2pa_cannot_carry_reads_as_no_credentials() {
    let f = fixture();
    let mkv = f.dir.join("clip.mkv");
    common::ffmpeg(&[
        "-i".as_ref(),
        f.signed.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        mkv.as_os_str(),
    ])
    .unwrap();
    let r = report(&f, &mkv);
    assert_eq!(r.c2pa.manifest.state, C2paState::Absent);
    assert_eq!(r.verdict.label, VerdictLabel::NoEvidence);
    assert!(
        r.verdict.evidence[0].contains("cannot embed"),
        "{:?}",
        r.verdict.evidence
    );
}
