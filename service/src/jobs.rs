//! Asynchronous verification jobs.
//!
//! A job is a row of `verify_jobs` (its status, attempts, report, error, timings) and a task in
//! the queue engine (apalis, on the same database: SQLite, or Postgres shared by replicas) that
//! carries only the job's id. Both are written in one transaction, so a job is never queued
//! without its row nor the reverse.
//!
//! The engine gives the lease: a worker's tasks are taken back when the worker misses its
//! heartbeats (it died), and another worker runs them. The job row makes a result happen once:
//! a run records its result only while the row is still `running`, and a job that has stopped
//! its worker `max_attempts` times ends as failed with that reason instead of running again.

use std::time::Instant;

use apalis::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::JobSettings;
use crate::db::{self, Db, Tx, with_pool, with_tx};
use crate::error::{Result, ServiceError};
use crate::state::AppState;
use crate::verify::VerifyFailure;

/// The queue that verification tasks go through.
pub const QUEUE: &str = "verity.verify";

/// What a queued task carries: the job's id, nothing else.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobTask {
    pub job_id: String,
}

/// A job's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
    ];
}

/// A job as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub status: Status,
    pub file_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Runs started (a run cut off by a dead worker counts).
    pub attempts: i64,
    /// Why the job failed.
    pub error: Option<String>,
    /// The verdict's label, once succeeded.
    pub verdict: Option<String>,
    /// The wall time of the run that gave the result, in milliseconds.
    pub run_ms: Option<i64>,
    /// Where the worker fetches the video from (a job made without an upload).
    pub source_url: Option<String>,
    pub callback_url: Option<String>,
    /// What the client attached to the job, returned as given.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// The report (as `verity verify --json`), once succeeded; `GET /v1/jobs` leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
}

macro_rules! job_columns {
    () => {
        "id, status, file_name, created_at, updated_at, started_at, finished_at, attempts, error, verdict, run_ms, source_url, callback_url, metadata"
    };
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    status: String,
    file_name: String,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    attempts: i64,
    error: Option<String>,
    verdict: Option<String>,
    run_ms: Option<i64>,
    source_url: Option<String>,
    callback_url: Option<String>,
    metadata: Option<String>,
}

impl JobRow {
    fn into_job(self, report: Option<String>) -> Job {
        Job {
            id: self.id,
            status: Status::parse(&self.status).unwrap_or(Status::Failed),
            file_name: self.file_name,
            created_at: db::rfc3339(self.created_at),
            updated_at: db::rfc3339(self.updated_at),
            started_at: self.started_at.map(db::rfc3339),
            finished_at: self.finished_at.map(db::rfc3339),
            attempts: self.attempts,
            error: self.error,
            verdict: self.verdict,
            run_ms: self.run_ms,
            source_url: self.source_url,
            callback_url: self.callback_url,
            metadata: self.metadata.and_then(|m| serde_json::from_str(&m).ok()),
            report: report.and_then(|r| serde_json::from_str(&r).ok()),
        }
    }
}

/// What a new job is made of.
#[derive(Debug)]
pub struct NewJob {
    pub key_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// The SHA-256 of what defines the request (the upload and the options): the same key
    /// with another request is refused.
    pub request_hash: String,
    pub file_name: String,
    pub video: Video,
    pub callback_url: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// Where a job's video is.
#[derive(Debug)]
pub enum Video {
    /// An upload the job owns, by its key in the object store (removed when the job ends).
    Upload(String),
    /// A URL the worker fetches when it runs the job.
    Url(String),
}

/// What [`submit`] did.
#[derive(Debug)]
pub enum Submitted {
    Created(Job),
    /// The same idempotency key and request: the job made the first time.
    Existing(Job),
    /// The same idempotency key with another request.
    Conflict,
}

fn new_id() -> String {
    format!("job_{}", ulid_like())
}

/// A time-ordered, random id: 12 hex digits of milliseconds and 16 of randomness.
fn ulid_like() -> String {
    use ring::rand::SecureRandom;
    let mut r = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut r);
    format!("{:012x}{}", db::now_ms(), crate::keys::hex(&r))
}

