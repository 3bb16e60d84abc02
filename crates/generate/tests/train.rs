//! Training smoke test on a tiny config: the loss falls, checkpoints resume, and sampling from the
//! checkpoint is deterministic for a seed.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use candle_core::{Device, Tensor};
use verity_generate::GenerateError;
use verity_generate::data::{batch, build_batch};
use verity_generate::ema::decay_at;
use verity_generate::model::{
    Config, DEFAULT_GUIDANCE, Positions, Prediction, SIGMA_DATA, T_FLOOR, preconditioning,
    sincos_positions,
};
use verity_generate::rng::Rng;
use verity_generate::sample::{SampleOptions, sample};
use verity_generate::train::{
    CONFIG, RAW_WEIGHTS, STATE, TimeSampling, TrainOptions, WEIGHTS, build_model, load_config,
    load_state, train,
};

#[test]
fn tiny_model_learns_resumes_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ckpt");
    let dev = Device::Cpu;
    let cfg = Config::tiny();
    let opts = TrainOptions {
        steps: 300,
        batch: 4,
        lr: 3e-3,
        seed: 1,
        checkpoint_every: 150,
        ..tiny_opts(&out)
    };
    let mut losses = Vec::new();
    let state = train(&cfg, &opts, &dev, |s| losses.push(s.loss)).unwrap();
    assert_eq!(state.step, 300);
    let first: f32 = losses[..20].iter().sum::<f32>() / 20.0;
    let last: f32 = losses[280..].iter().sum::<f32>() / 20.0;
    eprintln!("loss {first:.3} → {last:.3}");
    // Weight init is not seeded; over runs here the ratio stayed well below this bound.
    assert!(
        last < 0.85 * first,
        "the loss falls: {first:.3} → {last:.3}"
    );

    // Resume from the checkpoint to 310 steps.
    let more = TrainOptions {
        steps: 310,
        resume: Some(out.clone()),
        ..opts
    };
    let state = train(&cfg, &more, &dev, |_| {}).unwrap();
    assert_eq!(state.step, 310);
    assert_eq!(state.losses.len(), 31);

    // Sample twice with one seed, once with another.
    let cfg = load_config(&out).unwrap();
    let (_, model) = build_model(&cfg, Some(&out.join(WEIGHTS)), &dev).unwrap();
    let o = SampleOptions {
        steps: 4,
        guidance: 2.0,
        seed: 9,
    };
    let a = sample(&model, "a red ball falls", &o, &dev, |_, _| {}).unwrap();
    let b = sample(&model, "a red ball falls", &o, &dev, |_, _| {}).unwrap();
    let c = sample(
        &model,
        "a red ball falls",
        &SampleOptions { seed: 10, ..o },
        &dev,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(a.dims(), &[cfg.frames, 3, cfg.height, cfg.width]);
    let diff = |x: &candle_core::Tensor, y: &candle_core::Tensor| {
        (x - y)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert_eq!(diff(&a, &b), 0.0);
    assert!(diff(&a, &c) > 0.0);
}

#[test]
fn missing_corrupt_or_mismatched_weights_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let cfg = Config::tiny();
    let missing = dir.path().join("none.safetensors");
    assert!(matches!(
        build_model(&cfg, Some(&missing), &dev),
        Err(GenerateError::MissingWeights { .. })
    ));
    let corrupt = dir.path().join("bad.safetensors");
    std::fs::write(&corrupt, b"not safetensors").unwrap();
    assert!(matches!(
        build_model(&cfg, Some(&corrupt), &dev),
        Err(GenerateError::BadWeights { .. })
    ));
    // Weights of one config do not load into another.
    let out = dir.path().join("ckpt");
    let opts = TrainOptions {
        batch: 1,
        drop_text: 0.0,
        ..tiny_opts(&out)
    };
    train(&cfg, &opts, &dev, |_| {}).unwrap();
    let other = Config {
        dim: 64,
        ..Config::tiny()
    };
    let err = build_model(&other, Some(&out.join(WEIGHTS)), &dev)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("unusable"), "{err}");
}

