//! From the evidence to one verdict.

use verity_provenance::C2paState;

use crate::report::{C2paSection, Verdict, VerdictLabel};

pub(crate) fn decide(section: &C2paSection) -> Verdict {
    let c = &section.manifest;
    let signer = c
        .signer
        .as_ref()
        .and_then(|s| s.common_name.clone().or_else(|| s.issuer.clone()))
        .unwrap_or_else(|| "an unnamed signer".into());
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
