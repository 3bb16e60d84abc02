//! Leave one real source out: the false-positive rate on each real scene of the test split.
//!
//! Splits go by source scene, so every real scene of the test split is one the classifier
//! never saw in training or validation: each is a leave-one-source-out test of its own. This
//! reports each one's flagged share at the threshold (over every non-AI clip cut from it: the
//! scene itself, its codec copies and its softened and output-path versions), and whether the
//! scene appears in the other splits (a gate fails if one does).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::data::{Entry, Split};
use super::eval::Scored;
use super::metrics::flagged_share;

/// One real scene of the test split.
#[derive(Clone, Debug, Serialize)]
pub struct SceneRate {
    pub scene: String,
    /// The non-AI arms its test clips come from.
    pub arms: Vec<String>,
    pub clips: usize,
    /// How many of them score above the threshold.
    pub flagged_clips: usize,
    /// The share flagged at the threshold, with its exact 95 % interval.
    pub flagged: f64,
    pub lo: f64,
    pub hi: f64,
    /// The highest probability among its clips: how near the threshold the scene comes.
    pub highest: f64,
    /// Whether any clip of the scene is in the training or validation split (never, by
    /// construction; the evaluation's gate fails if one is).
    pub seen_in_training: bool,
}

/// Each real scene's flagged share among `scored` (test clips) at `threshold`.
pub(super) fn rates(scored: &[Scored<'_>], all: &[Entry], threshold: f64) -> Vec<SceneRate> {
    let seen: BTreeSet<&str> = all
        .iter()
        .filter(|e| e.split != Split::Test)
        .map(|e| e.source.as_str())
        .collect();
    let mut by_scene: BTreeMap<&str, (BTreeSet<&str>, Vec<f64>)> = BTreeMap::new();
    for s in scored.iter().filter(|s| s.entry.non_ai_real_scene()) {
        let slot = by_scene.entry(s.entry.source.as_str()).or_default();
        slot.0.insert(s.entry.arm.as_str());
        slot.1.push(s.prob);
    }
    by_scene
        .into_iter()
        .map(|(scene, (arms, p))| {
            let (flagged, lo, hi) = flagged_share(&p, threshold);
            SceneRate {
                scene: scene.to_string(),
                arms: arms.into_iter().map(String::from).collect(),
                clips: p.len(),
                flagged_clips: p.iter().filter(|&&x| x > threshold).count(),
                flagged,
                lo,
                hi,
                highest: p.iter().copied().fold(0.0, f64::max),
                seen_in_training: seen.contains(scene),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str, arm: &str, label: u8, split: Split, real: bool) -> Entry {
        Entry {
            file: format!("{arm}/{source}.mp4"),
            arm: arm.into(),
            label,
            family: None,
            source: source.into(),
            source_file: real.then(|| format!("{source}.mp4")),
            split,
            seed: 0,
        }
    }

    #[test]
    fn one_row_per_real_test_scene_with_its_rate() {
        let all = vec![
            entry("demo", "real-video", 0, Split::Test, true),
            entry("demo", "bicubic", 0, Split::Test, true),
            entry("room", "real-photo", 0, Split::Test, true),
            entry("room", "sdedit", 1, Split::Test, true),
            entry("a cube", "render", 0, Split::Test, false),
            entry("bunny", "cgi", 0, Split::Test, true),
            entry("room", "real-photo", 0, Split::Train, true),
        ];
        let probs = [0.9, 0.1, 0.2, 0.99, 0.95, 0.1];
        let scored: Vec<Scored<'_>> = all[..6]
            .iter()
            .zip(probs)
            .map(|(entry, prob)| Scored { entry, prob })
            .collect();
        let r = rates(&scored, &all, 0.5);
        assert_eq!(
            r.len(),
            2,
            "rendered and synthetic clips are not real scenes"
        );
        assert_eq!(r[0].scene, "demo");
        assert_eq!(r[0].clips, 2);
        assert_eq!(r[0].flagged, 0.5);
        assert_eq!(r[0].arms, ["bicubic", "real-video"]);
        assert_eq!(r[0].highest, 0.9);
        assert_eq!(r[1].highest, 0.2);
        assert!(!r[0].seen_in_training);
        assert_eq!(r[1].scene, "room");
        assert_eq!(r[1].flagged, 0.0);
        assert!(
            r[1].seen_in_training,
            "a scene in the training split is caught"
        );
    }
}
