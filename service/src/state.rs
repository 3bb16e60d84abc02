//! What every handler shares: the configuration, the database, the resolved verification
//! options, the home (for signing) and the metrics.

use std::sync::Arc;

use verity_detect::{VerifyOptions, VerifyRequest};
use verity_provenance::Home;

use crate::config::ServiceConfig;
use crate::db::Db;
use crate::error::Result;
use crate::manifests::SqlManifests;
use crate::metrics::Metrics;
use crate::storage::Storage;

/// Cheap to clone: one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ServiceConfig,
    db: Db,
    storage: Storage,
    home: Home,
    verify: Arc<VerifyOptions>,
    manifests: Arc<SqlManifests>,
    metrics: Metrics,
    limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
    /// Sign-in attempts on the review page, by the name tried.
    sign_ins: Option<governor::DefaultKeyedRateLimiter<String>>,
    verify_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Opens the database (migrating it) and resolves what verification needs, once.
    pub async fn open(config: ServiceConfig) -> Result<AppState> {
        let db = Db::connect(&config.db_target()?).await?;
        tracing::info!(database = %db.location(), "database open");
        if db.is_postgres() && config.storage.is_none() {
            tracing::warn!(
                "the database is shared (Postgres) but the object store is this machine's own folder: a job uploaded to one replica cannot run on another; give every replica the same --storage"
            );
        }
        if let Some(s) = &config.storage {
            tracing::info!(storage = ?s, "object store");
        }
        let state = Self::with_db(config, db)?;
        // Only a SQLite install can predate the store (Postgres came with it).
        if !state.db().is_postgres() {
            crate::storage::adopt_legacy_files(state.db(), state.storage()).await?;
        }
        Ok(state)
    }

    /// The state over an open database.
    pub fn with_db(config: ServiceConfig, db: Db) -> Result<AppState> {
        let home = Home::new(config.home.clone());
        let storage = config.open_storage()?;
        // The manifest store answers blocking callers (stamping, verification) on this runtime.
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            crate::error::ServiceError::Queue(
                "the service's state must be made inside a tokio runtime".into(),
            )
        })?;
        let manifests = Arc::new(SqlManifests::new(db.clone(), runtime));
        let mut verify = VerifyRequest {
            threads: config.limits.verify_threads,
            classifier_read: config.limits.classifier_read,
            ..VerifyRequest::default()
        }
        .resolve(&home)?;
        // Manifests the service signed are found by their mark; the home's folder is not
        // searched (the service's store is its database).
        verify.repository = Some(manifests.clone());
        verify.repository_unavailable = None;
        let limiter = rate_limiter(&config.limits);
        let sign_ins = std::num::NonZeroU32::new(config.review.sign_ins_per_minute)
            .map(|n| governor::RateLimiter::keyed(governor::Quota::per_minute(n).allow_burst(n)));
        let slots = match config.limits.concurrent_verifications {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                db,
                storage,
                home,
                verify: Arc::new(verify),
                manifests,
                metrics: Metrics::new(),
                limiter,
                sign_ins,
                verify_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            }),
        })
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The object store: queued uploads and kept review videos.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    pub fn verify_options(&self) -> Arc<VerifyOptions> {
        self.inner.verify.clone()
    }

    pub fn manifests(&self) -> &Arc<SqlManifests> {
        &self.inner.manifests
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The slots that bound how many verifications and signings run at once.
    pub fn verify_slots(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.verify_slots.clone()
    }

    /// Counts a request by `key_id` against its rate; `Err(seconds)` to wait when over it.
    pub fn charge(&self, key_id: &str) -> Result<(), u64> {
        match &self.inner.limiter {
            Some(l) => check(l, key_id),
            None => Ok(()),
        }
    }
}

impl AppState {
    /// Counts a sign-in attempt for `name` (the name tried, or the key's prefix);
    /// `Err(seconds)` to wait when over `review.sign_ins_per_minute`.
    pub fn charge_sign_in(&self, name: &str) -> Result<(), u64> {
        let Some(l) = &self.inner.sign_ins else {
            return Ok(());
        };
        // Names an attacker sprays must not grow the table without bound.
        if l.len() > 10_000 {
            l.retain_recent();
        }
        check(l, name)
    }
}

/// Counts one request for `key`; `Err(whole seconds to wait)` when over the quota.
fn check(l: &governor::DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), u64> {
    l.check_key(&key.to_string()).map_err(|not_until| {
        use governor::clock::Clock;
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
    })
}

/// The per-key limiter: `requests_per_minute` sustained, `burst` at once; none when 0.
fn rate_limiter(
    limits: &crate::config::Limits,
) -> Option<governor::DefaultKeyedRateLimiter<String>> {
    let per_minute = std::num::NonZeroU32::new(limits.requests_per_minute)?;
    let burst = std::num::NonZeroU32::new(limits.burst.max(1))?;
    Some(governor::RateLimiter::keyed(
        governor::Quota::per_minute(per_minute).allow_burst(burst),
    ))
}
