//! The model's commands: generate, train, eval.

use super::*;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to show, e.g. "a small red ball bounces from left to right while the camera pans right".
    pub prompt: String,

    /// The output video (.mp4). It appears only when generation and signing succeed.
    #[arg(short, long)]
    pub output: PathBuf,

    /// Same prompt and seed, same clip (0 to 2^53 - 1, the range the manifest records exactly).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Sampling steps.
    #[arg(long, default_value_t = 24)]
    pub steps: usize,

    /// Classifier-free guidance scale, 0 to 20 (1 means none). Defaults to the model's own, the
    /// scale its evaluation chose (`guidance` in its config.json).
    #[arg(long)]
    pub guidance: Option<f32>,

    /// Length in seconds (0.5 to 30).
    #[arg(long, default_value_t = 4.0)]
    pub duration: f32,

    /// Frames per second (1 to 60).
    #[arg(long, default_value_t = 24)]
    pub fps: u32,

    /// Width x height, even, 64 to 2048 each.
    #[arg(long, default_value = "512x512", value_parser = parse_size)]
    pub size: (u32, u32),

    /// A model folder of your own (config.json and model.safetensors). Without it, the model
    /// built into verity (models/generator, whose weights must match their published SHA-256),
    /// from any directory.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    #[command(flatten)]
    pub badge: BadgeArgs,

    #[command(flatten)]
    pub marks: MarkArgs,

    /// Leave out the visible badge.
    #[arg(long)]
    pub no_visible: bool,

    /// Leave out the invisible spectral watermark.
    #[arg(long)]
    pub no_watermark: bool,

    #[command(flatten)]
    pub keys: KeyArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let err = || format!("`{s}` is not a size: expected WIDTHxHEIGHT, e.g. 512x512");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(err)?;
    Ok((
        w.trim().parse().map_err(|_| err())?,
        h.trim().parse().map_err(|_| err())?,
    ))
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Sample the generator on prompts from the scene language (held-out pairs included) and
    /// score each clip by tracking its objects: colour, direction of motion, bounce, camera
    /// direction, flicker. The renderer's clips of the same scenes are scored too, as the
    /// scorer's ceiling.
    Generator(EvalGeneratorArgs),
    /// Measure the synthetic-video classifier on the dataset's test split: AUC, average
    /// precision, TPR at 1 % FPR, accuracy at the operating threshold, Brier and ECE with 95 %
    /// bootstrap intervals over source scenes; each arm's rate at the threshold; the metadata,
    /// trivial-content and spectral baselines; the confound gates; and (with --attacks) the AUC
    /// after H.264 CRF 28, a 0.5x resize and VP9.
    Detector(EvalDetectorArgs),
}

#[derive(Debug, Args)]
pub struct EvalDetectorArgs {
    /// The dataset folder (as `verity train detector` builds it).
    #[arg(long, value_name = "DIR", default_value = ".cache/detector/data")]
    pub data: PathBuf,

    /// A classifier folder instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub detector: Option<PathBuf>,

    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,

    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Re-encode the test clips with the ffmpeg CLI (into DIR, kept for reuse) and measure again.
    #[arg(long, value_name = "DIR")]
    pub attacks: Option<PathBuf>,

    /// Leave one family out: score FAMILY's test clips, against every non-AI test clip, with
    /// the classifier in DIR, exported from a run trained without that family's arms
    /// (`verity train detector --exclude-arm ARM --out RUN`, then RUN/export). Repeatable, a
    /// family once per recorded training seed: its figures are then also given over seeds.
    #[arg(long, value_name = "FAMILY=DIR", value_parser = parse_held_out)]
    pub held_out: Vec<(String, PathBuf)>,

    /// A classifier trained with the same recipe on the same dataset from another seed
    /// (`verity train detector --seed N --out RUN`, then RUN/export): the test split is scored
    /// again with it and the figures over seeds are reported with their spread. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub seed_run: Vec<PathBuf>,

    /// Score a fresh test split (`verity train detector --fresh-test`) instead of the test split
    /// of --data, whose training split still fits the baselines and whose real scenes the
    /// fresh one must not share.
    #[arg(long, value_name = "DIR")]
    pub test_data: Option<PathBuf>,

