//! The same recipe trained from other seeds: how much the figures move with the seed alone.
//!
//! `eval detector --seed-run DIR` scores the test split again with each classifier in DIR,
//! trained like the one evaluated but from another `--seed`, and reports its headline figures,
//! its confound gates and its attack drops beside the evaluated one's, with their spread: the
//! figures of a recipe rather than of one run, which a classifier picked among others for its
//! test figures cannot flatter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::eval::{Scored, against_non_ai, arm_rates, auc_of, real_vs_real, threshold_at_1pct};
use super::metrics::rate_above;
use super::score::Detector;
use crate::error::{DetectError, Result};

/// One training seed's classifier on the test split.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    pub model: String,
    /// The seed its export recorded (none for classifiers exported before seeds were kept).
    pub seed: Option<u64>,
    pub threshold: f64,
    pub auc: f64,
    /// F1 (verity's generator) against every non-AI test clip: TPR at 1 % FPR.
    pub generator_tpr_at_1pct: f64,
    /// Each synthetic family's clips against every non-AI clip: its AUC.
    pub families: BTreeMap<String, f64>,
    /// The non-AI arm flagged most often at this classifier's own threshold, and its rate.
    pub worst_fp_arm: String,
    pub worst_fp: f64,
    /// The real-versus-real gate's value (the larger of AUC and 1 − AUC), when the test split
    /// has two real scenes.
    pub real_vs_real: Option<f64>,
    /// AUC minus the trivial-content baseline's AUC (the gate's value).
    pub trivial_gap: f64,
    /// Each attack's AUC drop, in [`super::eval::ATTACKS`] order; empty without attacks.
    pub attack_drops: Vec<(String, f64)>,
}

/// The figures over seeds: the smallest, mean and largest of each.
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(v: impl Iterator<Item = f64>) -> Spread {
        let v: Vec<f64> = v.collect();
        Spread {
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// "mean [lowest, highest]" to three places, as the tables print it.
    pub fn cell(&self) -> String {
        format!("{:.3} [{:.3}, {:.3}]", self.mean, self.min, self.max)
    }
}

/// Loads each seed run's classifier and checks it can stand beside `main`: trained on the same
/// arms with the same recipe on the same dataset, from a seed of its own.
pub(super) fn load(main: &Detector, dirs: &[PathBuf]) -> Result<Vec<Detector>> {
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let (Some(main_seed), Some(main_recipe), Some(main_data)) = (
        main.config.seed,
        main.config.recipe.as_deref(),
        main.config.data.as_deref(),
    ) else {
        return Err(DetectError::InvalidOption {
            name: "seed run",
            value: main.name.clone(),
            allowed: "an evaluated classifier whose detector.json records its seed, recipe and dataset (exported by this version: `verity train detector --resume --out RUN` exports again)".into(),
        });
    };
    let mut seeds = BTreeSet::from([main_seed]);
    let mut out = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let det = Detector::load(dir)?;
        let bad = |allowed: String| DetectError::InvalidOption {
            name: "seed run",
            value: dir.display().to_string(),
            allowed,
        };
        if det.config.trained_without != main.config.trained_without {
            return Err(bad(format!(
                "a classifier trained on the same arms as the one evaluated; it was trained without {:?}, that one without {:?}",
                det.config.trained_without, main.config.trained_without
            )));
        }
        let (Some(seed), Some(recipe), Some(data)) = (
            det.config.seed,
            det.config.recipe.as_deref(),
            det.config.data.as_deref(),
        ) else {
            return Err(bad(
                "a classifier whose detector.json records its seed, recipe and dataset (export it again)"
                    .into(),
            ));
        };
        if recipe != main_recipe {
            return Err(bad(format!(
                "a classifier of the same recipe (network, training clips per arm, arms left out, overlays, resampling, steps); its recipe is {recipe}, the evaluated one's {main_recipe}"
            )));
        }
        if data != main_data {
            return Err(bad(format!(
                "a classifier trained on the same dataset (its clips and their encode); it was trained on {data}, the evaluated one on {main_data}"
            )));
        }
        if !seeds.insert(seed) {
            return Err(bad(format!(
                "a classifier from a seed of its own; seed {seed} is already in the comparison"
            )));
        }
        out.push(det);
    }
    Ok(out)
}

/// One classifier's figures on the test split, from its scores on the clips and on their
/// attacked copies (`attacked`, empty without attacks). Point values: the intervals over
/// scenes are the evaluated classifier's, in the tables above the seeds'.
pub(super) fn result(
    det: &Detector,
    scored: &[Scored<'_>],
    attacked: &[(&str, Vec<Scored<'_>>)],
    trivial_auc: f64,
) -> SeedResult {
    let threshold = det.config.operating_point.threshold;
    // Undefined figures (a set without both labels) are NaN, as in the tables above.
    let auc = auc_of(scored).unwrap_or(f64::NAN);
    let f1 = against_non_ai(scored, |e| e.arm == "generator");
    let generator_tpr_at_1pct = {
        let neg: Vec<f64> = f1
            .iter()
            .filter(|s| s.entry.label == 0)
            .map(|s| s.prob)
            .collect();
        let pos: Vec<f64> = f1
            .iter()
            .filter(|s| s.entry.label == 1)
            .map(|s| s.prob)
            .collect();
        if pos.is_empty() {
            f64::NAN
        } else {
            rate_above(&pos, threshold_at_1pct(&neg))
        }
    };
    let mut families = BTreeMap::new();
    let names: BTreeSet<&str> = scored
        .iter()
        .filter_map(|s| s.entry.family.as_deref())
        .collect();
    for fam in names {
        let these = against_non_ai(scored, |e| e.family.as_deref() == Some(fam));
        if let Some(a) = auc_of(&these) {
            families.insert(fam.to_string(), a);
        }
    }
    let (worst_fp_arm, worst_fp) = arm_rates(scored, threshold)
        .into_iter()
        .filter(|a| a.label == 0)
        .map(|a| (a.arm, a.flagged))
        .fold(
            (String::new(), -1.0),
            |best, a| {
                if a.1 > best.1 { a } else { best }
            },
        );
    SeedResult {
        model: det.name.clone(),
        seed: det.config.seed,
        threshold,
        auc,
        generator_tpr_at_1pct,
        families,
        worst_fp_arm,
        worst_fp: worst_fp.max(0.0),
        real_vs_real: real_vs_real(scored).map(|(_, v)| v),
        trivial_gap: auc - trivial_auc,
        attack_drops: attacked
            .iter()
            .map(|(name, a)| (name.to_string(), auc - auc_of(a).unwrap_or(f64::NAN)))
            .collect(),
    }
}
