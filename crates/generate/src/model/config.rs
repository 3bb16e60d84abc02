//! The model's configuration, saved as `config.json` beside the weights.

use serde::{Deserialize, Serialize};

use crate::scene::{Background, Camera, Color, Direction, Shape, Size};

/// Special tokens at the start of the vocabulary.
pub const PAD: u32 = 0;
/// The empty prompt, for classifier-free guidance.
pub const NULL: u32 = 1;
pub const UNK: u32 = 2;

/// What the network's last layer outputs. Either way [`crate::model::Model::forward`] returns
/// the flow velocity (noise minus data), so training and sampling do not change.
///
/// - `velocity`: the velocity itself. A 4x4x2 patch of noise has 96 values and the model 128
///   dimensions, so the network must carry the noise through every block to output it, and what
///   it drops stays in the sample as speckle.
/// - `clean`: the clean clip x0, turned into the velocity (x_t - x0) / t, with t floored at
///   [`crate::model::T_FLOOR`]. Clean clips are smooth and lie near a small set, which a narrow
///   network can output; the noise then comes from x_t itself. But at low noise the network
///   must now carry the whole clip through its blocks, and detail is lost there instead.
/// - `preconditioned`: the clean clip as a noise-dependent mix of the input and the network's
///   output, x0 = c_skip(t)·x_t + c_out(t)·F (the preconditioning of Karras et al., EDM, written
///   for the flow x_t = (1 - t)·x0 + t·noise with clip deviation [`crate::model::SIGMA_DATA`]):
///   at low noise the input passes through and the network adds the correction, at high noise
///   the network outputs the clip, as with `clean`. The input is scaled to unit variance first.
///   No division by t is needed, so nothing is floored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// Checkpoints written before this field existed predict the velocity.
    #[default]
    Velocity,
    Clean,
    Preconditioned,
}

impl std::str::FromStr for Prediction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "velocity" => Ok(Prediction::Velocity),
            "clean" => Ok(Prediction::Clean),
            "preconditioned" => Ok(Prediction::Preconditioned),
            other => Err(format!(
                "unknown prediction {other:?}: expected velocity, clean or preconditioned"
            )),
        }
    }
}

/// How each token is told where and when in the clip it is.
///
/// - `learned`: learned embeddings of the frame group and of the place in the frame, started
///   small (deviation 0.02, a norm near 0.2). At high noise a token's patch of noise has a norm
///   near 18 after the patch layer of the shipped weights, so the token barely knows its place:
///   after 6,652 steps the place embeddings had norms near 0.6 and the frame ones near 0.12.
/// - `sincos`: fixed sine and cosine features of the frame group, the row and the column (a
///   quarter of the dimensions for time, the rest split between rows and columns; norm
///   √(dim/2), 8 at dim 128), added to the learned ones, so the place is known at every noise
///   level from the first step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    /// Checkpoints written before this field existed have learned positions only.
    #[default]
    Learned,
    Sincos,
}

impl std::str::FromStr for Positions {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "learned" => Ok(Positions::Learned),
            "sincos" => Ok(Positions::Sincos),
            other => Err(format!(
                "unknown positions {other:?}: expected learned or sincos"
            )),
        }
    }
}

/// A video diffusion transformer's shape. The same code loads larger checkpoints of this family:
/// only the numbers change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Frames per clip the model makes.
    pub frames: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// Spatial patch size (pixels per side).
    pub patch: usize,
    /// Temporal patch size (frames).
    pub tpatch: usize,
    pub dim: usize,
    pub depth: usize,
    pub heads: usize,
    pub text_layers: usize,
    /// Longest prompt, in words.
    pub max_words: usize,
    /// The words the text encoder knows, after the special tokens PAD, NULL and UNK.
    pub vocab: Vec<String>,
    /// Seconds of video the `frames` span.
    pub clip_seconds: f32,
    /// What the network outputs; `velocity` when the file does not say.
    #[serde(default)]
    pub prediction: Prediction,
    /// How tokens know their place; `learned` when the file does not say.
    #[serde(default)]
    pub positions: Positions,
    /// The classifier-free guidance scale sampling uses unless told otherwise: the one the
    /// evaluation chose for these weights (guidance that suits one checkpoint oversaturates
    /// another); 3 when the file does not say.
    #[serde(default = "default_guidance")]
    pub guidance: f32,
}

/// The most tokens (frame groups x patches per frame) a clip may have: attention over them is
/// what a model of this family spends its memory on.
pub const MAX_TOKENS: usize = 16_384;

/// The guidance scale of a config that does not name one, and of a new model.
pub const DEFAULT_GUIDANCE: f32 = 3.0;

fn default_guidance() -> f32 {
    DEFAULT_GUIDANCE
}

