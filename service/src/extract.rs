//! Axum's `Query` and `Json` extractors with their rejections answered as [`ApiError`]s, so a
//! malformed query string or body gets the same `{"error": {code, message}}` as every other
//! 4xx (axum's own answer is plain text).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A query string parsed into `T`; a bad one is a 400 `bad_request`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// A JSON body parsed into `T`: a body that is not JSON is a 400, one without
/// `Content-Type: application/json` a 415, one of the wrong shape a 422 `invalid_body`.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(format!("the query string: {}", r.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let message = format!("the JSON body: {}", r.body_text());
        match r {
            JsonRejection::JsonDataError(_) => ApiError::unprocessable("invalid_body", message),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
            ),
            _ => ApiError::bad_request(message),
        }
    }
}
