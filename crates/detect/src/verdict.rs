//! From the evidence to one verdict.

use verity_provenance::manifest::{
    ActionInfo, AiContent, AiDeclaration, Code, is_hard_binding_failure, source_type,
};
use verity_provenance::marks::VisibleDetection;
use verity_provenance::{C2paState, ManifestReport};

use crate::classifier::score::{ClassifierSection, ClassifierStatus, MAX_FRAMES, Unscored};
use crate::marks::{SignalLevel, WatermarkSection};
use crate::report::{C2paSection, Verdict, VerdictLabel};

/// The verdict and its evidence from what each layer found: the manifest (embedded or
/// recovered), the spectral mark and the badge (`None` for a layer not checked).
pub fn decide(
    section: &C2paSection,
    watermark: Option<&WatermarkSection>,
    visible: Option<&VisibleDetection>,
    classifier: Option<&ClassifierSection>,
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
            (false, SignalLevel::NotEnough) => format!(
                "spectral watermark: not enough signal to tell ({})",
                w.reason.as_deref().unwrap_or("too little picture")
            ),
            (false, _) => "no spectral watermark from a known key".into(),
        });
    }
    if let Some(err) = &section.repository_error {
        v.evidence.push(format!(
            "the manifest repository could not be searched, so credentials were not looked up by the watermark: {err}"
        ));
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
    if let Some(c) = classifier {
        with_classifier(&mut v, c);
    }
    v
}

/// The classifier's part of the verdict: its finding in the evidence; `likely-synthetic` when
/// nothing else was found and the score passes the threshold; a conflict named, not hidden,
/// when credentials say the content is not AI-made and the score says it is.
fn with_classifier(v: &mut Verdict, c: &ClassifierSection) {
    let (Some(p), Some(above)) = (c.synthetic_probability, c.above_threshold) else {
        v.evidence.push(match c.status {
            ClassifierStatus::NotEnoughSignal => format!(
                "classifier: not enough signal to score ({})",
                c.reason.as_deref().unwrap_or("too little picture")
            ),
            _ => format!(
                "classifier unavailable, the verdict rests on the other layers: {}",
                c.reason.as_deref().unwrap_or("no reason given")
            ),
        });
        return;
    };
    let op = c.operating_point.as_ref();
    let threshold = op.map_or(String::new(), |o| format!(" against {}", o.describe()));
    v.evidence.push(format!(
        "classifier ({}): synthetic probability {:.2}{threshold}",
        c.model, p
    ));
    if let Some(gaps) = unscored(c) {
        v.evidence.push(gaps);
    }
    if !above {
        return;
    }
    match v.label {
        VerdictLabel::NoEvidence => {
            v.label = VerdictLabel::LikelySynthetic;
            v.confidence = Some(p);
            v.summary = format!(
                "No credentials or marks, but the classifier scores this video as likely synthetic (probability {p:.2}). A classifier can be wrong: see its measured error rates."
            );
        }
        VerdictLabel::SignedOtherOrigin => v.evidence.push(format!(
            "conflict: the credentials do not declare AI generation, but the classifier scores the video as likely synthetic (probability {p:.2})"
        )),
        _ => {}
    }
}

/// The stretches the classifier did not score, and why, when there are any.
fn unscored(c: &ClassifierSection) -> Option<String> {
    let mut parts = Vec::new();
    for why in [
        Unscored::FarFromKeyFrames,
        Unscored::NotReached,
        Unscored::PastFrameLimit,
    ] {
        let stretches: Vec<String> = c
            .unscored
            .iter()
            .filter(|s| s.why == why)
            .map(|s| format!("{:.1}–{:.1} s", s.start_s, s.end_s))
            .collect();
        if stretches.is_empty() {
            continue;
        }
        let reason = match why {
            Unscored::FarFromKeyFrames => "the file was read at its key frames and none is near; \
                 reading the whole file reaches them, at the cost of a full decode"
                .to_string(),
            Unscored::NotReached => "the frames read did not reach them: the file ended early \
                 (damage, or a container that overstates its duration)"
                .to_string(),
            Unscored::PastFrameLimit => {
                format!("past the first {MAX_FRAMES} frames, which is all the classifier reads")
            }
        };
        parts.push(format!("{} ({reason})", stretches.join(", ")));
    }
    (!parts.is_empty()).then(|| format!("classifier: no frame scored in {}", parts.join("; in ")))
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
        .any(|s| s.is(Code::SigningCredentialTrusted));
    let who = if trusted {
        format!("signed by {signer}, a trusted signer")
    } else {
        format!("signed by {signer}, who is not in your trust store")
    };
    let own = match &section.embedded_failure {
        Some(f) => format!(
            "the file's own manifest store cannot be used ({})",
            f.explanation
        ),
        None => "the file carries no manifest".into(),
    };
    let mut evidence = vec![format!(
        "{own}; credentials recovered via watermark from the manifest repository, {who}; the recovered manifest's soft binding names this payload (C2PA 2.2 §18.10)"
    )];
    if c.hard_binding_failed {
        evidence.push("the file's bytes do not match the recovered manifest's hash: expected, since this is a re-encoded or stripped copy of the signed video, not the signed file itself".into());
    }
    evidence.extend(source_type_evidence(&c.ai_declaration, &c.actions));
    evidence.extend(ingredient_evidence(c));
    let origin = c
        .ai_declaration
        .as_ref()
        .map_or("not declared AI-generated", |d| d.content.describe());
    Verdict {
        label: VerdictLabel::WatermarkedRecovered,
        confidence: Some(1.0),
        summary: format!("Credentials recovered via watermark: {origin}, {who}."),
        evidence,
    }
}

