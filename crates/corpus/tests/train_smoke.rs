//! The classifier's training on a tiny dataset made here (no fetched media): the loss falls in
//! a few dozen steps, a resumed run continues from its step with the optimiser's state and ends
//! bit for bit where one uninterrupted run ends, and the export writes a classifier that loads
//! and scores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use verity_corpus::write_canonical;
use verity_detect::classifier::calibrate::{check_also_validate, clip_scores, export};
use verity_detect::classifier::canon;
use verity_detect::classifier::data::{Entry, INDEX, Index, Split, load_clips};
use verity_detect::classifier::eval::{EvalOptions, evaluate};
use verity_detect::classifier::net::Config;
use verity_detect::classifier::score::{Detector, Reading, UnseenSplit, calibrated};
use verity_detect::classifier::train::{BEST, TRIPLES_PER_CLIP, TrainOptions, train};
use verity_generate::RenderOptions;
use verity_generate::data::random_spec;
use verity_generate::rng::Rng;
use verity_generate::sample::output_frame;

/// Label 0: the renderer at the canonical size. Label 1: the renderer at 32 pixels and 16
/// frames through the generator's output path (a stand-in: the point is a learnable split).
fn make_dataset(dir: &Path) {
    let mut entries = Vec::new();
    let mut rng = Rng::new(7);
    for i in 0..16u64 {
        let spec = random_spec(&mut rng, true);
        let label = (i % 2) as u8;
        let frames = if label == 0 {
            let o = RenderOptions {
                width: canon::SIZE,
                height: canon::SIZE,
                fps: canon::FPS as f32,
                duration_s: 2.0,
                seed: i,
            };
            verity_generate::render(&spec, &o)
        } else {
            let o = RenderOptions {
                width: 32,
                height: 32,
                fps: 4.0,
                duration_s: 4.0,
                seed: i,
            };
            let small = verity_generate::render(&spec, &o);
            (0..canon::FRAMES as u32)
                .map(|k| output_frame(&small, k, canon::FPS, 4.0, canon::SIZE, canon::SIZE))
                .collect()
        };
        let file = format!("clips/c{i:02}.mp4");
        write_canonical(&dir.join(&file), &frames).unwrap();
        entries.push(Entry {
            file,
            arm: if label == 0 { "render" } else { "outpath" }.into(),
            label,
            family: (label == 1).then(|| "F1".to_string()),
            source: format!("scene-{i}"),
            source_file: None,
            split: match i {
                0..8 => Split::Train,
                8..12 => Split::Val,
                _ => Split::Test,
            },
            seed: i,
        });
    }
    let index = Index::canonical(String::new(), 0, entries);
    std::fs::write(dir.join(INDEX), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn training_lowers_the_loss_resumes_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("run");
    make_dataset(&data);
    let mut opts = TrainOptions {
        data: data.clone(),
        out: run.clone(),
        resume: false,
        steps: 40,
        batch: 8,
        seed: 1,
        checkpoint_every: 10,
        lr: 3e-3,
        time_limit: None,
        exclude_arms: Vec::new(),
        overlays: 0.0,
        // Resampled samples go through the resume check below as well.
        resample: 0.3,
        // Platform copies are tried on their own below: a run with them was seen to differ
        // from one process to the next (see `platform_copies`).
        platform: 0.0,
        small: 0.0,
        also_train: Vec::new(),
        config: Config {
            widths: vec![8, 8, 8],
            ..Config::default()
        },
    };
    let dev = candle_core::Device::Cpu;
    let state = train(&opts, &dev, |_, _| {}, |_| {}).unwrap();
    assert_eq!(state.step, 40);
    let losses: Vec<f32> = state.losses.iter().map(|l| l.1).collect();
    assert_eq!(losses.len(), 4);
    assert!(
        losses[3] < 0.8 * losses[0],
        "the loss should fall: {losses:?}"
    );

    // Resume: a run of the same options stopped at step 30 continues from its step with its
    // optimiser state (only with the batch and learning rate it began with, which its state
    // records), and ends bit for bit where the uninterrupted 40 steps above end: each step's
    // draws come from the seed and the step, and the optimiser's moments travel with the
    // checkpoint.
    assert_eq!((state.batch, state.lr), (Some(8), Some(3e-3)));
    let resumed_dir = tmp.path().join("resumed");
    let part = TrainOptions {
        out: resumed_dir.clone(),
        steps: 30,
        ..opts.clone()
    };
    let first = train(&part, &dev, |_, _| {}, |_| {}).unwrap();
    assert_eq!(&first.losses[..], &state.losses[..3]);
    opts.resume = true;
    let resume = TrainOptions {
        out: resumed_dir.clone(),
        ..opts.clone()
    };
    for (batch, lr) in [(16, 3e-3), (8, 1e-3)] {
        let other = TrainOptions {
            batch,
            lr,
            ..resume.clone()
        };
        let err = train(&other, &dev, |_, _| {}, |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("began with --"), "{err}");
    }
    let mut stepped = Vec::new();
    let resumed = train(&resume, &dev, |_, _| {}, |l| stepped.push(l.step)).unwrap();
    assert_eq!(
        stepped,
        (31..=40).collect::<Vec<_>>(),
        "only the last 10 steps are run"
    );
    assert_eq!(resumed.step, 40);
    assert_eq!(resumed.losses, state.losses);
    for file in ["model.safetensors", "optimizer.safetensors"] {
        assert!(
            std::fs::read(run.join(file)).unwrap()
                == std::fs::read(resumed_dir.join(file)).unwrap(),
            "{file} differs between a resumed run and one run of the same steps"
        );
    }

    // Platform copies: made when the run loads (8 training clips, 2 copies each, reported
    // after the 16 clips read), drawn from, recorded in the state, and their temporaries gone.
    let copied = tmp.path().join("copied");
    let with_copies = TrainOptions {
        out: copied.clone(),
        resume: false,
        steps: 10,
        platform: 0.5,
        ..opts.clone()
    };
    let mut reports = Vec::new();
    let c = train(
        &with_copies,
        &dev,
        |done, total| reports.push((done, total)),
        |_| {},
    )
    .unwrap();
    assert_eq!(reports.len(), 16 + 8, "{reports:?}");
    assert_eq!(
        &reports[16..],
        &[
            (2, 16),
            (4, 16),
            (6, 16),
            (8, 16),
            (10, 16),
            (12, 16),
            (14, 16),
            (16, 16)
        ]
    );
    assert_eq!((c.step, c.platform), (10, 0.5));
    assert!(c.losses.iter().all(|l| l.1.is_finite()));
    assert_ne!(
        c.losses[..],
        state.losses[..1],
        "samples from the copies change what the run sees"
    );
    let left: Vec<_> = std::fs::read_dir(&copied)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.starts_with("platform-copy"))
        .collect();
    assert!(
        left.is_empty(),
        "temporaries left in the run folder: {left:?}"
    );

    // Small steps: every sample brought down and cropped at 64 pixels, the size a small file
    // is scored at; recorded in the state, and they change what the run sees.
    let small = TrainOptions {
        out: tmp.path().join("small"),
        resume: false,
        steps: 10,
        small: 1.0,
        ..opts.clone()
    };
    let s = train(&small, &dev, |_, _| {}, |_| {}).unwrap();
    assert_eq!((s.step, s.small), (10, 1.0));
    assert!(s.losses.iter().all(|l| l.1.is_finite()));
    assert_ne!(s.losses[..], state.losses[..1]);
    let bad = TrainOptions {
        small: 1.5,
        ..small.clone()
    };
    let err = train(&bad, &dev, |_, _| {}, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("small"), "{err}");

    // The same clips under another index (another data seed) are another dataset: the run
    // does not resume on them.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(other.join("clips")).unwrap();
    for f in std::fs::read_dir(data.join("clips")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, other.join("clips").join(f.file_name().unwrap())).unwrap();
    }
    let mut index = Index::load(&data).unwrap();
    index.data_seed = 1;
    std::fs::write(other.join(INDEX), serde_json::to_vec(&index).unwrap()).unwrap();
    let elsewhere = TrainOptions {
        data: other,
        steps: 60,
        ..opts.clone()
    };
    let err = train(&elsewhere, &dev, |_, _| {}, |_| {}).unwrap_err();
    assert!(
        matches!(err, verity_detect::DetectError::OtherDataset { .. }),
        "{err}"
    );

    // Export, load, score one clip of each label.
    let cfg = export(&run, &data, &tmp.path().join("export"), &[]).unwrap();
    assert!(cfg.temperature > 0.0);
    assert_eq!(cfg.operating_point.negatives, 2);
    let det = Detector::load(&tmp.path().join("export")).unwrap();
    // The config names its weights: the best checkpoint's, as exported.
    assert_eq!(
        cfg.weights_sha256.as_deref(),
        Some(det.weights_sha256.as_str())
    );
    assert_eq!(
        std::fs::read(tmp.path().join("export/model.safetensors")).unwrap(),
        std::fs::read(run.join("best.safetensors")).unwrap()
    );
    let p0 = det
        .score_file(&data.join("clips/c08.mp4"), Reading::Auto)
        .unwrap();
    let p1 = det
        .score_file(&data.join("clips/c09.mp4"), Reading::Auto)
        .unwrap();
    let (p0, p1) = (
        p0.synthetic_probability.unwrap(),
        p1.synthetic_probability.unwrap(),
    );
    assert!(
        p1 > p0,
        "the output-path clip should score higher: {p0} vs {p1}"
    );

    // Leave one family out: a classifier that saw the family's arm cannot stand in for one
    // trained without it.
    assert!(cfg.trained_without.is_empty());
    let eval = EvalOptions {
        held_out: vec![("F1".into(), tmp.path().join("export"))],
        ..eval_options(&data, None)
    };
    let err = evaluate(&det, &eval, |_, _, _| {}).unwrap_err().to_string();
    assert!(err.contains("trained on `outpath`"), "{err}");
    let eval = EvalOptions {
        held_out: vec![("F9".into(), tmp.path().join("export"))],
        ..eval
    };
    let err = evaluate(&det, &eval, |_, _, _| {}).unwrap_err().to_string();
    assert!(err.contains("F9"), "{err}");
    // Without held-out classifiers the evaluation runs and has no such rows or gates.
    let report = evaluate(
        &det,
        &EvalOptions {
            held_out: Vec::new(),
            ..eval.clone()
        },
        |_, _, _| {},
    )
    .unwrap();
    assert_eq!(report.test.clips, 4);
    assert!(report.held_out.is_empty());
    assert!(report.seeds.is_empty());
    assert!(
        !report
            .gates
            .iter()
            .any(|g| g.name.contains("leave-one-family-out"))
    );

    // Seed runs: the run of the same seed is refused; one from another seed stands beside it.
    assert_eq!(cfg.seed, Some(1));
    export(&resumed_dir, &data, &tmp.path().join("export-same"), &[]).unwrap();
    let same = EvalOptions {
        held_out: Vec::new(),
        seed_runs: vec![tmp.path().join("export-same")],
        ..eval.clone()
    };
    let err = evaluate(&det, &same, |_, _, _| {}).unwrap_err().to_string();
    assert!(err.contains("seed 1 is already"), "{err}");
    // A classifier that records no seed or recipe (as exported before they were recorded):
    // nothing can stand beside it.
    let unrecorded = tmp.path().join("export-unrecorded");
    export(&resumed_dir, &data, &unrecorded, &[]).unwrap();
    let path = unrecorded.join("detector.json");
    let mut j: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let m = j.as_object_mut().unwrap();
    assert!(
        m.remove("seed").is_some() && m.remove("recipe").is_some() && m.remove("data").is_some()
    );
    std::fs::write(&path, serde_json::to_vec(&j).unwrap()).unwrap();
    let unrecorded = Detector::load(&unrecorded).unwrap();
    let err = evaluate(&unrecorded, &same, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("records its seed, recipe and dataset"),
        "{err}"
    );
    // Another recipe (here fewer steps) is refused even from another seed.
    let shorter = TrainOptions {
        out: tmp.path().join("seed3"),
        resume: false,
        steps: 10,
        seed: 3,
        ..opts.clone()
    };
    train(&shorter, &dev, |_, _| {}, |_| {}).unwrap();
    export(&shorter.out, &data, &tmp.path().join("export-3"), &[]).unwrap();
    let err = evaluate(
        &det,
        &EvalOptions {
            seed_runs: vec![tmp.path().join("export-3")],
            ..same.clone()
        },
        |_, _, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("same recipe"), "{err}");
    // The rest pairs the 10-step run of seed 3 with one of seed 2 (short runs of one recipe,
    // to keep the test quick).
    let det = Detector::load(&tmp.path().join("export-3")).unwrap();
    let other = TrainOptions {
        out: tmp.path().join("seed2"),
        seed: 2,
        ..shorter.clone()
    };
    train(&other, &dev, |_, _| {}, |_| {}).unwrap();
    export(&other.out, &data, &tmp.path().join("export-2"), &[]).unwrap();
    // The same recipe from another seed, recorded as trained on another dataset (the recipe
    // does not cover the clips' encode): refused.
    let elsewhere = tmp.path().join("export-elsewhere");
    export(&other.out, &data, &elsewhere, &[]).unwrap();
    let path = elsewhere.join("detector.json");
    let mut j: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    j["data"] = serde_json::Value::from("000000000000");
    std::fs::write(&path, serde_json::to_vec(&j).unwrap()).unwrap();
    let err = evaluate(
        &det,
        &EvalOptions {
            seed_runs: vec![elsewhere],
            ..same.clone()
        },
        |_, _, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("same dataset"), "{err}");
    // With the attacks, so that each seed's attack drops are measured on the same copies.
    let report = evaluate(
        &det,
        &EvalOptions {
            held_out: Vec::new(),
            seed_runs: vec![tmp.path().join("export-2")],
            attacks_dir: Some(tmp.path().join("attacks")),
            ..eval
        },
        |_, _, _| {},
    )
    .unwrap();
    let seeds: Vec<Option<u64>> = report.seeds.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [Some(3), Some(2)]);
    assert!(report.seeds.iter().all(|r| (0.0..=1.0).contains(&r.auc)));
    // The evaluated classifier's row holds the figures of the tables above it.
    let main = &report.seeds[0];
    assert_eq!(main.auc, report.test.auc.value);
    for (fam, h) in &report.families {
        assert_eq!(main.families.get(fam), Some(&h.auc.value), "{fam}");
    }
    let gate = |name: &str| {
        report
            .gates
            .iter()
            .find(|g| g.name.contains(name))
            .map(|g| g.value)
    };
    assert_eq!(Some(main.trivial_gap), gate("trivial-content"));
    assert_eq!(Some(main.worst_fp), gate("worst false-positive"));
    let (a, b) = (
        main.generator_tpr_at_1pct,
        report.generator_f1.tpr_at_1pct.value,
    );
    assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
    assert_eq!(main.real_vs_real, gate("real versus real"));
    let drops: Vec<(String, f64)> = report
        .robustness
        .iter()
        .map(|r| (r.attack.clone(), r.drop))
        .collect();
    assert_eq!(drops.len(), 3);
    assert_eq!(main.attack_drops, drops);
    // The other seed was scored on the same attacked copies.
    assert_eq!(report.seeds[1].attack_drops.len(), 3);
    let table = report.table();
    assert!(table.contains("mean [lowest, highest]"), "{table}");
    assert!(table.contains("h264-crf28 AUC drop"), "{table}");
}

