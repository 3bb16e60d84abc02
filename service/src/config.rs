//! The service's configuration: read once at the edge (the CLI's flags, its environment and an
//! optional TOML file) and passed in. Nothing in this crate reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Everything `verity serve` is told. [`ServiceConfig::new`] gives the embedded defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The service's own folder: `service.db` (SQLite, WAL) and `uploads/`.
    pub data: PathBuf,
    /// The database, when not `data/service.db`: `postgres://…` (shared by replicas) or a
    /// SQLite file.
    pub database: Option<SecretUrl>,
    /// The object store for queued uploads and kept review videos, when not `data/store` on
    /// this machine: `s3://bucket/prefix`, `gs://…`, `az://…` or `file:///shared/path`.
    pub storage: Option<SecretUrl>,
    /// The object store's settings (credentials, region, endpoint), from the environment; never
    /// in a file, never printed.
    #[serde(skip)]
    pub storage_options: StorageOptions,
    /// verity's home: the signing identity, trust anchors and watermark key.
    pub home: PathBuf,
    /// Job workers in this process (0: this process runs no jobs; another does).
    pub workers: usize,
    /// Run workers only, with no HTTP listener (`verity serve --worker-only`).
    pub worker_only: bool,
    /// Serve the Resolution API's read endpoints without a key.
    pub public_resolution: bool,
    pub limits: Limits,
    pub jobs: JobSettings,
    pub webhooks: WebhookSettings,
    /// Where a job's `source_url` may point.
    pub sources: SourceSettings,
    /// The review queue at `/review`.
    pub review: ReviewSettings,
}

/// Bounds on what one request may make the service do.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest upload, checked on `Content-Length` and again while streaming (413).
    pub max_upload_bytes: u64,
    /// The longest video accepted, in seconds (checked before decoding).
    pub max_duration_s: f64,
    /// The most pixels in one frame (width × height).
    pub max_pixels: u64,
    /// The most frames (from the container's count, or duration × fps).
    pub max_frames: u64,
    /// The wall-clock limit on one verification.
    #[serde(with = "secs")]
    pub verify_timeout: Duration,
    /// The longest clip `POST /v1/verify` takes; longer ones go through `/v1/jobs`.
    pub sync_max_duration_s: f64,
    /// The most threads one verification uses (0: every core).
    pub verify_threads: usize,
    /// How the classifier reads a file: `auto` (spread over it; a large file at its key
    /// frames, about three decoded frames per triple), `whole` (spread over it whatever its
    /// size: every frame decoded, no stretch left out) or `key-frames`.
    pub classifier_read: verity_detect::classifier::score::Reading,
    /// Verifications (and signings) run at once in this process; more wait their turn
    /// (0: one per core).
    pub concurrent_verifications: usize,
    /// Requests one API key may make per minute, sustained (0: no limit).
    pub requests_per_minute: u32,
    /// Requests one API key may make at once above the sustained rate.
    pub burst: u32,
}

/// How jobs are run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Attempts before a job that keeps failing its worker ends as failed.
    pub max_attempts: u32,
    /// How long a running job's lease lasts without a heartbeat before another worker may take
    /// it again.
    #[serde(with = "secs")]
    pub lease: Duration,
    /// How often an idle worker looks for work.
    #[serde(with = "secs")]
    pub poll_interval: Duration,
}

/// Webhook delivery.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Deliver to loopback and private addresses (tests, and intranets that want it).
    pub allow_private: bool,
    /// The delays between attempts; the last is the final attempt.
    #[serde(with = "secs_list")]
    pub retry_delays: Vec<Duration>,
    /// How long one delivery may take.
    #[serde(with = "secs")]
    pub timeout: Duration,
}

/// Fetching a job's video from its `source_url`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// The hosts a `source_url` may name (exact names, compared case-insensitively). Empty (the
    /// default): `source_url` is refused and clients upload the file.
    pub allow: Vec<String>,
    /// Fetch from loopback and private addresses too (tests, and intranets that want it).
    pub allow_private: bool,
    /// How long one fetch may take, from the request to the last byte.
    #[serde(with = "secs")]
    pub timeout: Duration,
}

