//! Command-line arguments, parsed once into typed values.

mod media;
mod model;
mod provenance;
mod service;

pub use media::*;
pub use model::*;
pub use provenance::*;
pub use service::*;

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
    /// Score a video with the synthetic-video classifier alone: the probability that it is
    /// synthetic, per segment and over the clip, against the operating threshold (chosen for
    /// 1 % false positives on the validation split's non-AI clips). No credentials or marks are
    /// checked: use verify.
    ///
    /// Exit codes: 0 below the threshold; 7 above it; 6 not enough signal to score; 1 error.
    Detect(DetectArgs),
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

    /// Run the detection service: the HTTP API (sync verify, jobs with webhooks, sign, the C2PA
    /// Soft Binding Resolution API), its workers, and its API keys and webhook endpoints.
    ///
    /// `verity serve` starts on embedded defaults (SQLite and a folder under HOME/service) and
    /// listens on 127.0.0.1:8080; SIGINT or SIGTERM stop it gracefully. See the README's
    /// service section for the API.
    Serve(ServeArgs),
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
