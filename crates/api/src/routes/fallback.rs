//! Unknown paths and wrong methods, in Zoho's words.

use bulkwrite_wire::ErrorCode;

use crate::error::ErrorResponse;

pub async fn not_found() -> ErrorResponse {
    ErrorCode::InvalidUrlPattern.into()
}

pub async fn method_not_allowed() -> ErrorResponse {
    ErrorCode::InvalidRequestMethod.into()
}
