//! Every error answer goes through here: a Zoho code from the wire table, its status, the
//! recorded headers. 5xx bodies carry no internals; the cause is logged once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulkwrite_store::StoreError;
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::response::json_response;

/// An error answer.
#[derive(Debug)]
pub struct ErrorResponse(pub ApiError);

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> ErrorResponse {
        ErrorResponse(error)
    }
}

impl From<ErrorCode> for ErrorResponse {
    fn from(code: ErrorCode) -> ErrorResponse {
        ErrorResponse(ApiError::new(code))
    }
}

/// Any storage failure, a busy or unreachable database included, is 500 `INTERNAL_ERROR` with
/// the table's message and empty `details`; the error and its causes are logged here, once, on
/// the request's span (so the line carries its request id).
///
/// A full disk is the exception: 507 `INSUFFICIENT_STORAGE`, which a client may retry later.
impl From<StoreError> for ErrorResponse {
    fn from(error: StoreError) -> ErrorResponse {
        log_store_failure(&error);
        if error.is_disk_full() {
            return ErrorResponse(ApiError::new(ErrorCode::InsufficientStorage));
        }
        ErrorResponse(ApiError::new(ErrorCode::InternalError))
    }
}

/// Logs a storage failure with its chain of causes.
pub(crate) fn log_store_failure(error: &StoreError) {
    if error.is_retryable() {
        tracing::warn!(error = %error.with_causes(), "storage unavailable; answered INTERNAL_ERROR");
    } else {
        tracing::error!(error = %error.with_causes(), "storage failed; answered INTERNAL_ERROR");
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.0.to_body())
    }
}

pub type ApiResult<T> = Result<T, ErrorResponse>;