#[test]
fn a_clean_prediction_is_returned_as_the_velocity() {
    // A fresh model's output layer is zero, so it predicts the clean clip 0 and the velocity
    // must be x_t / t, with t floored at T_FLOOR.
    let dev = Device::Cpu;
    let cfg = Config {
        prediction: Prediction::Clean,
        ..Config::tiny()
    };
    let (_, model) = build_model(&cfg, None, &dev).unwrap();
    let (x, t, ids) = probe(&cfg, &[0.5, 0.01]);
    let v = model.forward(&x, &t, &ids).unwrap();
    assert_scaled_input(&v, &x, &[1.0 / 0.5, 1.0 / T_FLOOR]);
    // The velocity model's zero output stays zero.
    let (_, model) = build_model(&Config::tiny(), None, &dev).unwrap();
    let v = model.forward(&x, &t, &ids).unwrap();
    assert_eq!(max_abs(&v), 0.0);
}

#[test]
fn a_preconditioned_prediction_passes_the_input_through_at_low_noise() {
    // x0 = c_skip·x_t + c_out·F with c_skip = 1 − t·a and c_out = t·b; the input scale makes
    // x_t's variance (1 − t)²σ² + t² one.
    let s2 = SIGMA_DATA * SIGMA_DATA;
    let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
    for i in 0..=20 {
        let t = i as f32 / 20.0;
        let (c_in, a, b) = preconditioning(t);
        assert!(
            c_in.is_finite() && a.is_finite() && b.is_finite(),
            "t = {t}"
        );
        let var = (1.0 - t).powi(2) * s2 + t * t;
        assert!(close(c_in * c_in * var, 1.0), "t = {t}");
        let (c_skip, c_out) = (1.0 - t * a, t * b);
        assert!(
            close(c_skip, (1.0 - t) * s2 / var),
            "t = {t}: c_skip {c_skip}"
        );
        assert!(
            close(c_out, t * SIGMA_DATA / var.sqrt()),
            "t = {t}: c_out {c_out}"
        );
    }
    // At t = 0 the clean clip is the input, so the velocity is F − x_t; at t = 1 it is the
    // network's output times σ.
    let (_, a0, b0) = preconditioning(0.0);
    assert!(close(a0, -1.0) && close(b0, 1.0), "a {a0}, b {b0}");
    let (_, a1, b1) = preconditioning(1.0);
    assert!(close(1.0 - a1, 0.0) && close(b1, SIGMA_DATA));
    // A fresh model's output layer is zero, so its clean estimate is c_skip·x_t and its velocity
    // a·x_t, at every t with no floor.
    let dev = Device::Cpu;
    let cfg = Config {
        prediction: Prediction::Preconditioned,
        ..Config::tiny()
    };
    let (_, model) = build_model(&cfg, None, &dev).unwrap();
    let (x, t, ids) = probe(&cfg, &[0.5, 0.01]);
    let v = model.forward(&x, &t, &ids).unwrap();
    assert_scaled_input(&v, &x, &[preconditioning(0.5).1, preconditioning(0.01).1]);
    assert_eq!(
        "preconditioned".parse::<Prediction>(),
        Ok(Prediction::Preconditioned)
    );
}

/// Rewrites the JSON object in `path` without `fields`, as a file written before they existed.
fn remove_fields(path: &std::path::Path, fields: &[&str]) {
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let object = json.as_object_mut().unwrap();
    for field in fields {
        assert!(object.remove(*field).is_some(), "{field} was in the file");
    }
    std::fs::write(path, serde_json::to_vec(&json).unwrap()).unwrap();
}

/// Each example i of the velocity `v` is example i of `x` times `scales[i]`.
fn assert_scaled_input(v: &Tensor, x: &Tensor, scales: &[f32]) {
    for (i, &k) in scales.iter().enumerate() {
        let want = (x.get(i).unwrap() * f64::from(k)).unwrap();
        let err = max_abs(&(v.get(i).unwrap() - want).unwrap());
        assert!(err < 1e-4, "example {i}: off by {err}");
    }
}

/// One plain step of batch 2 into `out`, as the short tests here train.
fn tiny_opts(out: &std::path::Path) -> TrainOptions {
    TrainOptions {
        steps: 1,
        batch: 2,
        lr: 1e-3,
        out: out.to_path_buf(),
        resume: None,
        seed: 0,
        checkpoint_every: 1,
        drop_text: 0.1,
        time_limit: None,
        time_sampling: None,
        prediction: None,
        positions: None,
        object_weight: None,
        ema_decay: None,
    }
}

/// Trains a fresh tiny model 2 steps into `out`; returns the options it used.
fn two_steps_into(out: &std::path::Path) -> TrainOptions {
    let opts = TrainOptions {
        steps: 2,
        checkpoint_every: 2,
        ..tiny_opts(out)
    };
    train(&Config::tiny(), &opts, &Device::Cpu, |_| {}).unwrap();
    opts
}