/// The review queue: its queues (routing policy), decisions, claims and sessions.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// Where finished jobs go, tried in order: the first queue whose rule matches takes the
    /// job (or closes it automatically, below its `auto_close_below`). A job no queue matches
    /// is not put up for review.
    pub queues: Vec<QueuePolicy>,
    /// Decisions beyond `approve`, `remove` and `escalate` (each a short word, such as
    /// `label-ai`).
    pub actions: Vec<String>,
    /// How long a claim on an item lasts; after it, another reviewer may take the item.
    #[serde(with = "secs")]
    pub claim_lease: Duration,
    /// How long a reviewer stays signed in.
    #[serde(with = "secs")]
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure`: set it when reviewers reach the service over TLS (a
    /// TLS proxy in front of it).
    pub secure_cookies: bool,
    /// Sign-in attempts allowed per name (or per API key) a minute (0: no limit); more are
    /// answered 429 with `Retry-After`.
    pub sign_ins_per_minute: u32,
}

/// One queue and the rule that fills it. Every condition given must hold.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueuePolicy {
    /// The queue's id in URLs: lowercase letters, digits and `-`.
    pub name: String,
    /// What reviewers see.
    pub title: String,
    /// The verdict labels it takes (any of them).
    #[serde(default)]
    pub verdicts: Vec<String>,
    /// The C2PA states it takes (any of them): trusted, valid (a valid signature from a signer
    /// not trusted here), invalid, absent, remote.
    #[serde(default)]
    pub c2pa_states: Vec<String>,
    /// Only jobs whose credentials were (or were not) recovered through the watermark.
    #[serde(default)]
    pub recovered_via_watermark: Option<bool>,
    /// Only jobs that the classifier scores at least this high (0 to 1).
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Jobs that match but score below this (or are not scored) are closed automatically,
    /// and recorded as such.
    #[serde(default)]
    pub auto_close_below: Option<f64>,
}

impl QueuePolicy {
    fn new(name: &str, title: &str) -> QueuePolicy {
        QueuePolicy {
            name: name.into(),
            title: title.into(),
            verdicts: Vec::new(),
            c2pa_states: Vec::new(),
            recovered_via_watermark: None,
            min_score: None,
            auto_close_below: None,
        }
    }
}

/// The queue that escalated items go to; only leads and admins review it.
pub const ESCALATED_QUEUE: &str = "escalated";

impl Default for ReviewSettings {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ReviewSettings {
            queues: vec![
                QueuePolicy {
                    verdicts: strings(&["tampered", "invalid-credentials"]),
                    ..QueuePolicy::new("tampered", "Tampered or invalid credentials")
                },
                QueuePolicy {
                    recovered_via_watermark: Some(true),
                    ..QueuePolicy::new("recovered", "Credentials recovered via watermark")
                },
                QueuePolicy {
                    c2pa_states: strings(&["valid"]),
                    ..QueuePolicy::new("untrusted-signer", "Signed by an untrusted issuer")
                },
                QueuePolicy {
                    verdicts: strings(&["likely-synthetic", "no-evidence"]),
                    auto_close_below: Some(0.5),
                    ..QueuePolicy::new("likely-synthetic", "Likely synthetic, no credentials")
                },
            ],
            actions: Vec::new(),
            claim_lease: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            sign_ins_per_minute: 10,
        }
    }
}

impl ReviewSettings {
    /// Checks the policy: unique queue names of safe characters, thresholds in 0 to 1,
    /// decision words that do not shadow the built-in ones.
    pub fn check(&self) -> Result<(), String> {
        let slug = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let mut seen = std::collections::BTreeSet::new();
        for q in &self.queues {
            if !slug(&q.name) {
                return Err(format!(
                    "review queue `{}`: a name is 1 to 64 lowercase letters, digits and `-`",
                    q.name
                ));
            }
            if q.name == ESCALATED_QUEUE {
                return Err(format!(
                    "review queue `{ESCALATED_QUEUE}` is built in (escalated items go there)"
                ));
            }
            if !seen.insert(q.name.as_str()) {
                return Err(format!("review queue `{}` is named twice", q.name));
            }
            for t in [q.min_score, q.auto_close_below].into_iter().flatten() {
                if !(0.0..=1.0).contains(&t) {
                    return Err(format!(
                        "review queue `{}`: a threshold of {t} is outside 0 to 1",
                        q.name
                    ));
                }
            }
        }
        for a in &self.actions {
            if !slug(a) || ["approve", "remove", "escalate", "auto-closed"].contains(&a.as_str()) {
                return Err(format!(
                    "review action `{a}`: a custom action is 1 to 64 lowercase letters, digits and `-`, other than approve, remove, escalate and auto-closed"
                ));
            }
        }
        Ok(())
    }
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            allow: Vec::new(),
            allow_private: false,
            timeout: Duration::from_secs(300),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 500 * 1000 * 1000,
            max_duration_s: 3600.0,
            max_pixels: 3840 * 2160,
            max_frames: 216_000,
            verify_timeout: Duration::from_secs(600),
            sync_max_duration_s: 60.0,
            verify_threads: 0,
            classifier_read: verity_detect::classifier::score::Reading::Auto,
            concurrent_verifications: 0,
            requests_per_minute: 600,
            burst: 60,
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_attempts: 3,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
        }
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private: false,
            retry_delays: [5, 300, 1800, 7200, 18000, 36000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            timeout: Duration::from_secs(15),
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig::new(PathBuf::from("verity-home"))
    }
}

impl ServiceConfig {
    /// The embedded defaults for the home `home`: loopback port 8080, data under the home.
    pub fn new(home: PathBuf) -> Self {
        ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: home.join("service"),
            database: None,
            storage: None,
            storage_options: StorageOptions::default(),
            home,
            workers: 1,
            worker_only: false,
            public_resolution: false,
            limits: Limits::default(),
            jobs: JobSettings::default(),
            webhooks: WebhookSettings::default(),
            sources: SourceSettings::default(),
            review: ReviewSettings::default(),
        }
    }

    /// Reads a TOML file over the defaults for `home`; keys it does not name keep them.
    pub fn from_toml(text: &str, home: PathBuf) -> Result<Self, toml::de::Error> {
        let mut base = toml::Table::try_from(ServiceConfigToml::from(ServiceConfig::new(home)))
            .unwrap_or_default();
        let over: toml::Table = toml::from_str(text)?;
        merge(&mut base, over);
        base.try_into()
    }

    pub fn db_path(&self) -> PathBuf {
        self.data.join("service.db")
    }

    /// Where the database is: `database` when set, else `data/service.db`.
    pub fn db_target(&self) -> Result<crate::db::Target, crate::ServiceError> {
        match &self.database {
            Some(d) => crate::db::Target::parse(&d.0).map_err(crate::ServiceError::Config),
            None => Ok(crate::db::Target::Sqlite(self.db_path())),
        }
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.data.join("uploads")
    }

    /// Opens the object store: `storage` when set, else `data/store`.
    pub fn open_storage(&self) -> Result<crate::storage::Storage, crate::ServiceError> {
        match &self.storage {
            Some(url) => crate::storage::Storage::open(&url.0, self.storage_options.0.clone()),
            None => crate::storage::Storage::local(&self.data.join("store")),
        }
    }
}

/// A URL that may hold a password (`--database`, `--storage`): `Debug` shows it without one.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(pub String);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::db::redact_url(&self.0))
    }
}

/// An object store's settings: `Debug` shows their names only (they hold credentials).
#[derive(Clone, Default)]
pub struct StorageOptions(pub Vec<(String, String)>);

impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// The defaults as TOML values, so that a file overrides them key by key.
#[derive(serde::Serialize)]
struct ServiceConfigToml {
    listen: String,
    data: PathBuf,
    home: PathBuf,
    workers: usize,
    worker_only: bool,
    public_resolution: bool,
}

impl From<ServiceConfig> for ServiceConfigToml {
    fn from(c: ServiceConfig) -> Self {
        ServiceConfigToml {
            listen: c.listen.to_string(),
            data: c.data,
            home: c.home,
            workers: c.workers,
            worker_only: c.worker_only,
            public_resolution: c.public_resolution,
        }
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = f64::deserialize(d)?;
        super::duration(s).map_err(serde::de::Error::custom)
    }
}

mod secs_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<f64>::deserialize(d)?
            .into_iter()
            .map(|s| super::duration(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

fn duration(s: f64) -> Result<Duration, String> {
    if s.is_finite() && (0.0..=86_400.0 * 7.0).contains(&s) {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!("{s} seconds: expected 0 to 604800"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_only_what_it_names() -> Result<(), Box<dyn std::error::Error>> {
        let c = ServiceConfig::from_toml(
            "workers = 4\n[limits]\nmax_upload_bytes = 1000\nverify_timeout = 2.5\n",
            PathBuf::from("/h"),
        )?;
        assert_eq!(c.workers, 4);
        assert_eq!(c.limits.max_upload_bytes, 1000);
        assert_eq!(c.limits.verify_timeout, Duration::from_millis(2500));
        assert_eq!(c.limits.max_duration_s, Limits::default().max_duration_s);
        assert_eq!(c.data, PathBuf::from("/h/service"));
        assert_eq!(c.listen.port(), 8080);
        assert_eq!(
            c.limits.classifier_read,
            verity_detect::classifier::score::Reading::Auto
        );
        let c = ServiceConfig::from_toml(
            "[limits]\nclassifier_read = \"whole\"\n",
            PathBuf::from("/h"),
        )?;
        assert_eq!(
            c.limits.classifier_read,
            verity_detect::classifier::score::Reading::Whole
        );
        Ok(())
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_refused() {
        assert!(ServiceConfig::from_toml("wrokers = 2", PathBuf::from("/h")).is_err());
        assert!(ServiceConfig::from_toml("[jobs]\nlease = -1", PathBuf::from("/h")).is_err());
        let bad = "[limits]\nclassifier_read = \"all\"";
        assert!(ServiceConfig::from_toml(bad, PathBuf::from("/h")).is_err());
    }
}