/// Makes a job and queues its task, in one transaction. With an idempotency key already used
/// by this API key, answers the job made then (or a conflict when the request differs).
pub async fn submit(dbh: &Db, settings: &JobSettings, job: NewJob) -> Result<Submitted> {
    if let Some(k) = &job.idempotency_key {
        if let Some(found) =
            by_idempotency(dbh, job.key_id.as_deref(), k, &job.request_hash).await?
        {
            return Ok(found);
        }
    }
    let id = new_id();
    let now = db::now_ms();
    let mut tx = dbh.begin().await?;
    let inserted = with_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO verify_jobs (id, status, key_id, idempotency_key, request_hash, file_name,
            upload_path, source_url, callback_url, metadata, created_at, updated_at)
         VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&job.key_id)
    .bind(&job.idempotency_key)
    .bind(&job.request_hash)
    .bind(&job.file_name)
    .bind(match &job.video {
        Video::Upload(p) => Some(p),
        Video::Url(_) => None,
    })
    .bind(match &job.video {
        Video::Url(u) => Some(u),
        Video::Upload(_) => None,
    })
    .bind(&job.callback_url)
    .bind(job.metadata.as_ref().map(serde_json::Value::to_string))
    .bind(now)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        if let Video::Upload(key) = &job.video {
            // The job holds its upload now: no sweep takes it. A reservation a sweep took
            // (the upload waited past its grace) makes no job: the transaction is dropped.
            if !crate::orphans::take_in(&mut tx, key).await? {
                return Err(ServiceError::Queue(
                    "the upload's reservation in the object store ran out before its job was made"
                        .into(),
                ));
            }
        }
    }
    if inserted == 0 {
        // Another request with the same key won the race.
        tx.rollback().await?;
        if let Some(k) = &job.idempotency_key {
            if let Some(found) =
                by_idempotency(dbh, job.key_id.as_deref(), k, &job.request_hash).await?
            {
                return Ok(found);
            }
        }
        return Err(ServiceError::Queue("the job could not be recorded".into()));
    }
    let payload = serde_json::to_vec(&JobTask { job_id: id.clone() })
        .map_err(|e| ServiceError::Queue(e.to_string()))?;
    // The engine's own attempt limit is a backstop: ours (in the handler) ends a job first.
    let task = TaskBuilder::new(payload)
        .max_attempts(settings.max_attempts.saturating_add(2) as usize)
        .build();
    push_task(&mut tx, QUEUE, task).await?;
    db::audit_in(
        &mut tx,
        "api",
        "job.queued",
        &id,
        &serde_json::json!({"file": job.file_name}),
    )
    .await?;
    tx.commit().await?;
    let made = get(dbh, &id, false, None)
        .await?
        .ok_or_else(|| ServiceError::Queue("the job vanished after it was made".into()))?;
    Ok(Submitted::Created(made))
}

/// Queues a task inside `tx`, in the engine's own tables.
pub async fn push_task(tx: &mut Tx, queue: &str, task: Task<Vec<u8>>) -> Result<()> {
    let queued = match tx {
        Tx::Sqlite(t) => apalis_sqlite::queries::push_tasks(&mut **t, queue, &[task])
            .await
            .map_err(|e| e.to_string()),
        Tx::Postgres(t) => apalis_postgres::queries::push_tasks(&mut **t, queue, vec![task])
            .await
            .map_err(|e| e.to_string()),
    };
    queued.map_err(ServiceError::Queue)
}

async fn by_idempotency(
    dbh: &Db,
    key_id: Option<&str>,
    k: &str,
    request_hash: &str,
) -> Result<Option<Submitted>> {
    let row: Option<(String, Option<String>)> = with_pool!(dbh, |p| sqlx::query_as(
        "SELECT id, request_hash FROM verify_jobs
         WHERE key_id IS NOT DISTINCT FROM $1 AND idempotency_key = $2",
    )
    .bind(key_id)
    .bind(k)
    .fetch_optional(p)
    .await)?;
    let Some((id, hash)) = row else {
        return Ok(None);
    };
    if hash.as_deref() != Some(request_hash) {
        return Ok(Some(Submitted::Conflict));
    }
    Ok(get(dbh, &id, false, None).await?.map(Submitted::Existing))
}