#[test]
fn a_resume_without_a_checkpoint_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dataset(&data);
    let opts = TrainOptions {
        data,
        out: tmp.path().join("none"),
        resume: true,
        steps: 2,
        batch: 4,
        seed: 0,
        checkpoint_every: 1,
        lr: 1e-3,
        time_limit: None,
        exclude_arms: Vec::new(),
        overlays: 0.0,
        resample: 0.0,
        platform: 0.0,
        small: 0.0,
        also_train: Vec::new(),
        config: Config::default(),
    };
    let err = train(&opts, &candle_core::Device::Cpu, |_, _| {}, |_| {}).unwrap_err();
    assert!(err.to_string().contains("train_state.json"), "{err}");
}

/// A network with the half-scale residual trains, exports with it and loads back; the
/// evaluation's attacks give each family's AUC after each one.
#[test]
fn the_half_scale_input_trains_and_attacks_are_measured_per_family() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dataset(&data);
    let run = tmp.path().join("run");
    let opts = TrainOptions {
        data: data.clone(),
        out: run.clone(),
        resume: false,
        steps: 20,
        batch: 8,
        seed: 1,
        checkpoint_every: 10,
        lr: 3e-3,
        time_limit: None,
        exclude_arms: Vec::new(),
        overlays: 0.0,
        resample: 0.0,
        platform: 0.0,
        small: 0.0,
        also_train: Vec::new(),
        config: Config {
            widths: vec![8, 8, 8],
            half_scale: Some(6.0),
            ..Config::default()
        },
    };
    let state = train(&opts, &candle_core::Device::Cpu, |_, _| {}, |_| {}).unwrap();
    assert_eq!(state.step, 20);
    let cfg = export(&run, &data, &tmp.path().join("export"), &[]).unwrap();
    assert_eq!(cfg.net.half_scale, Some(6.0));
    assert_eq!(cfg.net.in_channels(), 12);
    let det = Detector::load(&tmp.path().join("export")).unwrap();
    let plain = EvalOptions {
        data: data.clone(),
        bootstrap: 10,
        seed: 0,
        attacks_dir: Some(tmp.path().join("attacks")),
        held_out: Vec::new(),
        seed_runs: Vec::new(),
        test_data: None,
    };
    let report = evaluate(&det, &plain, |_, _, _| {}).unwrap();
    assert_eq!(report.robustness.len(), 3);
    for r in &report.robustness {
        let (auc, drop) = r.families["F1"];
        assert!((0.0..=1.0).contains(&auc), "{r:?}");
        assert!((report.families["F1"].auc.value - auc - drop).abs() < 1e-9);
    }
    let table = report.table();
    assert!(
        table.contains("| attack, each family against every non-AI test clip | F1 AUC (drop) |")
    );
    assert!(table.contains("| resize-0.5 | "), "{table}");

    // A fresh test split in its own folder (here the same test clips, copied) is scored in
    // place of the dataset's own, with the same figures.
    let fresh = tmp.path().join("fresh");
    let index = Index::load(&data).unwrap();
    let mut tests: Vec<Entry> = index
        .entries
        .iter()
        .filter(|e| e.split == Split::Test)
        .cloned()
        .collect();
    // Under names the dataset does not have, so that only the fresh folder can resolve them.
    for e in &mut tests {
        let from = data.join(&e.file);
        e.file = format!("fresh-clips/{}", e.file.replace('/', "-"));
        assert!(!data.join(&e.file).exists());
        let to = fresh.join(&e.file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    let write = |entries: &[Entry]| {
        let index = Index::canonical(String::new(), 0, entries.to_vec());
        std::fs::write(fresh.join(INDEX), serde_json::to_vec(&index).unwrap()).unwrap();
    };
    write(&tests);
    // Named relative to the working folder, as on a command line.
    let cwd = std::env::current_dir().unwrap();
    let relative = Path::new(&"../".repeat(cwd.components().count() - 1))
        .join(fresh.strip_prefix("/").unwrap());
    assert!(relative.is_relative() && relative.join(INDEX).is_file());
    let with_fresh = EvalOptions {
        test_data: Some(relative),
        ..plain
    };
    let on_fresh = evaluate(&det, &with_fresh, |_, _, _| {}).unwrap();
    assert_eq!(on_fresh.test.clips, report.test.clips);
    assert_eq!(on_fresh.test.auc.value, report.test.auc.value);
    assert_eq!(on_fresh.baselines, report.baselines);
    // Attacked afresh, in a folder of its own (named after the merged index).
    assert_eq!(on_fresh.robustness.len(), 3);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("attacks"))
            .unwrap()
            .count(),
        2,
        "one folder of attacked copies per index"
    );
    assert!(on_fresh.table().contains("the fresh test split in"));
    // Not a test-only dataset: refused.
    tests[0].split = Split::Val;
    write(&tests);
    let err = evaluate(&det, &with_fresh, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a fresh test split"), "{err}");
    // A real scene the dataset trains on: refused.
    tests[0].split = Split::Test;
    let train_scene = index
        .entries
        .iter()
        .find(|e| e.split == Split::Train)
        .unwrap();
    tests[0].source = train_scene.source.clone();
    tests[0].source_file = Some("scene.mp4".into());
    write(&tests);
    let err = evaluate(&det, &with_fresh, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds already"), "{err}");
}

/// Evaluation options for the tests: 10 bootstrap resamples, no attacks, held-out or seed
/// runs, on the split in `test_data` (the dataset's own test split when `None`).
fn eval_options(data: &Path, test_data: Option<&Path>) -> EvalOptions {
    EvalOptions {
        data: data.to_path_buf(),
        bootstrap: 10,
        seed: 0,
        attacks_dir: None,
        held_out: Vec::new(),
        seed_runs: Vec::new(),
        test_data: test_data.map(Path::to_path_buf),
    }
}

/// Two steps of a tiny network on the dataset in `data`, into `out`: enough to export.
fn two_steps(data: &Path, out: &Path) -> TrainOptions {
    TrainOptions {
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        resume: false,
        steps: 2,
        batch: 4,
        seed: 0,
        checkpoint_every: 1,
        lr: 1e-3,
        time_limit: None,
        exclude_arms: Vec::new(),
        overlays: 0.0,
        resample: 0.0,
        platform: 0.0,
        small: 0.0,
        also_train: Vec::new(),
        config: Config {
            widths: vec![8, 8, 8],
            ..Config::default()
        },
    }
}

/// A fresh test split in `dir` beside the dataset in `data`: a camera clip of each of the two
/// `scenes` (a non-AI clip of the dataset stands in for each) and a generated clip.
fn write_fresh_split(data: &Path, dir: &Path, scenes: [&str; 2]) {
    let main = Index::load(data).unwrap();
    std::fs::create_dir_all(dir.join("clips")).unwrap();
    let mut entries = Vec::new();
    for (k, (scene, label)) in [(scenes[0], 0u8), (scenes[1], 0), ("a prompt", 1)]
        .into_iter()
        .enumerate()
    {
        // A clip of the dataset of the same label stands in for the fresh one.
        let from = &main.entries[k * 2 + usize::from(label)];
        let file = format!("clips/f{k}.mp4");
        std::fs::copy(data.join(&from.file), dir.join(&file)).unwrap();
        entries.push(Entry {
            file,
            arm: if label == 0 {
                "real-video"
            } else {
                "generator"
            }
            .into(),
            label,
            family: (label == 1).then(|| "F1".to_string()),
            source: scene.into(),
            source_file: (label == 0).then(|| format!("video/{scene}.mp4")),
            split: Split::Test,
            seed: k as u64,
        });
    }
    let index = Index::canonical(String::new(), 1, entries);
    std::fs::write(dir.join(INDEX), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// `--also-train`: the real-scene clips of a fresh split join training, its generated clips do
/// not; the run and its export record the scenes, a resume without the split and an
/// evaluation on it are refused, and a split that shares a scene with the dataset is refused.
#[test]
fn a_fresh_split_joins_training_and_its_scenes_are_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dataset(&data);
    let main = Index::load(&data).unwrap();
    let fresh = tmp.path().join("fresh");
    let fresh_split = |dir: &Path, scenes: [&str; 2]| write_fresh_split(&data, dir, scenes);
    fresh_split(&fresh, ["cam-a", "cam-b"]);
    let run = tmp.path().join("run");
    let opts = TrainOptions {
        also_train: vec![fresh.clone()],
        ..two_steps(&data, &run)
    };
    let dev = candle_core::Device::Cpu;
    let state = train(&opts, &dev, |_, _| {}, |_| {}).unwrap();
    // The dataset's 8 training clips (4 per arm) and the fresh split's two real clips only.
    assert_eq!(state.train_counts.get("real-video"), Some(&2));
    assert_eq!(state.train_counts.get("outpath"), Some(&4));
    assert_eq!(state.train_counts.get("generator"), None);
    assert_eq!(state.also_scenes, ["cam-a", "cam-b"]);
    assert_eq!(
        state.also_train,
        [Index::load(&fresh).unwrap().fingerprint()]
    );
    assert_eq!(state.data, Some(main.fingerprint()));

    let without = TrainOptions {
        resume: true,
        steps: 3,
        also_train: Vec::new(),
        ..opts.clone()
    };
    let err = train(&without, &dev, |_, _| {}, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("other --also-train splits"), "{err}");

    let out = tmp.path().join("export");
    let err = export(&run, &data, &out, std::slice::from_ref(&fresh))
        .unwrap_err()
        .to_string();
    assert!(err.contains("one the run trained on"), "{err}");
    let early = check_also_validate(
        &data,
        std::slice::from_ref(&fresh),
        &[],
        std::slice::from_ref(&fresh),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(early, err);
    let cfg = export(&run, &data, &out, &[]).unwrap();
    assert_eq!(cfg.also_scenes, ["cam-a", "cam-b"]);
    let det = Detector::load(&out).unwrap();
    let on_fresh = eval_options(&data, Some(&fresh));
    let err = evaluate(&det, &on_fresh, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("trained on the real scene `cam-a`"), "{err}");

    // What a fresh split's scoring records for `verify` to quote, into the classifier's own
    // folder only.
    let unseen = UnseenSplit {
        split: "abc".into(),
        scenes: vec!["box".into(), "cup".into()],
        negatives: 126,
        flagged: 15,
    };
    let op = det.record_unseen(&out, unseen.clone()).unwrap();
    assert_eq!(op.unseen_total(), Some((15, 126, 2)));
    let again = Detector::load(&out).unwrap();
    assert_eq!(
        again.config.operating_point.unseen,
        std::slice::from_ref(&unseen)
    );
    assert_eq!(again.weights_sha256, det.weights_sha256);
    let err = verity_detect::classifier::bundled()
        .unwrap()
        .record_unseen(&out, unseen)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the classifier evaluated"), "{err}");

    // A split whose real scene the dataset holds already, and two splits of one scene.
    let shared = tmp.path().join("shared");
    fresh_split(&shared, [main.entries[0].source.as_str(), "cam-c"]);
    let twice = tmp.path().join("twice");
    fresh_split(&twice, ["cam-b", "cam-d"]);
    for (dirs, says) in [
        (vec![shared], "holds already"),
        (vec![fresh, twice], "in another --also-train split"),
    ] {
        let o = TrainOptions {
            out: tmp.path().join("run2"),
            also_train: dirs,
            ..opts.clone()
        };
        let err = train(&o, &dev, |_, _| {}, |_| {}).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
}

/// `--also-validate`: the real-scene clips of a fresh split join the non-AI clips the threshold
/// is chosen on, and nothing else (not the temperature's clips, not training); the export
/// records the split and its scenes, an evaluation on it is refused, and a split that shares a
/// scene with the dataset or with another is refused.
#[test]
fn a_fresh_split_joins_the_threshold_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dataset(&data);
    let fresh = tmp.path().join("fresh");
    write_fresh_split(&data, &fresh, ["cam-a", "cam-b"]);
    let run = tmp.path().join("run");
    let opts = two_steps(&data, &run);
    let dev = candle_core::Device::Cpu;
    train(&opts, &dev, |_, _| {}, |_| {}).unwrap();
    let plain = export(&run, &data, &tmp.path().join("plain"), &[]).unwrap();
    let out = tmp.path().join("export");
    let cfg = export(&run, &data, &out, std::slice::from_ref(&fresh)).unwrap();

    // The fresh split's two camera clips, scored as the export scores: their calibrated
    // probabilities join the validation split's two non-AI clips, and the threshold is chosen
    // over all four (1 % of four allows none above it: the highest of them).
    let index = Index::load(&fresh).unwrap();
    let cameras = Index {
        entries: index
            .entries
            .iter()
            .filter(|e| e.label == 0)
            .cloned()
            .collect(),
        ..index.clone()
    };
    let clips = load_clips(&fresh, &cameras, TRIPLES_PER_CLIP, |_, _| {}).unwrap();
    let net = verity_detect::classifier::train::load_config(&run).unwrap();
    let extra: Vec<f64> = clip_scores(&net, &run.join(BEST), &clips)
        .unwrap()
        .iter()
        .map(|x| calibrated(*x, plain.temperature))
        .collect();
    assert_eq!(extra.len(), 2);
    let (was, op) = (&plain.operating_point, &cfg.operating_point);
    assert_eq!(was.negatives, 2);
    assert_eq!(op.negatives, 4);
    assert_eq!(
        op.threshold,
        extra.iter().copied().fold(was.threshold, f64::max)
    );
    assert_eq!(cfg.temperature, plain.temperature);
    assert_eq!(op.split, format!("val+{}", index.fingerprint()));
    assert_eq!(was.split, "val");
    assert_eq!(cfg.validated_scenes, ["cam-a", "cam-b"]);
    assert!(plain.validated_scenes.is_empty());
    // Training never saw them: the recipe is the same.
    assert_eq!(cfg.recipe, plain.recipe);

    let det = Detector::load(&out).unwrap();
    assert_eq!(det.config, cfg);
    let on_fresh = eval_options(&data, Some(&fresh));
    let err = evaluate(&det, &on_fresh, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("had its threshold chosen on the real scene `cam-a`"),
        "{err}"
    );

    // A split whose real scene the dataset holds already, and two splits of one scene.
    let main = Index::load(&data).unwrap();
    let shared = tmp.path().join("shared");
    write_fresh_split(&data, &shared, [main.entries[0].source.as_str(), "cam-c"]);
    let twice = tmp.path().join("twice");
    write_fresh_split(&data, &twice, ["cam-b", "cam-d"]);
    // A split whose only non-AI clips with a source file are CGI: no real scene to choose on.
    let cgi = tmp.path().join("cgi");
    write_fresh_split(&data, &cgi, ["film-a", "film-b"]);
    let mut cgi_index = Index::load(&cgi).unwrap();
    for e in cgi_index.entries.iter_mut().filter(|e| e.label == 0) {
        e.arm = "cgi".into();
    }
    std::fs::write(cgi.join(INDEX), serde_json::to_vec(&cgi_index).unwrap()).unwrap();
    for (dirs, says) in [
        (vec![shared], "holds already"),
        (vec![fresh, twice], "in another --also-validate split"),
        (vec![cgi], "holds no non-AI clips cut from real scenes"),
    ] {
        let err = export(&run, &data, &tmp.path().join("refused"), &dirs)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
        assert!(!tmp.path().join("refused").exists());
        // The same check, made before a run trains.
        let early = check_also_validate(&data, &[], &[], &dirs)
            .unwrap_err()
            .to_string();
        assert_eq!(early, err);
    }
}