/// Trains on from `opts.out`'s checkpoint to step `steps`, with `change` made to the options;
/// every logged loss must be finite.
fn resume_to(opts: &TrainOptions, steps: usize, change: impl FnOnce(&mut TrainOptions)) {
    let mut on = TrainOptions {
        steps,
        resume: Some(opts.out.clone()),
        ..opts.clone()
    };
    change(&mut on);
    let state = train(&Config::tiny(), &on, &Device::Cpu, |s| {
        assert!(s.loss.is_finite())
    })
    .unwrap();
    assert_eq!(state.step, steps);
}

/// A model input of `cfg`'s shape: noise at times `t`, each with the prompt "a red ball falls".
fn probe(
    cfg: &Config,
    t: &[f32],
) -> (
    candle_core::Tensor,
    candle_core::Tensor,
    candle_core::Tensor,
) {
    let dev = Device::Cpu;
    let shape = (t.len(), cfg.frames, cfg.channels, cfg.height, cfg.width);
    let x = candle_core::Tensor::randn(0f32, 1f32, shape, &dev).unwrap();
    let words = verity_generate::data::prompt_ids(cfg, "a red ball falls");
    let ids = candle_core::Tensor::new(words.as_slice(), &dev)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
        .repeat((t.len(), 1))
        .unwrap();
    (x, candle_core::Tensor::new(t, &dev).unwrap(), ids)
}

fn max_abs(x: &candle_core::Tensor) -> f32 {
    x.abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn batches_come_with_where_their_objects_are() {
    let cfg = Config::tiny();
    let dev = Device::Cpu;
    let plain = batch(&cfg, 3, &mut Rng::new(5), 0.1, &dev).unwrap();
    let b = build_batch(&cfg, 3, &mut Rng::new(5), 0.1, true, &dev).unwrap();
    // The same clips and prompts as the plain batch from the same generator state.
    assert_eq!(max_abs(&(&plain.0 - &b.clips).unwrap()), 0.0);
    assert_eq!(
        plain.1.to_vec2::<u32>().unwrap(),
        b.ids.to_vec2::<u32>().unwrap()
    );
    let cover = b.coverage.unwrap();
    assert_eq!(cover.dims(), &[3, cfg.frames, 1, cfg.height, cfg.width][..]);
    let v = cover.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|c| (0.0..=1.0).contains(c)));
    // Each clip has an object somewhere, and it is a small part of the frame.
    let per_clip = v.len() / 3;
    for clip in v.chunks(per_clip) {
        let share = clip.iter().sum::<f32>() / per_clip as f32;
        assert!(share > 0.0 && share < 0.5, "object share {share}");
    }
    assert!(
        build_batch(&cfg, 1, &mut Rng::new(5), 0.0, false, &dev)
            .unwrap()
            .coverage
            .is_none()
    );
}

#[test]
fn object_weight_changes_the_update_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let base = dir.path().join("base");
    let opts = TrainOptions {
        seed: 3,
        ..tiny_opts(&base)
    };
    train(&Config::tiny(), &opts, &dev, |_| {}).unwrap();
    // One more step from the same weights and data, three times: twice plain, once weighted.
    let step = |name: &str, object_weight: f32| {
        let out = dir.path().join(name);
        let o = TrainOptions {
            steps: 2,
            resume: Some(base.clone()),
            out: out.clone(),
            object_weight: Some(object_weight),
            ..opts.clone()
        };
        train(&Config::tiny(), &o, &dev, |s| assert!(s.loss.is_finite())).unwrap();
        std::fs::read(out.join(WEIGHTS)).unwrap()
    };
    let (a, b, weighted) = (step("a", 1.0), step("b", 1.0), step("w", 10.0));
    assert_eq!(a, b, "a plain step is deterministic");
    assert_ne!(a, weighted, "weighting the objects changes the update");
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let o = TrainOptions {
            object_weight: Some(bad),
            out: dir.path().join("bad"),
            ..opts.clone()
        };
        let err = train(&Config::tiny(), &o, &dev, |_| {}).unwrap_err();
        assert!(
            matches!(err, GenerateError::InvalidOption { .. }),
            "{bad}: {err}"
        );
        assert!(
            !dir.path().join("bad").exists(),
            "nothing written for {bad}"
        );
    }
}

