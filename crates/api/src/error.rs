//! Every error answer goes through here: a Zoho code from the wire table, its status, the
//! recorded headers. 5xx bodies carry no internals; the cause is logged once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulkwrite_store::StoreError;
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::response::json_response;

/// An error answer.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        Failure(error)
    }
}

impl From<ErrorCode> for Failure {
    fn from(code: ErrorCode) -> Failure {
        Failure(ApiError::new(code))
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        if error.is_retryable() {
            tracing::warn!(error = %error, cause = ?std::error::Error::source(&error), "storage busy");
            return Failure(ApiError::new(ErrorCode::TooManyRequests));
        }
        tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "storage failed");
        Failure(ApiError::new(ErrorCode::InternalError))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.0.to_body())
    }
}

pub type ApiResult<T> = Result<T, Failure>;
