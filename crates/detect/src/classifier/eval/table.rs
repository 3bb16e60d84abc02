//! The evaluation report as the model card's Markdown tables.

use super::held_out::held_out_by_family;
use super::{EvalReport, Figure, Headline};
use crate::classifier::seeds::{SeedResult, Spread};

impl EvalReport {
    /// The report as Markdown tables (the model card's).
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let f = |x: &Figure| format!("{:.3} [{:.3}, {:.3}]", x.value, x.lo, x.hi);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Model `{}`, operating threshold {:.3} (chosen on validation for 1 % FPR). Intervals: 95 % bootstrap over source scenes.\n",
            self.model, self.threshold
        );
        if let Some(dir) = &self.fresh_test {
            let _ = writeln!(
                s,
                "Test clips: the fresh test split in `{}`, in place of the dataset's own, from real scenes the dataset does not hold (baselines fitted on the dataset's training split).\n",
                dir.display()
            );
        }
        let _ = writeln!(
            s,
            "| test set | clips (synthetic) | AUC | AP | TPR at threshold (FPR there) | TPR at 1 % FPR (FPR reached) | accuracy at threshold | Brier | ECE |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        let families: Vec<(String, &Headline)> = self
            .families
            .iter()
            .filter(|(k, _)| k.as_str() != "F1")
            .map(|(k, h)| (format!("{k} vs non-AI"), h))
            .collect();
        let rows = [
            ("all arms".to_string(), &self.test),
            (
                "F1 (verity's generator) vs non-AI".to_string(),
                &self.generator_f1,
            ),
        ]
        .into_iter()
        .chain(families);
        // A headline's cells, from "clips (synthetic)" to "ECE".
        let cells = |h: &Headline| {
            format!(
                "{} ({}) | {} | {} | {} ({:.3}) | {} ({:.3}) | {} | {} | {}",
                h.clips,
                h.positives,
                f(&h.auc),
                f(&h.average_precision),
                f(&h.tpr_at_threshold),
                h.fpr_at_threshold,
                f(&h.tpr_at_1pct),
                h.fpr_reached,
                f(&h.accuracy_at_threshold),
                f(&h.brier),
                f(&h.ece)
            )
        };
        for (name, h) in rows {
            let _ = writeln!(s, "| {name} | {} |", cells(h));
        }
        let _ = writeln!(
            s,
            "\n| arm (test) | label | clips | flagged at threshold | exact 95 % interval |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for a in &self.arms {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.3} | [{:.3}, {:.3}] |",
                a.arm,
                if a.label == 1 { "synthetic" } else { "not AI" },
                a.clips,
                a.flagged,
                a.lo,
                a.hi
            );
        }
        if !self.real_scenes.is_empty() {
            let _ = writeln!(
                s,
                "\nLeave one real source out: each real scene of the test split, over every non-AI clip cut from it (a scene also in training or validation fails a gate below).\n"
            );
            let _ = writeln!(
                s,
                "| real scene (test) | arms | clips | flagged at threshold | exact 95 % interval | highest probability | in training or validation |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|");
            for r in &self.real_scenes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.3} | [{:.3}, {:.3}] | {} | {} |",
                    r.scene,
                    r.arms.join(", "),
                    r.clips,
                    r.flagged,
                    r.lo,
                    r.hi,
                    small_probability(r.highest),
                    if r.seen_in_training { "**yes**" } else { "no" }
                );
            }
        }
        let _ = writeln!(
            s,
            "\n| baseline (logistic regression, trained on the training split) | test AUC |"
        );
        let _ = writeln!(s, "|---|---|");
        for (name, v) in &self.baselines {
            let _ = writeln!(s, "| {name} | {v:.3} |");
        }
        if !self.held_out.is_empty() {
            let _ = writeln!(
                s,
                "\nLeave one family out: each family's test clips against every non-AI test clip, scored by a classifier trained without that family, at its own threshold.\n"
            );
            let _ = writeln!(
                s,
                "| held-out family | model | seed | clips (synthetic) | AUC | AP | TPR at threshold (FPR there) | TPR at 1 % FPR (FPR reached) | accuracy at threshold | Brier | ECE |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
            for r in &self.held_out {
                let _ = writeln!(
                    s,
                    "| {} | `{}` | {} | {} |",
                    r.family,
                    r.model,
                    r.seed.map_or("?".into(), |n| n.to_string()),
                    cells(&r.headline)
                );
            }
            let by_family = held_out_by_family(&self.held_out);
            if by_family.values().any(|f| f.n > 1) {
                let _ = writeln!(
                    s,
                    "\nOver seeds: each family's figures over the classifiers that hold it out, mean [lowest, highest]; the gates below take each family at its mean.\n"
                );
                let _ = writeln!(
                    s,
                    "| held-out family | seeds | AUC | TPR at 1 % FPR |\n|---|---|---|---|"
                );
                for (fam, f) in &by_family {
                    let _ = writeln!(
                        s,
                        "| {fam} | {} | {} | {} |",
                        f.n,
                        f.auc.cell(),
                        f.tpr_at_1pct.cell()
                    );
                }
            }
        }
        if !self.seeds.is_empty() {
            s.push_str(&self.seeds_table());
        }
        let _ = writeln!(s, "\n| gate | value | target | passed |");
        let _ = writeln!(s, "|---|---|---|---|");
        for g in &self.gates {
            let _ = writeln!(
                s,
                "| {} | {:.3} | {} | {} |",
                g.name,
                g.value,
                g.target,
                if g.passed { "yes" } else { "**no**" }
            );
        }
        if !self.robustness.is_empty() {
            let _ = writeln!(s, "\n| attack on the test clips | AUC | drop | ≤ 0.05 |");
            let _ = writeln!(s, "|---|---|---|---|");
            for r in &self.robustness {
                let _ = writeln!(
                    s,
                    "| {} | {:.3} | {:.3} | {} |",
                    r.attack,
                    r.auc,
                    r.drop,
                    if r.passed { "yes" } else { "**no**" }
                );
            }
            let fams: Vec<&String> = self.families.keys().collect();
            if !fams.is_empty() {
                let head: Vec<String> = fams.iter().map(|f| format!("{f} AUC (drop)")).collect();
                let _ = writeln!(
                    s,
                    "\n| attack, each family against every non-AI test clip | {} |",
                    head.join(" | ")
                );
                let _ = writeln!(s, "|---|{}", "---|".repeat(fams.len()));
                for r in &self.robustness {
                    let cells: Vec<String> = fams
                        .iter()
                        .map(|f| {
                            r.families
                                .get(*f)
                                .map_or("–".into(), |(a, d)| format!("{a:.3} ({d:.3})"))
                        })
                        .collect();
                    let _ = writeln!(s, "| {} | {} |", r.attack, cells.join(" | "));
                }
            }
        }
        s
    }
}

