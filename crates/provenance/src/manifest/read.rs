//! Reading and validating the manifest of a file, offline, against a trust store.

use std::path::Path;

use c2pa::{Reader, ValidationState};
use serde::Serialize;
use verity_signing::TrustStore;

use super::build::TRAINED_ALGORITHMIC_MEDIA;
use super::codes::{explain, is_hard_binding_failure};
use super::context::context;
use crate::error::{ProvenanceError, Result};

/// The state of a file's C2PA credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum C2paState {
    /// Valid, and the signer chains to a trusted anchor.
    Trusted,
    /// Cryptographically valid, but the signer is not trusted here.
    Valid,
    /// A manifest is present but fails validation (tampered, damaged or badly signed).
    Invalid,
    /// No manifest.
    Absent,
}

/// A status code with its plain-words explanation.
#[derive(Clone, Debug, Serialize)]
pub struct StatusCode {
    pub code: String,
    pub explanation: String,
    /// Where in the manifest store the code applies, when c2pa says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The status codes of a validation, by kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StatusCodes {
    pub success: Vec<StatusCode>,
    pub informational: Vec<StatusCode>,
    pub failure: Vec<StatusCode>,
}

/// One action from `c2pa.actions`.
#[derive(Clone, Debug, Serialize)]
pub struct ActionInfo {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
}

/// One ingredient.
#[derive(Clone, Debug, Serialize)]
pub struct IngredientInfo {
    pub title: Option<String>,
    pub relationship: String,
    /// Whether the ingredient carried its own manifest.
    pub has_manifest: bool,
}

/// The signer, from the signature.
#[derive(Clone, Debug, Serialize)]
pub struct SignerInfo {
    pub common_name: Option<String>,
    pub issuer: Option<String>,
    pub alg: Option<String>,
    pub cert_serial_number: Option<String>,
}

/// Everything verity reports about a file's manifest.
#[derive(Clone, Debug, Serialize)]
pub struct ManifestReport {
    pub state: C2paState,
    /// The active manifest's label.
    pub manifest_label: Option<String>,
    pub title: Option<String>,
    pub claim_generator: Option<String>,
    pub signer: Option<SignerInfo>,
    /// The signing time, when a time-stamp attests it.
    pub signed_at: Option<String>,
    /// True when an action declares the content made by a generative model.
    pub ai_generated: bool,
    pub actions: Vec<ActionInfo>,
    pub ingredients: Vec<IngredientInfo>,
    /// True when the content no longer matches the manifest's hash (edited or re-encoded).
    pub hard_binding_failed: bool,
    pub codes: StatusCodes,
    /// The active manifest's assertions as JSON, by label (for later layers: soft binding,
    /// generation info).
    #[serde(skip)]
    pub assertions: Vec<(String, serde_json::Value)>,
}

impl ManifestReport {
    fn absent() -> Self {
        ManifestReport {
            state: C2paState::Absent,
            manifest_label: None,
            title: None,
            claim_generator: None,
            signer: None,
            signed_at: None,
            ai_generated: false,
            actions: Vec::new(),
            ingredients: Vec::new(),
            hard_binding_failed: false,
            codes: StatusCodes::default(),
            assertions: Vec::new(),
        }
    }
}

fn status(s: &c2pa::validation_status::ValidationStatus) -> StatusCode {
    StatusCode {
        code: s.code().to_string(),
        explanation: explain(s.code()).to_string(),
        url: s.url().map(str::to_string),
    }
}

/// Reads and validates the manifest embedded in `path`, trusting only `trust`.
///
/// A file without a manifest gives [`C2paState::Absent`]; a damaged one gives
/// [`C2paState::Invalid`] with the reason in `codes.failure`. Only I/O problems are errors.
pub fn read_manifest(path: &Path, trust: &TrustStore) -> Result<ManifestReport> {
    std::fs::metadata(path).map_err(|e| ProvenanceError::io(path, e))?;
    let ctx = context(trust)?;
    let reader = match Reader::from_context(ctx).with_file(path) {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => {
            return Ok(ManifestReport::absent());
        }
        Err(c2pa::Error::UnsupportedType) => {
            // A container C2PA cannot embed a manifest in (MKV, WebM, AVI…): no credentials.
            let mut r = ManifestReport::absent();
            r.codes.informational.push(StatusCode {
                code: "verity.container.unsupported".into(),
                explanation: explain("verity.container.unsupported").to_string(),
                url: None,
            });
            return Ok(r);
        }
        Err(c2pa::Error::IoError(e)) => return Err(ProvenanceError::io(path, e)),
        Err(e) => return Ok(ManifestReport::unreadable(&e)),
    };
    Ok(report_from(&reader))
}

