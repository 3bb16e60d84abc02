//! The report: the same JSON from the CLI and the service. Field names are stable; see the
//! README's "The report" section.

use std::collections::BTreeMap;

use serde::Serialize;
use verity_provenance::ManifestReport;

/// The verdict labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictLabel {
    /// Valid credentials that declare the content AI-generated.
    AiGeneratedSigned,
    /// Valid credentials whose actions declare parts of the content made by a generative model
    /// (an edit that added AI content: IPTC `compositeWithTrainedAlgorithmicMedia`).
    ContainsAiSigned,
    /// Valid credentials for content of another origin (camera, edit, unknown).
    SignedOtherOrigin,
    /// A manifest is present but the content no longer matches its hash.
    Tampered,
    /// A manifest is present but fails validation for another reason (signature, structure).
    InvalidCredentials,
    /// No manifest in the file, but the spectral mark's payload found one in the repository,
    /// and that manifest's soft binding names the same payload.
    WatermarkedRecovered,
    /// The file points to a remote manifest, which was not fetched: nothing was validated.
    RemoteCredentials,
    /// An init segment of a fragmented MP4 given without its fragments: its manifest covers
    /// them too, so it cannot be checked alone.
    FragmentsNeeded,
    /// A spectral mark was found, but no manifest for it.
    WatermarkedNoManifest,
    /// No credentials and no marks, and the classifier's score passes its operating threshold
    /// (chosen for 1 % false positives on the validation split's non-AI clips).
    LikelySynthetic,
    /// No credentials and no other evidence.
    NoEvidence,
}

impl VerdictLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictLabel::AiGeneratedSigned => "ai-generated-signed",
            VerdictLabel::ContainsAiSigned => "contains-ai-signed",
            VerdictLabel::SignedOtherOrigin => "signed-other-origin",
            VerdictLabel::Tampered => "tampered",
            VerdictLabel::InvalidCredentials => "invalid-credentials",
            VerdictLabel::WatermarkedRecovered => "watermarked-recovered",
            VerdictLabel::WatermarkedNoManifest => "watermarked-no-manifest",
            VerdictLabel::RemoteCredentials => "remote-credentials",
            VerdictLabel::FragmentsNeeded => "fragments-needed",
            VerdictLabel::LikelySynthetic => "likely-synthetic",
            VerdictLabel::NoEvidence => "no-evidence",
        }
    }
}

/// The verdict and the evidence behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub label: VerdictLabel,
    /// How sure the verdict is, 0–1; `null` when there is nothing to be sure about.
    pub confidence: Option<f64>,
    /// One sentence for people.
    pub summary: String,
    /// The findings the verdict rests on, one sentence each.
    pub evidence: Vec<String>,
}

/// Facts about the file.
#[derive(Clone, Debug, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub container: String,
    pub duration_s: Option<f64>,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// The C2PA part of the report: the manifest as read, and how it was found.
#[derive(Clone, Debug, Serialize)]
pub struct C2paSection {
    #[serde(flatten)]
    pub manifest: ManifestReport,
    /// How the manifest was found when it was not embedded (e.g. via the watermark); `null`
    /// when it was read from the file itself or is absent.
    pub recovered_via: Option<String>,
    /// When the manifest was recovered although the file embeds a manifest store of its own:
    /// why that one could not be used (it is too damaged to read). `null` otherwise.
    pub embedded_failure: Option<verity_provenance::StatusCode>,
    /// Why the manifest repository could not be searched (it is damaged or unreadable), when
    /// it could not; `null` otherwise. The rest of the report stands without it.
    pub repository_error: Option<String>,
    /// True when the file is the init segment of a fragmented MP4 and was verified without its
    /// fragments: its manifest can be checked only together with them.
    pub init_segment_alone: bool,
}

impl C2paSection {
    /// A manifest read from the file itself.
    pub fn embedded(manifest: ManifestReport) -> Self {
        C2paSection {
            manifest,
            recovered_via: None,
            embedded_failure: None,
            repository_error: None,
            init_segment_alone: false,
        }
    }
}

/// Everything `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub file: FileInfo,
    pub verdict: Verdict,
    pub c2pa: C2paSection,
    /// The spectral watermark: `null` when that layer was not checked.
    pub watermark: Option<crate::marks::WatermarkSection>,
    /// The visible badge: `null` when that layer was not checked.
    pub visible_mark: Option<verity_provenance::marks::VisibleDetection>,
    /// The synthetic-video classifier: `null` when that layer was not checked.
    pub classifier: Option<crate::classifier::score::ClassifierSection>,
    /// Which layers this report looked at.
    pub layers_checked: Vec<String>,
    /// Time spent in each stage, in milliseconds.
    pub timings_ms: BTreeMap<String, f64>,
}
