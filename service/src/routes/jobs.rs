//! The jobs API: `POST /v1/jobs` (202), `GET /v1/jobs/{id}`, `GET /v1/jobs`, `DELETE /v1/jobs/{id}`.

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::jobs::{self, Job, ListQuery, NewJob, Removed, Status, Submitted};
use crate::keys::Scope;
use crate::routes::verify::{UploadQuery, receive};
use crate::state::AppState;

/// Submits a clip for verification; the answer comes at once (202) with the job to poll, and
/// on the `callback_url` webhook when it is done.
///
/// A multipart form: `file` (the video), and optional `callback_url` (a registered webhook
/// endpoint) and `metadata` (a JSON object, returned with the job). An `Idempotency-Key`
/// header makes a retry safe: the same key and request give the same job; the same key with
/// another request is refused (422).
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])),
    params(UploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe (at most 255 characters)")),
    request_body(description = "a multipart form with `file`, and optional `callback_url` and `metadata`; or the raw video", content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "queued", body = Job),
        (status = 200, description = "the job this idempotency key made before", body = Job),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, description = "the idempotency key was used for another request, or a field is invalid", body = crate::error::ErrorBody)))]
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
    let (upload, fields) = receive(&s, req, q.filename.as_deref()).await?;
    let mut callback_url = None;
    let mut metadata = None;
    for (name, value) in fields {
        match name.as_str() {
            "callback_url" => callback_url = Some(value),
            "metadata" => {
                let v: serde_json::Value = serde_json::from_str(&value).map_err(|e| {
                    ApiError::unprocessable(
                        "invalid_metadata",
                        format!("`metadata` is not JSON: {e}"),
                    )
                })?;
                if !v.is_object() {
                    return Err(ApiError::unprocessable(
                        "invalid_metadata",
                        "`metadata` must be a JSON object",
                    ));
                }
                metadata = Some(v);
            }
            "source_url" => {
                return Err(ApiError::unprocessable(
                    "source_url_not_allowed",
                    "`source_url` is not allowed by this service's configuration (its allow-list is empty): upload the file",
                ));
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field `{other}`: expected file, callback_url, metadata"
                )));
            }
        }
    }
    if let Some(url) = &callback_url {
        crate::webhooks::check_url(url)
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
    // What makes two requests "the same": the file, its name, and the options.
    let request_hash = {
        let mut h = Sha256::new();
        h.update(upload.sha256.as_bytes());
        h.update([0]);
        h.update(upload.file_name.as_bytes());
        h.update([0]);
        h.update(callback_url.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        h.update(
            metadata
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        crate::keys::hex(&h.finalize())
    };
    let file_name = upload.file_name.clone();
    let path = upload.keep();
    let submitted = jobs::submit(
        s.db(),
        &s.config().jobs,
        NewJob {
            key_id: Some(caller.key_id.clone()),
            idempotency_key,
            request_hash,
            file_name,
            upload_path: path.display().to_string(),
            callback_url,
            metadata,
        },
    )
    .await;
    let remove_upload = || crate::upload::remove_kept(&path, &s.config().uploads_dir());
    match submitted {
        Ok(Submitted::Created(job)) => Ok((StatusCode::ACCEPTED, Json(job))),
        Ok(Submitted::Existing(job)) => {
            remove_upload();
            Ok((StatusCode::OK, Json(job)))
        }
        Ok(Submitted::Conflict) => {
            remove_upload();
            Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used before with another request",
            ))
        }
        Err(e) => {
            remove_upload();
            Err(e.into())
        }
    }
}

/// A job, with its report once it has succeeded.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "the job's id")),
    responses((status = 200, body = Job), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<JobWithDeliveries>, ApiError> {
    auth.require(Scope::Jobs)?;
    let job = jobs::get(s.db(), &id, true)
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
    /// Only jobs in this state: queued, running, succeeded, failed or cancelled.
    pub status: Option<String>,
    /// Only jobs made at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only jobs made before this time (RFC 3339).
    pub until: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Jobs per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// A page of jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

/// Jobs, newest first, paged and filtered by state and time (reports left out).
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = JobPage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth,
    Query(p): Query<ListParams>,
) -> Result<Json<JobPage>, ApiError> {
    auth.require(Scope::Jobs)?;
    let status = match p.status.as_deref() {
        None => None,
        Some(v) => Some(Status::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status `{v}`: expected queued, running, succeeded, failed or cancelled"
            ))
        })?),
    };
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
            status,
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
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "the job's id")),
    responses((status = 204, description = "cancelled or deleted"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::Jobs)?;
    match jobs::remove(s.db(), &id, &auth.actor(), &s.config().uploads_dir()).await? {
        Removed::NotFound => Err(ApiError::not_found(format!("no job `{id}`"))),
        Removed::Cancelled | Removed::Deleted => Ok(StatusCode::NO_CONTENT),
    }
}
