//! Errors. [`ServiceError`] is the library's (start-up, storage, jobs); [`ApiError`] is what a
//! handler answers: a 4xx says what was wrong with the request, a 5xx is generic and its detail
//! goes to the log with the request id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The crate's error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("database {location}: {source}")]
    Database {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    /// A query failed (the location is in the start-up log).
    #[error("the database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Detect(#[from] verity_detect::DetectError),
    #[error(transparent)]
    Provenance(#[from] verity_provenance::ProvenanceError),
    #[error("unknown API key scope `{0}`: expected verify, jobs, sign or admin")]
    Scope(String),
    #[error("no API key named `{0}`")]
    NoSuchKey(String),
    #[error(
        "an API key named `{0}` exists already (revoked keys keep their names): choose another name"
    )]
    KeyNameTaken(String),
    #[error("the queue: {0}")]
    Queue(String),
    /// The object store (uploads, kept videos).
    #[error("the object store: {0}")]
    Storage(String),
    /// An object the store does not have.
    #[error("the object store: {0}")]
    StorageNotFound(String),
    /// A setting that cannot be used, with the reason.
    #[error("the configuration: {0}")]
    Config(String),
    /// A reviewer or review-policy operation refused, with the reason.
    #[error("{0}")]
    Review(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// Whether the object store answered that the object is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ServiceError::StorageNotFound(_))
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ServiceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One error answer: `{"error": {"code", "message"}}` and the status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`unauthorized`, `payload_too_large`, …).
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the upload is larger than this service's limit of {limit} bytes"),
        )
    }

    /// A server-side failure: the detail is logged, the client gets a generic message.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service failed on this request; its log has the detail under the request id",
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::internal(&crate::error_chain(&e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
