//! Reading and validating the manifest of a file, offline, against a trust store.

use std::path::Path;

use c2pa::{Reader, ValidationState};
use serde::Serialize;
use verity_signing::TrustStore;

use super::codes::{Code, explain, is_hard_binding_failure};
use super::context::context;
use super::source_type::{AiContent, ai_content};
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
    /// The file points to a manifest kept at a URL (a remote manifest). verity validates
    /// offline, so it was not fetched and nothing was validated: not a failure, and not proof.
    Remote,
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

impl StatusCode {
    /// Whether this is `code`.
    pub fn is(&self, code: Code) -> bool {
        self.code == code.as_str()
    }

    /// One of verity's own codes, its explanation followed by `detail` when there is one.
    pub(crate) fn verity(code: Code, detail: Option<&dyn std::fmt::Display>) -> Self {
        let explanation = explain(code.as_str());
        StatusCode {
            code: code.as_str().to_string(),
            explanation: match detail {
                Some(d) => format!("{explanation} ({d})"),
                None => explanation.to_string(),
            },
            url: None,
        }
    }
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
    /// The failures found now when the ingredient's own manifest was validated as part of this
    /// file (`ingredient.manifest.mismatch`, `claimSignature.mismatch`…); empty when it
    /// validates or has no manifest.
    pub failures: Vec<StatusCode>,
    /// The failures the signer recorded for the ingredient when it was added: a source whose
    /// own manifest already failed then, carried forward into this manifest.
    pub recorded_failures: Vec<StatusCode>,
}

