//! The media commands: probe, transcode.

use super::*;

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

pub(super) fn parse_preset(s: &str) -> Result<verity_media::Preset, String> {
    s.parse()
        .map_err(|e: verity_media::MediaError| e.to_string())
}
