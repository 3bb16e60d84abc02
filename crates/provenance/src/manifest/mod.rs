//! The C2PA layer: build, sign and read manifests.

mod build;
mod codes;
mod context;
mod read;
mod sign;
pub mod soft_binding;
pub mod source_type;

pub use build::{ManifestSpec, Origin, TRAINED_ALGORITHMIC_MEDIA, TrainingUse, claim_generator};
pub use codes::{Code, explain, is_hard_binding_failure};
pub use context::context;
pub use read::{
    ActionInfo, AiDeclaration, C2paState, IngredientInfo, MAX_SIDECAR_BYTES, ManifestReport,
    SignerInfo, StatusCode, StatusCodes, ai_declaration, contains_manifest_store, read_manifest,
    read_manifest_fragmented, read_manifest_sidecar, read_manifest_with_data, store_label,
};
pub use sign::{SignOutcome, mime_for, sign_file, sign_from};
pub use source_type::AiContent;
