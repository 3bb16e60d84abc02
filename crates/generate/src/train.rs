//! Training with the rectified-flow objective: x_t = (1 - t) x0 + t noise, the model predicts
//! noise - x0. Checkpoints (weights, config, progress) go to a folder and training resumes from
//! one. With a moving average of the weights ([`crate::ema`]) the checkpoint's
//! `model.safetensors` is the average, the weights that sample, and `raw.safetensors` holds the
//! optimiser's own weights, which a resume trains on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::data;
use crate::ema::{self, Ema};
use crate::error::{GenerateError, Result};
use crate::model::{Config, Model, Positions, Prediction};
use crate::rng::Rng;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Train until this many steps in total (a resumed run counts the steps already done).
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub out: PathBuf,
    /// A checkpoint folder to continue from.
    pub resume: Option<PathBuf>,
    pub seed: u64,
    pub checkpoint_every: usize,
    /// Fraction of prompts replaced by the empty prompt (classifier-free guidance).
    pub drop_text: f32,
    /// Stop (with a checkpoint) once this much wall time has passed, even short of `steps`.
    pub time_limit: Option<std::time::Duration>,
    /// How the flow time t of each example is drawn. A resumed checkpoint keeps the one it was
    /// trained with unless this is given; a new model draws uniformly.
    pub time_sampling: Option<TimeSampling>,
    /// Sets what the network outputs. A resumed checkpoint keeps its own unless this is given;
    /// when it differs, training continues from the same weights towards the new output.
    pub prediction: Option<Prediction>,
    /// Sets how tokens know their place ([`Positions`]). A resumed checkpoint keeps its own
    /// unless this is given; switching a learned-only one to `sincos` adds the fixed features to
    /// the same weights.
    pub positions: Option<Positions>,
    /// How much more a pixel the objects cover counts in the loss than a background pixel
    /// (1: all pixels alike). Objects are 1 to 5 % of the pixels of a clip, so with plain
    /// averaging the background decides almost all of the loss. A weight that depends on the
    /// clean clip moves the loss's minimiser to `E[w·x0 | x_t] / E[w | x_t]`: where the noise
    /// hides the object, every pixel that might be it is pulled towards its colour. An
    /// experiment. A resumed checkpoint keeps its own unless this is given; a new model uses 1.
    pub object_weight: Option<f32>,
    /// The decay of the moving average of the weights that the checkpoint's model.safetensors
    /// holds (0: no average, the optimiser's weights). A resumed checkpoint keeps its own unless
    /// this is given; a new model uses [`ema::DEFAULT_DECAY`].
    pub ema_decay: Option<f32>,
}

/// How training draws the flow time t (0 is the clip, 1 is pure noise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSampling {
    /// Uniform in [0, 1].
    #[default]
    Uniform,
    /// t = sigmoid(mean + std * n) with n standard normal: most examples at middling noise,
    /// where the layout of the clip is decided, few at the ends, where the target is nearly
    /// the noise or nearly the clip.
    LogitNormal { mean: f32, std: f32 },
}

impl TimeSampling {
    /// The logit-normal draw `--time-sampling logit-normal` uses: centred on t = 0.69 (more noise
    /// than clip), as the pixel-space models that predict the clean image do.
    pub const LOGIT_NORMAL: TimeSampling = TimeSampling::LogitNormal {
        mean: 0.8,
        std: 0.8,
    };

    fn draw(self, rng: &mut Rng) -> f32 {
        match self {
            TimeSampling::Uniform => rng.range(0.0, 1.0),
            TimeSampling::LogitNormal { mean, std } => {
                let z = mean + std * rng.normal();
                1.0 / (1.0 + (-z).exp())
            }
        }
    }
}

impl std::str::FromStr for TimeSampling {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "uniform" => Ok(TimeSampling::Uniform),
            "logit-normal" => Ok(TimeSampling::LOGIT_NORMAL),
            other => Err(format!(
                "unknown time sampling {other:?}: expected uniform or logit-normal"
            )),
        }
    }
}

/// Progress saved with each checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub step: usize,
    /// (step, mean loss over the steps since the previous entry).
    pub losses: Vec<(usize, f32)>,
    /// Wall-clock seconds spent training, over all runs.
    pub seconds: f64,
    /// How the latest run drew t; a state file written before this was saved reads as uniform,
    /// which is how those runs drew it.
    #[serde(default)]
    pub time_sampling: TimeSampling,
    /// The latest run's object weight (1 when the file does not say).
    #[serde(default = "unweighted")]
    pub object_weight: f32,
    /// The decay of the moving average of the weights; 0 (also for a file written before the
    /// average existed) when model.safetensors holds the optimiser's weights.
    #[serde(default)]
    pub ema_decay: f32,
    /// How many updates the average has had.
    #[serde(default)]
    pub ema_updates: usize,
}

fn unweighted() -> f32 {
    1.0
}

impl Default for TrainState {
    fn default() -> Self {
        TrainState {
            step: 0,
            losses: Vec::new(),
            seconds: 0.0,
            time_sampling: TimeSampling::default(),
            object_weight: unweighted(),
            ema_decay: 0.0,
            ema_updates: 0,
        }
    }
}