/// Each ingredient's failures, found now or recorded when it was signed in: a parent whose own
/// manifest failed must not vanish behind the file's verdict.
fn ingredient_evidence(m: &ManifestReport) -> Vec<String> {
    // An untrusted signer is a matter of whose trust store, not a broken manifest: said apart.
    let untrusted = |c: &&verity_provenance::StatusCode| c.is(Code::SigningCredentialUntrusted);
    let mut out = Vec::new();
    for i in &m.ingredients {
        let name = i.title.as_deref().unwrap_or("(untitled)");
        for f in i.failures.iter().filter(|f| !untrusted(f)) {
            out.push(format!(
                "ingredient \"{name}\" fails validation: {}: {}",
                f.code, f.explanation
            ));
        }
        if i.failures.iter().any(|f| untrusted(&f)) {
            out.push(format!(
                "ingredient \"{name}\" is signed by a certificate that is not in your trust store"
            ));
        }
        let recorded: Vec<&str> = i
            .recorded_failures
            .iter()
            .filter(|f| !untrusted(f))
            .map(|f| f.code.as_str())
            .collect();
        if !recorded.is_empty() {
            out.push(format!(
                "ingredient \"{name}\" already failed validation when it was signed in ({})",
                recorded.join(", ")
            ));
        } else if i.recorded_failures.iter().any(|f| untrusted(&f)) {
            out.push(format!(
                "ingredient \"{name}\" was signed by a certificate its signer's trust store did not hold, when it was signed in"
            ));
        }
    }
    out
}

