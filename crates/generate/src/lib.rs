//! verity-generate: the text-to-video generator.
//!
//! - [`scene`]: the scene language as data ([`SceneSpec`]);
//! - [`prompt`]: plain English → spec, and spec → canonical prompt;
//! - [`render`]: the deterministic procedural renderer with real physics, the source of training
//!   data and the ground truth for evaluation.

pub mod prompt;
pub mod render;
pub mod scene;

pub use prompt::{PromptError, parse};
pub use render::{RenderOptions, render};
pub use scene::{Background, Camera, Color, Direction, Motion, ObjectSpec, SceneSpec, Shape, Size};