/// The action that declares AI content, and what it declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AiDeclaration {
    /// `ai-generated` or `contains-ai-generated-parts`.
    pub content: AiContent,
    /// The action that declares it, e.g. `c2pa.created` or `c2pa.edited`.
    pub action: String,
    /// The IPTC digital source type it declares, as the file writes it.
    pub digital_source_type: String,
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
    /// Where the manifest is kept, when the file points to a remote one (state `remote`).
    pub remote_url: Option<String>,
    /// The manifest store file the manifest was read from when it is not embedded in the file:
    /// a sidecar beside it (`clip.c2pa` for `clip.mp4`, found on its own) or a store given
    /// with the file (a remote manifest fetched by the user). `null` when embedded or absent.
    pub sidecar: Option<String>,
    pub title: Option<String>,
    pub claim_generator: Option<String>,
    pub signer: Option<SignerInfo>,
    /// The signing time, when a time-stamp attests it.
    pub signed_at: Option<String>,
    /// True when a `c2pa.created` action declares the content made by a generative model
    /// (IPTC `trainedAlgorithmicMedia`).
    pub ai_generated: bool,
    /// What the actions declare about AI, exactly as the IPTC vocabulary defines it: the whole
    /// content made by a generative model, or parts of it; `null` when no action declares
    /// either (`algorithmicMedia`, a non-AI algorithm, is not AI).
    pub ai_declaration: Option<AiDeclaration>,
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
    /// The report of a file with no manifest: the starting point of every other report.
    pub fn absent() -> Self {
        ManifestReport {
            state: C2paState::Absent,
            manifest_label: None,
            remote_url: None,
            sidecar: None,
            title: None,
            claim_generator: None,
            signer: None,
            signed_at: None,
            ai_generated: false,
            ai_declaration: None,
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
    let read = Reader::from_context(ctx).with_file(path);
    // c2pa reads `clip.c2pa` beside `clip.mp4` by itself when the file embeds no manifest; a
    // manifest that did not come from the file's own bytes is said to.
    let from_sidecar = matches!(&read, Ok(r) if !r.is_embedded() && r.remote_url().is_none());
    let mut report = finding(read, path)?;
    if from_sidecar {
        report.sidecar = Some(path.with_extension("c2pa").display().to_string());
    }
    Ok(report)
}

/// The largest manifest store file read beside a video (a C2PA manifest store is kilobytes
/// to a few megabytes with thumbnails).
pub const MAX_SIDECAR_BYTES: u64 = 64 << 20;

/// Validates the file at `path` against the manifest store in the file `store` (a `.c2pa`
/// sidecar, or a remote manifest that the user fetched): the same checks as for an embedded
/// manifest, and the report names `store` as where the manifest came from.
pub fn read_manifest_sidecar(
    path: &Path,
    store: &Path,
    trust: &TrustStore,
) -> Result<ManifestReport> {
    let bytes = verity_fs::read_bounded(store, MAX_SIDECAR_BYTES, "manifest store")
        .map_err(|e| ProvenanceError::io(store, e))?;
    let mut report = read_manifest_with_data(&bytes, path, trust)?;
    report.sidecar = Some(store.display().to_string());
    Ok(report)
}

/// Reads and validates the manifest of a fragmented MP4 kept in pieces: the init segment at
/// `init`, whose manifest's hash covers each of `fragments` (in order) too.
pub fn read_manifest_fragmented(
    init: &Path,
    fragments: &[std::path::PathBuf],
    trust: &TrustStore,
) -> Result<ManifestReport> {
    std::fs::metadata(init).map_err(|e| ProvenanceError::io(init, e))?;
    for f in fragments {
        std::fs::metadata(f).map_err(|e| ProvenanceError::io(f, e))?;
    }
    let ctx = context(trust)?;
    finding(
        Reader::from_context(ctx).with_fragmented_files(init, &fragments.to_vec()),
        init,
    )
}

/// What c2pa's answer for the file at `path` means: the report of a manifest it read, or the
/// finding its refusal stands for. Only I/O problems are errors.
fn finding(read: c2pa::Result<Reader>, path: &Path) -> Result<ManifestReport> {
    let err = match read {
        Ok(reader) => return Ok(report_from(&reader)),
        Err(e) => e,
    };
    match err {
        c2pa::Error::IoError(e) => Err(ProvenanceError::io(path, e)),
        c2pa::Error::RemoteManifestUrl(url) => {
            let mut r = ManifestReport::absent();
            r.state = C2paState::Remote;
            r.codes
                .informational
                .push(StatusCode::verity(Code::ManifestRemote, Some(&url)));
            r.remote_url = Some(url);
            Ok(r)
        }
        c2pa::Error::UnsupportedType => {
            // A container C2PA cannot embed a manifest in (MKV, WebM, AVI…): no credentials.
            let mut r = ManifestReport::absent();
            r.codes
                .informational
                .push(StatusCode::verity(Code::ContainerUnsupported, None));
            Ok(r)
        }
        // c2pa found no manifest, or could not parse the file. Three different findings: a
        // manifest store is there but too damaged to read (the credentials cannot be relied
        // on); there is none (the common case); or the container is one c2pa cannot walk (a
        // trailing box cut short, say) and there is no manifest in it either.
        e => {
            let present =
                contains_manifest_store(path).map_err(|io| ProvenanceError::io(path, io))?;
            Ok(match e {
                // c2pa found what the container calls a manifest store (an SVG's or XMP's
                // encoded store, say) and could not parse it: a store is there, damaged.
                _ if present || matches!(e, c2pa::Error::JumbfParseError(_)) => {
                    ManifestReport::unreadable(&e)
                }
                c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing => {
                    ManifestReport::absent()
                }
                _ => ManifestReport::unparsed_container(&e),
            })
        }
    }
}

/// The type UUID of a C2PA manifest store's JUMBF description box ("c2pa" and the ISO suffix,
/// C2PA 2.2 §11.1.3), which every embedding of a manifest store carries, whatever the
/// container.
const MANIFEST_STORE_UUID: [u8; 16] = [
    0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// Whether the file holds a C2PA manifest store anywhere in its bytes, for files in which c2pa
/// found none or which it could not parse: read in fixed-size chunks (bounded memory).
pub fn contains_manifest_store(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let pat = &MANIFEST_STORE_UUID;
    let finder = memchr::memmem::Finder::new(pat);
    let mut buf = vec![0u8; 1 << 20];
    // The last len-1 bytes of each chunk are kept, so a match across chunks is found.
    let mut kept = 0usize;
    loop {
        let n = f.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let end = kept + n;
        if finder.find(&buf[..end]).is_some() {
            return Ok(true);
        }
        let keep = (pat.len() - 1).min(end);
        buf.copy_within(end - keep..end, 0);
        kept = keep;
    }
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
        r.codes
            .failure
            .push(StatusCode::verity(Code::ManifestUnreadable, Some(e)));
        r
    }

    /// No manifest store is in the file, but c2pa could not parse its container: c2pa's reason
    /// is kept as an informational code. Not a failure: the file simply has no credentials
    /// that could be read, and the marks and the repository still speak for it.
    fn unparsed_container(e: &c2pa::Error) -> Self {
        let mut r = ManifestReport::absent();
        r.codes
            .informational
            .push(StatusCode::verity(Code::ContainerUnparsed, Some(e)));
        r
    }

    /// True when a manifest store is in the file but is too damaged to be read at all (no
    /// claim, no signer): nothing in it can be relied on, and it says nothing of the content.
    pub fn is_unreadable(&self) -> bool {
        self.codes
            .failure
            .iter()
            .any(|c| c.is(Code::ManifestUnreadable))
    }

    /// The (algorithm, value) pairs of the active manifest's `c2pa.soft-binding` assertions.
    pub fn soft_bindings(&self) -> Vec<(String, String)> {
        self.assertions
            .iter()
            .filter(|(label, _)| label.starts_with(super::soft_binding::LABEL))
            .filter_map(|(_, v)| super::soft_binding::SoftBinding::from_json(v))
            .flat_map(|b| {
                b.pairs()
                    .map(|(a, v)| (a.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
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
                r.actions.push(ActionInfo {
                    action,
                    digital_source_type: dst,
                    software_agent: agent,
                });
            }
        }
        r.assertions.push((a.label().to_string(), value.clone()));
    }
    r.ai_declaration = ai_declaration(&r.actions);
    r.ai_generated = r
        .ai_declaration
        .as_ref()
        .is_some_and(|d| d.content == AiContent::Generated);
    // Each ingredient's validation now: c2pa keeps it apart from the active manifest's codes,
    // keyed by the ingredient assertion's URI.
    let deltas = reader
        .validation_results()
        .and_then(|v| v.ingredient_deltas())
        .map(Vec::as_slice)
        .unwrap_or_default();
    r.ingredients = m
        .ingredients()
        .iter()
        .map(|i| {
            let failures = i
                .label()
                .and_then(|label| {
                    deltas.iter().find(|d| {
                        d.ingredient_assertion_uri()
                            .rsplit('/')
                            .next()
                            .is_some_and(|last| last == label)
                    })
                })
                .map(|d| d.validation_deltas().failure().iter().map(status).collect())
                .unwrap_or_default();
            let recorded_failures = match i.validation_results() {
                Some(v) => v
                    .active_manifest()
                    .map(|a| a.failure().iter().map(status).collect())
                    .unwrap_or_default(),
                None => i
                    .validation_status()
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| !s.passed())
                    .map(status)
                    .collect(),
            };
            IngredientInfo {
                title: i.title().map(str::to_string),
                relationship: serde_json::to_value(i.relationship())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{:?}", i.relationship())),
                has_manifest: i.active_manifest().is_some(),
                failures,
                recorded_failures,
            }
        })
        .collect();
    r
}

/// What a manifest's actions declare about AI: the strongest declaration (the whole content
/// AI-generated over parts of it), from the first action that makes it.
pub fn ai_declaration(actions: &[ActionInfo]) -> Option<AiDeclaration> {
    let mut found: Option<AiDeclaration> = None;
    for a in actions {
        let Some(dst) = a.digital_source_type.as_deref() else {
            continue;
        };
        let Some(content) = ai_content(&a.action, dst) else {
            continue;
        };
        let stronger = found.as_ref().is_none_or(|d| {
            d.content == AiContent::ContainsGenerated && content == AiContent::Generated
        });
        if stronger {
            found = Some(AiDeclaration {
                content,
                action: a.action.clone(),
                digital_source_type: dst.to_string(),
            });
        }
    }
    found
}

/// The active manifest's label (`urn:c2pa:…`) in a manifest store given as its bytes (JUMBF),
/// read without an asset: what the Resolution API calls a manifest id. `None` when the bytes
/// are not a manifest store c2pa can read.
pub fn store_label(store: &[u8]) -> Option<String> {
    let ctx = context(&TrustStore::default()).ok()?;
    let reader =
        Reader::from_context(ctx).with_stream("application/c2pa", std::io::Cursor::new(store));
    reader.ok()?.active_label().map(str::to_string)
}