/// What the manifest's actions declare as their digital source type, in words: the declaration
/// about AI when there is one, else each declared type (a camera capture, a non-AI algorithm…).
fn source_type_evidence(ai: &Option<AiDeclaration>, actions: &[ActionInfo]) -> Vec<String> {
    let line = |action: &str, dst: &str| {
        let term = source_type::iptc_term(dst).unwrap_or(dst);
        format!(
            "the manifest's {action} action declares the digital source type {term}: {}",
            source_type::meaning(dst)
        )
    };
    match ai {
        Some(d) => vec![line(&d.action, &d.digital_source_type)],
        None => actions
            .iter()
            .filter_map(|a| Some(line(&a.action, a.digital_source_type.as_deref()?)))
            .collect(),
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
    evidence.extend(ingredient_evidence(c));
    if let Some(store) = &c.sidecar {
        evidence.push(format!(
            "the manifest was read from the manifest store {store}, kept apart from the file, not from the file itself"
        ));
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
            evidence.extend(source_type_evidence(&c.ai_declaration, &c.actions));
            match c.ai_declaration.as_ref().map(|d| d.content) {
                Some(AiContent::Generated) => Verdict {
                    label: VerdictLabel::AiGeneratedSigned,
                    confidence: Some(1.0),
                    summary: format!("AI-generated, {trust}."),
                    evidence,
                },
                Some(AiContent::ContainsGenerated) => Verdict {
                    label: VerdictLabel::ContainsAiSigned,
                    confidence: Some(1.0),
                    summary: format!("Contains AI-generated parts, {trust}."),
                    evidence,
                },
                None => Verdict {
                    label: VerdictLabel::SignedOtherOrigin,
                    confidence: Some(1.0),
                    summary: format!(
                        "Content credentials {trust}; they do not declare it AI-generated."
                    ),
                    evidence,
                },
            }
        }
        C2paState::Invalid if c.hard_binding_failed && section.init_segment_alone => Verdict {
            label: VerdictLabel::FragmentsNeeded,
            confidence: None,
            summary: "This is the init segment of a fragmented MP4: its manifest's hash covers the fragments too, so it can be checked only together with them.".into(),
            evidence: {
                evidence.insert(0, "the file is an init segment (a movie box and no media): the manifest's content hash fails here because the fragments it covers were not given, not because anything changed".into());
                evidence
            },
        },
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
        C2paState::Remote => Verdict {
            label: VerdictLabel::RemoteCredentials,
            confidence: None,
            summary: format!(
                "The file's content credentials are kept at {}; they were not fetched, so nothing was checked.",
                c.remote_url.as_deref().unwrap_or("a URL")
            ),
            evidence: vec![format!(
                "the file points to a remote C2PA manifest at {}; verity validates offline and does not fetch it: fetch it yourself and check the file against it as a manifest store kept apart from the file",
                c.remote_url.as_deref().unwrap_or("an unnamed URL")
            )],
        },
        C2paState::Absent if watermark.is_some_and(|w| w.found) => Verdict {
            label: VerdictLabel::WatermarkedNoManifest,
            confidence: Some(1.0),
            summary: "Watermarked by a verity issuer, but no manifest was found for it.".into(),
            evidence: vec![if section.repository_error.is_some() {
                "the file carries no C2PA manifest, and the manifest repository could not be searched for its watermark".into()
            } else {
                "the file carries no C2PA manifest, and the manifest repository has none for its watermark".into()
            }],
        },
        C2paState::Absent => Verdict {
            label: VerdictLabel::NoEvidence,
            confidence: None,
            summary: "No content credentials found.".into(),
            evidence: match c
                .codes
                .informational
                .iter()
                .find(|i| i.is(Code::ContainerUnparsed) || i.is(Code::ContainerUnsupported))
            {
                Some(i) => vec![format!("no C2PA manifest: {}", i.explanation)],
                None => vec!["the file carries no C2PA manifest".into()],
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use verity_provenance::manifest::source_type::{IPTC_NAMESPACE, TERMS};
    use verity_provenance::manifest::{ActionInfo, ai_declaration};
    use verity_provenance::{C2paState, ManifestReport};

    use super::*;

    fn signed(actions: Vec<ActionInfo>, state: C2paState) -> C2paSection {
        let mut m = ManifestReport::absent();
        m.state = state;
        m.ai_declaration = ai_declaration(&actions);
        m.ai_generated = m
            .ai_declaration
            .as_ref()
            .is_some_and(|d| d.content == AiContent::Generated);
        m.actions = actions;
        C2paSection::embedded(m)
    }

    fn action(name: &str, term: &str) -> ActionInfo {
        ActionInfo {
            action: name.into(),
            digital_source_type: Some(format!("{IPTC_NAMESPACE}{term}")),
            software_agent: None,
        }
    }

    /// Each IPTC term on `c2pa.created` and on `c2pa.edited`: the label, the summary, and the
    /// evidence that names the term the file declares.
    #[test]
    fn every_iptc_source_type_gives_its_documented_verdict() {
        for (term, _) in TERMS {
            for act in ["c2pa.created", "c2pa.edited"] {
                let s = signed(vec![action(act, term)], C2paState::Trusted);
                let v = decide(&s, None, None, None);
                let (label, summary) = match (*term, act) {
                    ("trainedAlgorithmicMedia", "c2pa.created") => {
                        (VerdictLabel::AiGeneratedSigned, "AI-generated, signed by")
                    }
                    ("trainedAlgorithmicMedia", _)
                    | ("compositeWithTrainedAlgorithmicMedia", _) => (
                        VerdictLabel::ContainsAiSigned,
                        "Contains AI-generated parts, signed by",
                    ),
                    _ => (
                        VerdictLabel::SignedOtherOrigin,
                        "they do not declare it AI-generated",
                    ),
                };
                assert_eq!(v.label, label, "{term} on {act}");
                assert!(
                    v.summary.contains(summary),
                    "{term} on {act}: {}",
                    v.summary
                );
                let named = format!("{act} action declares the digital source type {term}:");
                assert!(
                    v.evidence.iter().any(|e| e.contains(&named)),
                    "{term} on {act}: {:?}",
                    v.evidence
                );
            }
        }
    }

    /// An edit that adds AI parts to a clip that was itself AI-generated is AI-generated; a
    /// non-AI algorithm (`algorithmicMedia`) is not AI, whatever the action.
    #[test]
    fn the_strongest_declaration_wins_and_algorithmic_media_is_not_ai() {
        let s = signed(
            vec![
                action("c2pa.created", "trainedAlgorithmicMedia"),
                action("c2pa.edited", "compositeWithTrainedAlgorithmicMedia"),
            ],
            C2paState::Valid,
        );
        assert_eq!(
            decide(&s, None, None, None).label,
            VerdictLabel::AiGeneratedSigned
        );
        let s = signed(
            vec![
                action("c2pa.edited", "compositeWithTrainedAlgorithmicMedia"),
                action("c2pa.created", "trainedAlgorithmicMedia"),
            ],
            C2paState::Valid,
        );
        assert_eq!(
            decide(&s, None, None, None).label,
            VerdictLabel::AiGeneratedSigned
        );
        let s = signed(
            vec![action("c2pa.created", "algorithmicMedia")],
            C2paState::Trusted,
        );
        let v = decide(&s, None, None, None);
        assert_eq!(v.label, VerdictLabel::SignedOtherOrigin);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("without training data (not AI)"))
        );
    }

    /// Recovered credentials say what they declare, in the same words.
    #[test]
    fn recovered_credentials_name_their_ai_declaration() {
        for (term, act, want) in [
            (
                "trainedAlgorithmicMedia",
                "c2pa.created",
                "recovered via watermark: AI-generated",
            ),
            (
                "compositeWithTrainedAlgorithmicMedia",
                "c2pa.edited",
                "recovered via watermark: contains AI-generated parts",
            ),
            (
                "digitalCapture",
                "c2pa.created",
                "recovered via watermark: not declared AI-generated",
            ),
        ] {
            let mut s = signed(vec![action(act, term)], C2paState::Trusted);
            s.recovered_via = Some("watermark".into());
            let v = decide(&s, None, None, None);
            assert_eq!(v.label, VerdictLabel::WatermarkedRecovered);
            assert!(v.summary.contains(want), "{term}: {}", v.summary);
        }
    }

    /// How the manifest part of a case stands.
    #[derive(Clone, Copy, Debug)]
    enum Manifest {
        Trusted,
        Valid,
        Tampered,
        TamperedInitSegmentAlone,
        BrokenSignature,
        Remote,
        Absent,
        Recovered,
        RecoveredBrokenSignature,
    }

    fn code(code: &str) -> verity_provenance::StatusCode {
        verity_provenance::StatusCode {
            code: code.into(),
            explanation: verity_provenance::manifest::explain(code).into(),
            url: None,
        }
    }

    fn section(m: Manifest) -> C2paSection {
        let created = vec![action("c2pa.created", "trainedAlgorithmicMedia")];
        let mut s = match m {
            Manifest::Trusted | Manifest::Recovered | Manifest::RecoveredBrokenSignature => {
                signed(created, C2paState::Trusted)
            }
            Manifest::Valid => signed(created, C2paState::Valid),
            Manifest::Tampered | Manifest::TamperedInitSegmentAlone | Manifest::BrokenSignature => {
                signed(created, C2paState::Invalid)
            }
            Manifest::Remote => {
                let mut r = ManifestReport::absent();
                r.state = C2paState::Remote;
                r.remote_url = Some("https://example.com/m.c2pa".into());
                C2paSection::embedded(r)
            }
            Manifest::Absent => C2paSection::embedded(ManifestReport::absent()),
        };
        let hash = code("assertion.bmffHash.mismatch");
        match m {
            Manifest::Tampered | Manifest::TamperedInitSegmentAlone | Manifest::Recovered => {
                s.manifest.codes.failure.push(hash);
                s.manifest.hard_binding_failed = true;
            }
            Manifest::BrokenSignature => s
                .manifest
                .codes
                .failure
                .push(code("claimSignature.mismatch")),
            Manifest::RecoveredBrokenSignature => {
                s.manifest.codes.failure.push(hash);
                s.manifest
                    .codes
                    .failure
                    .push(code("claimSignature.mismatch"));
                s.manifest.hard_binding_failed = true;
            }
            _ => {}
        }
        if matches!(m, Manifest::Recovered | Manifest::RecoveredBrokenSignature) {
            s.manifest.state = C2paState::Invalid;
            s.recovered_via = Some("watermark".into());
        }
        s.init_segment_alone = matches!(m, Manifest::TamperedInitSegmentAlone);
        s
    }

    /// The documented label (README, "verdict" table) of each case: written out, not derived.
    fn documented(m: Manifest, watermark_found: bool) -> VerdictLabel {
        match m {
            Manifest::Trusted | Manifest::Valid => VerdictLabel::AiGeneratedSigned,
            Manifest::Tampered => VerdictLabel::Tampered,
            Manifest::TamperedInitSegmentAlone => VerdictLabel::FragmentsNeeded,
            Manifest::BrokenSignature | Manifest::RecoveredBrokenSignature => {
                VerdictLabel::InvalidCredentials
            }
            Manifest::Remote => VerdictLabel::RemoteCredentials,
            Manifest::Recovered => VerdictLabel::WatermarkedRecovered,
            Manifest::Absent if watermark_found => VerdictLabel::WatermarkedNoManifest,
            Manifest::Absent => VerdictLabel::NoEvidence,
        }
    }

    /// Every combination of manifest state, recovery, watermark signal and badge gives the
    /// documented label; the watermark and badge lines appear in the evidence exactly when
    /// those layers were checked.
    #[test]
    fn every_combination_gives_its_documented_label() {
        use crate::marks::WatermarkSection;
        use verity_provenance::marks::{Detection, Signal};

        let watermarks: Vec<Option<(bool, Signal)>> = vec![
            None,
            Some((true, Signal::Enough)),
            Some((false, Signal::Enough)),
            Some((false, Signal::NotEnough("the picture is 32x32".into()))),
        ];
        let badges = [None, Some(true), Some(false)];
        let manifests = [
            Manifest::Trusted,
            Manifest::Valid,
            Manifest::Tampered,
            Manifest::TamperedInitSegmentAlone,
            Manifest::BrokenSignature,
            Manifest::Remote,
            Manifest::Absent,
            Manifest::Recovered,
            Manifest::RecoveredBrokenSignature,
        ];
        let mut cases = 0;
        for m in manifests {
            for w in &watermarks {
                for b in badges {
                    let wm = w.as_ref().map(|(found, signal)| {
                        WatermarkSection::from_detection(&Detection {
                            found: *found,
                            signal: signal.clone(),
                            payload: found.then(|| {
                                verity_provenance::marks::Payload::new(0xa5d20, 0x7c8e5a21ae)
                            }),
                            ..Detection::default()
                        })
                    });
                    let badge = b.map(|found| VisibleDetection {
                        found,
                        confidence: if found { 0.9 } else { 0.1 },
                        frames_used: 20,
                    });
                    let v = decide(&section(m), wm.as_ref(), badge.as_ref(), None);
                    let found = w.as_ref().is_some_and(|(f, _)| *f);
                    assert_eq!(
                        v.label,
                        documented(m, found),
                        "{m:?}, watermark {w:?}, badge {b:?}"
                    );
                    let mentions = |needle: &str| v.evidence.iter().any(|e| e.contains(needle));
                    assert_eq!(
                        mentions("spectral watermark"),
                        w.is_some(),
                        "{m:?} {w:?}: {:?}",
                        v.evidence
                    );
                    assert_eq!(
                        mentions("badge"),
                        b.is_some(),
                        "{m:?} {b:?}: {:?}",
                        v.evidence
                    );
                    if let Some((false, Signal::NotEnough(_))) = w {
                        assert!(mentions("not enough signal to tell"), "{:?}", v.evidence);
                    }
                    assert!(!v.summary.is_empty());
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 9 * 4 * 3);
    }

    fn classified(p: Option<f64>, status: ClassifierStatus) -> ClassifierSection {
        use crate::classifier::score::OperatingPoint;
        ClassifierSection {
            status,
            synthetic_probability: p,
            above_threshold: p.map(|p| p > 0.8),
            model: "verity-detector@test".into(),
            operating_point: Some(OperatingPoint {
                threshold: 0.8,
                target_fpr: 0.01,
                measured_fpr: 0.01,
                fpr_upper_95: 0.05,
                negatives: 200,
                split: "val".into(),
                unseen: Vec::new(),
            }),
            frames_scored: 4,
            segments: Vec::new(),
            read: None,
            unscored: Vec::new(),
            reason: (p.is_none()).then(|| "2 frames".to_string()),
        }
    }

    /// The classifier's place in the verdict, over every manifest case: it labels a file only
    /// when nothing else was found; a high score against credentials that do not declare AI is
    /// a conflict in the evidence; an unscored file or a missing model only adds evidence.
    #[test]
    fn the_classifier_decides_only_when_nothing_else_was_found() {
        let high = classified(Some(0.97), ClassifierStatus::Scored);
        let low = classified(Some(0.10), ClassifierStatus::Scored);
        let unscored = classified(None, ClassifierStatus::NotEnoughSignal);
        let missing = ClassifierSection::unavailable("verity-detector", "no weights".into());
        for m in [
            Manifest::Trusted,
            Manifest::Valid,
            Manifest::Tampered,
            Manifest::BrokenSignature,
            Manifest::Remote,
            Manifest::Absent,
            Manifest::Recovered,
        ] {
            let base = decide(&section(m), None, None, None);
            let with_high = decide(&section(m), None, None, Some(&high));
            match m {
                Manifest::Absent => {
                    assert_eq!(with_high.label, VerdictLabel::LikelySynthetic);
                    assert_eq!(with_high.confidence, Some(0.97));
                }
                _ => assert_eq!(with_high.label, base.label, "{m:?}"),
            }
            assert!(
                with_high
                    .evidence
                    .iter()
                    .any(|e| e.contains("synthetic probability 0.97") && e.contains("0.80")),
                "{m:?}: {:?}",
                with_high.evidence
            );
            for other in [&low, &unscored, &missing] {
                let v = decide(&section(m), None, None, Some(other));
                assert_eq!(v.label, base.label, "{m:?}");
                assert_eq!(v.evidence.len(), base.evidence.len() + 1, "{m:?}");
            }
        }
        // Signed as a camera capture, scored synthetic: the credentials stand, the conflict shows.
        let camera = signed(
            vec![action("c2pa.created", "digitalCapture")],
            C2paState::Trusted,
        );
        let v = decide(&camera, None, None, Some(&high));
        assert_eq!(v.label, VerdictLabel::SignedOtherOrigin);
        assert!(
            v.evidence.iter().any(|e| e.starts_with("conflict:")),
            "{:?}",
            v.evidence
        );
        // No manifest: an unscored file and a missing model only add their evidence.
        let mut wm = section(Manifest::Absent);
        wm.repository_error = None;
        let v = decide(
            &wm,
            None,
            None,
            Some(&classified(None, ClassifierStatus::NotEnoughSignal)),
        );
        assert!(v.evidence.iter().any(|e| e.contains("not enough signal")));
        let v = decide(&wm, None, None, Some(&missing));
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("classifier unavailable"))
        );
    }

    /// Stretches the classifier left out are named in the evidence with their reasons, and
    /// change nothing else.
    #[test]
    fn unscored_stretches_are_named() {
        use crate::classifier::score::Stretch;
        let mut c = classified(Some(0.10), ClassifierStatus::Scored);
        let base = decide(&section(Manifest::Absent), None, None, Some(&c));
        assert!(!base.evidence.iter().any(|e| e.contains("no frame scored")));
        let stretch = |start_s, end_s, why| Stretch {
            start_s,
            end_s,
            why,
        };
        c.unscored = vec![
            stretch(2.84, 4.28, Unscored::FarFromKeyFrames),
            stretch(6.9, 8.0, Unscored::FarFromKeyFrames),
            stretch(8.0, 10.0, Unscored::PastFrameLimit),
        ];
        let v = decide(&section(Manifest::Absent), None, None, Some(&c));
        assert_eq!(v.label, base.label);
        assert_eq!(v.evidence.len(), base.evidence.len() + 1);
        let line = v.evidence.last().unwrap();
        assert!(
            line.starts_with("classifier: no frame scored in 2.8–4.3 s, 6.9–8.0 s (the file was read at its key frames")
                && line.contains("; in 8.0–10.0 s (past the first 8000 frames"),
            "{line}"
        );
        c.unscored = vec![stretch(1.5, 4.0, Unscored::NotReached)];
        let v = decide(&section(Manifest::Absent), None, None, Some(&c));
        let line = v.evidence.last().unwrap();
        assert!(
            line.contains("1.5–4.0 s (the frames read did not reach them")
                && !line.contains("key frames"),
            "{line}"
        );
    }
}
