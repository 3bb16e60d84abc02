//! The leave-one-family-out classifiers of `eval detector --held-out`: each checked to have
//! left its family out and never trained on a test scene, scored on the test split, and
//! gathered per family at the mean over its seeds for the two gates.

use std::collections::BTreeMap;

use super::{EvalOptions, Gate, HeldOutResult, Scored, headline, score_entries};
use crate::classifier::data::Entry;
use crate::classifier::score::Detector;
use crate::classifier::seeds::Spread;
use crate::error::{DetectError, Result};

/// Loads each `--held-out` classifier and checks that its record says it left out every arm
/// of its family, so that a mislabelled folder cannot pass for a held-out figure.
pub(super) fn load_held_out(
    test: &[&Entry],
    opts: &EvalOptions,
) -> Result<Vec<(String, Detector)>> {
    let mut out: Vec<(String, Detector)> = Vec::new();
    for (family, dir) in &opts.held_out {
        let det = Detector::load(dir)?;
        // Seeds of one family are averaged: each must be another training run, which only a
        // recorded seed can show.
        if let Some((_, twin)) = out.iter().find(|(f, d)| {
            f == family
                && (d.config.seed.is_none()
                    || det.config.seed.is_none()
                    || d.config.seed == det.config.seed)
        }) {
            let seed = |d: &Detector| {
                d.config
                    .seed
                    .map_or("no seed".to_string(), |s| format!("seed {s}"))
            };
            return Err(DetectError::OtherDataset {
                path: dir.clone(),
                reason: format!(
                    "{family} is already held out by `{}` ({}), and this classifier records {}: a family takes one classifier per recorded training seed",
                    twin.name,
                    seed(twin),
                    seed(&det)
                ),
            });
        }
        let arms: std::collections::BTreeSet<&str> = test
            .iter()
            .filter(|e| e.family.as_deref() == Some(family.as_str()))
            .map(|e| e.arm.as_str())
            .collect();
        if arms.is_empty() {
            return Err(DetectError::InvalidOption {
                name: "held-out family",
                value: family.clone(),
                allowed: "a synthetic family with clips in the test split (F1, F2…)".into(),
            });
        }
        if let Some(seen) = arms
            .iter()
            .find(|a| !det.config.trained_without.iter().any(|t| t == *a))
        {
            return Err(DetectError::InvalidOption {
                name: "held-out classifier",
                value: dir.display().to_string(),
                allowed: format!(
                    "a classifier trained without every arm of {family}; it was trained on `{seen}` (train it with --exclude-arm {seen})"
                ),
            });
        }
        out.push((family.clone(), det));
    }
    Ok(out)
}