/// The job, with its report when `with_report` and it has one; with an `owner`, only if that
/// key made it.
pub async fn get(
    dbh: &Db,
    id: &str,
    with_report: bool,
    owner: Option<&str>,
) -> Result<Option<Job>> {
    let sql = concat!(
        "SELECT ",
        job_columns!(),
        " FROM verify_jobs WHERE id = $1 AND ($2 IS NULL OR key_id = $2)"
    );
    let row: Option<JobRow> = with_pool!(dbh, |p| sqlx::query_as(sql)
        .bind(id)
        .bind(owner)
        .fetch_optional(p)
        .await)?;
    let Some(row) = row else { return Ok(None) };
    let report = if with_report {
        with_pool!(dbh, |p| sqlx::query_scalar::<_, Option<String>>(
            "SELECT report FROM verify_jobs WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(p)
        .await)?
        .flatten()
    } else {
        None
    };
    Ok(Some(row.into_job(report)))
}

/// A page of jobs, newest first.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// Only the jobs this key made (`None`: everyone's).
    pub owner: Option<String>,
    pub status: Option<Status>,
    /// Only jobs made at or after this time (ms).
    pub since_ms: Option<i64>,
    /// Only jobs made before this time (ms).
    pub until_ms: Option<i64>,
    /// The cursor from the previous page: the last job's id.
    pub after: Option<String>,
    pub limit: u32,
}

/// A page and the cursor for the next one.
pub async fn list(dbh: &Db, q: &ListQuery) -> Result<(Vec<Job>, Option<String>)> {
    let limit = q.limit.clamp(1, 500);
    // Ids sort by creation time (they begin with it), so the id is the cursor.
    let sql = concat!(
        "SELECT ",
        job_columns!(),
        " FROM verify_jobs
         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR created_at >= $2)
           AND ($3 IS NULL OR created_at < $3) AND ($4 IS NULL OR id < $4)
           AND ($6 IS NULL OR key_id = $6)
         ORDER BY id DESC LIMIT $5"
    );
    let rows: Vec<JobRow> = with_pool!(dbh, |p| sqlx::query_as(sql)
        .bind(q.status.map(Status::as_str))
        .bind(q.since_ms)
        .bind(q.until_ms)
        .bind(&q.after)
        .bind(i64::from(limit) + 1)
        .bind(&q.owner)
        .fetch_all(p)
        .await)?;
    let more = rows.len() > limit as usize;
    let jobs: Vec<Job> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| r.into_job(None))
        .collect();
    let next = if more {
        jobs.last().map(|j| j.id.clone())
    } else {
        None
    };
    Ok((jobs, next))
}

/// What `DELETE /v1/jobs/{id}` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    /// A queued or running job: cancelled (a running verification finishes, its result is
    /// dropped); its upload removed.
    Cancelled,
    /// A finished job: deleted with its upload.
    Deleted,
    NotFound,
}

/// Cancels an unfinished job, or deletes a finished one; its upload goes either way. With an
/// `owner`, only a job that key made.
pub async fn remove(
    dbh: &Db,
    storage: &crate::storage::Storage,
    id: &str,
    owner: Option<&str>,
    actor: &str,
) -> Result<Removed> {
    // A job that finishes between the read and the cancel (another replica's worker, on
    // Postgres's read-committed) is not cancelled over its result: the cancel changes only an
    // unfinished row, and the second pass deletes the finished job instead.
    for _ in 0..2 {
        if let Some(done) = remove_once(dbh, storage, id, owner, actor).await? {
            return Ok(done);
        }
    }
    Err(ServiceError::Queue(format!(
        "job {id} kept changing while it was being removed"
    )))
}

