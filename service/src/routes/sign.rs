//! `POST /v1/sign`: stamps an uploaded video with the service's identity (the badge, the
//! spectral mark and a C2PA manifest) and answers the signed file; the manifest goes into the
//! service's manifest store, so the Resolution API finds it by the mark.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use verity_provenance::repository::ManifestStore;
use verity_provenance::stamp::stamp_file;
use verity_provenance::{StampPlan, StampRequest};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::keys::Scope;
use crate::routes::verify::{UploadQuery, receive};
use crate::state::AppState;

/// Stamps and signs an uploaded video; the answer is the signed MP4.
#[utoipa::path(post, path = "/v1/sign", tag = "sign", security(("bearer" = [])), params(UploadQuery),
    request_body(description = "the video (raw bytes, or a multipart form's `file`)", content_type = "application/octet-stream"),
    responses((status = 200, description = "the signed video; `x-verity-payload` names its mark's payload", content_type = "video/mp4"),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, description = "the service has no signing identity", body = crate::error::ErrorBody)))]
pub async fn sign(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Sign)?.clone();
    let (up, _) = receive(&s, req, q.filename.as_deref()).await?;
    let input = up.path().to_path_buf();
    let output = input.with_file_name(format!(
        "signed-{}.mp4",
        input
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let home = s.home().clone();
    let store: Arc<dyn ManifestStore> = s.manifests().clone();
    let limits = s.config().limits.clone();
    let timeout = limits.verify_timeout;
    let permit = s
        .verify_slots()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("the service is stopping"))?;
    let task = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let _permit = permit;
        crate::verify::admit(&input, &limits, false).map_err(crate::routes::verify::failure)?;
        let mut plan = StampPlan::resolve(&home, &StampRequest::default()).map_err(|e| {
            tracing::error!(error = %crate::error_chain(&e), "the service cannot sign");
            ApiError::unavailable("this service has no usable signing identity; its log says why")
        })?;
        plan.repository = Some(store);
        let opts = plan.for_file(&input, &output, None, 20, verity_media::Preset::default());
        let stamped = stamp_file(&input, &output, &opts, |_| {}).map_err(|e| {
            if e.is_bad_input() {
                ApiError::unprocessable(
                    "unreadable_video",
                    crate::verify::hide_path(
                        &output,
                        &crate::verify::hide_path(&input, &crate::error_chain(&e)),
                    ),
                )
            } else {
                ApiError::internal(&crate::error_chain(&e))
            }
        })?;
        let report = plan.sign_report(&input, &stamped);
        // Opened before the upload's folder goes: the answer streams from this handle.
        let file = std::fs::File::open(&output).map_err(|e| ApiError::internal(&e))?;
        Ok((report, file))
    });
    let (report, file) = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(r)) => r?,
        Ok(Err(e)) => return Err(ApiError::internal(&e)),
        Err(_) => {
            return Err(ApiError::unavailable(format!(
                "signing ran past this service's limit of {} s",
                timeout.as_secs()
            )));
        }
    };
    drop(up);
    s.db()
        .audit(
            &format!("key:{}", caller.key_id),
            "sign",
            report.payload.as_deref().unwrap_or("-"),
            &serde_json::json!({"frames": report.frames, "manifest_bytes": report.manifest_bytes}),
        )
        .await?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let mut resp = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "video/mp4".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response();
    if let Some(p) = report
        .payload
        .as_deref()
        .and_then(|p| HeaderValue::from_str(p).ok())
    {
        resp.headers_mut().insert("x-verity-payload", p);
    }
    Ok(resp)
}
