//! The review queue's records: items (made when a job ends), claims with a lease, decisions
//! (append-only), and the audit entries that go with each.

use std::path::Path;

use serde::Serialize;

use crate::config::{ESCALATED_QUEUE, ReviewSettings};
use crate::db::{self, Db, Tx, with_pool, with_tx};
use crate::error::Result;
use crate::review::policy::{Facts, Routing};

/// An item as the pages show it.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub job_id: String,
    pub queue: String,
    pub open: bool,
    pub file_name: String,
    pub file_sha256: Option<String>,
    pub payload: Option<String>,
    pub verdict: String,
    pub score: Option<f64>,
    pub report: serde_json::Value,
    pub video: Option<String>,
    pub created_at: i64,
    pub claimed_by: Option<String>,
    pub claim_until: Option<i64>,
    pub decision: Option<String>,
    pub closed_at: Option<i64>,
}

type ItemRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<f64>,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

macro_rules! item_columns {
    () => {
        "id, job_id, queue, status, file_name, file_sha256, payload, verdict, score, report, video_path, created_at, claimed_by, claim_until, decision, closed_at"
    };
}

fn item_of(r: ItemRow) -> Item {
    Item {
        id: r.0,
        job_id: r.1,
        queue: r.2,
        open: r.3 == "open",
        file_name: r.4,
        file_sha256: r.5,
        payload: r.6,
        verdict: r.7,
        score: r.8,
        report: serde_json::from_str(&r.9).unwrap_or_default(),
        video: r.10,
        created_at: r.11,
        claimed_by: r.12,
        claim_until: r.13,
        decision: r.14,
        closed_at: r.15,
    }
}

/// What routing a finished job did.
#[derive(Debug)]
pub struct Recorded {
    pub item_id: String,
    /// The video the item keeps (an open item whose video was stored), or `None`.
    pub video: Option<String>,
}

/// Where items' videos are kept in the object store.
pub const VIDEO_PREFIX: &str = "review/";

/// The containers a kept video may be served as, by extension, with their media types; any
/// other file is kept as `video.bin` and served as bytes.
pub const VIDEO_TYPES: [(&str, &str); 6] = [
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("mkv", "video/x-matroska"),
    ("ts", "video/mp2t"),
];

/// The media type a kept video is served with.
pub fn video_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    VIDEO_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, t)| t)
}

/// The item a job's routing makes.
pub fn item_id(job_id: &str) -> String {
    format!("item_{}", job_id.trim_start_matches("job_"))
}

/// A new object key for an open item's video: `review/<item>/<random>/video.<ext>`, `ext` that
/// of the verified file when it is a known container, else `bin`. Each run of a job stores its
/// own copy, so a second run of a job never writes over (or sweeps) the copy the first one's
/// item holds.
pub fn video_key(job_id: &str, video_ext: Option<&str>) -> Result<String> {
    item_video_key(&item_id(job_id), video_ext)
}

/// [`video_key`] for the item `item`.
pub fn item_video_key(item: &str, video_ext: Option<&str>) -> Result<String> {
    let ext = video_ext
        .map(str::to_ascii_lowercase)
        .filter(|e| VIDEO_TYPES.iter().any(|(k, _)| k == e))
        .unwrap_or_else(|| "bin".into());
    let mut r = [0u8; 8];
    crate::keys::fill_random(&mut r)?;
    Ok(format!(
        "{VIDEO_PREFIX}{}/{}/video.{ext}",
        crate::storage::safe_name(item),
        crate::keys::hex(&r)
    ))
}