    /// Record what the threshold flagged among the fresh split's non-AI clips in the
    /// --detector folder's detector.json (a split recorded before is replaced), where `verify`
    /// and `detect` quote it beside the validation rate: the false-positive rate on real scenes
    /// the classifier never met. Rebuild to carry it into the built-in classifier.
    #[arg(long, requires_all = ["test_data", "detector"])]
    pub record: bool,

    /// Write the tables into this model card, between `<!-- eval:start -->` and
    /// `<!-- eval:end -->` (with --test-data, `<!-- eval-fresh:start -->` and
    /// `<!-- eval-fresh:end -->`; --block names another pair).
    #[arg(long, value_name = "FILE")]
    pub card: Option<PathBuf>,

    /// The card's block for --card: between `<!-- NAME:start -->` and `<!-- NAME:end -->`
    /// (letters, digits and dashes), appended where the card has none.
    #[arg(long, value_name = "NAME", requires = "card", value_parser = parse_block)]
    pub block: Option<String>,

    /// Print JSON instead of the tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalGeneratorArgs {
    /// How many prompts (at least 100 for a figure worth quoting).
    #[arg(long, default_value_t = 120)]
    pub prompts: usize,

    /// Sampling steps per clip.
    #[arg(long, default_value_t = 24)]
    pub steps: usize,

    /// Classifier-free guidance scale, 0 to 20 (1 means none). Defaults to the model's own, as
    /// `verity generate` does (`guidance` in its config.json).
    #[arg(long)]
    pub guidance: Option<f32>,

    /// The checkpoint folder.
    #[arg(long, value_name = "DIR", default_value = "models/generator")]
    pub model: PathBuf,

    /// Seed of the prompt list and of sampling.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,

    /// Write the table into this model card, between `<!-- eval:start -->` and
    /// `<!-- eval:end -->` (added at the end when missing).
    #[arg(long, value_name = "FILE")]
    pub card: Option<PathBuf>,

    /// Also measure the denoising error per noise level on this many training clips, in one
    /// step and sampled down to the clip (0 skips it; 8 take about a minute on 2 cores).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub denoise_clips: usize,

    /// Write a PNG of the first prompts' clips (at most 8): for each, the renderer's frames
    /// above the model's, 3x enlarged. Written only when the evaluation succeeds.
    #[arg(long, value_name = "FILE.png")]
    pub sheet: Option<PathBuf>,

    /// Print every clip's scores as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train the text-to-video generator on procedurally rendered scenes, with checkpoints.
    /// Interrupt it at any time and continue with --resume.
    Generator(TrainGeneratorArgs),
    /// Build the synthetic-video classifier's dataset (cached: clips already made are kept),
    /// then train the classifier on it, with checkpoints. Interrupt it at any time and run it
    /// again with --resume.
    Detector(TrainDetectorArgs),
}

#[derive(Debug, Args)]
pub struct TrainDetectorArgs {
    /// The real sources, as scripts/fetch-detector-data.sh fetches them.
    #[arg(long, value_name = "DIR", default_value = ".cache/detector/sources")]
    pub sources: PathBuf,

    /// The dataset folder: canonical clips of every arm and their index.json.
    #[arg(long, value_name = "DIR", default_value = ".cache/detector/data")]
    pub data: PathBuf,

    /// Build (or complete) the dataset and stop.
    #[arg(long)]
    pub data_only: bool,

    /// Seed of the dataset's scenes, windows and splits (a dataset folder keeps one).
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,

    /// Build a fresh test split into --data, beside the dataset in DIR, and stop: every clip is
    /// a test clip; the real scenes (--sources: video/ at least, and upscalers/ for F4 as
    /// scripts/fetch-detector-data.sh --upscalers puts it) must be new to DIR; generated and
    /// rendered clips take only prompts DIR's split gives to test, from another --data-seed;
    /// F3's clips come from DIR's own networks; arms with no sources are left out. A new one is
    /// made at a fifth of the default counts unless --data-scale says otherwise. Score a
    /// classifier on it with `verity eval detector --test-data`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["resume", "out", "steps", "seed", "exclude_arm"])]
    pub fresh_test: Option<PathBuf>,

