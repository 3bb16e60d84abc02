//! A lean trainer for machines that only train: no FFmpeg, C2PA or keys are linked, so it runs on
//! a headless GPU box that has the CUDA driver and nothing else. It trains the same model, with
//! the same loop and checkpoints, as `verity train generator`.
//!
//! ```text
//! cargo build --release -p verity-generate --no-default-features --features cuda --example train
//! train --resume models/generator --out ckpt --steps 20000 --batch 64 --minutes 9
//! ```

use std::path::PathBuf;
use std::time::Duration;

use verity_generate::model::Config;
use verity_generate::train::{TrainOptions, train};

const USAGE: &str = "usage: train [--steps N] [--batch N] [--lr X] [--resume DIR] [--out DIR] \
                     [--checkpoint-every N] [--seed N] [--minutes M] [--cpu] \
                     [--prediction velocity|clean|preconditioned] \
                     [--time-sampling uniform|logit-normal] [--object-weight W] \
                     [--positions learned|sincos] [--ema DECAY]";

fn main() -> anyhow::Result<()> {
    let mut opts = TrainOptions {
        steps: 20_000,
        batch: 64,
        lr: 3e-4,
        out: PathBuf::from("checkpoint"),
        resume: None,
        seed: 0,
        checkpoint_every: 1000,
        drop_text: 0.1,
        time_limit: None,
        time_sampling: None,
        prediction: None,
        positions: None,
        object_weight: None,
        ema_decay: None,
    };
    let mut cpu = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--cpu" {
            cpu = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = args
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--steps" => opts.steps = value.parse()?,
            "--batch" => opts.batch = value.parse()?,
            "--lr" => opts.lr = value.parse()?,
            "--resume" => opts.resume = Some(value.into()),
            "--out" => opts.out = value.into(),
            "--checkpoint-every" => opts.checkpoint_every = value.parse()?,
            "--seed" => opts.seed = value.parse()?,
            "--prediction" => opts.prediction = Some(value.parse().map_err(anyhow::Error::msg)?),
            "--time-sampling" => {
                opts.time_sampling = Some(value.parse().map_err(anyhow::Error::msg)?)
            }
            "--object-weight" => opts.object_weight = Some(value.parse()?),
            "--ema" => opts.ema_decay = Some(value.parse()?),
            "--positions" => opts.positions = Some(value.parse().map_err(anyhow::Error::msg)?),
            "--minutes" => {
                opts.time_limit = Some(Duration::from_secs_f64(value.parse::<f64>()? * 60.0))
            }
            other => anyhow::bail!("unknown option {other}\n{USAGE}"),
        }
    }
    verity_generate::memory::keep_freed_memory();
    let device = if cpu {
        candle_core::Device::Cpu
    } else {
        candle_core::Device::cuda_if_available(0)?
    };
    println!("device: {device:?}");
    let state = train(&Config::small(), &opts, &device, |s| {
        if s.step % 100 == 0 {
            println!(
                "step {}/{} loss {:.4} {:.3} s/step",
                s.step, s.total, s.loss, s.secs_per_step
            );
        }
    })?;
    println!(
        "trained to step {} ({:.0} s in all); checkpoint in {}",
        state.step,
        state.seconds,
        opts.out.display()
    );
    Ok(())
}
