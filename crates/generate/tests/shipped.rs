//! Sampling from the weights shipped in `models/generator`: they load into their config, their
//! hash is what the manifest will record, and a seed gives the same clip twice.

#![cfg(feature = "pipeline")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use candle_core::Device;
use verity_generate::pipeline::load_model;
use verity_generate::sample::{SampleOptions, sample};

#[test]
fn shipped_weights_load_and_sample_deterministically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/generator");
    let dev = Device::Cpu;
    let model =
        load_model(&dir, &dev).unwrap_or_else(|e| panic!("the shipped model must load: {e}"));
    assert_eq!(model.weights_sha256.len(), 64);
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