async fn remove_once(
    dbh: &Db,
    storage: &crate::storage::Storage,
    id: &str,
    owner: Option<&str>,
    actor: &str,
) -> Result<Option<Removed>> {
    let mut tx = dbh.begin().await?;
    let row: Option<(String, Option<String>)> = with_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT status, upload_path FROM verify_jobs WHERE id = $1 AND ($2 IS NULL OR key_id = $2)",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(c)
    .await
    })?;
    let Some((status, upload)) = row else {
        return Ok(Some(Removed::NotFound));
    };
    let status = Status::parse(&status).unwrap_or(Status::Failed);
    let now = db::now_ms();
    let removed = if status.is_final() {
        with_tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM verify_jobs WHERE id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))?;
        db::audit_in(&mut tx, actor, "job.deleted", id, &serde_json::json!({})).await?;
        Removed::Deleted
    } else {
        let cancelled = with_tx!(&mut tx, |c| sqlx::query(
            "UPDATE verify_jobs SET status = 'cancelled', upload_path = NULL, updated_at = $1,
                finished_at = $2 WHERE id = $3 AND status IN ('queued', 'running')",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if cancelled == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        db::audit_in(
            &mut tx,
            actor,
            "job.cancelled",
            id,
            &serde_json::json!({"was": status.as_str()}),
        )
        .await?;
        Removed::Cancelled
    };
    // Recorded after the job's row is written, as `finish` does: both lock the job's row before
    // the upload's record, so a cancel and a run's end on one job never wait on each other
    // (Postgres took that for a deadlock and aborted one of them).
    if let Some(u) = &upload {
        crate::orphans::record_in(&mut tx, u, now).await?;
    }
    tx.commit().await?;
    if let Some(u) = upload {
        crate::orphans::remove(dbh, storage, &u).await;
    }
    Ok(Some(removed))
}

/// Sets the job gauges and the store's deletes due from the database (every replica reports
/// the same).
pub async fn refresh_gauges(s: &AppState) -> Result<()> {
    let rows: Vec<(String, i64)> = with_pool!(s.db(), |p| sqlx::query_as(
        "SELECT status, COUNT(*) FROM verify_jobs GROUP BY status"
    )
    .fetch_all(p)
    .await)?;
    for st in Status::ALL {
        let n = rows
            .iter()
            .find(|(k, _)| k == st.as_str())
            .map_or(0, |(_, n)| *n);
        s.metrics()
            .jobs
            .get_or_create(&crate::metrics::StateLabel {
                state: st.as_str().into(),
            })
            .set(n);
        if st == Status::Queued {
            s.metrics().queue_depth.set(n);
        }
    }
    let due = crate::orphans::due(s.db(), db::now_ms()).await?;
    s.metrics().store_deletes_due.set(due);
    Ok(())
}

/// Runs one task: the job's verification, its result recorded once.
async fn run_task(
    task: JobTask,
    worker: WorkerContext,
    state: Data<AppState>,
) -> Result<(), BoxDynError> {
    let s: &AppState = &state;
    match run_job(s, &task.job_id, worker.name()).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // A database error: the task is retried by the engine; the job stays as it was.
            tracing::error!(job = %task.job_id, error = %crate::error_chain(&e), "job run failed");
            Err(Box::new(e))
        }
    }
}

/// A job as a run takes it: attempt, upload key, source URL, file name, the last run's error.
type TakenRow = (i64, Option<String>, Option<String>, String, Option<String>);

