//! Command-line arguments, parsed once into typed values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// verity: generate AI video, stamp it with provenance, and verify suspect video.
#[derive(Debug, Parser)]
#[command(name = "verity", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// verity's home: keys, trust anchors and the manifest repository.
    /// Defaults to $XDG_CONFIG_HOME/verity, else ~/.config/verity.
    #[arg(long, global = true, env = "VERITY_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug and FFmpeg's own warnings, -vvv trace).
    /// RUST_LOG overrides this when set.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what a video file holds: container, duration, size, frame rate, rotation, codecs
    /// and bit rates.
    Probe(ProbeArgs),
    /// Re-encode a video to H.264/AAC MP4 through verity's own media pipeline. This is the
    /// baseline that stamping and signing are measured against.
    Transcode(TranscodeArgs),
    /// Make or inspect the signing keys: a root CA and a signing certificate in verity's home.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign a video: embed a C2PA manifest that names the source as its parent ingredient.
    Sign(SignArgs),
    /// Verify a video: check its C2PA credentials against your trust store and give a verdict.
    ///
    /// Exit codes: 0 trusted or valid credentials; 4 tampered or invalid credentials;
    /// 5 no credentials; 1 error.
    Verify(VerifyArgs),
    /// Generate a clip from a prompt with the bundled model, signed with a C2PA manifest that
    /// declares it AI-generated (c2pa.created, trainedAlgorithmicMedia) and records the prompt,
    /// seed, steps, model and the weights' SHA-256.
    Generate(GenerateArgs),
    /// Train verity's own models.
    #[command(subcommand)]
    Train(TrainCommand),

    /// Measure a model: `eval generator` scores prompt adherence by tracking objects.
    #[command(subcommand)]
    Eval(EvalCommand),
}

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

