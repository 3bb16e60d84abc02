//! From a training checkpoint to a shippable classifier: one temperature fitted on the
//! validation split's clip logits (least negative log-likelihood), and the operating threshold
//! chosen there for a 1 % false-positive rate on the non-AI clips, and on those cut from the
//! real scenes of any more splits it is given (`--also-validate`).

use std::path::{Path, PathBuf};

use candle_core::Device;

use super::data::{ClipFrames, Entry, Index, Split, load_clips};
use super::metrics::{clopper_pearson, rate_above, threshold_at_fpr};
use super::net::Net;
use super::score::{
    DETECTOR_CONFIG, DETECTOR_WEIGHTS, DetectorConfig, OperatingPoint, calibrated,
    net_from_safetensors, weights_digest,
};
use super::train::{BEST, TRIPLES_PER_CLIP, build, clip_logits, load_config, mean_logit};
use crate::error::{DetectError, Result};

/// The false-positive rate the operating threshold is chosen for.
pub const TARGET_FPR: f64 = 0.01;

/// The temperature that minimises the mean negative log-likelihood of `labels` given
/// `logits / T`, searched over 0.05 to 20 on a log grid and refined around the best point.
pub fn fit_temperature(logits: &[f64], labels: &[u8]) -> f64 {
    let nll = |t: f64| {
        logits
            .iter()
            .zip(labels)
            .map(|(&x, &l)| {
                let z = x / t;
                z.max(0.0) - z * f64::from(l) + (-z.abs()).exp().ln_1p()
            })
            .sum::<f64>()
    };
    let grid = |lo: f64, hi: f64, n: usize| {
        (0..=n)
            .map(|k| (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / n as f64).exp())
            .min_by(|a, b| nll(*a).total_cmp(&nll(*b)))
            .unwrap_or(1.0)
    };
    let coarse = grid(0.05, 20.0, 200);
    grid(coarse / 1.05, coarse * 1.05, 100)
}

/// The clip logits of `clips` under the network in `weights`.
pub fn clip_scores(
    cfg: &super::net::Config,
    weights: &Path,
    clips: &[(Entry, ClipFrames)],
) -> Result<Vec<f64>> {
    let (_, net) = build(cfg, Some(weights), 0, &Device::Cpu)?;
    logits_of(&net, clips)
}

/// The clip logits of `clips` under `net`.
fn logits_of(net: &Net, clips: &[(Entry, ClipFrames)]) -> Result<Vec<f64>> {
    clips
        .iter()
        .map(|(_, c)| Ok(mean_logit(&clip_logits(net, c, &Device::Cpu)?)))
        .collect()
}