#[test]
fn a_velocity_checkpoint_trains_on_as_a_clean_predictor() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ckpt");
    let opts = two_steps_into(&out);
    assert_eq!(load_config(&out).unwrap().prediction, Prediction::Velocity);
    // Switch: the same weights go on training, the checkpoint now says `clean`.
    resume_to(&opts, 4, |o| {
        o.prediction = Some(Prediction::Clean);
        o.time_sampling = Some("logit-normal".parse().unwrap());
    });
    assert_eq!(load_config(&out).unwrap().prediction, Prediction::Clean);
    // Resumed without the option, it stays what the checkpoint says.
    resume_to(&opts, 5, |_| {});
    assert_eq!(load_config(&out).unwrap().prediction, Prediction::Clean);
    // A config file written before the fields existed reads as a velocity model with learned
    // positions.
    remove_fields(&out.join(CONFIG), &["prediction", "positions"]);
    assert_eq!(load_config(&out).unwrap().prediction, Prediction::Velocity);
    assert_eq!(load_config(&out).unwrap().positions, Positions::Learned);
    assert!("sideways".parse::<Prediction>().is_err());
    assert!("gaussian".parse::<TimeSampling>().is_err());
}

#[test]
fn a_checkpoint_keeps_its_guidance_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ckpt");
    let opts = two_steps_into(&out);
    let config = out.join(CONFIG);
    let set_guidance = |g: serde_json::Value| {
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        json["guidance"] = g;
        std::fs::write(&config, serde_json::to_vec(&json).unwrap()).unwrap();
    };
    // The scale chosen for these weights survives training on.
    set_guidance(2.0.into());
    resume_to(&opts, 3, |_| {});
    assert_eq!(load_config(&out).unwrap().guidance, 2.0);
    // Out of range: the config is refused, naming the field.
    set_guidance(40.0.into());
    let err = load_config(&out).unwrap_err();
    assert!(
        matches!(err, GenerateError::BadConfig { .. }) && err.to_string().contains("guidance"),
        "{err}"
    );
    // A config written before the field existed reads as 3.
    remove_fields(&config, &["guidance"]);
    assert_eq!(load_config(&out).unwrap().guidance, DEFAULT_GUIDANCE);
}

#[test]
fn a_resumed_run_keeps_the_recipe_its_checkpoint_was_trained_with() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let base = dir.path().join("base");
    let logit_normal: TimeSampling = "logit-normal".parse().unwrap();
    let opts = TrainOptions {
        time_sampling: Some(logit_normal),
        object_weight: Some(3.0),
        ..tiny_opts(&base)
    };
    train(&Config::tiny(), &opts, &dev, |_| {}).unwrap();
    let state = |dir: &std::path::Path| load_state(dir).unwrap();
    assert_eq!(state(&base).time_sampling, logit_normal);
    assert_eq!(state(&base).object_weight, 3.0);
    // One more step from the base, with the recipe left unsaid, said again, and changed.
    let step = |name: &str, change: &dyn Fn(&mut TrainOptions)| {
        let out = dir.path().join(name);
        let mut o = TrainOptions {
            steps: 2,
            resume: Some(base.clone()),
            out: out.clone(),
            time_sampling: None,
            object_weight: None,
            ..opts.clone()
        };
        change(&mut o);
        train(&Config::tiny(), &o, &dev, |_| {}).unwrap();
        (std::fs::read(out.join(WEIGHTS)).unwrap(), state(&out))
    };
    let (kept, kept_state) = step("kept", &|_| {});
    let (said, _) = step("said", &|o| {
        o.time_sampling = Some(logit_normal);
        o.object_weight = Some(3.0);
    });
    let (changed, changed_state) = step("changed", &|o| {
        o.time_sampling = Some(TimeSampling::Uniform)
    });
    assert_eq!(kept, said, "left unsaid, the checkpoint's recipe trains");
    assert_ne!(kept, changed, "a different draw of t changes the update");
    assert_eq!(kept_state.time_sampling, logit_normal);
    assert_eq!(changed_state.time_sampling, TimeSampling::Uniform);
    assert_eq!(
        changed_state.object_weight, 3.0,
        "only what was given changes"
    );

    // A state file from before the recipe was saved reads as uniform, unweighted.
    let path = base.join(STATE);
    remove_fields(&path, &["time_sampling", "object_weight"]);
    assert_eq!(state(&base).time_sampling, TimeSampling::Uniform);
    assert_eq!(state(&base).object_weight, 1.0);

    // A corrupt one is an error that names it, not a silent restart from step 0.
    std::fs::write(&path, b"{\"step\": 1, \"losses\": [").unwrap();
    let out = dir.path().join("from-corrupt");
    let o = TrainOptions {
        steps: 2,
        resume: Some(base.clone()),
        out: out.clone(),
        ..opts.clone()
    };
    let err = train(&Config::tiny(), &o, &dev, |_| {}).unwrap_err();
    assert!(matches!(err, GenerateError::BadTrainState { .. }), "{err}");
    assert!(err.to_string().contains("train_state.json"), "{err}");
    assert!(!out.exists(), "nothing written from a corrupt state");
}