fn parse_size(s: &str) -> Result<(u32, u32), String> {
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

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a root CA and a signing certificate issued by it (C2PA never trusts a self-signed
    /// signing certificate). Writes PKCS#8 keys (mode 0600) and the chain into HOME/keys, and the
    /// root into HOME/trust so that your own clips verify as trusted.
    Init(KeysInitArgs),
    /// Show the signing certificate, its chain and whether it meets the C2PA profile, and the
    /// trust anchors in HOME/trust.
    Show(KeysShowArgs),
}

#[derive(Debug, Args)]
pub struct KeysInitArgs {
    /// The organisation named in the certificates.
    #[arg(long, default_value = "verity user")]
    pub org: String,

    /// Key algorithm.
    #[arg(long, default_value = "ed25519", value_parser = parse_alg)]
    pub alg: verity_signing::KeyAlg,

    /// Replace existing keys.
    #[arg(long)]
    pub force: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A signing key and chain given on the command line instead of the ones in verity's home.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Private key (PKCS#8 PEM or DER, or SEC1 EC PEM; Ed25519, P-256 or P-384).
    #[arg(long, value_name = "FILE", requires = "chain")]
    pub key: Option<PathBuf>,

    /// Certificate chain, PEM: the signing certificate first, then its CAs.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub chain: Option<PathBuf>,
}

impl KeyArgs {
    /// The identity these flags name: the key and chain given, else the home's.
    pub fn identity(&self) -> verity_provenance::Identity {
        match (&self.key, &self.chain) {
            (Some(key), Some(chain)) => verity_provenance::Identity::Files {
                key: key.clone(),
                chain: chain.clone(),
            },
            _ => verity_provenance::Identity::Home,
        }
    }
}

#[derive(Debug, Args)]
pub struct KeysShowArgs {
    #[command(flatten)]
    pub keys: KeyArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The video to sign (.mp4, .m4v or .mov).
    pub input: PathBuf,

    /// Where to write the signed video. It appears only when signing succeeds; it may be the
    /// input itself.
    #[arg(short, long)]
    pub output: PathBuf,

    #[command(flatten)]
    pub keys: KeyArgs,

    /// The manifest's title (default: the output's file name).
    #[arg(long)]
    pub title: Option<String>,

    /// Leave out the visible badge.
    #[arg(long)]
    pub no_visible: bool,

    /// Leave out the invisible spectral watermark.
    #[arg(long)]
    pub no_watermark: bool,

    /// Leave out the C2PA manifest.
    #[arg(long)]
    pub no_manifest: bool,

    #[command(flatten)]
    pub badge: BadgeArgs,

    #[command(flatten)]
    pub marks: MarkArgs,

    /// H.264 quality of the re-encode (0–51, lower is better).
    #[arg(long, default_value_t = 18)]
    pub crf: u8,

    /// x264 preset of the re-encode.
    #[arg(long, default_value = "medium", value_parser = parse_preset)]
    pub preset: verity_media::Preset,

    /// Strength of the spectral watermark in luma levels (higher survives more, shows more).
    #[arg(long, default_value_t = verity_provenance::marks::spectral::DEFAULT_STRENGTH)]
    pub strength: f32,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The visible badge.
#[derive(Debug, Args, Clone)]
pub struct BadgeArgs {
    /// Text after "AI" on the badge (default: the signer's name).
    #[arg(long, value_name = "TEXT")]
    pub badge_text: Option<String>,

    /// Opacity of the badge, (0, 1].
    #[arg(long, default_value_t = verity_provenance::marks::visible::DEFAULT_OPACITY)]
    pub badge_opacity: f32,

    /// Badge height as a share of the frame height, [0.02, 0.25].
    #[arg(long, default_value_t = verity_provenance::marks::visible::DEFAULT_SIZE)]
    pub badge_size: f32,
}

impl BadgeArgs {
    pub fn style(&self) -> verity_provenance::BadgeStyle {
        verity_provenance::BadgeStyle {
            text: self.badge_text.clone(),
            opacity: self.badge_opacity,
            size: self.badge_size,
        }
    }
}

/// Spectral-mark keys and the manifest repository.
#[derive(Debug, Args, Clone)]
pub struct MarkArgs {
    /// Spectral-mark key file (64 hex digits). Default: HOME/keys/watermark.key when it exists,
    /// else the documented default key. `verify` tries the default key too, always.
    #[arg(long, value_name = "FILE")]
    pub watermark_key: Option<PathBuf>,

    /// The manifest repository folder (default: HOME/manifests).
    #[arg(long, value_name = "DIR", env = "VERITY_REPOSITORY")]
    pub repository: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The video to check.
    pub file: PathBuf,

    /// More trust anchors: a PEM file or a directory of them (repeatable). HOME/trust is always
    /// included.
    #[arg(long, value_name = "FILE|DIR")]
    pub trust: Vec<PathBuf>,

    /// Individually allowed signing certificates: a PEM file or a directory (repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub allow: Vec<PathBuf>,

    #[command(flatten)]
    pub marks: MarkArgs,

    /// FILE is the init segment of a fragmented MP4 kept in pieces (DASH, CMAF): its fragments,
    /// as files or glob patterns (quoted, e.g. 'seg*.m4s'), sorted by name within each pattern.
    /// The manifest's hash covers them too, so it is checked with them.
    #[arg(long, value_name = "FILE|PATTERN", num_args = 1..)]
    pub fragments: Vec<String>,

    /// Check FILE against this C2PA manifest store (a `.c2pa` file) instead of what FILE embeds:
    /// a sidecar kept apart from the video, or the remote manifest a file points to, fetched
    /// yourself (verify never goes to the network). `clip.c2pa` beside `clip.mp4` is read
    /// without this when the video embeds no manifest.
    #[arg(long, value_name = "STORE", conflicts_with = "fragments")]
    pub manifest: Option<PathBuf>,

    /// Check the C2PA manifest only, not the marks.
    #[arg(long)]
    pub no_marks: bool,

    /// When no upright or mirrored spectral mark is found, also search rotations of up to ±15°
    /// in 1° steps. An upright mark is read as fast as without it; on a video without a mark,
    /// reading takes about twice as long.
    #[arg(long, conflicts_with = "no_marks")]
    pub search_rotation: bool,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_alg(s: &str) -> Result<verity_signing::KeyAlg, String> {
    s.parse()
        .map_err(|e: verity_signing::SigningError| e.to_string())
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The video file.
    pub file: PathBuf,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TranscodeArgs {
    /// The source video (any container and codec FFmpeg reads).
    pub input: PathBuf,

    /// The output file (.mp4, .m4v or .mov). Written under a temporary name and renamed when
    /// complete, so it never exists half-written.
    pub output: PathBuf,

    /// libx264 constant rate factor: 0 is lossless, 51 the smallest file.
    #[arg(long, default_value_t = 23, value_parser = clap::value_parser!(u8).range(0..=51))]
    pub crf: u8,

    /// libx264 preset: slower presets give smaller files at the same quality.
    #[arg(long, default_value = "medium", value_parser = parse_preset)]
    pub preset: verity_media::Preset,

    /// What to do with the audio track.
    #[arg(long, value_enum, default_value_t = AudioArg::Aac)]
    pub audio: AudioArg,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AudioArg {
    /// Re-encode to AAC, as `ffmpeg -c:a aac` does.
    Aac,
    /// Copy the compressed audio untouched.
    Copy,
    /// Drop the audio.
    None,
}

impl From<AudioArg> for verity_media::AudioChoice {
    fn from(a: AudioArg) -> Self {
        match a {
            AudioArg::Aac => verity_media::AudioChoice::Aac,
            AudioArg::Copy => verity_media::AudioChoice::Copy,
            AudioArg::None => verity_media::AudioChoice::None,
        }
    }
}

fn parse_preset(s: &str) -> Result<verity_media::Preset, String> {
    s.parse()
        .map_err(|e: verity_media::MediaError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
