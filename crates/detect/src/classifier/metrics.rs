//! Per-clip figures of a detector: ranking (AUC, average precision), the operating point
//! (TPR at a false-positive rate, the threshold that reaches it), calibration (Brier, ECE),
//! and the exact interval of a measured false-positive rate.

/// Area under the ROC curve in its rank form (ties count one half). `None` without both
/// classes.
pub fn auc(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut n_pos) = (0.0, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] == 1 {
                rank_sum += avg_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = scores.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let np = n_pos as f64;
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * n_neg as f64))
}

/// Average precision (the step form: precision at each positive, averaged).
pub fn average_precision(scores: &[f64], labels: &[u8]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n_pos = labels.iter().filter(|&&l| l == 1).count();
    if n_pos == 0 {
        return None;
    }
    let (mut tp, mut sum) = (0usize, 0.0);
    for (rank, &k) in idx.iter().enumerate() {
        if labels[k] == 1 {
            tp += 1;
            sum += tp as f64 / (rank + 1) as f64;
        }
    }
    Some(sum / n_pos as f64)
}

/// The lowest threshold whose false-positive rate on `negatives` is at most `fpr`: scores
/// strictly above it are flagged. With n negatives the smallest FPR that can be told from 0
/// is 1/n; asking for less gives the threshold that flags none of them.
pub fn threshold_at_fpr(negatives: &[f64], fpr: f64) -> f64 {
    if negatives.is_empty() {
        return f64::INFINITY;
    }
    let mut s = negatives.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    // The small epsilon keeps fpr = k/n at k (1/49 · 49 is 0.999… in floating point).
    let allowed = (fpr * s.len() as f64 + 1e-9).floor() as usize;
    // Flag at most `allowed` negatives: the threshold is the (allowed+1)-th highest score.
    s[allowed.min(s.len() - 1)]
}

/// The share of `scores` strictly above `threshold`.
pub fn rate_above(scores: &[f64], threshold: f64) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s > threshold).count() as f64 / scores.len() as f64
}

/// Brier score of probabilities.
pub fn brier(probs: &[f64], labels: &[u8]) -> f64 {
    let n = probs.len().max(1) as f64;
    probs
        .iter()
        .zip(labels)
        .map(|(p, &l)| (p - f64::from(l)).powi(2))
        .sum::<f64>()
        / n
}

/// Expected calibration error over `bins` equal-width bins of probability.
pub fn ece(probs: &[f64], labels: &[u8], bins: usize) -> f64 {
    let bins = bins.max(1);
    let mut acc = vec![(0.0, 0.0, 0usize); bins];
    for (&p, &l) in probs.iter().zip(labels) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        acc[b].0 += p;
        acc[b].1 += f64::from(l);
        acc[b].2 += 1;
    }
    let n = probs.len().max(1) as f64;
    acc.iter()
        .filter(|b| b.2 > 0)
        .map(|&(sp, sl, _)| (sp - sl).abs() / n)
        .sum()
}

/// The share of `scores` above `threshold` and its exact 95 % interval: (share, lo, hi).
pub fn flagged_share(scores: &[f64], threshold: f64) -> (f64, f64, f64) {
    let k = scores.iter().filter(|&&x| x > threshold).count();
    let (lo, hi) = clopper_pearson(k, scores.len());
    (k as f64 / scores.len().max(1) as f64, lo, hi)
}

/// The exact (Clopper–Pearson) two-sided 95 % interval of a rate of `k` events in `n` trials.
pub fn clopper_pearson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let lo = if k == 0 {
        0.0
    } else {
        beta_quantile(0.025, k as f64, (n - k + 1) as f64)
    };
    let hi = if k == n {
        1.0
    } else {
        beta_quantile(0.975, (k + 1) as f64, (n - k) as f64)
    };
    (lo, hi)
}

/// The `q` quantile of Beta(a, b), by bisection on the regularised incomplete beta.
fn beta_quantile(q: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if inc_beta(mid, a, b) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes' betacf).
fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(x, a, b) / a
    } else {
        1.0 - front * beta_cf(1.0 - x, b, a) / b
    }
}

fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-12 {
            break;
        }
    }
    h
}

/// ln Γ(x) (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_rankings() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[0, 0, 1, 1]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[0, 0, 1, 1]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        // One of four positive-negative pairs out of order.
        assert_eq!(auc(&[0.1, 0.6, 0.5, 0.9], &[0, 0, 1, 1]), Some(0.75));
        assert_eq!(auc(&[0.1, 0.2], &[0, 0]), None);
    }

    #[test]
    fn average_precision_of_a_known_ranking() {
        // Ranked: pos, neg, pos → (1/1 + 2/3) / 2.
        let ap = average_precision(&[0.9, 0.8, 0.7], &[1, 0, 1]).unwrap_or(0.0);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn threshold_keeps_the_false_positive_rate() {
        let neg: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let t = threshold_at_fpr(&neg, 0.01);
        assert_eq!(rate_above(&neg, t), 0.01);
        let small: Vec<f64> = (0..49).map(f64::from).collect();
        assert_eq!(
            rate_above(&small, threshold_at_fpr(&small, 1.0 / 49.0)),
            1.0 / 49.0
        );
        let t0 = threshold_at_fpr(&neg, 0.0);
        assert_eq!(rate_above(&neg, t0), 0.0);
    }

    #[test]
    fn clopper_pearson_matches_known_values() {
        // No events in n: the upper bound is 1 - 0.025^(1/n).
        let (lo, hi) = clopper_pearson(0, 100);
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.01))).abs() < 1e-6, "{hi}");
        // 5 in 100: 0.0164 to 0.1128 (the textbook values).
        let (lo, hi) = clopper_pearson(5, 100);
        assert!((lo - 0.01643).abs() < 1e-4, "{lo}");
        assert!((hi - 0.11284).abs() < 1e-4, "{hi}");
    }

    #[test]
    fn calibration_of_perfect_and_wrong_forecasts() {
        assert_eq!(brier(&[1.0, 0.0], &[1, 0]), 0.0);
        assert_eq!(brier(&[0.0, 1.0], &[1, 0]), 1.0);
        assert!(ece(&[1.0, 0.0], &[1, 0], 10) < 1e-12);
        assert!((ece(&[0.9, 0.9], &[0, 0], 10) - 0.9).abs() < 1e-12);
    }
}