async fn run_job(s: &AppState, id: &str, worker: &str) -> Result<()> {
    let settings = &s.config().jobs;
    let now = db::now_ms();
    // Take the job: only one that is not finished. A run cut off by a dead worker left it
    // `running`; this run is its next attempt.
    let taken: Option<TakenRow> = with_pool!(s.db(), |p| sqlx::query_as(
        "UPDATE verify_jobs SET status = 'running', attempts = attempts + 1, started_at = $1,
            updated_at = $2 WHERE id = $3 AND status IN ('queued', 'running')
         RETURNING attempts, upload_path, source_url, file_name, error",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .fetch_optional(p)
    .await)?;
    let Some((attempt, upload, source_url, file_name, last_error)) = taken else {
        tracing::debug!(job = %id, "job already finished, cancelled or deleted; nothing to run");
        return Ok(());
    };
    with_pool!(s.db(), |p| sqlx::query(
        "INSERT INTO job_attempts (job_id, attempt, worker, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(attempt)
    .bind(worker)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))?;
    s.db()
        .audit(
            worker,
            "job.running",
            id,
            &serde_json::json!({"attempt": attempt}),
        )
        .await?;
    if attempt > i64::from(settings.max_attempts) {
        // A run that failed for a reason it could record (the object store not answering)
        // says so; one that left none stopped its worker.
        let reason = match last_error {
            Some(e) => format!(
                "{} runs ended without a result, the last with: {e}; it is not tried again",
                attempt - 1
            ),
            None => format!(
                "the job stopped its worker {} times without a result (the file may crash the verifier); it is not tried again",
                attempt - 1
            ),
        };
        return finish(s, id, attempt, Outcome::Failed(reason), 0, None).await;
    }
    let started = Instant::now();
    // The video is copied to this replica's scratch folder (from the object store, or from its
    // source_url), and removed from there when this run ends.
    let mut fetched = None;
    let mut scratch = None;
    let path = match (upload, source_url) {
        (Some(key), _) => {
            let c = s.config();
            match crate::storage::Scratch::fetch(
                s.storage(),
                &key,
                &c.uploads_dir(),
                &file_name,
                c.limits.max_upload_bytes,
            )
            .await
            {
                Ok(local) => scratch.insert(local).path().to_path_buf(),
                Err(e) if e.is_not_found() => {
                    let reason = "the job's upload is gone from the object store".to_string();
                    return finish(s, id, attempt, Outcome::Failed(reason), 0, None).await;
                }
                // The store does not answer: the reason is kept on the job (still running),
                // and the engine runs the task again; after `max_attempts` runs the job fails
                // with it.
                Err(e) => {
                    let reason = format!(
                        "reading the upload from the object store: {}",
                        crate::error_chain(&e)
                    );
                    with_pool!(s.db(), |p| sqlx::query(
                        "UPDATE verify_jobs SET error = $1 WHERE id = $2 AND status = 'running'"
                    )
                    .bind(db::text(&reason).as_ref())
                    .bind(id)
                    .execute(p)
                    .await
                    .map(|_| ()))?;
                    return Err(e);
                }
            }
        }
        (None, Some(url)) => {
            let c = s.config();
            match crate::source::fetch(
                &url,
                &file_name,
                &c.sources,
                &c.uploads_dir(),
                c.limits.max_upload_bytes,
            )
            .await
            {
                Ok(up) => fetched.insert(up).path().to_path_buf(),
                Err(e) => {
                    let reason = format!("fetching the source_url: {e}");
                    return finish(s, id, attempt, Outcome::Failed(reason), 0, None).await;
                }
            }
        }
        (None, None) => {
            let reason = "the job's upload is gone".to_string();
            return finish(s, id, attempt, Outcome::Failed(reason), 0, None).await;
        }
    };
    let result = crate::verify::run(
        path.clone(),
        s.verify_options(),
        s.config().limits.clone(),
        false,
        s.verify_slots(),
    )
    .await;
    let secs = started.elapsed().as_secs_f64();
    let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    s.metrics()
        .observe_verify("job", if result.is_ok() { "ok" } else { "error" }, secs);
    let outcome = match result {
        Ok(report) => Outcome::Succeeded(Box::new(report)),
        Err(VerifyFailure::Rejected(m)) => Outcome::Failed(m),
        Err(VerifyFailure::TimedOut(t)) => {
            Outcome::Failed(format!("the verification ran past the limit of {t} s"))
        }
        Err(VerifyFailure::Internal(m)) => {
            tracing::error!(job = %id, error = %m, "verification failed inside the service");
            Outcome::Failed("the service failed on this file; its log has the detail".into())
        }
    };
    let done = finish(s, id, attempt, outcome, ms, Some(&path)).await;
    drop(fetched);
    drop(scratch);
    done
}

enum Outcome {
    Succeeded(Box<verity_detect::Report>),
    Failed(String),
}

/// Records a run's result, once: only while the job is still `running` (a cancelled job, or
/// one another run has finished, keeps what it has). In the same transaction: its webhook is
/// queued, the review policy routes a report (an item put up for review keeps `video`, stored
/// just before under a reservation), and the upload is recorded as let go of
/// ([`crate::orphans`]). Then the upload is removed.
async fn finish(
    s: &AppState,
    id: &str,
    attempt: i64,
    outcome: Outcome,
    run_ms: i64,
    video: Option<&std::path::Path>,
) -> Result<()> {
    let now = db::now_ms();
    let (status, report, verdict, error) = match &outcome {
        Outcome::Succeeded(r) => (
            Status::Succeeded,
            Some(serde_json::to_string(r).map_err(|e| ServiceError::Queue(e.to_string()))?),
            Some(r.verdict.label.as_str().to_string()),
            None,
        ),
        // Postgres text holds no NUL; a reason may quote a file's bytes.
        Outcome::Failed(m) => (Status::Failed, None, None, Some(db::text(m).into_owned())),
    };
    // An open review item's video is stored before the item is recorded, under a reservation
    // the item's transaction takes back: an item is never seen without its video, and a copy
    // whose item was never recorded is swept.
    let routing = match &outcome {
        Outcome::Succeeded(report) => crate::review::policy::route(
            &s.config().review.queues,
            &crate::review::policy::Facts::of(report),
        ),
        Outcome::Failed(_) => None,
    };
    let mut kept = None;
    if let (Some(crate::review::policy::Routing::Open { .. }), Some(from)) = (&routing, video) {
        let ext = from.extension().and_then(|e| e.to_str());
        let key = crate::review::store::video_key(id, ext)?;
        crate::orphans::reserve(s.db(), &key).await?;
        match s.storage().put_file(&key, from).await {
            Ok(_) => kept = Some(key),
            // The item is recorded without its video, and the log says so; whatever the store
            // may still finish writing is left to the reservation's sweep.
            Err(e) => {
                tracing::warn!(key = %key, error = %crate::error_chain(&e), "could not keep a video for review");
            }
        }
    }
    let mut tx = s.db().begin().await?;
    let done: Option<(Option<String>, Option<String>, String)> = with_tx!(&mut tx, |c| {
        sqlx::query_as(
        "UPDATE verify_jobs SET status = $1, report = $2, verdict = $3, error = $4, finished_at = $5,
            updated_at = $6, run_ms = $7
         WHERE id = $8 AND status = 'running' RETURNING callback_url, upload_path, file_name",
    )
    .bind(status.as_str())
    .bind(&report)
    .bind(&verdict)
    .bind(&error)
    .bind(now)
    .bind(now)
    .bind(run_ms)
    .bind(id)
    .fetch_optional(c)
    .await
    })?;
    with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE job_attempts SET ended_at = $1, outcome = $2, error = $3
         WHERE job_id = $4 AND attempt = $5",
    )
    .bind(now)
    .bind(if done.is_some() {
        status.as_str()
    } else {
        "dropped"
    })
    .bind(&error)
    .bind(id)
    .bind(attempt)
    .execute(c)
    .await
    .map(|_| ()))?;
    let Some((callback, upload, file_name)) = done else {
        tx.commit().await?;
        tracing::info!(job = %id, "the job was cancelled or finished elsewhere; this result is dropped");
        if let Some(key) = kept {
            crate::orphans::remove(s.db(), s.storage(), &key).await;
        }
        return Ok(());
    };
    with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE verify_jobs SET upload_path = NULL WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))?;
    if let Some(u) = &upload {
        crate::orphans::record_in(&mut tx, u, now).await?;
    }
    db::audit_in(
        &mut tx,
        "worker",
        &format!("job.{}", status.as_str()),
        id,
        &serde_json::json!({"attempt": attempt, "verdict": verdict, "error": error}),
    )
    .await?;
    if let Some(url) = callback {
        crate::webhooks::enqueue(&mut tx, id, &url, status, now).await?;
    }
    if let (Outcome::Succeeded(report), Some(r)) = (&outcome, &routing) {
        let recorded =
            crate::review::store::record(&mut tx, id, &file_name, report, r, kept.as_deref())
                .await?;
        if let Some(key) = &recorded.video {
            // The item keeps the video until it is decided. A reservation a sweep took (the
            // run waited past its grace) records nothing: the run fails and is tried again.
            if !crate::orphans::take_in(&mut tx, key).await? {
                return Err(ServiceError::Queue(
                    "the review video's reservation in the object store ran out before its item was recorded"
                        .into(),
                ));
            }
        }
    }
    tx.commit().await?;
    if let Some(u) = upload {
        crate::orphans::remove(s.db(), s.storage(), &u).await;
    }
    Ok(())
}

