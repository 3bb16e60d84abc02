//! The watermark layers: the invisible spectral mark (a keyed spread-spectrum pattern in luma
//! that carries a 64-bit payload) and the visible badge.
//!
//! - [`key`]: spectral-mark keys, with the documented default key;
//! - [`payload`]: the payload layout and its channel code (check code, convolutional code,
//!   Viterbi decoding);
//! - [`spectral`]: the pattern and its embedder;
//! - [`visible`]: the moving badge and its detector;
//! - [`stamper`]: both marks on a stream of frames;
//! - `resample`: the area-average downscale both readers use;
//! - [`extract`]: pooling frames, resynchronisation and decoding, with a false-positive bound.

pub mod extract;
mod font;
pub mod key;
pub mod payload;
mod resample;
pub mod spectral;
pub mod stamper;
pub mod visible;

pub use extract::{Accumulator, DetectOptions, Detection, Signal, thread_budget};
pub use key::WatermarkKey;
pub use payload::Payload;
pub use spectral::{Geometry, SpectralEmbedder};
pub use stamper::{MarkOptions, SpectralOptions, Stamper};
pub use visible::{VisibleDetection, VisibleDetector, VisibleMarker, VisibleOptions};
