//! `verity train generator`: rectified-flow training of the bundled generator, with checkpoints.

use verity_generate::model::Config;
use verity_generate::train::{TrainOptions, train};

use crate::args::{GlobalArgs, TrainCommand, TrainDetectorArgs};
use crate::exit;

/// The device: CUDA when built with `--features cuda` and a GPU is present, else the CPU.
pub fn device() -> anyhow::Result<candle_core::Device> {
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = candle_core::Device::new_cuda(0) {
            return Ok(d);
        }
    }
    Ok(candle_core::Device::Cpu)
}

pub fn run(cmd: &TrainCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    let a = match cmd {
        TrainCommand::Generator(a) => a,
        TrainCommand::Detector(a) => return detector(a, global),
    };
    verity_generate::memory::keep_freed_memory();
    let dev = device()?;
    let opts = TrainOptions {
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        out: a.out.clone(),
        resume: a.resume.clone(),
        seed: a.seed,
        checkpoint_every: a.checkpoint_every,
        drop_text: 0.1,
        time_limit: a
            .time_limit
            .map(|m| std::time::Duration::from_secs_f64(m * 60.0)),
        time_sampling: a.time_sampling,
        prediction: a.prediction,
        positions: a.positions,
        object_weight: a.object_weight,
        ema_decay: a.ema,
    };
    let bar = crate::output::progress_bar(
        a.steps as u64,
        "training [{bar:40}] {pos}/{len} steps, {msg}, eta {eta}",
        global.quiet,
    );
    let mut avg = None::<f32>;
    let state = train(&Config::small(), &opts, &dev, |s| {
        let a = avg.map_or(s.loss, |v| 0.98 * v + 0.02 * s.loss);
        avg = Some(a);
        bar.set_position(s.step as u64);
        bar.set_message(format!("loss {a:.4}, {:.2} s/step", s.secs_per_step));
        if s.step % 50 == 0 {
            tracing::info!(
                step = s.step,
                loss = a,
                secs_per_step = s.secs_per_step,
                "training"
            );
        }
    })?;
    bar.finish_and_clear();
    let last = state.losses.last().map_or(f32::NAN, |l| l.1);
    println!(
        "trained to step {} ({:.0} s in all); last loss {last:.4}; checkpoint in {}",
        state.step,
        state.seconds,
        a.out.display()
    );
    Ok(exit::OK)
}

/// `verity train detector`: the dataset (built or completed), then the classifier.
fn detector(a: &TrainDetectorArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    verity_generate::memory::keep_freed_memory();
    let counts = verity_corpus::counts_for(&a.data, a.data_scale, a.fresh_test.is_some())?;
    let model = verity_generate::pipeline::load_bundled_model(&candle_core::Device::Cpu)?;
    let opts = verity_corpus::BuildOptions {
        sources: a.sources.clone(),
        out: a.data.clone(),
        counts,
        seed: a.data_seed,
        fresh_test: a.fresh_test.clone(),
    };
    let bar = crate::output::progress_bar(
        0,
        "dataset [{bar:40}] {pos}/{len} clips, {msg}, eta {eta}",
        global.quiet,
    );
    let index = verity_corpus::build(&opts, &model, |p| match p {
        verity_corpus::Progress::Clip { arm, done, total } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(arm.name());
            if done % 50 == 0 {
                tracing::info!(done, total, arm = arm.name(), "dataset");
            }
        }
        verity_corpus::Progress::Decoder {
            design,
            step,
            steps,
        } => {
            bar.set_length(steps as u64);
            bar.set_position(step as u64);
            bar.set_message(format!("training the F3 network {}", design.name()));
            if step % 100 == 0 {
                tracing::info!(step, steps, design = design.name(), "F3 network");
            }
        }
    })?;
    bar.finish_and_clear();
    println!(
        "dataset: {} clips in {}",
        index.entries.len(),
        a.data.display()
    );
    for ((arm, split), n) in index.counts() {
        println!("  {arm:<15} {:<6} {n}", split.name());
    }
    if a.data_only || a.fresh_test.is_some() {
        return Ok(exit::OK);
    }
    let opts = verity_detect::classifier::train::TrainOptions {
        data: a.data.clone(),
        out: a.out.clone(),
        resume: a.resume,
        steps: a.steps,
        batch: a.batch,
        seed: a.seed,
        checkpoint_every: a.checkpoint_every,
        lr: a.lr,
        time_limit: a
            .time_limit
            .map(|m| std::time::Duration::from_secs_f64(m * 60.0)),
        exclude_arms: a.exclude_arm.clone(),
        overlays: a.overlays,
        resample: a.resample,
        platform: a.platform,
        small: a.small,
        also_train: a.also_train.clone(),
        config: verity_detect::classifier::net::Config {
            half_scale: a.half_scale,
            ..Default::default()
        },
    };
    verity_detect::classifier::calibrate::check_also_validate(
        &a.data,
        &a.also_train,
        &a.exclude_arm,
        &a.also_validate,
    )?;
    let load_bar = crate::output::progress_bar(
        index.entries.len() as u64,
        if a.platform > 0.0 {
            "reading clips, then making platform copies [{bar:40}] {pos}/{len}"
        } else {
            "reading clips [{bar:40}] {pos}/{len}"
        },
        global.quiet,
    );
    let bar = crate::output::progress_bar(
        a.steps as u64,
        "training [{bar:40}] {pos}/{len} steps, {msg}, eta {eta}",
        global.quiet,
    );
    let mut avg = None::<f32>;
    let state = verity_detect::classifier::train::train(
        &opts,
        &candle_core::Device::Cpu,
        |done, total| {
            load_bar.set_length(total as u64);
            load_bar.set_position(done as u64);
        },
        |s| {
            load_bar.finish_and_clear();
            let m = avg.map_or(s.loss, |v| 0.98 * v + 0.02 * s.loss);
            avg = Some(m);
            bar.set_position(s.step as u64);
            bar.set_message(format!("loss {m:.4}, {:.2} s/step", s.secs_per_step));
            if let Some(v) = s.val {
                tracing::info!(
                    step = s.step,
                    loss = m,
                    val_auc = v.auc,
                    val_loss = v.loss,
                    "checkpoint"
                );
            }
        },
    )?;
    bar.finish_and_clear();
    let best = state.best.map_or("none yet".to_string(), |b| {
        format!("step {} (val AUC {:.4})", b.step, b.auc)
    });
    println!(
        "trained to step {} ({:.0} s in all); best {best}; checkpoint in {}",
        state.step,
        state.seconds,
        a.out.display()
    );
    let export = a.out.join("export");
    let cfg =
        verity_detect::classifier::calibrate::export(&a.out, &a.data, &export, &a.also_validate)?;
    let op = &cfg.operating_point;
    println!(
        "exported the best checkpoint to {} (temperature {:.3}; threshold {:.3} flags {:.1} % of {} non-AI validation clips{}, at most {:.1} % at 95 %); copy it to models/detector to ship it",
        export.display(),
        cfg.temperature,
        op.threshold,
        100.0 * op.measured_fpr,
        op.negatives,
        if a.also_validate.is_empty() {
            ""
        } else {
            " (the --also-validate splits' included)"
        },
        100.0 * op.fpr_upper_95
    );
    Ok(exit::OK)
}
