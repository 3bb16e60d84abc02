//! `eval detector`: the classifier measured on the test split, with intervals, against its
//! baselines and confound gates, and after the attacks a platform makes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Rng;
use super::baseline::{self, Logistic};
use super::data::{ClipFrames, Entry, Index, Split, load_clips};
use super::metrics::{
    auc, average_precision, brier, ece, flagged_share, rate_above, threshold_at_fpr,
};
use super::scenes::{self, SceneRate};
use super::score::{Detector, Reading, UnseenSplit};
use super::seeds::{self, SeedResult};
use super::train::TRIPLES_PER_CLIP;
use crate::error::{DetectError, Result};

mod attacks;
mod held_out;
mod table;

pub use attacks::ATTACKS;
use attacks::score_attacked;
use held_out::{held_out_gates, load_held_out, never_trained_on, score_held_out};

/// A figure with its 95 % bootstrap interval over source scenes.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Figure {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The headline figures over one set of clips.
#[derive(Clone, Debug, Serialize)]
pub struct Headline {
    pub clips: usize,
    pub positives: usize,
    pub auc: Figure,
    pub average_precision: Figure,
    /// TPR at the shipped operating threshold (chosen on validation).
    pub tpr_at_threshold: Figure,
    /// The false-positive rate at that threshold on these clips' negatives.
    pub fpr_at_threshold: f64,
    /// TPR at 1 % FPR on these clips' own negatives (or at 1/N when there are fewer than
    /// 100 negatives), and the FPR actually reached.
    pub tpr_at_1pct: Figure,
    pub fpr_reached: f64,
    pub accuracy_at_threshold: Figure,
    pub brier: Figure,
    pub ece: Figure,
}

/// One arm's rate at the operating threshold.
#[derive(Clone, Debug, Serialize)]
pub struct ArmRate {
    pub arm: String,
    pub label: u8,
    pub clips: usize,
    /// Flagged share (a false-positive rate for a non-AI arm, a TPR for a synthetic one).
    pub flagged: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A confound gate and whether the model passed it.
#[derive(Clone, Debug, Serialize)]
pub struct Gate {
    pub name: String,
    pub value: f64,
    pub target: String,
    pub passed: bool,
}

/// An attack's effect.
#[derive(Clone, Debug, Serialize)]
pub struct Robustness {
    pub attack: String,
    pub auc: f64,
    pub drop: f64,
    pub passed: bool,
    /// Each synthetic family's clips against every non-AI clip, after the attack: its AUC and
    /// the drop from the same family before it.
    pub families: BTreeMap<String, (f64, f64)>,
}

/// Everything `eval detector` measured.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub threshold: f64,
    pub test: Headline,
    /// F1 (verity's generator) against every non-AI test clip.
    pub generator_f1: Headline,
    /// Each synthetic family (F1, F2, F4…) against every non-AI test clip.
    pub families: BTreeMap<String, Headline>,
    pub arms: Vec<ArmRate>,
    pub baselines: BTreeMap<String, f64>,
    pub gates: Vec<Gate>,
    pub robustness: Vec<Robustness>,
    /// Leave one family out: each classifier trained without a family, on that family against
    /// every non-AI test clip.
    pub held_out: Vec<HeldOutResult>,
    /// The same recipe from other seeds (`--seed-run`): the evaluated classifier first, then
    /// each seed run; empty without seed runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<SeedResult>,
    /// Leave one real source out: each real scene of the test split (none seen in training).
    pub real_scenes: Vec<SceneRate>,
    pub counts: BTreeMap<String, usize>,
    /// The fresh test split scored instead of the dataset's own, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_test: Option<PathBuf>,
}

impl EvalReport {
    /// What the threshold flagged among the non-AI clips cut from the real scenes of the fresh
    /// test split scored (its renders, made from prompts, left out), named by `split` (its
    /// index fingerprint), for [`Detector::record_unseen`]; `None` when the dataset's own test
    /// split was scored, whose scenes the recipe was chosen on, or when no such clip was.
    pub fn unseen(&self, split: String) -> Option<UnseenSplit> {
        self.fresh_test.as_ref()?;
        let negatives = self.real_scenes.iter().map(|r| r.clips).sum();
        (negatives > 0).then(|| UnseenSplit {
            split,
            scenes: self.real_scenes.iter().map(|r| r.scene.clone()).collect(),
            negatives,
            flagged: self.real_scenes.iter().map(|r| r.flagged_clips).sum(),
        })
    }
}

