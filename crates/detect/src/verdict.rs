//! From the evidence to one verdict.

use verity_provenance::C2paState;
use verity_provenance::manifest::is_hard_binding_failure;
use verity_provenance::marks::VisibleDetection;

use crate::marks::WatermarkSection;
use crate::report::{C2paSection, Verdict, VerdictLabel};

pub(crate) fn decide(
    section: &C2paSection,
    watermark: Option<&WatermarkSection>,
    visible: Option<&VisibleDetection>,
) -> Verdict {
    let mut v = if section.recovered_via.is_some() {
        recovered(section)
    } else {
        from_manifest(section, watermark)
    };
    if let Some(w) = watermark {
        v.evidence.push(match (w.found, w.signal) {
            (true, _) => format!(
                "spectral watermark found: payload {} (issuer {:05x}, asset {:010x}), read with the {} key from {} frames; chance of a false match at most {:.1e}",
                w.payload.as_deref().unwrap_or("?"),
                w.issuer.unwrap_or(0),
                w.asset_id.unwrap_or(0),
                w.key.as_deref().unwrap_or("?"),
                w.frames_used,
                w.false_positive_bound
            ),
            (false, "not-enough") => format!(
                "spectral watermark: not enough signal to tell ({})",
                w.reason.as_deref().unwrap_or("too little picture")
            ),
            (false, _) => "no spectral watermark from a known key".into(),
        });
    }
    if let Some(b) = visible {
        v.evidence.push(if b.found {
            format!(
                "the moving \"AI\" badge is visible (correlation {:.2} over {} frames)",
                b.confidence, b.frames_used
            )
        } else {
            "no visible AI badge".into()
        });
    }
    v
}

/// A manifest recovered through the watermark: it is the credentials of the original, and the
/// file is a copy of it that no longer matches its hash.
fn recovered(section: &C2paSection) -> Verdict {
    let c = &section.manifest;
    let signer = signer_name(section);
    let signature_ok = c
        .codes
        .failure
        .iter()
        .all(|f| is_hard_binding_failure(&f.code));
    if !signature_ok {
        let mut evidence: Vec<String> = c
            .codes
            .failure
            .iter()
            .filter(|f| !is_hard_binding_failure(&f.code))
            .map(|f| format!("{}: {}", f.code, f.explanation))
            .collect();
        evidence.insert(0, "a manifest was recovered via the watermark, but it fails validation beyond the expected hash mismatch".into());
        return Verdict {
            label: VerdictLabel::InvalidCredentials,
            confidence: Some(1.0),
            summary: "Credentials recovered via watermark, but they fail validation.".into(),
            evidence,
        };
    }
    let trusted = c
        .codes
        .success
        .iter()
        .any(|s| s.code == "signingCredential.trusted");
    let who = if trusted {
        format!("signed by {signer}, a trusted signer")
    } else {
        format!("signed by {signer}, who is not in your trust store")
    };
    let mut evidence = vec![format!(
        "the file carries no manifest; credentials recovered via watermark from the manifest repository, {who}; the recovered manifest's soft binding names this payload (C2PA 2.2 §18.10)"
    )];
    if c.hard_binding_failed {
        evidence.push("the file's bytes do not match the recovered manifest's hash: expected, since this is a re-encoded or stripped copy of the signed video, not the signed file itself".into());
    }
    let origin = if c.ai_generated {
        "AI-generated"
    } else {
        "not declared AI-generated"
    };
    Verdict {
        label: VerdictLabel::WatermarkedRecovered,
        confidence: Some(1.0),
        summary: format!("Credentials recovered via watermark: {origin}, {who}."),
        evidence,
    }
}

fn signer_name(section: &C2paSection) -> String {
    section
        .manifest
        .signer
        .as_ref()
        .and_then(|s| s.common_name.clone().or_else(|| s.issuer.clone()))
        .unwrap_or_else(|| "an unnamed signer".into())
}

fn from_manifest(section: &C2paSection, watermark: Option<&WatermarkSection>) -> Verdict {
    let c = &section.manifest;
    let signer = signer_name(section);
    let mut evidence = Vec::new();
    for f in &c.codes.failure {
        evidence.push(format!("{}: {}", f.code, f.explanation));
    }
    match c.state {
        C2paState::Trusted | C2paState::Valid => {
            let trust = if c.state == C2paState::Trusted {
                format!("signed by {signer}, a trusted signer")
            } else {
                format!("signed by {signer}, who is not in your trust store")
            };
            evidence.insert(
                0,
                format!("C2PA manifest {trust}; the content matches its hash"),
            );
            if c.ai_generated {
                evidence.push("the manifest's c2pa.created action declares trainedAlgorithmicMedia (made by a generative model)".into());
                Verdict {
                    label: VerdictLabel::AiGeneratedSigned,
                    confidence: Some(1.0),
                    summary: format!("AI-generated, {trust}."),
                    evidence,
                }
            } else {
                Verdict {
                    label: VerdictLabel::SignedOtherOrigin,
                    confidence: Some(1.0),
                    summary: format!(
                        "Content credentials {trust}; they do not declare it AI-generated."
                    ),
                    evidence,
                }
            }
        }
        C2paState::Invalid if c.hard_binding_failed => Verdict {
            label: VerdictLabel::Tampered,
            confidence: Some(1.0),
            summary: format!(
                "Tampered: a C2PA manifest signed by {signer} is present, but the video or audio changed after signing."
            ),
            evidence,
        },
        C2paState::Invalid => Verdict {
            label: VerdictLabel::InvalidCredentials,
            confidence: Some(1.0),
            summary: "A C2PA manifest is present but fails validation; it cannot be relied on."
                .into(),
            evidence,
        },
        C2paState::Absent if watermark.is_some_and(|w| w.found) => Verdict {
            label: VerdictLabel::WatermarkedNoManifest,
            confidence: Some(1.0),
            summary: "Watermarked by a verity issuer, but no manifest was found for it.".into(),
            evidence: vec!["the file carries no C2PA manifest, and the manifest repository has none for its watermark".into()],
        },
        C2paState::Absent => Verdict {
            label: VerdictLabel::NoEvidence,
            confidence: None,
            summary: "No content credentials found.".into(),
            evidence: match c
                .codes
                .informational
                .iter()
                .find(|i| i.code == "verity.container.unsupported")
            {
                Some(i) => vec![format!("no C2PA manifest: {}", i.explanation)],
                None => vec!["the file carries no C2PA manifest".into()],
            },
        },
    }
}
