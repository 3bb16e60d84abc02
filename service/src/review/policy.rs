//! Routing: which queue a finished job's report goes to, by the configured rules.

use verity_detect::Report;

use crate::config::QueuePolicy;

/// What the policy does with a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Routing {
    /// Put up for review in this queue.
    Open { queue: String },
    /// Matched this queue, but scored below its `auto_close_below`: recorded, closed.
    AutoClosed { queue: String, reason: String },
}

/// The facts of a report the rules look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub verdict: String,
    pub c2pa_state: String,
    pub recovered_via_watermark: bool,
    /// The classifier's calibrated probability, when it scored the file.
    pub score: Option<f64>,
    pub payload: Option<String>,
}

impl Facts {
    pub fn of(r: &Report) -> Facts {
        let value = serde_json::to_value(r).unwrap_or_default();
        let str_at = |p: &str| {
            value
                .pointer(p)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        Facts {
            verdict: r.verdict.label.as_str().to_string(),
            c2pa_state: str_at("/c2pa/state").unwrap_or_default(),
            recovered_via_watermark: str_at("/c2pa/recovered_via").as_deref() == Some("watermark"),
            score: value
                .pointer("/classifier/synthetic_probability")
                .and_then(|v| v.as_f64()),
            payload: str_at("/watermark/payload"),
        }
    }
}

/// The first queue whose rule matches, in the configured order; `None` when none does.
pub fn route(queues: &[QueuePolicy], f: &Facts) -> Option<Routing> {
    let q = queues.iter().find(|q| matches(q, f))?;
    if let Some(t) = q.auto_close_below {
        if f.score.is_none_or(|s| s < t) {
            let reason = match f.score {
                Some(s) => format!("the classifier scored {s:.3}, below the queue's {t}"),
                None => format!("the classifier gave no score; the queue closes below {t}"),
            };
            return Some(Routing::AutoClosed {
                queue: q.name.clone(),
                reason,
            });
        }
    }
    Some(Routing::Open {
        queue: q.name.clone(),
    })
}

fn matches(q: &QueuePolicy, f: &Facts) -> bool {
    (q.verdicts.is_empty() || q.verdicts.iter().any(|v| v == &f.verdict))
        && (q.c2pa_states.is_empty() || q.c2pa_states.iter().any(|s| s == &f.c2pa_state))
        && q.recovered_via_watermark
            .is_none_or(|want| want == f.recovered_via_watermark)
        && q.min_score.is_none_or(|t| f.score.is_some_and(|s| s >= t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReviewSettings;

    fn facts(verdict: &str, state: &str, recovered: bool, score: Option<f64>) -> Facts {
        Facts {
            verdict: verdict.into(),
            c2pa_state: state.into(),
            recovered_via_watermark: recovered,
            score,
            payload: None,
        }
    }

    #[test]
    fn the_default_policy() {
        let q = ReviewSettings::default().queues;
        let open = |name: &str| Some(Routing::Open { queue: name.into() });
        assert_eq!(
            route(&q, &facts("tampered", "invalid", false, None)),
            open("tampered")
        );
        assert_eq!(
            route(&q, &facts("watermarked-recovered", "trusted", true, None)),
            open("recovered")
        );
        assert_eq!(
            route(&q, &facts("signed-other-origin", "valid", false, None)),
            open("untrusted-signer")
        );
        assert_eq!(
            route(&q, &facts("likely-synthetic", "absent", false, Some(0.95))),
            open("likely-synthetic")
        );
        assert_eq!(
            route(&q, &facts("no-evidence", "absent", false, Some(0.6))),
            open("likely-synthetic")
        );
        assert!(matches!(
            route(&q, &facts("no-evidence", "absent", false, Some(0.2))),
            Some(Routing::AutoClosed { queue, .. }) if queue == "likely-synthetic"
        ));
        assert!(matches!(
            route(&q, &facts("no-evidence", "absent", false, None)),
            Some(Routing::AutoClosed { .. })
        ));
        // Trusted credentials that say what they are: nothing to review.
        assert_eq!(
            route(
                &q,
                &facts("ai-generated-signed", "trusted", false, Some(0.99))
            ),
            None
        );
    }

    #[test]
    fn min_score_skips_to_the_next_queue() {
        let mut strict = ReviewSettings::default().queues[3].clone();
        strict.name = "very-likely".into();
        strict.min_score = Some(0.9);
        strict.auto_close_below = None;
        let mut q = vec![strict];
        q.extend(ReviewSettings::default().queues);
        let f = facts("no-evidence", "absent", false, Some(0.7));
        assert_eq!(
            route(&q, &f),
            Some(Routing::Open {
                queue: "likely-synthetic".into()
            })
        );
        let f = facts("likely-synthetic", "absent", false, Some(0.95));
        assert_eq!(
            route(&q, &f),
            Some(Routing::Open {
                queue: "very-likely".into()
            })
        );
    }
}
