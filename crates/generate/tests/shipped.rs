//! Sampling from the weights shipped in `models/generator`: they load into their config, their
//! hash is what the manifest will record, and a seed gives the same clip twice.

#![cfg(feature = "pipeline")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use candle_core::Device;
use verity_generate::pipeline::{
    BUNDLED_WEIGHTS_SHA256, check_bundled, load_bundled_model, load_model,
};
use verity_generate::sample::{SampleOptions, sample};

#[test]
fn shipped_weights_load_and_sample_deterministically() {
    let dev = Device::Cpu;
    let model =
        load_bundled_model(&dev).unwrap_or_else(|e| panic!("the shipped model must load: {e}"));
    assert_eq!(model.weights_sha256, BUNDLED_WEIGHTS_SHA256);
    // The model built into the binary is the one in models/generator.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/generator");
    assert_eq!(
        load_model(&dir, &dev).unwrap().weights_sha256,
        BUNDLED_WEIGHTS_SHA256
    );
    let cfg = model.config().clone();
    let opts = SampleOptions {
        steps: 3,
        guidance: cfg.guidance,
        seed: 42,
    };
    let draw = || {
        sample(
            &model.model,
            "a small red ball bounces from left to right on grass while the camera is static",
            &opts,
            &dev,
            |_, _| {},
        )
        .unwrap()
    };
    let (a, b) = (draw(), draw());
    assert_eq!(a.dims(), &[cfg.frames, cfg.channels, cfg.height, cfg.width]);
    let values = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(
        values
            .iter()
            .all(|v| v.is_finite() && (-1.0..=1.0).contains(v))
    );
    let diff = (&a - &b)
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

/// A copy of the shipped model with its weights altered: `f` edits the safetensors bytes.
fn altered_copy(f: impl FnOnce(&mut Vec<u8>)) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/generator");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).unwrap();
    let mut bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    f(&mut bytes);
    std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
    dir
}

/// The data section of a safetensors file starts after its 8-byte length and JSON header.
fn data_start(bytes: &[u8]) -> usize {
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

#[test]
fn a_damaged_bundled_model_is_refused() {
    let dev = Device::Cpu;
    // One flipped bit in the data: it still parses and samples, so only the hash can tell.
    let flipped = altered_copy(|b| {
        let i = data_start(b) + 1000;
        b[i] ^= 0x01;
    });
    let err = check_bundled(load_model(flipped.path(), &dev).unwrap(), flipped.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the shipped weights"), "{err}");
    assert!(err.contains(BUNDLED_WEIGHTS_SHA256), "{err}");
    // The same folder named as a model of one's own loads: the hash is the bundle's promise.
    load_model(flipped.path(), &dev).unwrap();
}

#[test]
fn weights_that_are_not_finite_or_all_zero_are_refused_in_any_model() {
    let dev = Device::Cpu;
    let nan = altered_copy(|b| {
        let start = data_start(b);
        for chunk in b[start..].chunks_exact_mut(4) {
            chunk.copy_from_slice(&f32::NAN.to_le_bytes());
        }
    });
    let err = load_model(nan.path(), &dev).unwrap_err().to_string();
    assert!(err.contains("NaN") && err.contains("damaged"), "{err}");

    let zero = altered_copy(|b| {
        let start = data_start(b);
        b[start..].fill(0);
    });
    let err = load_model(zero.path(), &dev).unwrap_err().to_string();
    assert!(err.contains("every weight is zero"), "{err}");
}

#[test]
fn a_config_that_does_not_fit_the_weights_is_refused_before_building() {
    let dev = Device::Cpu;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/generator");
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    // Each edit: (field, value, what the error must say).
    let cases: [(&str, serde_json::Value, &str); 6] = [
        ("patch", 0.into(), "patch is 0"),
        ("heads", 0.into(), "heads is 0"),
        ("frames", 100_000.into(), "frames is 100000"),
        ("height", 100_000.into(), "height is 100000"),
        // In range, but not the shape of the shipped weights: found from the tensors, not after
        // allocating a model of that size.
        ("height", 64.into(), "is it a checkpoint of this config?"),
        ("dim", 256.into(), "is it a checkpoint of this config?"),
    ];
    for (field, value, want) in cases {
        let dir = altered_copy(|_| {});
        let mut c = cfg.clone();
        c[field] = value.clone();
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_vec(&c).unwrap(),
        )
        .unwrap();
        let err = load_model(dir.path(), &dev).unwrap_err().to_string();
        assert!(err.contains(want), "{field}={value}: {err}");
    }
}