/// The queue engine's settings for one of our queues (jobs, webhooks): the heartbeat (a third
/// of the lease, at least a second: the engine counts whole seconds), how many missed beats make
/// a worker dead (its tasks are then taken back and run by another worker, on any replica), and
/// how many tasks a worker takes at once.
#[derive(Clone, Debug)]
pub struct QueueSettings {
    pub queue: &'static str,
    pub heartbeat: std::time::Duration,
    pub missed_heartbeats: usize,
    pub batch: usize,
    pub poll: std::time::Duration,
}

impl QueueSettings {
    pub fn new(settings: &JobSettings, queue: &'static str, workers: usize) -> QueueSettings {
        QueueSettings {
            queue,
            heartbeat: (settings.lease / 3).max(std::time::Duration::from_secs(1)),
            // Three: one late beat on a busy machine does not hand a live worker's tasks to
            // another (the engine counts whole seconds).
            missed_heartbeats: 3,
            batch: workers.max(1),
            poll: settings.poll_interval,
        }
    }

    pub fn sqlite(&self) -> apalis_sqlite::Config {
        apalis_sqlite::Config::default()
            .queue(self.queue)
            .heartbeat_interval(self.heartbeat)
            .missed_heartbeats(self.missed_heartbeats)
            .batch_size(self.batch)
    }