/// One leave-one-family-out figure.
#[derive(Clone, Debug, Serialize)]
pub struct HeldOutResult {
    pub family: String,
    /// The classifier that never saw the family.
    pub model: String,
    /// Its training seed (a family may be held out by several seeds of one recipe).
    pub seed: Option<u64>,
    /// At that classifier's own operating threshold.
    pub threshold: f64,
    pub headline: Headline,
}

/// How to evaluate.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    pub data: PathBuf,
    pub bootstrap: usize,
    pub seed: u64,
    /// Re-encode the test clips (H.264 CRF 28, a 0.5× resize, VP9) with the `ffmpeg` CLI into
    /// this folder and score them again; `None` skips it. The attacked clips are kept under a
    /// sub-folder named after the dataset's [`Index::fingerprint`], so that a rebuilt dataset
    /// is attacked afresh rather than scored on an old one's clips.
    pub attacks_dir: Option<PathBuf>,
    /// Leave one family out: (family, folder of a classifier exported from a run trained with
    /// that family's arms excluded); a family may be named once per training seed.
    pub held_out: Vec<(String, PathBuf)>,
    /// Classifiers trained with the same recipe from other seeds.
    pub seed_runs: Vec<PathBuf>,
    /// A fresh test split (built beside `data` with `verity train detector --fresh-test`),
    /// scored instead of `data`'s own test split; `data`'s training split still fits the
    /// baselines.
    pub test_data: Option<PathBuf>,
}

/// A test clip and the probability a classifier gave it.
pub(super) struct Scored<'a> {
    pub(super) entry: &'a Entry,
    pub(super) prob: f64,
}

/// Scores each of `entries` with `det`, as verify scores a file.
pub(super) fn score_entries<'a>(
    det: &Detector,
    data: &Path,
    entries: &[&'a Entry],
    stage: &str,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<Vec<Scored<'a>>> {
    let mut out = Vec::with_capacity(entries.len());
    for (k, e) in entries.iter().enumerate() {
        let prob = probability(det, &data.join(&e.file))?;
        out.push(Scored { entry: e, prob });
        progress(stage, k + 1, entries.len());
    }
    Ok(out)
}

/// `det`'s probability for a file of the dataset (or an attacked copy of one), as verify
/// scores a file; a clip it cannot score is an error in the dataset, not a score.
fn probability(det: &Detector, path: &Path) -> Result<f64> {
    let sec = det.score_file(path, Reading::Auto)?;
    sec.synthetic_probability
        .ok_or_else(|| DetectError::BadIndex {
            path: path.to_path_buf(),
            reason: format!("not scored: {}", sec.reason.unwrap_or_default()),
        })
}

/// The clips of `scored` that `keep` picks, and every non-AI clip beside them: one set of
/// synthetic clips against all the negatives.
pub(super) fn against_non_ai<'a>(
    scored: &[Scored<'a>],
    keep: impl Fn(&Entry) -> bool,
) -> Vec<Scored<'a>> {
    scored
        .iter()
        .filter(|s| s.entry.label == 0 || keep(s.entry))
        .map(|s| Scored {
            entry: s.entry,
            prob: s.prob,
        })
        .collect()
}

