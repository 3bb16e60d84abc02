//! Webhooks, as the Standard Webhooks spec has them: a JSON body `{type, timestamp, data}` and
//! the headers `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256
//! of "id.timestamp.body">`, signed with the endpoint's own `whsec_` secret.
//!
//! A delivery is a row (the same `webhook-id` on every attempt) and a task in the queue engine,
//! so it survives restarts. A failed attempt is tried again after the configured back-off (with
//! jitter), or after the receiver's `Retry-After` when that is longer; every attempt is logged.
//! Targets on loopback, private or link-local addresses are refused unless the configuration
//! allows them; the address is checked after the name is resolved, and the request goes to the
//! address that was checked.

use std::time::Duration;

use apalis::prelude::*;
use base64::Engine;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::db::{self, Db, Tx, with_pool, with_tx};
use crate::error::{Result, ServiceError};
use crate::jobs::Status;
use crate::net;
use crate::state::AppState;

pub const QUEUE: &str = "verity.webhook";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryTask {
    pub delivery_id: String,
}

/// A registered endpoint, as listed (never its secret).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub created_at: String,
}

/// A new endpoint and its secret, shown once.
pub struct NewEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
}

impl std::fmt::Debug for NewEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEndpoint")
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Registers `url` as a webhook endpoint with a new secret.
pub async fn add_endpoint(dbh: &Db, url: &str) -> Result<NewEndpoint> {
    net::check_url(url).map_err(ServiceError::Queue)?;
    let mut key = [0u8; 32];
    let mut id = [0u8; 6];
    crate::keys::fill_random(&mut key)?;
    crate::keys::fill_random(&mut id)?;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let id = format!("ep_{}", crate::keys::hex(&id));
    let now = db::now_ms();
    with_pool!(dbh, |p| sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, secret, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(&id)
    .bind(url)
    .bind(&secret)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))?;
    dbh.audit(
        "cli",
        "webhook.endpoint.add",
        &id,
        &serde_json::json!({"url": url}),
    )
    .await?;
    Ok(NewEndpoint {
        endpoint: Endpoint {
            id,
            url: url.to_string(),
            created_at: db::rfc3339(now),
        },
        secret,
    })
}

/// Whether `url` is a registered, enabled endpoint.
pub async fn is_endpoint(dbh: &Db, url: &str) -> Result<bool> {
    let n: i64 = with_pool!(dbh, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE url = $1 AND disabled_at IS NULL",
    )
    .bind(url)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// The Standard Webhooks signature header's value for this message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| ServiceError::Queue("a webhook secret is not base64".into()))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    ))
}