impl EvalReport {
    /// The seed runs' figures as two Markdown tables (headline, then gates and attacks), each
    /// with the mean, lowest and highest over the seeds.
    fn seeds_table(&self) -> String {
        use std::fmt::Write;
        let rows = &self.seeds;
        let mut s = String::new();
        let spread = |v: Vec<f64>| {
            if v.is_empty() {
                return "–".to_string();
            }
            Spread::of(v.into_iter()).cell()
        };
        let seed = |r: &SeedResult| r.seed.map_or("not recorded".into(), |x| x.to_string());
        let fams: std::collections::BTreeSet<&String> =
            rows.iter().flat_map(|r| r.families.keys()).collect();
        let _ = writeln!(
            s,
            "\nThe same recipe from {} seeds, each at its own threshold (the first row is the classifier above); point values, the last row their mean [lowest, highest].\n",
            rows.len()
        );
        let fam_heads: String = fams.iter().map(|f| format!(" {f} AUC |")).collect();
        let _ = writeln!(
            s,
            "| model | seed | AUC | F1 TPR at 1 % FPR |{fam_heads} worst non-AI arm at threshold |"
        );
        let _ = writeln!(s, "|---|---|---|---|{}---|", "---|".repeat(fams.len()));
        for r in rows {
            let cells: String = fams
                .iter()
                .map(|f| {
                    r.families
                        .get(*f)
                        .map_or(" – |".into(), |v| format!(" {v:.3} |"))
                })
                .collect();
            let _ = writeln!(
                s,
                "| `{}` | {} | {:.3} | {:.3} |{cells} {:.3} ({}) |",
                r.model,
                seed(r),
                r.auc,
                r.generator_tpr_at_1pct,
                r.worst_fp,
                r.worst_fp_arm
            );
        }
        let fam_spread: String = fams
            .iter()
            .map(|f| {
                let v = rows.iter().filter_map(|r| r.families.get(*f).copied());
                format!(" {} |", spread(v.collect()))
            })
            .collect();
        let _ = writeln!(
            s,
            "| mean [lowest, highest] | | {} | {} |{fam_spread} {} |",
            spread(rows.iter().map(|r| r.auc).collect()),
            spread(rows.iter().map(|r| r.generator_tpr_at_1pct).collect()),
            spread(rows.iter().map(|r| r.worst_fp).collect())
        );
        let attacks: Vec<&str> = rows
            .first()
            .map(|r| r.attack_drops.iter().map(|(a, _)| a.as_str()).collect())
            .unwrap_or_default();
        let att_heads: String = attacks.iter().map(|a| format!(" {a} AUC drop |")).collect();
        let _ = writeln!(
            s,
            "\n| model | seed | real versus real (≤ 0.60) | AUC minus trivial-content AUC (≥ 0.15) |{att_heads}"
        );
        let _ = writeln!(s, "|---|---|---|---|{}", "---|".repeat(attacks.len()));
        let drop_of =
            |r: &SeedResult, a: &str| r.attack_drops.iter().find(|(n, _)| n == a).map(|(_, d)| *d);
        for r in rows {
            let cells: String = attacks
                .iter()
                .map(|a| drop_of(r, a).map_or(" – |".into(), |d| format!(" {d:.3} |")))
                .collect();
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {:.3} |{cells}",
                r.model,
                seed(r),
                r.real_vs_real.map_or("–".into(), |v| format!("{v:.3}")),
                r.trivial_gap
            );
        }
        let att_spread: String = attacks
            .iter()
            .map(|a| {
                format!(
                    " {} |",
                    spread(rows.iter().filter_map(|r| drop_of(r, a)).collect())
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "| mean [lowest, highest] | | {} | {} |{att_spread}",
            spread(rows.iter().filter_map(|r| r.real_vs_real).collect()),
            spread(rows.iter().map(|r| r.trivial_gap).collect())
        );
        s
    }
}

/// A probability for a table: three decimals, or two significant digits in scientific notation
/// below 0.001 (where three decimals would print every such score as 0.000).
fn small_probability(p: f64) -> String {
    if p >= 1e-3 || p == 0.0 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_probabilities_keep_their_size() {
        assert_eq!(small_probability(0.8694), "0.869");
        assert_eq!(small_probability(0.0), "0.000");
        assert_eq!(small_probability(5.23e-26), "5.2e-26");
    }
}