/// Real versus real: the classifier's scores on the two real scenes of `scored` with the most
/// clips, one taken as "positive"; the scenes' names and the larger of AUC and 1 − AUC.
pub(super) fn real_vs_real(scored: &[Scored<'_>]) -> Option<(String, f64)> {
    let mut real_groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in scored.iter().filter(|s| s.entry.arm.starts_with("real-")) {
        real_groups
            .entry(s.entry.source.as_str())
            .or_default()
            .push(s.prob);
    }
    let mut groups: Vec<(&str, Vec<f64>)> = real_groups.into_iter().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    match groups.as_slice() {
        [a, b, ..] => {
            let mut p = a.1.clone();
            p.extend(&b.1);
            let l: Vec<u8> = std::iter::repeat_n(1, a.1.len())
                .chain(std::iter::repeat_n(0, b.1.len()))
                .collect();
            let v = auc(&p, &l).unwrap_or(0.5);
            Some((format!("{} vs {}", a.0, b.0), v.max(1.0 - v)))
        }
        _ => None,
    }
}

/// The AUC of `scored`'s probabilities against its labels.
pub(super) fn auc_of(scored: &[Scored<'_>]) -> Option<f64> {
    let (p, l): (Vec<f64>, Vec<u8>) = scored.iter().map(|s| (s.prob, s.entry.label)).unzip();
    auc(&p, &l)
}

/// Each arm's flagged share at `threshold`, with its exact interval.
pub(super) fn arm_rates(scored: &[Scored<'_>], threshold: f64) -> Vec<ArmRate> {
    let mut by_arm: BTreeMap<&str, (u8, Vec<f64>)> = BTreeMap::new();
    for s in scored {
        by_arm
            .entry(s.entry.arm.as_str())
            .or_insert_with(|| (s.entry.label, Vec::new()))
            .1
            .push(s.prob);
    }
    by_arm
        .iter()
        .map(|(arm, (label, p))| {
            let (flagged, lo, hi) = flagged_share(p, threshold);
            ArmRate {
                arm: arm.to_string(),
                label: *label,
                clips: p.len(),
                flagged,
                lo,
                hi,
            }
        })
        .collect()
}

fn bootstrap(
    items: &[Scored<'_>],
    reps: usize,
    seed: u64,
    f: impl Fn(&[f64], &[u8]) -> Option<f64>,
) -> Figure {
    let probs: Vec<f64> = items.iter().map(|s| s.prob).collect();
    let labels: Vec<u8> = items.iter().map(|s| s.entry.label).collect();
    let value = f(&probs, &labels).unwrap_or(f64::NAN);
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, s) in items.iter().enumerate() {
        groups.entry(s.entry.source.as_str()).or_default().push(k);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let mut rng = Rng::new(seed);
    let mut vals = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (mut p, mut l) = (Vec::new(), Vec::new());
        for _ in 0..groups.len() {
            for &k in &groups[rng.below(groups.len())] {
                p.push(probs[k]);
                l.push(labels[k]);
            }
        }
        if let Some(v) = f(&p, &l).filter(|v| v.is_finite()) {
            vals.push(v);
        }
    }
    vals.sort_by(f64::total_cmp);
    let q = |x: f64| {
        vals.get(((vals.len() as f64 - 1.0) * x).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Figure {
        value,
        lo: q(0.025),
        hi: q(0.975),
    }
}

/// The threshold for 1 % FPR on `negatives`, or for 1/N when there are fewer than 100 of them.
pub(super) fn threshold_at_1pct(negatives: &[f64]) -> f64 {
    let target = if negatives.len() >= 100 {
        0.01
    } else {
        1.0 / negatives.len().max(1) as f64
    };
    threshold_at_fpr(negatives, target)
}

pub(super) fn headline(items: &[Scored<'_>], threshold: f64, reps: usize, seed: u64) -> Headline {
    let neg: Vec<f64> = items
        .iter()
        .filter(|s| s.entry.label == 0)
        .map(|s| s.prob)
        .collect();
    let own = threshold_at_1pct(&neg);
    let tpr_at = move |t: f64| {
        move |p: &[f64], l: &[u8]| {
            let pos: Vec<f64> = p
                .iter()
                .zip(l)
                .filter(|(_, l)| **l == 1)
                .map(|(p, _)| *p)
                .collect();
            (!pos.is_empty()).then(|| rate_above(&pos, t))
        }
    };
    Headline {
        clips: items.len(),
        positives: items.iter().filter(|s| s.entry.label == 1).count(),
        auc: bootstrap(items, reps, seed, auc),
        average_precision: bootstrap(items, reps, seed, average_precision),
        tpr_at_threshold: bootstrap(items, reps, seed, tpr_at(threshold)),
        fpr_at_threshold: rate_above(&neg, threshold),
        tpr_at_1pct: bootstrap(items, reps, seed, tpr_at(own)),
        fpr_reached: rate_above(&neg, own),
        accuracy_at_threshold: bootstrap(items, reps, seed, |p, l| {
            Some(
                p.iter()
                    .zip(l)
                    .filter(|(p, l)| (**p > threshold) == (**l == 1))
                    .count() as f64
                    / p.len().max(1) as f64,
            )
        }),
        brier: bootstrap(items, reps, seed, |p, l| Some(brier(p, l))),
        ece: bootstrap(items, reps, seed, |p, l| Some(ece(p, l, 10))),
    }
}

fn logistic_auc(train: &[(Vec<f64>, u8)], test: &[(Vec<f64>, u8)]) -> f64 {
    let x: Vec<Vec<f64>> = train.iter().map(|r| r.0.clone()).collect();
    let y: Vec<u8> = train.iter().map(|r| r.1).collect();
    let m = Logistic::fit(&x, &y);
    let s: Vec<f64> = test.iter().map(|r| m.score(&r.0)).collect();
    let l: Vec<u8> = test.iter().map(|r| r.1).collect();
    auc(&s, &l).unwrap_or(0.5)
}

fn probe_features(path: &Path, clip: &ClipFrames) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let info = verity_media::probe(path)?;
    let meta = baseline::metadata(&info, verity_media::count_key_frames(path)?);
    let log_bitrate = meta[4];
    Ok((
        meta,
        baseline::trivial(clip, log_bitrate),
        baseline::spectral(clip),
    ))
}

/// Runs the evaluation. `progress(stage, done, total)` is called as clips are scored.
pub fn evaluate(
    det: &Detector,
    opts: &EvalOptions,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<EvalReport> {
    let index = load_index(opts)?;
    let threshold = det.config.operating_point.threshold;
    let mut counts = BTreeMap::new();
    for e in &index.entries {
        *counts
            .entry(format!("{}/{}", e.arm, e.split.name()))
            .or_insert(0) += 1;
    }
    let test_entries: Vec<&Entry> = index
        .entries
        .iter()
        .filter(|e| e.split == Split::Test)
        .collect();
    if test_entries.is_empty() {
        return Err(DetectError::BadIndex {
            path: opts
                .test_data
                .as_ref()
                .unwrap_or(&opts.data)
                .join(super::data::INDEX),
            reason: "no test clips".into(),
        });
    }
    // The held-out classifiers are loaded and checked before any scoring, so that a wrong one
    // fails at once.
    let held_out_dets = load_held_out(&test_entries, opts)?;
    let seed_dets = seeds::load(det, &opts.seed_runs)?;
    for d in std::iter::once(det)
        .chain(held_out_dets.iter().map(|(_, d)| d))
        .chain(seed_dets.iter())
    {
        never_trained_on(d, &test_entries)?;
    }
    // The classifier on each test clip, as verify scores a file.
    let scored = score_entries(
        det,
        &opts.data,
        &test_entries,
        "scoring the test split",
        &mut progress,
    )?;
    let test = headline(&scored, threshold, opts.bootstrap, opts.seed);
    let f1 = against_non_ai(&scored, |e| e.arm == "generator");
    let generator_f1 = headline(&f1, threshold, opts.bootstrap, opts.seed);
    let mut families = BTreeMap::new();
    let names: std::collections::BTreeSet<&str> = scored
        .iter()
        .filter_map(|s| s.entry.family.as_deref())
        .collect();
    for fam in names {
        let these = against_non_ai(&scored, |e| e.family.as_deref() == Some(fam));
        families.insert(
            fam.to_string(),
            headline(&these, threshold, opts.bootstrap, opts.seed),
        );
    }

    let arms = arm_rates(&scored, threshold);
    let real_scenes = scenes::rates(&scored, &index.entries, threshold);

    // Baselines and confound probes: features of the train and test clips.
    let wanted = Index {
        entries: index
            .entries
            .iter()
            .filter(|e| e.split != Split::Val)
            .cloned()
            .collect(),
        ..index.clone()
    };
    let clips = load_clips(&opts.data, &wanted, TRIPLES_PER_CLIP, |d, n| {
        progress("reading clips for the baselines", d, n)
    })?;
    type Rows = Vec<(Vec<f64>, u8)>;
    let (mut meta, mut triv, mut spec): ([Rows; 2], [Rows; 2], [Rows; 2]) = Default::default();
    for (e, c) in &clips {
        let (m, t, s) = probe_features(&opts.data.join(&e.file), c)?;
        let k = usize::from(e.split == Split::Test);
        meta[k].push((m, e.label));
        triv[k].push((t, e.label));
        spec[k].push((s, e.label));
    }
    let meta_auc = logistic_auc(&meta[0], &meta[1]);
    let trivial_auc = logistic_auc(&triv[0], &triv[1]);
    let spectral_auc = logistic_auc(&spec[0], &spec[1]);
    let mut baselines = BTreeMap::new();
    baselines.insert("metadata logistic regression".to_string(), meta_auc);
    baselines.insert(
        "trivial-content logistic regression".to_string(),
        trivial_auc,
    );
    baselines.insert("spectral logistic regression".to_string(), spectral_auc);

    let real_vs_real = real_vs_real(&scored);
    let mut gates = vec![
        // An AUC well under 0.5 separates the labels as well as one above it, read the other
        // way round: the gate takes the larger, as the real-versus-real gate does.
        Gate {
            name: "metadata-only classifier AUC (the larger of AUC and 1 − AUC)".into(),
            value: meta_auc.max(1.0 - meta_auc),
            target: "≤ 0.55".into(),
            passed: meta_auc.max(1.0 - meta_auc) <= 0.55,
        },
        Gate {
            name: "classifier AUC minus trivial-content AUC".into(),
            value: test.auc.value - trivial_auc,
            target: "≥ 0.15".into(),
            passed: test.auc.value - trivial_auc >= 0.15,
        },
    ];
    if let Some((name, v)) = real_vs_real {
        gates.push(Gate {
            name: format!("real versus real AUC ({name}, the larger of AUC and 1 − AUC)"),
            value: v,
            target: "≤ 0.60".into(),
            passed: v <= 0.60,
        });
    }
    gates.push(Gate {
        name: "F1 (verity's generator) AUC".into(),
        value: generator_f1.auc.value,
        target: "≥ 0.99".into(),
        passed: generator_f1.auc.value >= 0.99,
    });
    gates.push(Gate {
        name: "F1 TPR at 1 % FPR".into(),
        value: generator_f1.tpr_at_1pct.value,
        target: "≥ 0.90".into(),
        passed: generator_f1.tpr_at_1pct.value >= 0.90,
    });
    let worst_fp = arms
        .iter()
        .filter(|a| a.label == 0)
        .map(|a| a.flagged)
        .fold(0.0, f64::max);
    gates.push(Gate {
        name: "worst false-positive rate of a non-AI arm at the threshold".into(),
        value: worst_fp,
        target: "≤ 0.05".into(),
        passed: worst_fp <= 0.05,
    });

    let seen = real_scenes.iter().filter(|r| r.seen_in_training).count();
    gates.push(Gate {
        name: "real test scenes also in training or validation".into(),
        value: seen as f64,
        target: "0".into(),
        passed: seen == 0,
    });

    let held_out = score_held_out(&scored, &held_out_dets, opts, &mut progress)?;
    gates.extend(held_out_gates(&held_out));

    let attack_dir = opts
        .attacks_dir
        .as_ref()
        .map(|d| d.join(index.fingerprint()));
    let attacked = match &attack_dir {
        Some(dir) => score_attacked(det, &opts.data, dir, &scored, &mut progress)?,
        None => Vec::new(),
    };
    let mut robustness = Vec::new();
    for (name, attacked) in &attacked {
        let a = auc_of(attacked).unwrap_or(0.5);
        let mut by_family = BTreeMap::new();
        for (fam, before) in &families {
            let these = against_non_ai(attacked, |e| e.family.as_deref() == Some(fam.as_str()));
            if let Some(fa) = auc_of(&these) {
                by_family.insert(fam.clone(), (fa, before.auc.value - fa));
            }
        }
        robustness.push(Robustness {
            attack: name.to_string(),
            auc: a,
            drop: test.auc.value - a,
            passed: test.auc.value - a <= 0.05,
            families: by_family,
        });
    }

    // The same recipe from other seeds, on the same clips and attacked copies.
    let mut over_seeds = Vec::new();
    if !seed_dets.is_empty() {
        over_seeds.push(seeds::result(det, &scored, &attacked, trivial_auc));
        for d in &seed_dets {
            let stage = format!("scoring with the seed run {}", d.name);
            let s = score_entries(d, &opts.data, &test_entries, &stage, &mut progress)?;
            let a = match &attack_dir {
                Some(dir) => score_attacked(d, &opts.data, dir, &s, &mut progress)?,
                None => Vec::new(),
            };
            over_seeds.push(seeds::result(d, &s, &a, trivial_auc));
        }
    }
    Ok(EvalReport {
        model: det.name.clone(),
        threshold,
        test,
        generator_f1,
        families,
        arms,
        baselines,
        gates,
        robustness,
        held_out,
        seeds: over_seeds,
        real_scenes,
        counts,
        fresh_test: opts.test_data.clone(),
    })
}

/// The dataset to evaluate on: `opts.data`'s index, or, with a fresh test split, its training and
/// validation clips and the fresh split's clips in place of its test split (each fresh clip's
/// file made absolute, so that every entry still resolves against `opts.data`).
fn load_index(opts: &EvalOptions) -> Result<Index> {
    let main = Index::load(&opts.data)?;
    let Some(dir) = &opts.test_data else {
        return Ok(main);
    };
    let fresh = main.fresh_beside(&opts.data, dir, Index::load(dir)?)?;
    let mut entries: Vec<Entry> = main
        .entries
        .iter()
        .filter(|e| e.split != Split::Test)
        .cloned()
        .collect();
    entries.extend(fresh.entries);
    Ok(Index { entries, ..main })
}
