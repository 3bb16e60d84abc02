//! `verity train generator`: rectified-flow training of the bundled generator, with checkpoints.

use verity_generate::model::Config;
use verity_generate::train::{TrainOptions, train};

use crate::args::{GlobalArgs, TrainCommand};
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
    let TrainCommand::Generator(a) = cmd;
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