/// Queues the webhook for a job that just finished, inside the transaction that finished it.
pub async fn enqueue(tx: &mut Tx, job_id: &str, url: &str, status: Status, now: i64) -> Result<()> {
    let mut r = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut r);
    let id = format!("msg_{:012x}{}", now, crate::keys::hex(&r));
    let body = serde_json::json!({
        "type": format!("job.{}", status.as_str()),
        "timestamp": db::rfc3339(now),
        "data": {"job_id": job_id, "status": status.as_str()},
    })
    .to_string();
    with_tx!(&mut *tx, |c| sqlx::query(
        "INSERT INTO webhook_deliveries (id, job_id, url, event, body, next_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(job_id)
    .bind(url)
    .bind(format!("job.{}", status.as_str()))
    .bind(&body)
    .bind(now)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    push(tx, &id, None).await
}

async fn push(tx: &mut Tx, delivery_id: &str, after: Option<Duration>) -> Result<()> {
    let payload = serde_json::to_vec(&DeliveryTask {
        delivery_id: delivery_id.to_string(),
    })
    .map_err(|e| ServiceError::Queue(e.to_string()))?;
    let mut b = TaskBuilder::new(payload).max_attempts(3);
    if let Some(d) = after {
        b = b.run_after(d);
    }
    crate::jobs::push_task(tx, QUEUE, b.build()).await
}

/// Runs one delivery attempt.
async fn deliver(
    task: DeliveryTask,
    state: Data<AppState>,
) -> std::result::Result<(), BoxDynError> {
    let s: &AppState = &state;
    attempt(s, &task.delivery_id).await.map_err(|e| {
        tracing::error!(delivery = %task.delivery_id, error = %crate::error_chain(&e), "webhook bookkeeping failed");
        Box::new(e) as BoxDynError
    })
}

async fn attempt(s: &AppState, id: &str) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Pending {
        url: String,
        body: String,
        job_id: String,
        attempts: i64,
        delivered_at: Option<i64>,
        next_at: Option<i64>,
        secret: Option<String>,
    }
    let row: Option<Pending> = with_pool!(s.db(), |p| sqlx::query_as(
        "SELECT d.url, d.body, d.job_id, d.attempts, d.delivered_at, d.next_at, e.secret
         FROM webhook_deliveries d
         LEFT JOIN webhook_endpoints e ON e.url = d.url AND e.disabled_at IS NULL
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    let Some(Pending {
        url,
        body,
        job_id,
        attempts,
        delivered_at,
        next_at,
        secret,
    }) = row
    else {
        return Ok(());
    };
    let Some(due) = next_at.filter(|_| delivered_at.is_none()) else {
        // Delivered, or given up.
        return Ok(());
    };
    let early = due - db::now_ms();
    if early > 0 {
        // Run before its time (the engine's schedule is coarser than ours, or a task run
        // again): it waits for the rest of the back-off in a task of its own.
        let mut tx = s.db().begin().await?;
        push(
            &mut tx,
            id,
            Some(Duration::from_millis(early.unsigned_abs())),
        )
        .await?;
        return tx.commit().await;
    }
    // Take attempt n before making it: whichever replica runs this task, each attempt is made
    // once. A run that finds the attempt taken (a task run twice: a replica thought dead that
    // was only slow) leaves it to the one that took it.
    // Only a delivery that is due: a task run again early (its replica died after recording
    // the last attempt, before the engine heard) neither skips the back-off nor revives a
    // delivery given up (next_at NULL).
    let n = attempts + 1;
    let taken = with_pool!(s.db(), |p| sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1
         WHERE id = $2 AND attempts = $3 AND delivered_at IS NULL
           AND next_at IS NOT NULL AND next_at <= $4"
    )
    .bind(n)
    .bind(id)
    .bind(attempts)
    .bind(db::now_ms())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if taken == 0 {
        tracing::debug!(delivery = %id, attempt = n, "attempt already taken by another run");
        return Ok(());
    }
    let settings = &s.config().webhooks;
    let now = db::now_ms();
    let result = match secret {
        None => Err((
            None,
            "the endpoint is no longer registered".to_string(),
            None,
        )),
        Some(secret) => post(s, &url, id, &body, &secret).await,
    };
    let label = if result.is_ok() {
        "delivered"
    } else {
        "failed"
    };
    s.metrics()
        .webhook_deliveries
        .get_or_create(&crate::metrics::StateLabel {
            state: label.into(),
        })
        .inc();
    let mut tx = s.db().begin().await?;
    let (status, error) = match &result {
        Ok(code) => (Some(i64::from(*code)), None),
        Err((code, e, _)) => (code.map(i64::from), Some(e.clone())),
    };
    with_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    )
    .bind(id)
    .bind(n)
    .bind(now)
    .bind(status)
    .bind(&error)
    .execute(c)
    .await
    .map(|_| ()))?;
    match result {
        Ok(_) => {
            with_tx!(&mut tx, |c| sqlx::query(
                "UPDATE webhook_deliveries SET delivered_at = $1, next_at = NULL,
                    last_status = $2, last_error = NULL WHERE id = $3"
            )
            .bind(now)
            .bind(status)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        Err((_, e, retry_after)) => {
            let delay = settings
                .retry_delays
                .get(usize::try_from(attempts).unwrap_or(usize::MAX))
                .copied();
            match delay {
                Some(d) => {
                    let d = jitter(d).max(retry_after.unwrap_or_default());
                    let next = now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
                    with_tx!(&mut tx, |c| sqlx::query(
                        "UPDATE webhook_deliveries SET next_at = $1, last_status = $2,
                            last_error = $3 WHERE id = $4"
                    )
                    .bind(next)
                    .bind(status)
                    .bind(&e)
                    .bind(id)
                    .execute(c)
                    .await
                    .map(|_| ()))?;
                    push(&mut tx, id, Some(d)).await?;
                }
                None => {
                    with_tx!(&mut tx, |c| sqlx::query(
                        "UPDATE webhook_deliveries SET next_at = NULL, last_status = $1,
                            last_error = $2 WHERE id = $3"
                    )
                    .bind(status)
                    .bind(&e)
                    .bind(id)
                    .execute(c)
                    .await
                    .map(|_| ()))?;
                    tracing::warn!(delivery = %id, job = %job_id, "webhook given up after {n} attempts");
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// ±10 % so that many failed deliveries do not come back at once.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    let f = 0.9 + 0.2 * f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
    d.mul_f64(f)
}

type PostError = (Option<u16>, String, Option<Duration>);

async fn post(
    s: &AppState,
    url: &str,
    id: &str,
    body: &str,
    secret: &str,
) -> std::result::Result<u16, PostError> {
    let settings = &s.config().webhooks;
    let parsed = net::check_url(url).map_err(|e| (None, e, None))?;
    let client = net::pinned_client(&parsed, settings.allow_private, settings.timeout)
        .await
        .map_err(|e| (None, e, None))?;
    let ts = db::now_ms() / 1000;
    let signature = sign(secret, id, ts, body).map_err(|e| (None, e.to_string(), None))?;
    let resp = client
        .post(parsed)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| (None, crate::error_chain(&e), None))?;
    let code = resp.status().as_u16();
    if resp.status().is_success() {
        return Ok(code);
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(86_400)));
    Err((
        Some(code),
        format!("the receiver answered {code}"),
        retry_after,
    ))
}

/// One delivery as the API lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub url: String,
    pub event: String,
    pub attempts: i64,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// A job's deliveries.
pub async fn for_job(dbh: &Db, job_id: &str) -> Result<Vec<Delivery>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        url: String,
        event: String,
        attempts: i64,
        delivered_at: Option<i64>,
        next_at: Option<i64>,
        last_status: Option<i64>,
        last_error: Option<String>,
    }
    let rows: Vec<Row> = with_pool!(dbh, |p| sqlx::query_as(
        "SELECT id, url, event, attempts, delivered_at, next_at, last_status, last_error
             FROM webhook_deliveries WHERE job_id = $1 ORDER BY created_at",
    )
    .bind(job_id)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            url: r.url,
            event: r.event,
            attempts: r.attempts,
            delivered_at: r.delivered_at.map(db::rfc3339),
            next_attempt_at: r.next_at.map(db::rfc3339),
            last_status: r.last_status,
            last_error: r.last_error,
        })
        .collect())
}

/// Runs webhook deliveries in this process until `shutdown` resolves.
pub async fn run_deliveries(
    s: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    const AT_ONCE: usize = 4;
    let q = crate::jobs::QueueSettings::new(&s.config().jobs, QUEUE, AT_ONCE);
    let monitor = crate::queue_monitor!(
        s.db(),
        q,
        DeliveryTask,
        "webhooks",
        s.clone(),
        AT_ONCE,
        deliver
    );
    monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .map_err(|e| ServiceError::Queue(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() -> Result<()> {
        // The spec's published example: secret, id, timestamp, body and signature.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )?;
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        Ok(())
    }
}
