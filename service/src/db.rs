//! The service's database: SQLite in WAL mode under the service's data folder (the default, one
//! machine), or PostgreSQL (`--database postgres://…`), which many replicas share. Migrated at
//! start, per engine; on Postgres the migrations take an advisory lock, so replicas that start
//! at once migrate one after another.
//!
//! A query is written once, with `$1`-style parameters (both engines read them), and run through
//! [`with_pool!`] or [`with_tx!`], which type it for whichever engine this is.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Result, ServiceError};

/// Where the database is. `Debug` shows it without a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file (made if missing).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host:port/db`; the password from the URL, `PGPASSWORD`
    /// or the password file).
    Postgres(String),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.shown())
    }
}

impl Target {
    /// `postgres://…` or `postgresql://…` is Postgres; `sqlite://PATH` or a plain path is SQLite.
    pub fn parse(s: &str) -> std::result::Result<Target, String> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Target::Postgres(s.to_string()))
        } else if let Some(path) = s.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "sqlite:// needs a file path, e.g. sqlite:///srv/verity/service.db".into(),
                );
            }
            Ok(Target::Sqlite(path.into()))
        } else if s.contains("://") {
            Err(format!(
                "`{}`: a database is postgres://… or a SQLite file path",
                redact_url(s)
            ))
        } else if s.is_empty() {
            Err("an empty database location".into())
        } else {
            Ok(Target::Sqlite(s.into()))
        }
    }

    /// The location as logs and errors show it: a URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(u) => redact_url(u),
        }
    }
}

/// A URL with any password replaced by `***` (and any query string dropped: it may carry one).
pub fn redact_url(u: &str) -> String {
    let (scheme, rest) = match u.split_once("://") {
        Some(x) => x,
        None => return "***".into(),
    };
    // The last `@` ends the credentials even when a password holds `/`, `?` or `#`; then the
    // query and fragment go (they may carry one too).
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let host = host.split(['?', '#']).next().unwrap_or("");
    match auth {
        Some(a) => {
            let user = a.split(':').next().unwrap_or("");
            if a.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => format!("{scheme}://{host}"),
    }
}

/// The engine's connection pool.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either engine.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Runs `$body` with `$p` bound to the database's pool, typed for its engine: the body is
/// written once and compiled once per engine.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}
pub use crate::with_pool;

/// Runs `$body` with `$c` bound to the transaction's connection (`&mut` the engine's
/// connection), as [`with_pool!`] does for a pool.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub use crate::with_tx;

/// The service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    location: String,
}

impl Db {
    /// Opens (creating) the SQLite database at `path` and runs the migrations.
    pub async fn open(path: &Path) -> Result<Db> {
        Db::connect(&Target::Sqlite(path.to_path_buf())).await
    }

    /// Opens the database at `target` and runs the migrations (the queue engine's and ours).
    pub async fn connect(target: &Target) -> Result<Db> {
        let location = target.shown();
        let wrap = |source: sqlx::Error| ServiceError::Database {
            location: location.clone(),
            source,
        };
        let pool = match target {
            Target::Sqlite(path) => Pool::Sqlite(open_sqlite(path, &location).await?),
            Target::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url).map_err(wrap)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await
                    .map_err(wrap)?;
                // Two sets of migrations share sqlx's bookkeeping table: the queue engine's and
                // ours. Each ignores the other's versions; each holds the advisory lock while
                // it runs.
                let mut queue = apalis_postgres::PostgresStorage::<()>::migrations();
                queue.set_ignore_missing(true);
                queue.run(&pool).await?;
                let mut own = sqlx::migrate!("./migrations/postgres");
                own.set_ignore_missing(true);
                own.run(&pool).await?;
                Pool::Postgres(pool)
            }
        };
        Ok(Db { pool, location })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Where the database is, without any password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// A transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): every
    /// transaction here writes, and one that read first under a deferred `BEGIN` would fail at
    /// its first write, without waiting, whenever another connection had written in between
    /// (a cancel racing a run's end gave a 500); taken at the start, the lock is waited for
    /// under the busy timeout like any other.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        audit_in(&mut tx, actor, action, subject, detail).await?;
        tx.commit().await
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        with_pool!(self, |p| sqlx::query("SELECT 1").execute(p).await.is_ok())
    }
}

