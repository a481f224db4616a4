//! Unknown paths and wrong methods, in Zoho's words.

use bulkwrite_wire::ErrorCode;

use crate::error::Failure;

pub async fn not_found() -> Failure {
    ErrorCode::InvalidUrlPattern.into()
}

pub async fn method_not_allowed() -> Failure {
    ErrorCode::InvalidRequestMethod.into()
}
