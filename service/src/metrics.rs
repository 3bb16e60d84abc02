//! Prometheus metrics at `/metrics`: jobs by state, the queue's depth and the object store's
//! deletes due (read from the database at each scrape, so every replica reports the same), the
//! verify latency histogram and request counts (this process's).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// `sync` (POST /v1/verify) or `job`.
    pub path: String,
    pub outcome: String,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    pub jobs: Family<StateLabel, Gauge>,
    pub queue_depth: Gauge,
    pub store_deletes_due: Gauge,
    pub verify_seconds: Family<RouteLabel, Histogram>,
    pub webhook_deliveries: Family<StateLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("verity");
        let jobs = Family::<StateLabel, Gauge>::default();
        registry.register("jobs", "Jobs by state", jobs.clone());
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs waiting for a worker",
            queue_depth.clone(),
        );
        let store_deletes_due = Gauge::default();
        registry.register(
            "store_deletes_due",
            "Stored objects let go of, due or taken by a sweep, and not yet deleted",
            store_deletes_due.clone(),
        );
        let verify_seconds = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0])
        });
        registry.register(
            "verify_seconds",
            "Wall time of one verification",
            verify_seconds.clone(),
        );
        let webhook_deliveries = Family::<StateLabel, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome",
            webhook_deliveries.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            jobs,
            queue_depth,
            store_deletes_due,
            verify_seconds,
            webhook_deliveries,
        }
    }

    pub fn observe_verify(&self, path: &str, outcome: &str, seconds: f64) {
        self.verify_seconds
            .get_or_create(&RouteLabel {
                path: path.into(),
                outcome: outcome.into(),
            })
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
                tracing::error!(error = %e, "cannot encode the metrics");
            }
        }
        out
    }
}