/// Appends to the audit log inside a transaction.
pub async fn audit_in(
    tx: &mut Tx,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    let detail = detail.to_string();
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(&detail)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

async fn open_sqlite(path: &Path, location: &str) -> Result<SqlitePool> {
    let wrap = |source: sqlx::Error| ServiceError::Database {
        location: location.to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ServiceError::io(dir, e))?;
    }
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .map_err(wrap)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .map_err(wrap)?;
    // Two sets of migrations share sqlx's bookkeeping table: the queue engine's and ours.
    // Each ignores the other's versions.
    let mut queue = apalis_sqlite::SqliteStorage::<()>::migrations();
    queue.set_ignore_missing(true);
    queue.run(&pool).await?;
    let mut own = sqlx::migrate!("./migrations/sqlite");
    own.set_ignore_missing(true);
    own.run(&pool).await?;
    // The database holds webhook secrets and key hashes: only the owner reads it (SQLite
    // gives its -wal and -shm files the database file's mode).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ServiceError::io(path, e))?;
    }
    Ok(pool)
}

/// Text as both engines store it: Postgres's text holds no NUL character, so one becomes U+FFFD
/// (SQLite would keep it; the two then store the same).
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A stored time as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// An RFC 3339 time as stored milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_hide_passwords() {
        assert_eq!(
            Target::parse("/srv/v/service.db"),
            Ok(Target::Sqlite("/srv/v/service.db".into()))
        );
        assert_eq!(
            Target::parse("sqlite:///srv/v.db"),
            Ok(Target::Sqlite("/srv/v.db".into()))
        );
        let pg = Target::parse("postgres://verity:hunter2secret@db:5432/verity?sslmode=require");
        let Ok(pg) = pg else { panic!("{pg:?}") };
        assert!(matches!(pg, Target::Postgres(_)));
        let shown = pg.shown();
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert_eq!(shown, "postgres://verity:***@db:5432/verity");
        assert_eq!(redact_url("postgresql://a@h/d"), "postgresql://a@h/d");
        // A password holding `?`, `/` or `#` is hidden whole.
        for pw in ["pa?ss", "pa/ss", "pa#ss"] {
            let shown = redact_url(&format!("postgres://u:{pw}@h:5432/d"));
            assert_eq!(shown, "postgres://u:***@h:5432/d", "{pw}");
        }
        assert!(!format!("{pg:?}").contains("hunter2secret"));
        let bad = Target::parse("mysql://u:pw123@h/d");
        assert!(bad.as_ref().is_err_and(|e| !e.contains("pw123")), "{bad:?}");
        assert!(Target::parse("").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    /// A transaction holds SQLite's write lock from its start: another connection that will not
    /// wait is refused until it ends, so a read-then-write transaction never finds its read
    /// overtaken by another writer's commit.
    #[tokio::test]
    async fn a_sqlite_transaction_holds_the_write_lock_from_its_start() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).await.unwrap();
        let other_opts = SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(Duration::ZERO);
        let mut other = sqlx::SqliteConnection::connect_with(&other_opts)
            .await
            .unwrap();
        let write = "INSERT INTO audit (at, actor, action, subject, detail) \
                     VALUES (0, 'test', 'a', 's', '{}')";
        let tx = db.begin().await.unwrap();
        assert!(sqlx::query(write).execute(&mut other).await.is_err());
        tx.commit().await.unwrap();
        sqlx::query(write).execute(&mut other).await.unwrap();
    }

    #[test]
    fn times_round_trip() {
        let ms = 1_764_800_000_123;
        let s = rfc3339(ms);
        assert_eq!(s, "2025-12-03T22:13:20.123Z");
        assert_eq!(parse_rfc3339(&s), Some(ms));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
