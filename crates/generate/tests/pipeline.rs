//! generate: prompt → model → upscaled, re-timed frames → MP4 → signed manifest.

#![cfg(feature = "pipeline")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use candle_core::Device;
use sha2::Digest;
use verity_generate::GenerateError;
use verity_generate::model::Config;
use verity_generate::pipeline::{GENERATION_ASSERTION, GenerateOptions, generate, load_model};
use verity_generate::train::{TrainOptions, WEIGHTS, train};
use verity_provenance::marks::spectral::ALGORITHM;
use verity_provenance::marks::{
    MarkOptions, Payload, SpectralOptions, VisibleOptions, WatermarkKey,
};
use verity_provenance::repository::{ManifestStore, Repository};
use verity_provenance::stamp::ManifestLayer;
use verity_provenance::{C2paState, read_manifest};
use verity_signing::{InitOptions, KeyAlg, TrustStore, init_keys, load_home_signer};

#[test]
fn a_prompt_becomes_a_signed_ai_generated_clip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = Device::Cpu;
    let ckpt = d.join("model");
    let topts = TrainOptions {
        steps: 3,
        batch: 2,
        lr: 1e-3,
        out: ckpt.clone(),
        resume: None,
        seed: 0,
        checkpoint_every: 3,
        drop_text: 0.1,
        time_limit: None,
        time_sampling: None,
        prediction: None,
        positions: None,
        object_weight: None,
        ema_decay: None,
    };
    // A config that names its own guidance: generation uses it unless told otherwise.
    let cfg = Config {
        guidance: 1.5,
        ..Config::tiny()
    };
    train(&cfg, &topts, &dev, |_| {}).unwrap();
    let home = d.join("home");
    init_keys(
        &home,
        &InitOptions {
            org: "Gen".into(),
            alg: KeyAlg::Ed25519,
            force: false,
        },
    )
    .unwrap();
    let signer = load_home_signer(&home).unwrap();
    let trust = TrustStore::from_home_dir(&home.join("trust")).unwrap();
    let model = load_model(&ckpt, &dev).unwrap();
    // Both marks, with a fixed payload so that two runs can be compared byte for byte.
    let payload = Payload::new(WatermarkKey::default_key().issuer_id(), 0x12_3456_7890);
    let marks = MarkOptions {
        visible: Some(VisibleOptions::new("verity test")),
        spectral: Some(SpectralOptions {
            key: WatermarkKey::default_key(),
            payload,
            strength: 2.2,
        }),
    };
    let repo = Repository::open_or_create(&d.join("manifests")).unwrap();
    let layer = ManifestLayer {
        signer: &signer,
        trust: &trust,
        repository: Some(&repo),
    };

    let out = d.join("clip.mp4");
    let opts = GenerateOptions {
        steps: 2,
        duration_s: 1.0,
        fps: 12,
        width: 160,
        height: 128,
        ..Default::default()
    };
    let prompt = "a small red ball bounces from left to right while the camera pans right";
    let report = generate(
        &model,
        prompt,
        &out,
        &opts,
        &marks,
        layer,
        &dev,
        |_, _, _| {},
    )
    .unwrap();
    assert_eq!(report.stamp.frames, 12);

    // The asked size, rate and length.
    let info = verity_media::probe(&out).unwrap();
    assert_eq!((info.video.width, info.video.height), (160, 128));
    assert!((info.video.fps - 12.0).abs() < 0.01);
    assert_eq!(info.video.frames, Some(12));

    // Signed, declared AI-generated, with the generation assertion and the weights' hash.
    let m = read_manifest(&out, &trust).unwrap();
    assert_eq!(m.state, C2paState::Trusted, "{:?}", m.codes.failure);
    assert!(m.ai_generated);
    let (_, generation) = m
        .assertions
        .iter()
        .find(|(l, _)| l == GENERATION_ASSERTION)
        .expect("generation assertion");
    let weights = std::fs::read(ckpt.join(WEIGHTS)).unwrap();
    let sha: String = sha2::Sha256::digest(&weights)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(generation["weights_sha256"], sha);
    assert_eq!(generation["prompt"], prompt);
    assert_eq!(generation["seed"], 0);
    assert_eq!(generation["steps"], 2);
    assert_eq!(generation["guidance"], 1.5);

    // Watermarked: the action, the soft binding with the payload, and the manifest stored in
    // the repository under it.
    assert!(m.actions.iter().any(|a| a.action == "c2pa.watermarked"));
    assert_eq!(
        m.soft_bindings(),
        vec![(ALGORITHM.to_string(), payload.to_hex())]
    );
    assert_eq!(report.stamp.payload, Some(payload));
    let rec = repo
        .lookup(ALGORITHM, &payload.to_hex())
        .unwrap()
        .expect("stored");
    assert!(!rec.manifest.is_empty());

    // Same prompt and seed, same pictures.
    let again = d.join("again.mp4");
    generate(
        &model,
        prompt,
        &again,
        &opts,
        &marks,
        layer,
        &dev,
        |_, _, _| {},
    )
    .unwrap();
    let luma = |p: &std::path::Path| {
        let mut r = verity_media::Reader::open(
            p,
            verity_media::ReaderOptions {
                format: verity_media::PixelFormat::Gray8,
                ..Default::default()
            },
        )
        .unwrap();
        let mut v = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            v.extend_from_slice(f.luma().unwrap().as_raw());
        }
        v
    };
    assert_eq!(luma(&out), luma(&again));

    // Bad requests are refused before any work, and leave nothing behind.
    let bad = d.join("bad.mp4");
    let e = generate(
        &model,
        "a red ball dances",
        &bad,
        &opts,
        &marks,
        layer,
        &dev,
        |_, _, _| {},
    )
    .unwrap_err();
    assert!(matches!(e, GenerateError::Prompt(_)), "{e}");
    for o in [
        GenerateOptions { width: 0, ..opts },
        GenerateOptions {
            duration_s: -1.0,
            ..opts
        },
        GenerateOptions { fps: 1000, ..opts },
    ] {
        let e = generate(&model, prompt, &bad, &o, &marks, layer, &dev, |_, _, _| {}).unwrap_err();
        assert!(matches!(e, GenerateError::InvalidOption { .. }), "{e}");
    }
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec!["again.mp4", "clip.mp4", "home", "manifests", "model"]
    );
}