/// Scores each held-out family's test clips and every non-AI test clip with the classifier
/// trained without that family.
pub(super) fn score_held_out(
    scored: &[Scored<'_>],
    dets: &[(String, Detector)],
    opts: &EvalOptions,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<Vec<HeldOutResult>> {
    let mut out = Vec::new();
    for (family, det) in dets {
        let entries: Vec<&Entry> = scored
            .iter()
            .filter(|s| s.entry.label == 0 || s.entry.family.as_deref() == Some(family.as_str()))
            .map(|s| s.entry)
            .collect();
        let stage = format!("scoring with the classifier trained without {family}");
        let rescored = score_entries(det, &opts.data, &entries, &stage, progress)?;
        let threshold = det.config.operating_point.threshold;
        out.push(HeldOutResult {
            family: family.clone(),
            model: det.name.clone(),
            seed: det.config.seed,
            threshold,
            headline: headline(&rescored, threshold, opts.bootstrap, opts.seed),
        });
    }
    Ok(out)
}

/// Refuses a classifier trained on one of the test clips' real scenes (`--also-train`), or
/// whose threshold was chosen on one (`--also-validate`): its figures there would not be a test.
pub(super) fn never_trained_on(det: &Detector, test: &[&Entry]) -> Result<()> {
    let refuse = |e: &Entry, what: &str, flag: &str| {
        Err(DetectError::OtherDataset {
            path: det.source.clone(),
            reason: format!(
                "{} {what} the real scene `{}` of this test split ({flag}): score it on a \
                 split of other scenes",
                det.name, e.source
            ),
        })
    };
    for e in test.iter().filter(|e| e.source_file.is_some()) {
        if det.config.also_scenes.contains(&e.source) {
            return refuse(e, "was trained on", "--also-train");
        }
        if det.config.validated_scenes.contains(&e.source) {
            return refuse(e, "had its threshold chosen on", "--also-validate");
        }
    }
    Ok(())
}

/// Each held-out family's figures over its classifiers (one per seed): AUC and TPR at 1 % FPR.
#[derive(Clone, Debug)]
pub(super) struct FamilySpread {
    pub(super) n: usize,
    pub(super) auc: Spread,
    pub(super) tpr_at_1pct: Spread,
}

pub(super) fn held_out_by_family(held_out: &[HeldOutResult]) -> BTreeMap<&str, FamilySpread> {
    let mut rows: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for h in held_out {
        let r = rows.entry(h.family.as_str()).or_default();
        r.0.push(h.headline.auc.value);
        r.1.push(h.headline.tpr_at_1pct.value);
    }
    rows.into_iter()
        .map(|(f, (a, t))| {
            let spread = FamilySpread {
                n: a.len(),
                auc: Spread::of(a.iter().copied()),
                tpr_at_1pct: Spread::of(t.iter().copied()),
            };
            (f, spread)
        })
        .collect()
}

/// The leave-one-family-out gates (none without held-out classifiers): the mean over families
/// and the lowest family, each family counted once, at the mean over its seeds.
pub(super) fn held_out_gates(held_out: &[HeldOutResult]) -> Vec<Gate> {
    let by_family = held_out_by_family(held_out);
    if by_family.is_empty() {
        return Vec::new();
    }
    let aucs: Vec<f64> = by_family.values().map(|s| s.auc.mean).collect();
    let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
    let min = aucs.iter().copied().fold(f64::INFINITY, f64::min);
    let names: Vec<String> = by_family
        .iter()
        .map(|(f, s)| match s.n {
            1 => f.to_string(),
            n => format!("{f} ({n} seeds)"),
        })
        .collect();
    vec![
        Gate {
            name: format!("leave-one-family-out AUC, mean over {}", names.join(", ")),
            value: mean,
            target: "≥ 0.85".into(),
            passed: mean >= 0.85,
        },
        Gate {
            name: "leave-one-family-out AUC, lowest family (its mean over seeds)".into(),
            value: min,
            target: "≥ 0.75".into(),
            passed: min >= 0.75,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::eval::{Figure, Headline};

    fn held_out(family: &str, seed: u64, auc: f64) -> HeldOutResult {
        let fig = |value| Figure {
            value,
            lo: value,
            hi: value,
        };
        HeldOutResult {
            family: family.into(),
            model: format!("m{seed}"),
            seed: Some(seed),
            threshold: 0.5,
            headline: Headline {
                clips: 10,
                positives: 5,
                auc: fig(auc),
                average_precision: fig(auc),
                tpr_at_threshold: fig(0.5),
                fpr_at_threshold: 0.0,
                tpr_at_1pct: fig(auc / 2.0),
                fpr_reached: 0.0,
                accuracy_at_threshold: fig(0.5),
                brier: fig(0.1),
                ece: fig(0.1),
            },
        }
    }

    #[test]
    fn each_held_out_family_counts_once_at_its_mean_over_seeds() {
        // F1 from three seeds, one of them low; F2 from one.
        let rows = [
            held_out("F1", 0, 0.90),
            held_out("F2", 0, 0.70),
            held_out("F1", 1, 0.80),
            held_out("F1", 2, 0.70),
        ];
        let by = held_out_by_family(&rows);
        assert_eq!(by["F1"].n, 3);
        assert!((by["F1"].auc.mean - 0.80).abs() < 1e-12);
        assert_eq!((by["F1"].auc.min, by["F1"].auc.max), (0.70, 0.90));
        assert!((by["F1"].tpr_at_1pct.mean - 0.40).abs() < 1e-12);
        let gates = held_out_gates(&rows);
        assert_eq!(gates.len(), 2);
        // (0.80 + 0.70) / 2, not the mean of the four rows (0.775).
        assert!((gates[0].value - 0.75).abs() < 1e-12, "{gates:?}");
        assert!(
            gates[0].name.contains("F1 (3 seeds), F2"),
            "{}",
            gates[0].name
        );
        assert!(!gates[0].passed);
        assert_eq!(gates[1].value, 0.70);
        assert!(!gates[1].passed);
        assert!(held_out_gates(&[]).is_empty());
    }
}
