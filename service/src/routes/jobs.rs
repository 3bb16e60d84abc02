//! The jobs API: `POST /v1/jobs` (202), `GET /v1/jobs/{id}`, `GET /v1/jobs`, `DELETE /v1/jobs/{id}`.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::jobs::{self, Job, ListQuery, NewJob, Removed, Status, Submitted, Video};
use crate::keys::Scope;
use crate::routes::verify::{UploadQuery, receive_form};
use crate::state::AppState;
use crate::upload::Upload;

/// A job asked for by URL (`application/json`): the worker fetches the video.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The video's URL: http(s), on a host of the service's allow-list (empty by default, so
    /// the field is refused unless the service names hosts).
    pub source_url: String,
    /// A registered webhook endpoint, called when the job ends.
    pub callback_url: Option<String>,
    /// Any JSON object, returned with the job.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// The multipart form of `POST /v1/jobs`.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // documents the form for the OpenAPI document; the handler reads it by parts
pub struct JobForm {
    /// The video.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// A registered webhook endpoint, called when the job ends.
    pub callback_url: Option<String>,
    /// A JSON object, returned with the job.
    pub metadata: Option<String>,
}

/// What a submission names, before it is checked.
struct Submission {
    upload: Option<Upload>,
    source_url: Option<String>,
    callback_url: Option<String>,
    metadata: Option<serde_json::Value>,
}

/// Submits a clip for verification; the answer comes at once (202) with the job to poll, and
/// on the `callback_url` webhook when it is done.
///
/// The video comes as a multipart form's `file` part (with optional `callback_url`, a
/// registered webhook endpoint, and `metadata`, a JSON object returned with the job), as the
/// raw body, or by URL: a JSON body with `source_url` (on the service's allow-list) that the
/// worker fetches. An `Idempotency-Key` header makes a retry safe: the same key and request
/// give the same job; the same key with another request is refused (422).
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])),
    params(UploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe (1 to 255 characters)")),
    request_body(content(
        (JobForm = "multipart/form-data"),
        (JobRequest = "application/json"),
        (Vec<u8> = "application/octet-stream")),
        description = "the video as a form's `file` part or the raw body, or its `source_url`"),
    responses(
        (status = 202, description = "queued", body = Job),
        (status = 200, description = "the job this idempotency key made before", body = Job),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, description = "the idempotency key was used for another request, a field is invalid, or the source_url is not allowed", body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    req: Request,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let caller = auth.require(Scope::Jobs)?.clone();
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    )
                })?;
            Some(k.to_string())
        }
    };
    let sub = if is_json(&headers) {
        from_json(req).await?
    } else {
        from_form(&s, req, q.filename.as_deref()).await?
    };
    if let Some(url) = &sub.callback_url {
        crate::net::check_url(url)
            .map_err(|e| ApiError::unprocessable("invalid_callback_url", e))?;
        if !crate::webhooks::is_endpoint(s.db(), url).await? {
            return Err(ApiError::unprocessable(
                "unknown_callback_url",
                format!(
                    "`{url}` is not a registered webhook endpoint: an admin adds it with `verity serve webhooks add {url}`, which gives its signing secret"
                ),
            ));
        }
    }
    // What makes two requests "the same": the video (its bytes, or its URL), its name, and
    // the options.
    let (video_id, file_name) = match (&sub.upload, &sub.source_url) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "send the video either as a file or as a `source_url`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "no video: send it as a form's `file` part, as the raw body, or name it with `source_url`",
            ));
        }
        (Some(up), None) => (format!("sha256:{}", up.sha256), up.file_name.clone()),
        (None, Some(url)) => {
            let u = crate::source::check(url, &s.config().sources)
                .map_err(|e| ApiError::unprocessable("source_url_not_allowed", e))?;
            (format!("url:{url}"), crate::source::file_name(&u))
        }
    };
    let request_hash = {
        let mut h = Sha256::new();
        for part in [
            video_id.as_str(),
            file_name.as_str(),
            sub.callback_url.as_deref().unwrap_or(""),
            &sub.metadata
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        crate::keys::hex(&h.finalize())
    };
    // The upload goes to the object store, where any replica's worker finds it; this
    // replica's scratch copy goes when `sub.upload` is dropped.
    let kept = match &sub.upload {
        Some(up) => {
            let key = crate::storage::upload_key(&up.file_name)?;
            // Recorded first: a copy whose job is never made is swept after a grace period.
            crate::orphans::reserve(s.db(), &key).await?;
            s.storage().put_file(&key, up.path()).await?;
            Some(key)
        }
        None => None,
    };
    drop(sub.upload);
    let video = match (&kept, sub.source_url) {
        (Some(key), _) => Video::Upload(key.clone()),
        (None, Some(url)) => Video::Url(url),
        (None, None) => return Err(ApiError::internal(&"a submission with no video")),
    };
    let submitted = jobs::submit(
        s.db(),
        &s.config().jobs,
        NewJob {
            key_id: Some(caller.key_id.clone()),
            idempotency_key,
            request_hash,
            file_name,
            video,
            callback_url: sub.callback_url,
            metadata: sub.metadata,
        },
    )
    .await;
    if matches!(submitted, Ok(Submitted::Existing(_) | Submitted::Conflict)) {
        // Not queued (the job made before, a conflict): its stored copy goes. After an error
        // the job may still have been made (a commit whose answer was lost): the copy is left
        // to its reservation, which a job that was made has taken back.
        if let Some(key) = &kept {
            crate::orphans::remove(s.db(), s.storage(), key).await;
        }
    }
    match submitted {
        Ok(Submitted::Created(job)) => Ok((StatusCode::ACCEPTED, Json(job))),
        Ok(Submitted::Existing(job)) => Ok((StatusCode::OK, Json(job))),
        Ok(Submitted::Conflict) => Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used before with another request",
        )),
        Err(e) => Err(e.into()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON body (at most 64 KiB): the video by URL.
async fn from_json(req: Request) -> Result<Submission, ApiError> {
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("the JSON body (at most 64 KiB): {e}")))?;
    let r: JobRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::unprocessable("invalid_body", format!("the JSON body: {e}")))?;
    Ok(Submission {
        upload: None,
        source_url: Some(r.source_url),
        callback_url: r.callback_url,
        metadata: r.metadata.map(check_metadata).transpose()?,
    })
}