/// The first 16 hex digits of the SHA-256 of a run's recipe: everything its state records
/// but the seed and the times (the `--also-train` splits where there are any). The batch and
/// the learning rate count where they differ from
/// [`DEFAULT_BATCH`](super::train::DEFAULT_BATCH) and [`DEFAULT_LR`](super::train::DEFAULT_LR),
/// so that a run at the defaults keeps the recipe of the runs made before the state recorded
/// them (which used the defaults at the shipped budget; a run of those that did not is not told
/// apart).
pub fn recipe(net: &super::net::Config, state: &super::train::TrainState) -> String {
    use sha2::{Digest, Sha256};
    let mut what = serde_json::json!({
        "net": net,
        "train_counts": state.train_counts,
        "exclude_arms": state.exclude_arms,
        "overlays": state.overlays,
        "resample": state.resample,
        "steps": state.step,
    });
    // Only where it was used, so that runs from before platform copies keep their recipe.
    if state.platform > 0.0
        && let Some(m) = what.as_object_mut()
    {
        m.insert("platform".into(), state.platform.into());
    }
    if state.small > 0.0
        && let Some(m) = what.as_object_mut()
    {
        m.insert("small".into(), state.small.into());
    }
    if let Some(m) = what.as_object_mut() {
        if let Some(b) = state.batch.filter(|b| *b != super::train::DEFAULT_BATCH) {
            m.insert("batch".into(), b.into());
        }
        if let Some(lr) = state.lr.filter(|lr| *lr != super::train::DEFAULT_LR) {
            m.insert("lr".into(), lr.into());
        }
        if !state.also_train.is_empty() {
            m.insert("also_train".into(), state.also_train.clone().into());
        }
    }
    let h = Sha256::digest(what.to_string().as_bytes());
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The non-AI clips cut from the real scenes of each `--also-validate` split in `dirs`
/// (fresh test splits, `verity train detector --fresh-test`), less the arms in `exclude_arms`;
/// with the splits' fingerprints and those clips' scenes. Refused where a split holds no such
/// clip, or a scene is one `index` (the dataset in `data`) holds, one in `trained` (the run's
/// `--also-train` scenes), or one in another of these splits.
fn also_validation(
    index: &Index,
    data: &Path,
    trained: &[String],
    exclude_arms: &[String],
    dirs: &[PathBuf],
) -> Result<(Vec<Entry>, Vec<String>, Vec<String>)> {
    let lent = index.lent_beside(
        data,
        dirs,
        |e| e.non_ai_real_scene() && !exclude_arms.contains(&e.arm),
        "--also-validate",
        "non-AI clips cut from real scenes to choose the threshold on",
    )?;
    let (mut entries, mut prints, mut scenes) = (Vec::new(), Vec::new(), Vec::new());
    for l in lent {
        if let Some(s) = l.scenes.iter().find(|s| trained.contains(*s)) {
            return Err(DetectError::BadIndex {
                path: l.dir.join(super::data::INDEX),
                reason: format!("its real scene `{s}` is one the run trained on (--also-train)"),
            });
        }
        prints.push(l.fingerprint);
        scenes.extend(l.scenes);
        entries.extend(l.entries);
    }
    Ok((entries, prints, scenes))
}

/// Checks the `--also-validate` splits `dirs` of a run on `data` with the `--also-train`
/// splits `also_train` and the arms `exclude_arms`, as the export will, so that a new run is
/// refused before it trains rather than after.
pub fn check_also_validate(
    data: &Path,
    also_train: &[PathBuf],
    exclude_arms: &[String],
    dirs: &[PathBuf],
) -> Result<()> {
    if dirs.is_empty() {
        return Ok(());
    }
    let index = Index::load(data)?;
    let mut trained = Vec::new();
    for dir in also_train {
        trained.extend(Index::load(dir)?.real_scenes());
    }
    also_validation(&index, data, &trained, exclude_arms, dirs).map(|_| ())
}

/// Calibrates the best checkpoint of `run` on the validation split of `data` and writes
/// `detector.json` and `model.safetensors` into `out`. The temperature is fitted on that
/// split (both labels); the threshold is chosen on its non-AI clips and on those cut from the
/// real scenes of each split in `also_validate`, more real scenes for a rate measured on more
/// than the dataset's few.
pub fn export(
    run: &Path,
    data: &Path,
    out: &Path,
    also_validate: &[PathBuf],
) -> Result<DetectorConfig> {
    let net = load_config(run)?;
    let index = Index::load(data)?;
    let state: super::train::TrainState = {
        let p = run.join(super::train::STATE);
        let b = std::fs::read(&p).map_err(|e| DetectError::io(&p, e))?;
        serde_json::from_slice(&b).map_err(|e| DetectError::ClassifierWeights {
            path: p.clone(),
            reason: e.to_string(),
        })?
    };
    let (extra, extra_prints, validated_scenes) = also_validation(
        &index,
        data,
        &state.also_scenes,
        &state.exclude_arms,
        also_validate,
    )?;
    let val_index = Index {
        entries: index
            .entries
            .iter()
            .filter(|e| e.split == Split::Val && !state.exclude_arms.contains(&e.arm))
            .cloned()
            .collect(),
        ..index
    };
    let clips = load_clips(data, &val_index, TRIPLES_PER_CLIP, |_, _| {})?;
    // The checkpoint is read once: the bytes scored are the bytes exported and digested.
    let weights = run.join(BEST);
    let wbytes = std::fs::read(&weights).map_err(|e| DetectError::io(&weights, e))?;
    let scorer =
        net_from_safetensors(&net, &wbytes).map_err(|e| DetectError::ClassifierWeights {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
    let logits = logits_of(&scorer, &clips)?;
    let labels: Vec<u8> = clips.iter().map(|(e, _)| e.label).collect();
    let positives = labels.iter().filter(|&&l| l == 1).count();
    if positives == 0 || positives == labels.len() {
        return Err(DetectError::BadIndex {
            path: data.join(super::data::INDEX),
            reason: format!(
                "the validation split has {positives} synthetic and {} non-AI clips: calibration needs both",
                labels.len() - positives
            ),
        });
    }
    let temperature = fit_temperature(&logits, &labels);
    let probs: Vec<f64> = logits.iter().map(|x| calibrated(*x, temperature)).collect();
    let mut negatives: Vec<f64> = probs
        .iter()
        .zip(&labels)
        .filter(|(_, l)| **l == 0)
        .map(|(p, _)| *p)
        .collect();
    if !extra.is_empty() {
        let extra_index = Index {
            entries: extra,
            ..val_index
        };
        let clips = load_clips(data, &extra_index, TRIPLES_PER_CLIP, |_, _| {})?;
        negatives.extend(
            logits_of(&scorer, &clips)?
                .iter()
                .map(|x| calibrated(*x, temperature)),
        );
    }
    let threshold = threshold_at_fpr(&negatives, TARGET_FPR);
    let measured = rate_above(&negatives, threshold);
    let k = (measured * negatives.len() as f64).round() as usize;
    let recipe = recipe(&net, &state);
    let cfg = DetectorConfig {
        net,
        temperature,
        operating_point: OperatingPoint {
            threshold,
            target_fpr: TARGET_FPR,
            measured_fpr: measured,
            fpr_upper_95: clopper_pearson(k, negatives.len()).1,
            negatives: negatives.len(),
            split: std::iter::once("val".to_string())
                .chain(extra_prints)
                .collect::<Vec<_>>()
                .join("+"),
            unseen: Vec::new(),
        },
        trained_without: state.exclude_arms.clone(),
        seed: Some(state.seed),
        recipe: Some(recipe),
        data: state.data.clone(),
        also_scenes: state.also_scenes.clone(),
        validated_scenes,
        weights_sha256: Some(weights_digest(&wbytes)),
    };
    std::fs::create_dir_all(out).map_err(|e| DetectError::io(out, e))?;
    let json = serde_json::to_vec_pretty(&cfg).map_err(|e| DetectError::io(out, e.into()))?;
    verity_fs::write_whole(&out.join(DETECTOR_WEIGHTS), &wbytes)
        .map_err(|e| DetectError::io(&out.join(DETECTOR_WEIGHTS), e))?;
    verity_fs::write_whole(&out.join(DETECTOR_CONFIG), &json)
        .map_err(|e| DetectError::io(&out.join(DETECTOR_CONFIG), e))?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_counts_batch_and_learning_rate_but_not_seed() {
        use super::super::train::{DEFAULT_BATCH, DEFAULT_LR, TrainState};
        let net = super::super::net::Config::default();
        let old = TrainState {
            step: 1200,
            exclude_arms: vec!["decoder".into()],
            ..TrainState::default()
        };
        let at = |batch, lr, seed| {
            recipe(
                &net,
                &TrainState {
                    batch: Some(batch),
                    lr: Some(lr),
                    seed,
                    ..old.clone()
                },
            )
        };
        // A run at the defaults keeps the recipe of a run made before they were recorded.
        assert_eq!(recipe(&net, &old), at(DEFAULT_BATCH, DEFAULT_LR, 0));
        assert_eq!(
            at(DEFAULT_BATCH, DEFAULT_LR, 0),
            at(DEFAULT_BATCH, DEFAULT_LR, 7)
        );
        assert_ne!(at(16, DEFAULT_LR, 0), at(DEFAULT_BATCH, DEFAULT_LR, 0));
        assert_ne!(at(DEFAULT_BATCH, 3e-4, 0), at(DEFAULT_BATCH, DEFAULT_LR, 0));
        assert_ne!(at(16, DEFAULT_LR, 0), at(DEFAULT_BATCH, 3e-4, 0));
    }

    #[test]
    fn temperature_shrinks_overconfident_logits() {
        // Logits of ±8 with 20 % of them wrong: the best temperature softens them.
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for k in 0..100 {
            let wrong = k % 5 == 0;
            let l = (k % 2) as u8;
            let x = if (l == 1) != wrong { 8.0 } else { -8.0 };
            logits.push(x);
            labels.push(l);
        }
        let t = fit_temperature(&logits, &labels);
        // The calibrated probability of the majority side should be near 0.8.
        let p = 1.0 / (1.0 + (-8.0 / t).exp());
        assert!((p - 0.8).abs() < 0.01, "t {t}, p {p}");
    }
}
