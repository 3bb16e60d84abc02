//! `Authorization: Bearer <token>` as an extractor; handlers say which scope they need.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::keys::{self, Caller, Scope};
use crate::state::AppState;

/// The request's key, when it sent one. A token that is sent but unknown or revoked is refused
/// here (401), whatever the route.
#[derive(Clone, Debug)]
pub struct Auth(pub Option<Caller>);

impl Auth {
    /// The caller, if its key's scope allows `scope`.
    pub fn require(&self, scope: Scope) -> Result<&Caller, ApiError> {
        match &self.0 {
            None => Err(ApiError::unauthorized(
                "this endpoint needs an API key: send `Authorization: Bearer <token>` (make one with `verity serve keys create`)",
            )),
            Some(c) if c.scope.allows(scope) => Ok(c),
            Some(c) => Err(ApiError::forbidden(format!(
                "this key's scope is `{}`; this endpoint needs `{scope}`",
                c.scope
            ))),
        }
    }

    /// Who did it, for the audit log: the key's id, or `anonymous`.
    pub fn actor(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| "anonymous".to_string(), |c| format!("key:{}", c.key_id))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Auth(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not `Bearer <token>`")
            })?;
        match keys::authenticate(state.db(), token).await? {
            Some(c) => match state.charge(&c.key_id) {
                Ok(()) => Ok(Auth(Some(c))),
                Err(wait) => {
                    let mut e = ApiError::new(
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!(
                            "this key is over its rate of {} requests a minute; retry after {wait} s",
                            state.config().limits.requests_per_minute
                        ),
                    );
                    e.retry_after = Some(wait.max(1));
                    Err(e)
                }
            },
            None => Err(ApiError::unauthorized("the API key is unknown or revoked")),
        }
    }
}