/// A multipart form (its `file`, or a `source_url` field), or the raw body.
async fn from_form(
    s: &AppState,
    req: Request,
    filename: Option<&str>,
) -> Result<Submission, ApiError> {
    let (upload, fields) = receive_form(s, req, filename).await?;
    let mut sub = Submission {
        upload,
        source_url: None,
        callback_url: None,
        metadata: None,
    };
    for (name, value) in fields {
        match name.as_str() {
            "callback_url" => sub.callback_url = Some(value),
            "source_url" => sub.source_url = Some(value),
            "metadata" => {
                let v: serde_json::Value = serde_json::from_str(&value).map_err(|e| {
                    ApiError::unprocessable(
                        "invalid_metadata",
                        format!("`metadata` is not JSON: {e}"),
                    )
                })?;
                sub.metadata = Some(check_metadata(v)?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field `{other}`: expected file, source_url, callback_url, metadata"
                )));
            }
        }
    }
    Ok(sub)
}

fn check_metadata(v: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::unprocessable(
            "invalid_metadata",
            "`metadata` must be a JSON object",
        ))
    }
}

/// A job, with its report once it has succeeded. A key sees the jobs it made; an admin key
/// sees every job.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "the job's id")),
    responses((status = 200, body = Job), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<JobWithDeliveries>, ApiError> {
    let caller = auth.require(Scope::Jobs)?;
    let job = jobs::get(s.db(), &id, true, caller.owner())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))?;
    let webhooks = crate::webhooks::for_job(s.db(), &id).await?;
    Ok(Json(JobWithDeliveries { job, webhooks }))
}

/// A job and its webhook delivery log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobWithDeliveries {
    #[serde(flatten)]
    pub job: Job,
    pub webhooks: Vec<crate::webhooks::Delivery>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only jobs in this state.
    #[param(inline)]
    pub status: Option<Status>,
    /// Only jobs made at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only jobs made before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Jobs per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A page of jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

/// Jobs, newest first, paged and filtered by state and time (reports left out): the key's own,
/// or every job for an admin key.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = JobPage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Query(p): Query<ListParams>,
) -> Result<Json<JobPage>, ApiError> {
    let caller = auth.require(Scope::Jobs)?;
    let time = |name: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        v.as_deref()
            .map(|t| {
                crate::db::parse_rfc3339(t).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} `{t}` is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit {limit}: expected 1 to 500"
        )));
    }
    let (jobs, next) = jobs::list(
        s.db(),
        &ListQuery {
            owner: caller.owner().map(str::to_string),
            status: p.status,
            since_ms: time("since", &p.since)?,
            until_ms: time("until", &p.until)?,
            after: p.after,
            limit,
        },
    )
    .await?;
    Ok(Json(JobPage { jobs, next }))
}

/// Cancels a job that has not finished, or deletes one that has; its upload goes either way.
/// A key may remove only the jobs it made (an admin key, any).
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "the job's id")),
    responses((status = 204, description = "cancelled or deleted"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let caller = auth.require(Scope::Jobs)?;
    let owner = caller.owner();
    match jobs::remove(s.db(), s.storage(), &id, owner, &auth.actor()).await? {
        Removed::NotFound => Err(ApiError::not_found(format!("no job `{id}`"))),
        Removed::Cancelled | Removed::Deleted => Ok(StatusCode::NO_CONTENT),
    }
}