    /// Also train on the real scenes of a fresh test split (repeatable): every clip of DIR (built
    /// with --fresh-test) cut from a real file (camera clips and all their copies, non-AI and
    /// synthetic: F2, F3, F4) joins the training split, less the arms --exclude-arm leaves out;
    /// its generated and rendered clips, of prompts the dataset gives to test, stay out. Its scenes must be new to --data and to each other; the export records them, and
    /// `verity eval detector` refuses to score the classifier on a split of them. A resumed run
    /// needs the same splits.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["fresh_test", "data_only"])]
    pub also_train: Vec<PathBuf>,

    /// Also choose the operating threshold on the real scenes of a fresh test split
    /// (repeatable): the non-AI clips of DIR (built with --fresh-test) cut from a real scene (not
    /// CGI or test patterns) join the validation split's non-AI clips when the threshold is chosen for 1 % false positives
    /// (the temperature is still fitted on the validation split alone). Its scenes must be new to
    /// --data, to the --also-train splits and to each other; the export records them, and
    /// `verity eval detector` refuses to score the classifier on a split of them. Training does
    /// not see them (they are checked before it starts): give it to a finished run with --resume
    /// to export it again.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["fresh_test", "data_only"])]
    pub also_validate: Vec<PathBuf>,

    /// Scale every arm's clip count by this factor (1 = the default dataset, about 1,880
    /// clips). Without it, a dataset already in --data keeps its counts, and a new one is made
    /// at scale 1.
    #[arg(long)]
    pub data_scale: Option<f32>,

    /// Checkpoint folder (weights, optimiser state, config, training log).
    #[arg(long, value_name = "DIR", default_value = ".cache/detector/run")]
    pub out: PathBuf,

    /// Continue from the checkpoint in --out (with the --batch and --lr it began with).
    #[arg(long)]
    pub resume: bool,

    /// Train until this many steps in total (a resumed run counts the steps already done).
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,

    /// Clips per step (one frame window of each).
    #[arg(long, default_value_t = verity_detect::classifier::train::DEFAULT_BATCH)]
    pub batch: usize,

    /// Seed of the initial weights and of the batches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Write a checkpoint (and measure the validation split) every this many steps.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: usize,

    /// AdamW learning rate.
    #[arg(long, default_value_t = verity_detect::classifier::train::DEFAULT_LR)]
    pub lr: f64,

    /// Stop (with a checkpoint) after this many minutes; --resume continues.
    #[arg(long, value_name = "MINUTES")]
    pub time_limit: Option<f64>,

    /// Leave an arm out of training and validation (repeatable), e.g. `sdedit` for a
    /// leave-one-family-out run.
    #[arg(long, value_name = "ARM")]
    pub exclude_arm: Vec<String>,

    /// The chance (0 to 1) that a training sample gets an overlay (a box with text-like
    /// strokes, like a badge, logo or caption), on real and synthetic clips alike, so that an
    /// overlay cannot tell them apart. A resumed run keeps its own.
    #[arg(long, value_name = "P", default_value_t = verity_detect::classifier::overlay::CHANCE)]
    pub overlays: f32,

    /// The chance (0 to 1) that a training sample is brought down by a factor from 0.4 to 0.9
    /// and up again, on real and synthetic clips alike, so that softness from a resize cannot
    /// tell them apart. A resumed run keeps its own.
    #[arg(long, value_name = "P", default_value_t = verity_detect::classifier::resample::CHANCE)]
    pub resample: f32,

    /// The chance (0 to 1) that a training sample is drawn from a platform copy of its clip:
    /// every training clip coded again with H.264 (half the copies at CRF 24-34 at the same
    /// size, half brought down by 0.4-0.9 and coded at CRF 18-32), two copies a clip, made when
    /// the clips are read (a few minutes, and about 1.8 MB of memory a training clip), on real
    /// and synthetic clips alike. A resumed run keeps its own; a run with copies is not
    /// guaranteed to repeat bit for bit from one process to the next.
    #[arg(long, value_name = "P", default_value_t = verity_detect::classifier::platform::CHANCE)]
    pub platform: f32,

    /// The chance (0 to 1) that a training step is a small one: every sample of it brought down
    /// to a side from 64 to 120 pixels (half the time through JPEG at that size) and cropped at
    /// 64, never brought back up, on real and synthetic clips alike: a file under 128 pixels
    /// is scored at its own size, and this shows the network such files. A resumed run keeps
    /// its own.
    #[arg(long, value_name = "P", default_value_t = verity_detect::classifier::resample::SMALL_CHANCE)]
    pub small: f32,