#[test]
fn sincos_positions_tell_every_token_its_frame_row_and_column() {
    let (gt, gh, gw, d) = (8, 8, 8, 128);
    let p = sincos_positions(gt, gh, gw, d, &Device::Cpu).unwrap();
    assert_eq!(p.dims(), &[gt, gh * gw, d]);
    let rows: Vec<Vec<f32>> = p.reshape((gt * gh * gw, d)).unwrap().to_vec2().unwrap();
    // Every sine-cosine pair has norm 1: √(d / 2) = 8 in all, as large as a patch of noise
    // after the patch layer, not the 0.2 of the learned embeddings' start.
    for r in &rows {
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 8.0).abs() < 1e-3, "{norm}");
    }
    // No two tokens share a place: the closest two are at least 1 apart.
    let mut closest = f32::INFINITY;
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            let dist = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
            closest = closest.min(dist.sqrt());
        }
    }
    assert!(closest >= 1.0, "{closest}");
    // The first quarter of the dimensions is the frame group: shared by the tokens of one
    // group, different between groups; the rest is the place in the frame, shared across groups.
    let token = |t: usize, s: usize| &rows[t * gh * gw + s];
    assert_eq!(token(3, 0)[..32], token(3, 63)[..32]);
    assert_ne!(token(3, 0)[..32], token(4, 0)[..32]);
    assert_eq!(token(0, 9)[32..], token(7, 9)[32..]);
    // An odd size still fills every token (the last dimension stays 0).
    let odd = sincos_positions(2, 3, 3, 33, &Device::Cpu).unwrap();
    assert_eq!(odd.dims(), &[2, 9, 33]);
}

#[test]
fn a_learned_checkpoint_trains_on_with_sincos_positions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ckpt");
    let dev = Device::Cpu;
    let opts = two_steps_into(&out);
    assert_eq!(load_config(&out).unwrap().positions, Positions::Learned);
    // The same trained weights with and without the fixed features give other outputs: the
    // features reach the network.
    let learned = load_config(&out).unwrap();
    let sincos = Config {
        positions: Positions::Sincos,
        ..learned.clone()
    };
    let (x, t, ids) = probe(&learned, &[0.9]);
    let weights = out.join(WEIGHTS);
    let (_, a) = build_model(&learned, Some(&weights), &dev).unwrap();
    let (_, b) = build_model(&sincos, Some(&weights), &dev).unwrap();
    let va = a.forward(&x, &t, &ids).unwrap();
    let vb = b.forward(&x, &t, &ids).unwrap();
    assert!(max_abs(&(va - vb).unwrap()) > 1e-4);
    // Switched on resume, the checkpoint says so and keeps saying so when resumed without it.
    resume_to(&opts, 3, |o| o.positions = Some(Positions::Sincos));
    assert_eq!(load_config(&out).unwrap().positions, Positions::Sincos);
    resume_to(&opts, 4, |_| {});
    assert_eq!(load_config(&out).unwrap().positions, Positions::Sincos);
    assert!("random".parse::<Positions>().is_err());
}

