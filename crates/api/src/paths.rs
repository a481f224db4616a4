//! Path parameters with Zoho-shaped rejections.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_wire::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ErrorResponse;

/// `Path<T>` whose rejection is `INVALID_URL_PATTERN`.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathParams<T>, ErrorResponse> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParams(value)),
            Err(_) => Err(ErrorCode::InvalidUrlPattern.into()),
        }
    }
}

/// The `{version}` segment; anything but `v2`, `v2.1`, `v3` … `v8` is a wrong URL.
pub fn version(text: &str) -> Result<ApiVersion, ErrorResponse> {
    ApiVersion::parse(text).ok_or_else(|| ErrorCode::InvalidUrlPattern.into())
}
