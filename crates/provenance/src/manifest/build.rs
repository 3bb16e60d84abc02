//! What goes into a manifest, and how it becomes a c2pa `Builder`.

use std::path::PathBuf;

use c2pa::assertions::DigitalSourceType;
use c2pa::{Builder, BuilderIntent, ClaimGeneratorInfo, Context};
use serde_json::json;

use crate::error::{ProvenanceError, Result};

/// The IPTC digital source type for media made by a trained model.
pub const TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// Where the signed asset came from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Made by a generative model: `c2pa.created` with digitalSourceType trainedAlgorithmicMedia.
    Generated,
    /// An existing video: `c2pa.opened` with the source as the parent ingredient (its own
    /// manifest, if any, is kept as the ingredient's).
    Existing { source: PathBuf },
}

/// Whether the content may be used for AI training and data mining (`cawg.training-mining`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TrainingUse {
    Allowed,
    #[default]
    NotAllowed,
    Constrained,
}

/// Everything verity writes into a manifest.
#[derive(Clone, Debug)]
pub struct ManifestSpec {
    pub title: String,
    pub origin: Origin,
    pub training: TrainingUse,
    /// Further assertions as (label, JSON), e.g. the generation and soft-binding assertions.
    pub assertions: Vec<(String, serde_json::Value)>,
    /// Actions beyond the one the origin implies, e.g. `c2pa.watermarked`.
    pub actions: Vec<serde_json::Value>,
}

impl ManifestSpec {
    pub fn new(title: impl Into<String>, origin: Origin) -> Self {
        ManifestSpec {
            title: title.into(),
            origin,
            training: TrainingUse::NotAllowed,
            assertions: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// The claim generator: verity and its version.
pub fn claim_generator() -> ClaimGeneratorInfo {
    let mut info = ClaimGeneratorInfo::new("verity");
    info.version = Some(env!("CARGO_PKG_VERSION").to_string());
    info
}

/// Builds the c2pa `Builder` for `spec`. The parent ingredient of an existing video is read
/// from its file.
pub(crate) fn builder(ctx: Context, spec: &ManifestSpec, format: &str) -> Result<Builder> {
    let err = |source: c2pa::Error| ProvenanceError::Sign {
        path: PathBuf::from(&spec.title),
        source: Box::new(source),
    };
    let definition = json!({ "title": spec.title });
    // The definition replaces the whole manifest definition: set it first, the rest after.
    let mut b = Builder::from_context(ctx)
        .with_definition(definition.to_string())
        .map_err(err)?;
    b.set_claim_generator_info(claim_generator());
    b.set_format(format);
    let training = json!({
        "entries": {
            "cawg.ai_generative_training": { "use": spec.training },
            "cawg.ai_inference": { "use": spec.training },
            "cawg.ai_training": { "use": spec.training },
            "cawg.data_mining": { "use": spec.training },
        }
    });
    b.add_assertion("cawg.training-mining", &training)
        .map_err(err)?;
    for (label, value) in &spec.assertions {
        b.add_assertion(label.as_str(), value).map_err(err)?;
    }
    for action in &spec.actions {
        b.add_action(action).map_err(err)?;
    }
    match &spec.origin {
        Origin::Generated => {
            b.set_intent(BuilderIntent::Create(
                DigitalSourceType::TrainedAlgorithmicMedia,
            ));
        }
        Origin::Existing { source } => {
            b.set_intent(BuilderIntent::Edit);
            let mut f = std::fs::File::open(source).map_err(|e| ProvenanceError::io(source, e))?;
            let title = source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "source".into());
            let ingredient = json!({ "title": title, "relationship": "parentOf" });
            b.add_ingredient_from_stream(ingredient.to_string(), format, &mut f)
                .map_err(|source_err| ProvenanceError::Sign {
                    path: source.clone(),
                    source: Box::new(source_err),
                })?;
        }
    }
    Ok(b)
}