/// The tensors of a safetensors file, each flattened.
fn tensors(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<f32>> {
    candle_core::safetensors::load(path, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn the_weights_that_sample_are_an_average_and_a_resume_trains_the_optimisers_own() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let base = dir.path().join("base");
    let opts = TrainOptions {
        steps: 3,
        checkpoint_every: 3,
        ema_decay: Some(0.5),
        ..tiny_opts(&base)
    };
    train(&Config::tiny(), &opts, &dev, |_| {}).unwrap();
    let state = load_state(&base).unwrap();
    assert_eq!((state.ema_decay, state.ema_updates), (0.5, 3));
    let (avg, raw) = (
        tensors(&base.join(WEIGHTS)),
        tensors(&base.join(RAW_WEIGHTS)),
    );
    assert_eq!(
        avg.keys().collect::<Vec<_>>(),
        raw.keys().collect::<Vec<_>>()
    );
    assert_ne!(avg, raw, "the average lags the optimiser");
    // The averaged file is a model's weights.
    build_model(&Config::tiny(), Some(&base.join(WEIGHTS)), &dev).unwrap();

    // One step at learning rate 0 leaves the optimiser's weights where they were: they come from
    // raw.safetensors, not from the average. The decay, unsaid, is the checkpoint's 0.5, and
    // update number 3 moves the average by the young decay 4/13.
    let still = dir.path().join("still");
    let resume =
        |out: &std::path::Path, from: &std::path::Path, change: &dyn Fn(&mut TrainOptions)| {
            let mut o = TrainOptions {
                steps: 4,
                lr: 0.0,
                resume: Some(from.to_path_buf()),
                out: out.to_path_buf(),
                ema_decay: None,
                ..opts.clone()
            };
            change(&mut o);
            train(&Config::tiny(), &o, &dev, |_| {}).unwrap();
            (tensors(&out.join(WEIGHTS)), load_state(out).unwrap())
        };
    let (moved, state) = resume(&still, &base, &|_| {});
    assert_eq!((state.ema_decay, state.ema_updates), (0.5, 4));
    assert_eq!(tensors(&still.join(RAW_WEIGHTS)), raw);
    let d = decay_at(0.5, 3);
    assert!((d - 4.0 / 13.0).abs() < 1e-6, "{d}");
    for (name, a) in &avg {
        for ((m, a), r) in moved[name].iter().zip(a).zip(&raw[name]) {
            let want = d * a + (1.0 - d) * r;
            assert!((m - want).abs() < 1e-5, "{name}: {m} against {want}");
        }
    }

    // A folder of averaged weights alone (as models/generator ships) trains on from them, and
    // the new average starts there.
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    for f in [WEIGHTS, CONFIG, STATE] {
        std::fs::copy(base.join(f), bare.join(f)).unwrap();
    }
    let from_bare = dir.path().join("from-bare");
    let (restarted, state) = resume(&from_bare, &bare, &|_| {});
    assert_eq!(tensors(&from_bare.join(RAW_WEIGHTS)), avg);
    for (name, a) in &avg {
        for (r, a) in restarted[name].iter().zip(a) {
            assert!((r - a).abs() < 1e-6, "{name}: {r} against {a}");
        }
    }
    assert_eq!(state.ema_updates, 1);

    // Turned off, model.safetensors is the optimiser's weights and no raw.safetensors is left
    // for a later resume to pick up.
    let (off, state) = resume(&still, &base, &|o| o.ema_decay = Some(0.0));
    assert_eq!(off, raw);
    assert_eq!(state.ema_decay, 0.0);
    assert!(!still.join(RAW_WEIGHTS).exists());

    // A state file from before the average existed reads as none.
    remove_fields(&base.join(STATE), &["ema_decay", "ema_updates"]);
    assert_eq!(load_state(&base).unwrap().ema_decay, 0.0);

    // A decay that is not below 1 and at least 0 is refused before anything is written.
    for bad in [1.0, 1.5, -0.1, f32::NAN] {
        let out = dir.path().join("bad");
        let o = TrainOptions {
            ema_decay: Some(bad),
            out: out.clone(),
            ..opts.clone()
        };
        let err = train(&Config::tiny(), &o, &dev, |_| {}).unwrap_err();
        assert!(
            matches!(err, GenerateError::InvalidOption { .. }),
            "{bad}: {err}"
        );
        assert!(!out.exists(), "nothing written for {bad}");
    }

    // Averaged weights that do not fit the model are a clear error.
    std::fs::write(base.join(WEIGHTS), b"not safetensors").unwrap();
    let out = dir.path().join("from-corrupt");
    let o = TrainOptions {
        steps: 4,
        resume: Some(base.clone()),
        out: out.clone(),
        ..opts.clone()
    };
    let err = train(&Config::tiny(), &o, &dev, |_| {}).unwrap_err();
    assert!(matches!(err, GenerateError::BadWeights { .. }), "{err}");
    assert!(
        !out.exists(),
        "nothing written from corrupt averaged weights"
    );
}