    /// Give the network the frame's residual at half the scale too (the frame averaged over
    /// 2 × 2 blocks first), three more input channels with this gain: the octave a 0.5× resize
    /// moves the canonical scale's detail to. Left out by default (the shipped weights have no
    /// such channels). A resumed run keeps its own network.
    #[arg(long, value_name = "GAIN")]
    pub half_scale: Option<f32>,
}

#[derive(Debug, Args)]
pub struct TrainGeneratorArgs {
    /// Train until this many steps in total (a resumed run counts the steps already done).
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,

    /// Clips per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,

    /// AdamW learning rate.
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,

    /// Checkpoint folder to continue from (weights, config.json, train_state.json).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    /// Where checkpoints go.
    #[arg(long, value_name = "DIR", default_value = "models/generator")]
    pub out: PathBuf,

    /// Steps between checkpoints (one is also written every 10 minutes and at the end).
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: usize,

    /// Seed of the training data stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Stop after this many minutes of training, with a checkpoint, even short of --steps.
    #[arg(long, value_name = "MINUTES")]
    pub time_limit: Option<f64>,

    /// What the network outputs: `velocity` (noise minus clip), `clean` (the clip, turned into
    /// the velocity) or `preconditioned` (a correction to the input at low noise, the clip at
    /// high noise, with the input scaled to unit variance: EDM's preconditioning). A new model
    /// takes the shipped config's; a resumed one keeps its own unless this is given, and then
    /// trains on from the same weights towards the new output.
    #[arg(long, value_name = "velocity|clean|preconditioned")]
    pub prediction: Option<verity_generate::model::Prediction>,

    /// How each token knows its frame, row and column: `learned` embeddings only, or `sincos`,
    /// fixed sine-cosine features added to them (see the model card: at high noise the learned
    /// ones are drowned by the noise). A new model takes the shipped config's; a resumed one
    /// keeps its own unless this is given.
    #[arg(long, value_name = "learned|sincos")]
    pub positions: Option<verity_generate::model::Positions>,

    /// How each example's noise level t is drawn: `uniform` in [0, 1], or `logit-normal`
    /// (sigmoid of a normal with mean 0.8 and deviation 0.8: mostly middling noise). A new
    /// model draws uniformly; a resumed one keeps the draw it was trained with (saved in
    /// train_state.json) unless this is given.
    #[arg(long, value_name = "uniform|logit-normal")]
    pub time_sampling: Option<verity_generate::train::TimeSampling>,

    /// How much more the pixels the objects cover count in the loss than background pixels
    /// (1: every pixel alike). Objects are 1 to 5 % of a clip's pixels, so with every pixel
    /// alike the background decides almost all of the loss. A weight other than 1 biases the
    /// denoiser towards the objects' colours wherever an object might be: at 10 it painted the
    /// asked colour all over the frame (see the model card); an experiment, not a default. A new
    /// model uses 1; a resumed one keeps its own unless this is given.
    #[arg(long, value_name = "W")]
    pub object_weight: Option<f32>,

    /// The decay of the moving average of the weights that the checkpoint's model.safetensors
    /// holds and that samples (0: none, the optimiser's own weights). The optimiser's weights go
    /// to raw.safetensors beside it and a resume trains on them. The average smooths out the
    /// swing from one checkpoint to the next. A new model uses 0.999 (about the last thousand
    /// steps, the last tenth while the average is younger); a resumed one keeps its own unless this is given.
    #[arg(long, value_name = "DECAY")]
    pub ema: Option<f32>,
}

/// `FAMILY=DIR` of `--held-out`.
fn parse_held_out(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((fam, dir)) if !fam.is_empty() && !dir.is_empty() => {
            Ok((fam.to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!(
            "`{s}`: expected FAMILY=DIR, as in F3=.cache/detector/lofo-f3/export"
        )),
    }
}

/// A model card block's name: it goes into an HTML comment, so letters, digits and dashes only.
fn parse_block(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}`: a block name is 1 to 64 letters, digits or dashes, as in eval-fresh2"
        ))
    }
}
