//! The C2PA layer: build, sign and read manifests.

mod build;
mod codes;
mod context;
mod read;
mod sign;

pub use build::{ManifestSpec, Origin, TRAINED_ALGORITHMIC_MEDIA, TrainingUse, claim_generator};
pub use codes::{explain, is_hard_binding_failure};
pub use context::context;
pub use read::{
    ActionInfo, C2paState, IngredientInfo, ManifestReport, SignerInfo, StatusCode, StatusCodes,
    read_manifest, read_manifest_with_data,
};
pub use sign::{SignOutcome, mime_for, sign_file};
