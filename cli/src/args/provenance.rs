//! The provenance commands: keys, sign, verify; and the flags they share.

use super::*;

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
    /// yourself (verify fetches nothing itself). `clip.c2pa` beside `clip.mp4` is read
    /// without this when the video embeds no manifest.
    #[arg(long, value_name = "STORE", conflicts_with = "fragments")]
    pub manifest: Option<PathBuf>,

    /// Leave out the marks (the spectral watermark and the badge). With --no-classifier as
    /// well, only the C2PA manifest is checked.
    #[arg(long)]
    pub no_marks: bool,

    /// When no upright or mirrored spectral mark is found, also search rotations of up to ±15°
    /// in 1° steps. An upright mark is read as fast as without it; on a video without a mark,
    /// reading takes about twice as long.
    #[arg(long, conflicts_with = "no_marks")]
    pub search_rotation: bool,

    /// A C2PA Soft Binding Resolution API (a host, or its API base such as
    /// `https://host/v1`) to ask for the manifest when the file has none and the local
    /// repository has no match: the only time verify goes to the network. What it returns is
    /// checked like any recovered manifest.
    #[arg(long, value_name = "URL", conflicts_with = "no_marks")]
    pub resolver: Option<String>,

    /// A bearer token for --resolver.
    #[arg(
        long,
        env = "VERITY_RESOLVER_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        requires = "resolver"
    )]
    pub resolver_token: Option<String>,

    #[command(flatten)]
    pub classifier: ClassifierArgs,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn parse_alg(s: &str) -> Result<verity_signing::KeyAlg, String> {
    s.parse()
        .map_err(|e: verity_signing::SigningError| e.to_string())
}

/// Which synthetic-video classifier to run.
#[derive(Debug, Args)]
pub struct ClassifierArgs {
    /// Leave the synthetic-video classifier out (`classifier` is null in the report).
    #[arg(long)]
    pub no_classifier: bool,

    /// A classifier folder of your own (detector.json and model.safetensors, as `verity train
    /// detector` exports them) instead of the one built into verity (models/detector).
    #[arg(long, value_name = "DIR", conflicts_with = "no_classifier")]
    pub detector: Option<PathBuf>,

    /// How the classifier reads the file (its first 8,000 frames at most). `auto`: frame
    /// triples spread over the file, except that a large one (more picture than 72 frames of
    /// 1080p) is read at its key frames, which keeps the cost to about three decoded frames per
    /// triple but leaves out the stretches far from any key frame (the report's `unscored`
    /// names them). `whole`: spread over the file whatever its size, at the cost of decoding
    /// every frame. `key-frames`: always at the key frames.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = ClassifierRead::Auto, conflicts_with = "no_classifier")]
    pub classifier_read: ClassifierRead,
}

/// `--classifier-read`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClassifierRead {
    Auto,
    Whole,
    KeyFrames,
}

impl From<ClassifierRead> for verity_detect::classifier::score::Reading {
    fn from(r: ClassifierRead) -> Self {
        use verity_detect::classifier::score::Reading;
        match r {
            ClassifierRead::Auto => Reading::Auto,
            ClassifierRead::Whole => Reading::Whole,
            ClassifierRead::KeyFrames => Reading::KeyFrames,
        }
    }
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The video to score.
    pub file: PathBuf,

    /// A classifier folder of your own instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub detector: Option<PathBuf>,

    /// How the file (its first 8,000 frames at most) is read: `auto` (spread over the file; a
    /// large one at its key frames), `whole` (spread over the file whatever its size, every
    /// frame decoded) or `key-frames`. See `verity verify --help`.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = ClassifierRead::Auto)]
    pub classifier_read: ClassifierRead,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
