//! The generator model: configuration and the diffusion transformer.

mod config;
mod dit;
mod ops;

pub use config::{
    Config, DEFAULT_GUIDANCE, NULL, PAD, Positions, Prediction, UNK, scene_vocabulary,
};
pub use dit::{Model, SIGMA_DATA, T_FLOOR, preconditioning, sincos_positions};
