//! The C2PA Soft Binding Resolution API over the service's manifest store.
//!
//! verity's soft binding is its spectral mark (`org.verity.spectral.3`); a binding value is the
//! mark's 64-bit payload as 16 hex digits. The API's `value` is that text, base64-encoded as
//! the specification asks; the plain 16 hex digits are accepted too.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{JsonBody, Query};
use crate::keys::Scope;
use crate::routes::verify::receive;
use crate::state::AppState;

/// The soft-binding algorithms this service resolves.
pub fn algorithms() -> Vec<String> {
    use verity_provenance::marks::spectral::{ALGORITHM, EARLIER_ALGORITHMS};
    std::iter::once(ALGORITHM)
        .chain(EARLIER_ALGORITHMS.iter().copied())
        .map(str::to_string)
        .collect()
}

/// One match.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// The manifest's id: fetch it from `/v1/manifests/{manifestId}`.
    pub manifest_id: String,
    /// Where it can be fetched (this service), when the request's host is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// 100 for an exact match of the binding value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity_score: Option<u32>,
}

/// The answer of a match query.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatchResult {
    pub matches: Vec<Match>,
}

/// `byContent`'s query: the upload's name (ours), and the API's own parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ContentQuery {
    /// The file's name; its extension tells the container (else the first bytes do).
    pub filename: Option<String>,
    /// Only this soft-binding algorithm.
    pub alg: Option<String>,
    /// The most matches to return (default 10).
    pub max_results: Option<u32>,
    /// A soft binding the client already read (accepted and not needed: the service reads the
    /// mark itself).
    pub hint_alg: Option<String>,
    pub hint_value: Option<String>,
}

/// `GET /manifests/{manifestId}`'s query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ManifestQuery {
    /// Accepted; the whole manifest store is returned either way (its active manifest is the
    /// one the id names, and its ingredients' manifests are what validate it).
    pub return_active_manifest: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingQuery {
    /// The soft-binding algorithm's name.
    pub alg: String,
    /// The binding value, base64-encoded (or verity's 16 hex digits as they are).
    pub value: String,
    /// The most matches to return.
    pub max_results: Option<u32>,
}

fn public_or(s: &AppState, auth: &Auth) -> Result<(), ApiError> {
    if s.config().public_resolution {
        Ok(())
    } else {
        auth.require(Scope::Verify).map(|_| ())
    }
}

/// The binding value as the manifest store keys it.
fn binding_value(v: &str) -> Result<String, ApiError> {
    let hex16 = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if hex16(v) {
        return Ok(v.to_ascii_lowercase());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim()))
        .map_err(|_| ApiError::bad_request("`value` is not base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| {
        ApiError::bad_request(
            "`value` does not decode to this algorithm's text form (16 hex digits)",
        )
    })?;
    if hex16(text.trim()) {
        Ok(text.trim().to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(
            "`value` does not decode to this algorithm's text form (16 hex digits)",
        ))
    }
}

async fn matches(s: &AppState, q: &BindingQuery) -> Result<MatchResult, ApiError> {
    if !algorithms().iter().any(|a| a == &q.alg) {
        return Err(ApiError::bad_request(format!(
            "algorithm `{}` is not resolved here; see /v1/services/supportedAlgorithms",
            q.alg
        )));
    }
    let value = binding_value(&q.value)?;
    let found = s.manifests().by_binding(&q.alg, &value).await?;
    let max = q.max_results.unwrap_or(10) as usize;
    Ok(MatchResult {
        matches: found
            .into_iter()
            .take(max)
            .map(|(id, _)| Match {
                manifest_id: id,
                endpoint: None,
                similarity_score: Some(100),
            })
            .collect(),
    })
}

/// Manifest ids for a soft binding.
#[utoipa::path(get, path = "/v1/matches/byBinding", tag = "resolution", params(BindingQuery),
    responses((status = 200, body = MatchResult), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn by_binding_get(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<BindingQuery>,
) -> Result<Json<MatchResult>, ApiError> {
    public_or(&s, &auth)?;
    matches(&s, &q).await.map(Json)
}

/// Manifest ids for a soft binding, the query in the body (for values too long for a URL).
#[utoipa::path(post, path = "/v1/matches/byBinding", tag = "resolution", request_body = BindingQuery,
    responses((status = 200, body = MatchResult), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 415, description = "the body is not `application/json`", body = crate::error::ErrorBody),
        (status = 422, description = "the JSON lacks `alg` or `value`", body = crate::error::ErrorBody)))]
