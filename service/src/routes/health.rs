//! `/healthz` (the process answers), `/readyz` (its database and object store answer),
//! `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::keys::Scope;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The service can take work: its database and its object store answer.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "the database or the object store does not answer", body = crate::error::ErrorBody)))]
pub async fn readyz(State(s): State<AppState>) -> Result<&'static str, ApiError> {
    if !s.db().ping().await {
        return Err(ApiError::unavailable("the database does not answer"));
    }
    if !s.storage().ping().await {
        return Err(ApiError::unavailable("the object store does not answer"));
    }
    Ok("ready\n")
}

/// Prometheus metrics (an `admin` key).
#[utoipa::path(get, path = "/metrics", tag = "health", security(("bearer" = [])), responses(
    (status = 200, description = "the text exposition format", content_type = "text/plain"),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn metrics(State(s): State<AppState>, auth: Auth) -> Result<impl IntoResponse, ApiError> {
    auth.require(Scope::Admin)?;
    crate::jobs::refresh_gauges(&s).await?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics().encode(),
    ))
}