impl Config {
    /// The shipped model: 16 frames of 32x32 over 4 s, about 2.5 M parameters.
    pub fn small() -> Self {
        Config {
            frames: 16,
            height: 32,
            width: 32,
            channels: 3,
            patch: 4,
            tpatch: 2,
            dim: 128,
            depth: 4,
            heads: 4,
            text_layers: 2,
            max_words: 24,
            vocab: scene_vocabulary(),
            clip_seconds: 4.0,
            prediction: Prediction::Velocity,
            positions: Positions::Learned,
            guidance: DEFAULT_GUIDANCE,
        }
    }

    /// A tiny model for tests: seconds to train a few steps.
    pub fn tiny() -> Self {
        Config {
            frames: 4,
            height: 16,
            width: 16,
            channels: 3,
            patch: 4,
            tpatch: 2,
            dim: 32,
            depth: 1,
            heads: 2,
            text_layers: 1,
            max_words: 24,
            vocab: scene_vocabulary(),
            clip_seconds: 1.0,
            prediction: Prediction::Velocity,
            positions: Positions::Learned,
            guidance: DEFAULT_GUIDANCE,
        }
    }

    pub fn patch_dim(&self) -> usize {
        self.tpatch * self.patch * self.patch * self.channels
    }

    /// Tokens per clip: (frames / tpatch) x (height / patch) x (width / patch).
    pub fn grid(&self) -> (usize, usize, usize) {
        (
            self.frames / self.tpatch,
            self.height / self.patch,
            self.width / self.patch,
        )
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len() + 3
    }

    /// Checks that every number is in range and that they fit together. Ranges are checked
    /// before any division, and they bound what a model of this config allocates, so a hostile
    /// config.json is refused instead of dividing by zero or asking for terabytes.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, v: usize, max: usize| {
            if (1..=max).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} is {v}; it must be from 1 to {max}"))
            }
        };
        range("frames", self.frames, 256)?;
        range("height", self.height, 1024)?;
        range("width", self.width, 1024)?;
        range("channels", self.channels, 4)?;
        range("patch", self.patch, 64)?;
        range("tpatch", self.tpatch, 64)?;
        range("dim", self.dim, 4096)?;
        range("heads", self.heads, 256)?;
        range("depth", self.depth, 64)?;
        range("text_layers", self.text_layers, 32)?;
        range("max_words", self.max_words, 512)?;
        range("the vocabulary's size", self.vocab.len(), 100_000)?;
        if self.frames % self.tpatch != 0 {
            return Err("frames must be a multiple of tpatch".into());
        }
        if self.height % self.patch != 0 || self.width % self.patch != 0 {
            return Err("height and width must be multiples of patch".into());
        }
        if self.dim % self.heads != 0 {
            return Err("dim must be a multiple of heads".into());
        }
        let (gt, gh, gw) = self.grid();
        let tokens = gt * gh * gw;
        if tokens > MAX_TOKENS {
            return Err(format!(
                "the clip is {tokens} tokens ({gt} x {gh} x {gw}); at most {MAX_TOKENS} are allowed"
            ));
        }
        if !crate::sample::guidance_ok(self.guidance) {
            return Err("guidance must be from 0 to 20".into());
        }
        if !(self.clip_seconds.is_finite() && self.clip_seconds > 0.0 && self.clip_seconds <= 600.0)
        {
            return Err("clip_seconds must be above 0 and at most 600".into());
        }
        Ok(())
    }

    /// Word ids for a prompt, in order; unknown words map to UNK. An empty prompt is [NULL].
    pub fn tokenize(&self, prompt: &str) -> Vec<u32> {
        let mut ids: Vec<u32> = prompt
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                self.vocab
                    .iter()
                    .position(|v| v == w)
                    .map_or(UNK, |i| i as u32 + 3)
            })
            .take(self.max_words)
            .collect();
        if ids.is_empty() {
            ids.push(NULL);
        }
        ids
    }
}

/// Every word the canonical prompts use.
pub fn scene_vocabulary() -> Vec<String> {
    let mut v: Vec<String> = [
        "a", "moves", "bounces", "from", "to", "falls", "rolls", "collides", "with", "on", "while",
        "the", "camera", "is", "pans", "tilts", "zooms", "in", "out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(Shape::ALL.iter().map(|x| x.word().to_string()));
    v.extend(Color::ALL.iter().map(|x| x.word().to_string()));
    v.extend(Size::ALL.iter().map(|x| x.word().to_string()));
    v.extend(Background::ALL.iter().map(|x| x.word().to_string()));
    v.extend(Direction::ALL.iter().map(|x| x.word().to_string()));
    v.extend(
        Camera::ALL
            .iter()
            .filter(|c| **c == Camera::Static)
            .map(|x| x.word().to_string()),
    );
    v.dedup();
    v
}