pub async fn by_binding_post(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(q): JsonBody<BindingQuery>,
) -> Result<Json<MatchResult>, ApiError> {
    public_or(&s, &auth)?;
    matches(&s, &q).await.map(Json)
}

/// Manifest ids for an uploaded video: the service reads its spectral mark and looks the
/// payload up.
#[utoipa::path(post, path = "/v1/matches/byContent", tag = "resolution", security(("bearer" = [])),
    params(ContentQuery),
    request_body(description = "the video (raw bytes, or a multipart form's `file`)", content_type = "application/octet-stream"),
    responses((status = 200, body = MatchResult), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn by_content(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<ContentQuery>,
    req: Request,
) -> Result<Json<MatchResult>, ApiError> {
    auth.require(Scope::Verify)?;
    if let Some(a) = &q.alg {
        if !algorithms().contains(a) {
            return Err(ApiError::bad_request(format!(
                "algorithm `{a}` is not resolved here; see /v1/services/supportedAlgorithms"
            )));
        }
    }
    let (up, _) = receive(&s, req, q.filename.as_deref()).await?;
    let path = up.path().to_path_buf();
    let limits = s.config().limits.clone();
    let keys = s.verify_options().keys.clone();
    let permit = s
        .verify_slots()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("the service is stopping"))?;
    let found = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        crate::verify::admit(&path, &limits, false)?;
        verity_detect::marks::read_binding(&path, &keys).map_err(|e| {
            crate::verify::VerifyFailure::Rejected(crate::verify::hide_path(
                &path,
                &crate::error_chain(&e),
            ))
        })
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(crate::routes::verify::failure)?;
    drop(up);
    let Some((alg, value)) = found.filter(|(a, _)| q.alg.as_ref().is_none_or(|want| want == a))
    else {
        return Ok(Json(MatchResult { matches: vec![] }));
    };
    matches(
        &s,
        &BindingQuery {
            alg,
            value,
            max_results: q.max_results,
        },
    )
    .await
    .map(Json)
}

/// A manifest store, as `application/c2pa`.
#[utoipa::path(get, path = "/v1/manifests/{manifestId}", tag = "resolution",
    params(("manifestId" = String, Path, description = "an id from a match (the active manifest's label)"), ManifestQuery),
    responses((status = 200, description = "the C2PA manifest store", content_type = "application/c2pa"),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn manifest(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(_query): Query<ManifestQuery>,
) -> Result<Response, ApiError> {
    public_or(&s, &auth)?;
    let record = s
        .manifests()
        .by_id(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no manifest `{id}`")))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/c2pa")],
        Body::from(record.manifest),
    )
        .into_response())
}

/// The algorithms this service resolves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportedAlgorithms {
    pub watermarks: Vec<AlgEntry>,
    pub fingerprints: Vec<AlgEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlgEntry {
    pub alg: String,
}

#[utoipa::path(get, path = "/v1/services/supportedAlgorithms", tag = "resolution",
    responses((status = 200, body = SupportedAlgorithms)))]
pub async fn supported() -> Json<SupportedAlgorithms> {
    Json(SupportedAlgorithms {
        watermarks: algorithms()
            .into_iter()
            .map(|alg| AlgEntry { alg })
            .collect(),
        fingerprints: vec![],
    })
}

/// The version of the Resolution API's definition this service follows.
pub const SPEC_VERSION: &str = "2.4.0";

/// Where this service's Resolution API is, for discovery (RFC 8615).
#[utoipa::path(get, path = "/.well-known/c2pa-soft-binding-resolution", tag = "resolution",
    responses((status = 200, body = Object)))]
pub async fn well_known() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "apiEndpoint": "/v1",
        "c2paSpecificationVersion": SPEC_VERSION,
        "capabilitiesEndpoint": "/v1/services/capabilities",
        "statusEndpoint": "/v1/services/status",
    }))
}

/// What this service implements of the API.
#[utoipa::path(get, path = "/v1/services/capabilities", tag = "resolution",
    responses((status = 200, body = Object)))]
pub async fn capabilities() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "c2paSpecificationVersion": SPEC_VERSION,
        "supportedCapabilities": ["queryByContent"],
    }))
}

/// Whether the service can answer: `ok`, or `down` when its database does not.
#[utoipa::path(get, path = "/v1/services/status", tag = "resolution",
    responses((status = 200, body = Object)))]
pub async fn status(State(s): State<AppState>) -> Json<serde_json::Value> {
    let up = s.db().ping().await;
    Json(serde_json::json!({
        "status": if up { "ok" } else { "down" },
        "timestamp": crate::db::rfc3339(crate::db::now_ms()),
    }))
}