    pub fn postgres(&self) -> apalis_postgres::Config {
        apalis_postgres::Config::default()
            .queue(self.queue)
            .heartbeat_interval(self.heartbeat)
            .missed_heartbeats(self.missed_heartbeats)
            .batch_size(self.batch)
    }
}

/// A fresh worker name each start: the engine refuses a name whose last heartbeat is recent,
/// and a restarted process must not wait out its dead predecessor's lease.
pub fn worker_name(role: &str) -> String {
    format!("verity-{role}-{}-{}", std::process::id(), ulid_like())
}

/// A monitor running one worker of `$args` tasks on the database's queue engine (apalis on
/// SQLite or on Postgres: the same worker API over each engine's storage), named for `$role`,
/// with `$data` for its handler, `$concurrency` runs at once, settings from the
/// [`QueueSettings`] `$q`.
#[macro_export]
macro_rules! queue_monitor {
    ($db:expr, $q:expr, $args:ty, $role:expr, $data:expr, $concurrency:expr, $handler:expr) => {{
        use apalis::prelude::*;
        let q: $crate::jobs::QueueSettings = $q.clone();
        let data = $data;
        match $db.pool() {
            $crate::db::Pool::Sqlite(pool) => {
                let pool = pool.clone();
                Monitor::new().register(move |_restarts| {
                    let storage = apalis_sqlite::SqliteStorage::<$args>::new(&pool)
                        .with_config(q.sqlite())
                        .poll_with_interval(q.poll);
                    WorkerBuilder::new($crate::jobs::worker_name($role))
                        .backend(storage)
                        .data(data.clone())
                        .concurrency($concurrency)
                        .build($handler)
                })
            }
            $crate::db::Pool::Postgres(pool) => {
                let pool = pool.clone();
                Monitor::new().register(move |_restarts| {
                    let storage = apalis_postgres::PostgresStorage::<$args>::new(&pool)
                        .with_config(q.postgres())
                        .poll_with_interval(q.poll);
                    WorkerBuilder::new($crate::jobs::worker_name($role))
                        .backend(storage)
                        .data(data.clone())
                        .concurrency($concurrency)
                        .build($handler)
                })
            }
        }
    }};
}

/// Runs `count` concurrent job runs in this process until `shutdown` resolves.
pub async fn run_workers(
    s: AppState,
    count: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let q = QueueSettings::new(&s.config().jobs, QUEUE, count);
    let monitor = crate::queue_monitor!(
        s.db(),
        q,
        JobTask,
        "jobs",
        s.clone(),
        count.max(1),
        run_task
    );
    monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .map_err(|e| ServiceError::Queue(e.to_string()))
}
