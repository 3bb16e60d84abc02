//! The embedded database: SQLite in WAL mode under the service's data folder, migrated at start.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Result, ServiceError};

/// The service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
    location: String,
}

impl Db {
    /// Opens (creating) the database at `path` and runs the migrations.
    pub async fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ServiceError::io(dir, e))?;
        }
        let location = path.display().to_string();
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| ServiceError::Database {
                location: location.clone(),
                source,
            })?
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
            .map_err(|source| ServiceError::Database {
                location: location.clone(),
                source,
            })?;
        // Two sets of migrations share sqlx's bookkeeping table: the queue engine's and ours.
        // Each ignores the other's versions.
        let mut queue = apalis_sqlite::SqliteStorage::<()>::migrations();
        queue.set_ignore_missing(true);
        queue.run(&pool).await?;
        let mut own = sqlx::migrate!("./migrations");
        own.set_ignore_missing(true);
        own.run(&pool).await?;
        // The database holds webhook secrets and key hashes: only the owner reads it (SQLite
        // gives its -wal and -shm files the database file's mode).
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| ServiceError::io(path, e))?;
        }
        Ok(Db { pool, location })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(now_ms())
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(detail.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
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
    fn times_round_trip() {
        let ms = 1_764_800_000_123;
        let s = rfc3339(ms);
        assert_eq!(s, "2025-12-03T22:13:20.123Z");
        assert_eq!(parse_rfc3339(&s), Some(ms));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