/// Validates a manifest store kept apart from the file (`manifest`, JUMBF bytes, e.g. from the
/// repository) against the file at `path`. The hard binding fails when the file is not the one
/// that was signed (a re-encoded copy); the caller decides what that means.
pub fn read_manifest_with_data(
    manifest: &[u8],
    path: &Path,
    trust: &TrustStore,
) -> Result<ManifestReport> {
    let format = super::sign::mime_for(path).unwrap_or("video/mp4");
    let ctx = context(trust)?;
    let mut f = std::fs::File::open(path).map_err(|e| ProvenanceError::io(path, e))?;
    match Reader::from_context(ctx).with_manifest_data_and_stream(manifest, format, &mut f) {
        Ok(reader) => Ok(report_from(&reader)),
        Err(c2pa::Error::IoError(e)) => Err(ProvenanceError::io(path, e)),
        Err(e) => Ok(ManifestReport::unreadable(&e)),
    }
}

impl ManifestReport {
    /// A manifest is there but c2pa cannot read it at all.
    fn unreadable(e: &c2pa::Error) -> Self {
        let mut r = ManifestReport::absent();
        r.state = C2paState::Invalid;
        r.codes.failure.push(StatusCode {
            code: "verity.manifest.unreadable".into(),
            explanation: format!("{} ({e})", explain("verity.manifest.unreadable")),
            url: None,
        });
        r
    }

    /// The (algorithm, value) pairs of the active manifest's `c2pa.soft-binding` assertions.
    pub fn soft_bindings(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (label, v) in &self.assertions {
            if !label.starts_with("c2pa.soft-binding") {
                continue;
            }
            let alg = v.get("alg").and_then(|a| a.as_str()).unwrap_or_default();
            for b in v
                .get("blocks")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(val) = b.get("value").and_then(|x| x.as_str()) {
                    out.push((alg.to_string(), val.to_string()));
                }
            }
        }
        out
    }
}

fn report_from(reader: &Reader) -> ManifestReport {
    let mut r = ManifestReport::absent();
    r.state = match reader.validation_state() {
        ValidationState::Trusted => C2paState::Trusted,
        ValidationState::Valid => C2paState::Valid,
        ValidationState::Invalid => C2paState::Invalid,
    };
    if let Some(results) = reader
        .validation_results()
        .and_then(|v| v.active_manifest())
    {
        r.codes.success = results.success().iter().map(status).collect();
        r.codes.informational = results.informational().iter().map(status).collect();
        r.codes.failure = results.failure().iter().map(status).collect();
    } else if let Some(list) = reader.validation_status() {
        r.codes.failure = list.iter().map(status).collect();
    }
    r.hard_binding_failed = r
        .codes
        .failure
        .iter()
        .any(|c| is_hard_binding_failure(&c.code));
    r.manifest_label = reader.active_label().map(str::to_string);
    let Some(m) = reader.active_manifest() else {
        return r;
    };
    r.title = m.title().map(str::to_string);
    // Every claim generator named (verity first, then the c2pa library it signs with).
    let infos: Vec<String> = m
        .claim_generator_info
        .iter()
        .flatten()
        .map(|g| match &g.version {
            Some(v) => format!("{} {v}", g.name),
            None => g.name.clone(),
        })
        .collect();
    r.claim_generator = if infos.is_empty() {
        m.claim_generator().map(str::to_string)
    } else {
        Some(infos.join(", "))
    };
    if let Some(si) = m.signature_info() {
        r.signer = Some(SignerInfo {
            common_name: si.common_name.clone(),
            issuer: si.issuer.clone(),
            alg: si.alg.map(|a| a.to_string()),
            cert_serial_number: si.cert_serial_number.clone(),
        });
        r.signed_at = si.time.clone();
    }
    for a in m.assertions() {
        let Ok(value) = a.value() else { continue };
        if a.label().starts_with("c2pa.actions") {
            for act in value
                .get("actions")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let action = act
                    .get("action")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let dst = act
                    .get("digitalSourceType")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let agent = act.get("softwareAgent").and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => other
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map(str::to_string),
                });
                if action == "c2pa.created" && dst.as_deref().is_some_and(is_generative) {
                    r.ai_generated = true;
                }
                r.actions.push(ActionInfo {
                    action,
                    digital_source_type: dst,
                    software_agent: agent,
                });
            }
        }
        r.assertions.push((a.label().to_string(), value.clone()));
    }
    r.ingredients = m
        .ingredients()
        .iter()
        .map(|i| IngredientInfo {
            title: i.title().map(str::to_string),
            relationship: serde_json::to_value(i.relationship())
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", i.relationship())),
            has_manifest: i.active_manifest().is_some(),
        })
        .collect();
    r
}

fn is_generative(dst: &str) -> bool {
    dst == TRAINED_ALGORITHMIC_MEDIA
        || dst.ends_with("/compositeWithTrainedAlgorithmicMedia")
        || dst.ends_with("/algorithmicMedia")
        || dst.ends_with("/compositeSynthetic")
}