/// One logged step.
#[derive(Clone, Copy, Debug)]
pub struct StepLog {
    pub step: usize,
    pub total: usize,
    pub loss: f32,
    pub secs_per_step: f64,
}

/// The weights that sample: the moving average when training keeps one.
pub const WEIGHTS: &str = "model.safetensors";
/// The optimiser's own weights, beside an averaged model.safetensors; a resume trains on these.
pub const RAW_WEIGHTS: &str = "raw.safetensors";
pub const CONFIG: &str = "config.json";
pub const STATE: &str = "train_state.json";

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    verity_fs::write_whole(path, bytes).map_err(|e| GenerateError::io(path, e))
}

/// Saves safetensors to `path` whole: `save` writes a temporary beside it, renamed when done.
fn save_whole(path: &Path, save: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = verity_fs::TempPath::beside(path).map_err(|e| GenerateError::io(path, e))?;
    save(tmp.path())?;
    tmp.persist(path).map_err(|e| GenerateError::io(path, e))
}

/// Writes weights, config and state into `dir`, each replaced whole. With an average, it is
/// model.safetensors and the optimiser's weights go to raw.safetensors; without one the
/// optimiser's weights are model.safetensors and a raw.safetensors left from an earlier run is
/// removed, so that a resume cannot train on it.
pub fn save_checkpoint(
    dir: &Path,
    varmap: &VarMap,
    average: Option<&Ema>,
    cfg: &Config,
    state: &TrainState,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
    let raw_path = dir.join(RAW_WEIGHTS);
    let weights = dir.join(WEIGHTS);
    match average {
        Some(average) => {
            save_whole(&raw_path, |p| Ok(varmap.save(p)?))?;
            save_whole(&weights, |p| average.save(p))?;
        }
        None => {
            match std::fs::remove_file(&raw_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(GenerateError::io(&raw_path, e));
                }
                _ => {}
            }
            save_whole(&weights, |p| Ok(varmap.save(p)?))?;
        }
    }
    let cfg_json = serde_json::to_vec_pretty(cfg).map_err(|e| GenerateError::io(dir, e.into()))?;
    write_atomic(&dir.join(CONFIG), &cfg_json)?;
    let state_json =
        serde_json::to_vec_pretty(state).map_err(|e| GenerateError::io(dir, e.into()))?;
    write_atomic(&dir.join(STATE), &state_json)
}

/// Reads a checkpoint folder's config.
pub fn load_config(dir: &Path) -> Result<Config> {
    let path = dir.join(CONFIG);
    let bytes = std::fs::read(&path).map_err(|e| GenerateError::io(&path, e))?;
    let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| GenerateError::BadConfig {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    cfg.validate()
        .map_err(|reason| GenerateError::BadConfig { path, reason })?;
    Ok(cfg)
}

/// Reads a checkpoint folder's training state: the step count, loss history and recipe. A folder
/// without one (bare weights and config) starts afresh; one that is there but unreadable is an
/// error, not a silent restart from step 0.
pub fn load_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join(STATE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| GenerateError::BadTrainState {
            reason: e.to_string(),
            path,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrainState::default()),
        Err(e) => Err(GenerateError::io(&path, e)),
    }
}

/// Builds the model for `cfg` and, when `weights` is given, loads them, checking that every
/// tensor is present with the right shape.
pub fn build_model(
    cfg: &Config,
    weights: Option<&Path>,
    device: &Device,
) -> Result<(VarMap, Model)> {
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = Model::new(cfg, vb)?;
    if let Some(path) = weights {
        if !path.is_file() {
            return Err(GenerateError::MissingWeights {
                path: path.to_path_buf(),
                hint: "train a model with `verity train generator`, or reinstall models/generator"
                    .into(),
            });
        }
        varmap.load(path).map_err(|e| GenerateError::BadWeights {
            path: path.to_path_buf(),
            reason: format!("{e} (is it a checkpoint of this config?)"),
        })?;
    }
    Ok((varmap, model))
}

