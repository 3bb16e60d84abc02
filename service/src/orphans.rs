//! Objects the database has let go of, removed from the object store even when the process
//! stops half-way.
//!
//! Deleting a stored object cannot share a transaction with the database. So the transaction
//! that lets go of an object (a job's end, a cancel, a decided review item) also records its key
//! in `store_orphans`; after the commit the object is deleted, then its row. A process killed
//! between the commit and the delete leaves the row, and a later sweep deletes the object: at
//! every start (for up to [`STARTUP_SWEEP_LIMIT`] before the service listens), then every
//! minute on every replica.
//!
//! An object stored before the row that will hold it is written (an upload before its job, a
//! review item's video before its item) is reserved first, due only after [`RESERVATION_GRACE`];
//! the transaction that writes the holding row takes the reservation back ([`take_in`]). So a copy
//! whose row was never written (the process stopped between the two) goes too. A sweep takes a
//! row before it deletes the object (its `claims` count rises and its due time moves on by
//! [`RETRY_AFTER`]), and a reservation once taken by a sweep cannot be taken back: a job's
//! transaction and a sweep that meet on one key are ordered by the row's lock (SQLite's
//! database lock), and either the job holds the object and the sweep leaves it, or the sweep
//! deletes it and the job is not made.
//!
//! ```text
//! record_in(tx, key, due)   in the transaction that lets go of `key`
//! reserve(db, key)          before an object is stored; take_in(tx, key) with its holding row
//! remove(db, storage, key)  after the commit: the object, then its row
//! sweep(db, storage, now)   rows due by `now`, a batch at a time
//! due(db, now)              how many wait: due, or taken and not deleted (the gauge)
//! ```

use std::time::Duration;

use crate::db::{self, Db, Tx, with_pool, with_tx};
use crate::error::Result;
use crate::storage::Storage;

/// How long an object may take from being stored to its holding row being written before an
/// unclaimed copy is taken for an orphan: far longer than storing one and writing a row take.
pub const RESERVATION_GRACE: Duration = Duration::from_secs(3600);

/// How often each replica sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How long a start waits for its sweep before it listens (a store that does not answer must
/// not keep the service down); the periodic sweeps carry on with the rest.
pub const STARTUP_SWEEP_LIMIT: Duration = Duration::from_secs(30);

/// How long a row a sweep took waits before the next try, when its delete failed or its sweep
/// stopped: rows that keep failing move back and leave the batch to the others.
pub const RETRY_AFTER: Duration = Duration::from_secs(600);

/// The most rows one sweep takes (the next takes the rest).
const SWEEP_BATCH: i64 = 500;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Records in `tx` that `key` is to be deleted, not before `due_at` (ms since the epoch).
pub async fn record_in(tx: &mut Tx, key: &str, due_at: i64) -> Result<()> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO store_orphans (key, due_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at",
    )
    .bind(key)
    .bind(due_at)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Reserves `key` before an object is stored there, due after [`RESERVATION_GRACE`]: unless
/// the transaction that writes its holding row takes it back ([`take_in`]), a sweep deletes it
/// then.
pub async fn reserve(dbh: &Db, key: &str) -> Result<()> {
    let due = db::now_ms().saturating_add(ms(RESERVATION_GRACE));
    let mut tx = dbh.begin().await?;
    record_in(&mut tx, key, due).await?;
    tx.commit().await
}

/// Takes a reservation back in `tx`, whose row now holds the object; `false` when there is none
/// to take (a sweep took it first, and the object is gone or going): the caller must then not
/// commit a row that holds `key`.
pub async fn take_in(tx: &mut Tx, key: &str) -> Result<bool> {
    let taken = with_tx!(tx, |c| sqlx::query(
        "DELETE FROM store_orphans WHERE key = $1 AND claims = 0"
    )
    .bind(key)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(taken == 1)
}

/// Deletes a recorded object, then its row. A failure is logged and the row kept: a later sweep
/// tries again.
pub async fn remove(dbh: &Db, storage: &Storage, key: &str) -> bool {
    if let Err(e) = storage.delete(key).await {
        tracing::warn!(key = %key, error = %crate::error_chain(&e), "could not remove a stored object; a later sweep tries again");
        return false;
    }
    let forgot = with_pool!(dbh, |p| sqlx::query(
        "DELETE FROM store_orphans WHERE key = $1"
    )
    .bind(key)
    .execute(p)
    .await
    .map(|_| ()));
    if let Err(e) = forgot {
        // The object is gone; a sweep deletes it again (a missing object is no error) and
        // then the row.
        tracing::warn!(key = %key, error = %crate::error_chain(&e), "removed a stored object but not its record");
    }
    true
}

/// Deletes recorded objects due by `now` (ms since the epoch), up to a batch, each taken first
/// (see the module's note); answers how many went.
pub async fn sweep(dbh: &Db, storage: &Storage, now: i64) -> Result<usize> {
    let keys: Vec<String> = with_pool!(dbh, |p| sqlx::query_scalar(
        "SELECT key FROM store_orphans WHERE due_at <= $1 ORDER BY due_at LIMIT $2"
    )
    .bind(now)
    .bind(SWEEP_BATCH)
    .fetch_all(p)
    .await)?;
    let retry_at = now.saturating_add(ms(RETRY_AFTER));
    let mut removed = 0;
    for key in keys {
        // Taken only while still due: a reservation its job took back meanwhile is gone, and
        // one a job is taking back now is waited for (the row's lock).
        let taken = with_pool!(dbh, |p| {
            sqlx::query(
            "UPDATE store_orphans SET claims = claims + 1, due_at = $1 WHERE key = $2 AND due_at <= $3"
        )
        .bind(retry_at)
        .bind(&key)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        if taken == 1 && remove(dbh, storage, &key).await {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The sweep a start runs before it listens, bounded by [`STARTUP_SWEEP_LIMIT`]; what it
/// leaves, the periodic sweeps take.
pub async fn startup_sweep(dbh: &Db, storage: &Storage) {
    match tokio::time::timeout(STARTUP_SWEEP_LIMIT, sweep(dbh, storage, db::now_ms())).await {
        Ok(swept) => log_sweep(swept),
        Err(_) => tracing::warn!(
            limit_s = STARTUP_SWEEP_LIMIT.as_secs(),
            "the object store's sweep ran past its limit at start; the periodic sweeps go on with it"
        ),
    }
}

/// A sweep's outcome in the log (nothing when there was nothing to remove).
fn log_sweep(swept: Result<usize>) {
    match swept {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed stored objects the database let go of"),
        Err(e) => {
            tracing::warn!(error = %crate::error_chain(&e), "could not sweep the object store")
        }
    }
}

/// How many recorded objects wait for their delete at `now` (ms since the epoch): those due,
/// and those a sweep took and has not deleted (a store that refuses deletes keeps them here).
pub async fn due(dbh: &Db, now: i64) -> Result<i64> {
    let n: i64 = with_pool!(dbh, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM store_orphans WHERE due_at <= $1 OR claims > 0"
    )
    .bind(now)
    .fetch_one(p)
    .await)?;
    Ok(n)
}

/// Sweeps every [`SWEEP_EVERY`] until `shutdown` resolves (a sweep under way is dropped: the
/// rows it took wait [`RETRY_AFTER`]).
pub async fn run_sweeps(
    dbh: Db,
    storage: Storage,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            swept = sweep(&dbh, &storage, db::now_ms()) => log_sweep(swept),
        }
    }
}
