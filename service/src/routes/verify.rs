//! `POST /v1/verify`: a short clip, verified while the client waits. The answer is the report
//! that `verity verify --json` prints.

use std::time::Instant;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use serde::Deserialize;
use verity_detect::Report;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::keys::Scope;
use crate::state::AppState;
use crate::upload::{self, Upload};
use crate::verify::VerifyFailure;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name (for a raw body; a multipart part carries its own). Its extension tells
    /// the container; without one the first bytes do.
    pub filename: Option<String>,
}

/// The upload in a request: a multipart form's `file` part (and its other fields), or the
/// whole body.
pub async fn receive(
    s: &AppState,
    req: Request,
    filename: Option<&str>,
) -> Result<(Upload, Vec<(String, String)>), ApiError> {
    match receive_form(s, req, filename).await? {
        (Some(up), fields) => Ok((up, fields)),
        (None, _) => Err(ApiError::bad_request(
            "the form has no `file` part: send the video as a part named `file`",
        )),
    }
}

/// As [`receive`], for a request that may name its video another way: a multipart form
/// without a `file` part gives no upload.
pub async fn receive_form(
    s: &AppState,
    req: Request,
    filename: Option<&str>,
) -> Result<(Option<Upload>, Vec<(String, String)>), ApiError> {
    let limit = s.config().limits.max_upload_bytes;
    upload::check_length(req.headers(), limit)?;
    let root = s.config().uploads_dir();
    if upload::is_multipart(req.headers()) {
        let form = Multipart::from_request(req, s)
            .await
            .map_err(|e| ApiError::bad_request(format!("the multipart form: {}", e.body_text())))?;
        upload::from_multipart(&root, form, limit).await
    } else {
        let up = upload::from_body(&root, req.into_body(), filename, limit).await?;
        Ok((Some(up), Vec::new()))
    }
}

/// Maps a failed verification to its answer.
pub fn failure(e: VerifyFailure) -> ApiError {
    match e {
        VerifyFailure::Rejected(m) => ApiError::unprocessable("unreadable_video", m),
        VerifyFailure::TimedOut(s) => {
            let mut e = ApiError::unavailable(format!(
                "the verification ran past this service's limit of {s} s; submit it to POST /v1/jobs"
            ));
            e.code = "timeout";
            e
        }
        VerifyFailure::Internal(m) => ApiError::internal(&m),
    }
}

/// Verifies an uploaded clip and answers its report.
#[utoipa::path(post, path = "/v1/verify", tag = "verify", security(("bearer" = [])),
    params(UploadQuery),
    request_body(description = "the video: a multipart form with a `file` part, or the raw bytes", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the report (as `verity verify --json`)", body = Object),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, description = "not a video verity can read, or past a limit", body = crate::error::ErrorBody),
        (status = 503, description = "past the wall-clock limit", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<Json<Report>, ApiError> {
    auth.require(Scope::Verify)?;
    let (up, _) = receive(&s, req, q.filename.as_deref()).await?;
    let started = Instant::now();
    let result = crate::verify::run(
        up.path().to_path_buf(),
        s.verify_options(),
        s.config().limits.clone(),
        true,
        s.verify_slots(),
    )
    .await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    s.metrics()
        .observe_verify("sync", outcome, started.elapsed().as_secs_f64());
    drop(up);
    result.map(Json).map_err(failure)
}