/// Trains (or continues training) and checkpoints into `opts.out`.
pub fn train(
    cfg: &Config,
    opts: &TrainOptions,
    device: &Device,
    mut log: impl FnMut(&StepLog),
) -> Result<TrainState> {
    if opts.batch == 0 || opts.steps == 0 {
        return Err(GenerateError::InvalidOption {
            name: "steps or batch",
            value: format!("{} steps, batch {}", opts.steps, opts.batch),
            allowed: "at least 1 each".into(),
        });
    }
    let (cfg, mut state) = match &opts.resume {
        Some(dir) => (load_config(dir)?, load_state(dir)?),
        None => (
            cfg.clone(),
            TrainState {
                ema_decay: ema::DEFAULT_DECAY,
                ..TrainState::default()
            },
        ),
    };
    // What the options leave unsaid, the checkpoint's recipe decides.
    if let Some(sampling) = opts.time_sampling {
        state.time_sampling = sampling;
    }
    if let Some(weight) = opts.object_weight {
        state.object_weight = weight;
    }
    if let Some(decay) = opts.ema_decay {
        state.ema_decay = decay;
    }
    ema::check_decay(state.ema_decay)?;
    if !(state.object_weight.is_finite() && state.object_weight > 0.0) {
        return Err(GenerateError::InvalidOption {
            name: "object weight",
            value: state.object_weight.to_string(),
            allowed: "a number above 0 (1 weights every pixel alike)".into(),
        });
    }
    let (time_sampling, object_weight) = (state.time_sampling, state.object_weight);
    let mut cfg = cfg;
    if let Some(prediction) = opts.prediction {
        cfg.prediction = prediction;
    }
    if let Some(positions) = opts.positions {
        cfg.positions = positions;
    }
    cfg.validate().map_err(|reason| GenerateError::BadConfig {
        path: opts.out.join(CONFIG),
        reason,
    })?;
    // The optimiser goes on from its own weights; a checkpoint without them (no average, or a
    // shipped folder of averaged weights alone) gives its model.safetensors.
    let raw = opts.resume.as_ref().map(|dir| dir.join(RAW_WEIGHTS));
    let raw = raw.filter(|path| path.is_file());
    let weights = opts.resume.as_ref().map(|dir| dir.join(WEIGHTS));
    let (varmap, model) = build_model(&cfg, raw.as_deref().or(weights.as_deref()), device)?;
    let mut average = match (state.ema_decay > 0.0, &raw, &weights) {
        (false, ..) => None,
        (true, Some(_), Some(averaged)) => Some(Ema::resume(
            &varmap,
            state.ema_decay,
            state.ema_updates,
            averaged,
        )?),
        // A new average starts at the weights training goes on from.
        (true, ..) => Some(Ema::start(&varmap, state.ema_decay)?),
    };
    state.ema_updates = average.as_ref().map_or(0, Ema::updates);
    let params = ParamsAdamW {
        lr: opts.lr,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    // A resumed run continues the data stream where it stopped.
    let mut rng = Rng::new(opts.seed ^ (state.step as u64).wrapping_mul(0x9E37_79B9));
    let mut since_log = (0f32, 0usize);
    let mut since_ckpt = Instant::now();
    let started = Instant::now();
    let seconds_before = state.seconds;
    let weighted = object_weight != 1.0;
    while state.step < opts.steps {
        if opts.time_limit.is_some_and(|l| started.elapsed() >= l) {
            state.seconds = seconds_before + started.elapsed().as_secs_f64();
            save_checkpoint(&opts.out, &varmap, average.as_ref(), &cfg, &state)?;
            break;
        }
        let t0 = Instant::now();
        let data::Batch {
            clips: x0,
            ids,
            coverage,
        } = data::build_batch(&cfg, opts.batch, &mut rng, opts.drop_text, weighted, device)?;
        let noise = noise_like(&x0, &mut rng)?;
        let t: Vec<f32> = (0..opts.batch)
            .map(|_| time_sampling.draw(&mut rng))
            .collect();
        let t = Tensor::new(t.as_slice(), device)?;
        let tb = t.reshape((opts.batch, 1, 1, 1, 1))?;
        let x_t = (x0.broadcast_mul(&(1.0 - &tb)?)? + noise.broadcast_mul(&tb)?)?;
        let target = (&noise - &x0)?;
        let pred = model.forward(&x_t, &t, &ids)?;
        let sq = (pred - target)?.sqr()?;
        let mse = sq.mean_all()?;
        let objective = match &coverage {
            Some(cover) => {
                let w = ((cover * f64::from(object_weight - 1.0))? + 1.0)?
                    .broadcast_as(sq.shape())?
                    .contiguous()?;
                (sq.mul(&w)?.sum_all()? / w.sum_all()?)?
            }
            None => mse.clone(),
        };
        opt.backward_step(&objective)?;
        if let Some(average) = &mut average {
            average.update(&varmap)?;
            state.ema_updates = average.updates();
        }
        // The logged loss is the plain mean, so runs with and without weighting compare.
        let loss = mse.to_scalar::<f32>()?;
        state.step += 1;
        since_log = (since_log.0 + loss, since_log.1 + 1);
        log(&StepLog {
            step: state.step,
            total: opts.steps,
            loss,
            secs_per_step: t0.elapsed().as_secs_f64(),
        });
        if state.step % 10 == 0 || state.step == opts.steps {
            state
                .losses
                .push((state.step, since_log.0 / since_log.1 as f32));
            since_log = (0.0, 0);
        }
        let due =
            state.step % opts.checkpoint_every.max(1) == 0 || since_ckpt.elapsed().as_secs() > 600;
        if due || state.step == opts.steps {
            state.seconds = seconds_before + started.elapsed().as_secs_f64();
            save_checkpoint(&opts.out, &varmap, average.as_ref(), &cfg, &state)?;
            since_ckpt = Instant::now();
        }
    }
    Ok(state)
}

/// Standard normal noise of the same shape, from the seeded generator.
pub(crate) fn noise_like(x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
    let n = x.elem_count();
    let v: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
    Ok(Tensor::from_vec(v, x.shape(), x.device())?)
}
