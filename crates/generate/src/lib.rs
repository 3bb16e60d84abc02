//! verity-generate: the text-to-video generator.
//!
//! - [`scene`]: the scene language as data ([`SceneSpec`]);
//! - [`prompt`]: plain English → spec, and spec → canonical prompt;
//! - [`render`](mod@render): the deterministic procedural renderer with real physics, the source
//!   of training data and the ground truth for evaluation;
//! - [`model`]: the video diffusion transformer (candle: `Config`, `Model::new(&cfg, vb)`);
//! - [`train`]: rectified-flow training with checkpoints and resume, [`ema`]: the moving
//!   average of the weights that sample; [`sample`]: guided sampling;
//! - [`eval`]: prompt adherence by tracking the objects in sampled clips; [`denoise`]: the
//!   model's denoising error per noise level, in one step and sampled down;
//! - [`memory`]: the C allocator's settings that keep CPU training and sampling off fresh pages;
//! - [`pipeline`]: `generate` — prompt to a signed MP4 at the asked size and frame rate.

pub mod data;
pub mod denoise;
pub mod ema;
mod error;
pub mod eval;
pub mod memory;
pub mod model;
#[cfg(feature = "pipeline")]
pub mod pipeline;
pub mod prompt;
pub mod render;
pub mod rng;
pub mod sample;
pub mod scene;
pub mod train;

pub use error::{GenerateError, Result};
pub use prompt::{PromptError, parse};
pub use render::{RenderOptions, render};
pub use scene::{Background, Camera, Color, Direction, Motion, ObjectSpec, SceneSpec, Shape, Size};