/// Records a finished job's routing in the job's own transaction: an open item (keeping
/// `video`, a key from [`video_key`] already stored, when there is one) or an item closed
/// automatically, with its audit entry.
pub async fn record(
    tx: &mut Tx,
    job_id: &str,
    file_name: &str,
    report: &verity_detect::Report,
    routing: &Routing,
    video: Option<&str>,
) -> Result<Recorded> {
    let facts = Facts::of(report);
    let id = item_id(job_id);
    let now = db::now_ms();
    let (queue, open, reason) = match routing {
        Routing::Open { queue } => (queue.as_str(), true, None),
        Routing::AutoClosed { queue, reason } => (queue.as_str(), false, Some(reason.as_str())),
    };
    let keep = video.filter(|_| open).map(str::to_string);
    with_tx!(&mut *tx, |c| sqlx::query(
        "INSERT INTO review_items (id, job_id, queue, status, file_name, file_sha256, payload,
            verdict, score, report, video_path, created_at, decision, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(job_id)
    .bind(queue)
    .bind(if open { "open" } else { "closed" })
    .bind(file_name)
    .bind(&report.file.sha256)
    .bind(&facts.payload)
    .bind(&facts.verdict)
    .bind(facts.score)
    .bind(serde_json::to_string(report).unwrap_or_default())
    .bind(&keep)
    .bind(now)
    .bind((!open).then_some("auto-closed"))
    .bind((!open).then_some(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let (action, detail) = match reason {
        None => (
            "review.routed",
            serde_json::json!({"queue": queue, "job": job_id, "verdict": facts.verdict, "score": facts.score}),
        ),
        Some(r) => (
            "review.auto_closed",
            serde_json::json!({"queue": queue, "job": job_id, "verdict": facts.verdict, "score": facts.score, "reason": r}),
        ),
    };
    with_tx!(&mut *tx, |c| sqlx::query(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(now)
    .bind("policy")
    .bind(action)
    .bind(&id)
    .bind(detail.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if let Some(r) = reason {
        with_tx!(&mut *tx, |c| {
            sqlx::query(
            "INSERT INTO review_decisions (item_id, who, action, note, queue, at) VALUES ($1, 'policy', 'auto-closed', $2, $3, $4)",
        )
        .bind(&id)
        .bind(r)
        .bind(queue)
        .bind(now)
        .execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(Recorded {
        item_id: id,
        video: keep,
    })
}

/// A queue's line on the queues page.
#[derive(Clone, Debug, Serialize)]
pub struct QueueSummary {
    pub name: String,
    pub title: String,
    pub open: i64,
    /// When the oldest open item came in (ms).
    pub oldest_at: Option<i64>,
    /// Open items not under someone's live claim.
    pub unclaimed: i64,
    /// Only leads and admins take this queue's items.
    pub leads_only: bool,
}

pub async fn queues(dbh: &Db, settings: &ReviewSettings) -> Result<Vec<QueueSummary>> {
    let now = db::now_ms();
    let rows: Vec<(String, i64, Option<i64>, i64)> = with_pool!(dbh, |p| {
        sqlx::query_as(
        "SELECT queue, COUNT(*), MIN(created_at),
                CAST(SUM(CASE WHEN claimed_by IS NULL OR claim_until < $1 THEN 1 ELSE 0 END) AS BIGINT)
         FROM review_items WHERE status = 'open' GROUP BY queue",
    )
    .bind(now)
    .fetch_all(p).await
    })?;
    let named = settings
        .queues
        .iter()
        .map(|q| (q.name.clone(), q.title.clone(), false))
        .chain(std::iter::once((
            ESCALATED_QUEUE.to_string(),
            "Escalated".to_string(),
            true,
        )));
    Ok(named
        .map(|(name, title, leads_only)| {
            let r = rows.iter().find(|r| r.0 == name);
            QueueSummary {
                open: r.map_or(0, |r| r.1),
                oldest_at: r.and_then(|r| r.2),
                unclaimed: r.map_or(0, |r| r.3),
                name,
                title,
                leads_only,
            }
        })
        .collect())
}

/// Claims the oldest open item of `queue` that nobody holds (or this reviewer's own claim,
/// first), for `lease_ms`. One statement: two reviewers never get the same item.
pub async fn claim_next(dbh: &Db, queue: &str, who: &str, lease_ms: i64) -> Result<Option<String>> {
    let now = db::now_ms();
    // On Postgres the inner SELECT skips rows another claim is locking (it would otherwise
    // wait for it, then find the row taken and claim nothing); SQLite runs one write at a time.
    const SQLITE: &str = "UPDATE review_items SET claimed_by = $1, claim_until = $2
         WHERE id = (
             SELECT id FROM review_items
             WHERE queue = $3 AND status = 'open'
               AND (claimed_by IS NULL OR claim_until < $4 OR claimed_by = $1)
             ORDER BY (claimed_by IS NOT DISTINCT FROM $1) DESC, created_at, id LIMIT 1)
           AND (claimed_by IS NULL OR claim_until < $4 OR claimed_by = $1)
         RETURNING id";
    const POSTGRES: &str = "UPDATE review_items SET claimed_by = $1, claim_until = $2
         WHERE id = (
             SELECT id FROM review_items
             WHERE queue = $3 AND status = 'open'
               AND (claimed_by IS NULL OR claim_until < $4 OR claimed_by = $1)
             ORDER BY (claimed_by IS NOT DISTINCT FROM $1) DESC, created_at, id LIMIT 1
             FOR UPDATE SKIP LOCKED)
           AND (claimed_by IS NULL OR claim_until < $4 OR claimed_by = $1)
         RETURNING id";
    let sql = if dbh.is_postgres() { POSTGRES } else { SQLITE };
    let id: Option<String> = with_pool!(dbh, |p| sqlx::query_scalar(sql,)
        .bind(who)
        .bind(now.saturating_add(lease_ms))
        .bind(queue)
        .bind(now)
        .fetch_optional(p)
        .await)?;
    if let Some(id) = &id {
        dbh.audit(
            who,
            "review.claimed",
            id,
            &serde_json::json!({"queue": queue, "until": db::rfc3339(now + lease_ms)}),
        )
        .await?;
    }
    Ok(id)
}

pub async fn item(dbh: &Db, id: &str) -> Result<Option<Item>> {
    let row: Option<ItemRow> = with_pool!(dbh, |p| sqlx::query_as(concat!(
        "SELECT ",
        item_columns!(),
        " FROM review_items WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(item_of))
}

/// Whether `who` holds a live claim on the item.
pub fn holds(item: &Item, who: &str) -> bool {
    item.open
        && item.claimed_by.as_deref() == Some(who)
        && item.claim_until.is_some_and(|t| t >= db::now_ms())
}

/// What a decision did.
#[derive(Debug, PartialEq, Eq)]
pub enum Decided {
    /// Closed with the decision; its video in the object store (if any), recorded as let go
    /// of, is to be removed.
    Closed { video: Option<String> },
    /// Moved to the escalated queue, unclaimed.
    Escalated,
    /// The reviewer does not hold a live claim on it (expired, taken, or closed).
    NotHeld,
}

/// Records a decision by the reviewer who holds the item's claim.
pub async fn decide(dbh: &Db, id: &str, who: &str, action: &str, note: &str) -> Result<Decided> {
    let now = db::now_ms();
    let mut tx = dbh.begin().await?;
    // The row as it is before the change (the queue it is decided in, the video it keeps),
    // read by a write that changes nothing: the transaction holds the write lock from its
    // first statement, so no other write can come between this and the change.
    let before: Option<(String, Option<String>)> = with_tx!(&mut tx, |c| sqlx::query_as(
        "UPDATE review_items SET claimed_by = claimed_by
         WHERE id = $1 AND status = 'open' AND claimed_by = $2 AND claim_until >= $3
         RETURNING queue, video_path",
    )
    .bind(id)
    .bind(who)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    let Some((queue, video)) = before else {
        tx.rollback().await?;
        return Ok(Decided::NotHeld);
    };
    // A video in the object store (not a path kept before the store, which it never holds).
    let video = video.filter(|k| k.starts_with(VIDEO_PREFIX));
    let escalate = action == "escalate";
    if escalate {
        with_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE review_items SET queue = $1, claimed_by = NULL, claim_until = NULL WHERE id = $2",
        )
        .bind(ESCALATED_QUEUE)
        .bind(id)
        .execute(c).await.map(|r| r.rows_affected())
        })?;
    } else {
        with_tx!(&mut tx, |c| sqlx::query(
            "UPDATE review_items SET status = 'closed', decision = $1, closed_at = $2,
                claim_until = NULL, video_path = NULL WHERE id = $3",
        )
        .bind(action)
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if let Some(key) = &video {
            // The item lets go of its video: deleted after the commit, or by a sweep.
            crate::orphans::record_in(&mut tx, key, now).await?;
        }
    }
    with_tx!(&mut tx, |c| {
        sqlx::query(
        "INSERT INTO review_decisions (item_id, who, action, note, queue, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(who)
    .bind(action)
    .bind(note)
    .bind(&queue)
    .bind(now)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    with_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(now)
    .bind(who)
    .bind("review.decided")
    .bind(id)
    .bind(serde_json::json!({"action": action, "note": note, "queue": queue}).to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(if escalate {
        Decided::Escalated
    } else {
        Decided::Closed { video }
    })
}

/// A decision, with the item it was on.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub item_id: String,
    pub job_id: String,
    pub file_name: String,
    pub file_sha256: Option<String>,
    pub payload: Option<String>,
    pub verdict: String,
    pub queue: String,
    pub who: String,
    pub action: String,
    pub note: String,
    pub at: String,
}

type DecisionRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    i64,
);

fn decision_of(r: DecisionRow) -> Decision {
    Decision {
        item_id: r.0,
        job_id: r.1,
        file_name: r.2,
        file_sha256: r.3,
        payload: r.4,
        verdict: r.5,
        queue: r.6,
        who: r.7,
        action: r.8,
        note: r.9,
        at: db::rfc3339(r.10),
    }
}

macro_rules! decision_select {
    () => {
        "SELECT d.item_id, i.job_id, i.file_name, i.file_sha256, i.payload,
            i.verdict, d.queue, d.who, d.action, d.note, d.at
         FROM review_decisions d JOIN review_items i ON i.id = d.item_id "
    };
}

/// Decisions on this item and on others of the same file or the same watermark payload,
/// newest first.
pub async fn history(dbh: &Db, item: &Item) -> Result<Vec<Decision>> {
    let rows: Vec<DecisionRow> = with_pool!(dbh, |p| sqlx::query_as(concat!(
        decision_select!(),
        "WHERE d.item_id = $1 OR ($2 IS NOT NULL AND i.file_sha256 = $2)
            OR ($3 IS NOT NULL AND i.payload = $3)
         ORDER BY d.seq DESC LIMIT 100"
    ))
    .bind(&item.id)
    .bind(&item.file_sha256)
    .bind(&item.payload)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(decision_of).collect())
}

/// Decisions made in `[since, until)` (ms), oldest first, at most `limit`.
pub async fn decisions_between(
    dbh: &Db,
    since: i64,
    until: i64,
    limit: u32,
) -> Result<Vec<Decision>> {
    let rows: Vec<DecisionRow> = with_pool!(dbh, |p| sqlx::query_as(concat!(
        decision_select!(),
        "WHERE d.at >= $1 AND d.at < $2 ORDER BY d.seq LIMIT $3"
    ))
    .bind(since)
    .bind(until)
    .bind(i64::from(limit))
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(decision_of).collect())
}

/// One audit entry.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

type AuditRow = (i64, String, String, String, String);

fn audit_of(r: AuditRow) -> AuditEntry {
    AuditEntry {
        at: db::rfc3339(r.0),
        actor: r.1,
        action: r.2,
        subject: r.3,
        detail: serde_json::from_str(&r.4).unwrap_or_default(),
    }
}

/// The audit entries about an item (and the job it came from), oldest first.
pub async fn audit_for_item(dbh: &Db, item: &Item) -> Result<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = with_pool!(dbh, |p| {
        sqlx::query_as(
        "SELECT at, actor, action, subject, detail FROM audit WHERE subject = $1 OR subject = $2
         ORDER BY seq LIMIT 500",
    )
    .bind(&item.id)
    .bind(&item.job_id)
    .fetch_all(p).await
    })?;
    Ok(rows.into_iter().map(audit_of).collect())
}

/// What one reviewer did (`who` as the audit log names them), newest first.
pub async fn audit_for_actor(dbh: &Db, who: &str) -> Result<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = with_pool!(dbh, |p| sqlx::query_as(
        "SELECT at, actor, action, subject, detail FROM audit WHERE actor = $1
         ORDER BY seq DESC LIMIT 500",
    )
    .bind(who)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(audit_of).collect())
}

/// Everyone who has claimed or decided, for the leads' audit page.
pub async fn actors(dbh: &Db) -> Result<Vec<String>> {
    Ok(with_pool!(dbh, |p| sqlx::query_scalar(
        "SELECT DISTINCT actor FROM audit WHERE action LIKE 'review.%' AND actor != 'policy'
         ORDER BY actor",
    )
    .fetch_all(p)
    .await)?)
}
