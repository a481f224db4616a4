//! Path parameters with Zoho-shaped rejections.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_wire::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// `Path<T>` whose rejection is `INVALID_URL_PATTERN`.
pub struct ZPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ZPath<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ZPath<T>, Failure> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ZPath(value)),
            Err(_) => Err(ErrorCode::InvalidUrlPattern.into()),
        }
    }
}

/// The `{version}` segment; anything but `v2`, `v2.1`, `v3` … `v8` is a wrong URL.
pub fn version(text: &str) -> Result<ApiVersion, Failure> {
    ApiVersion::parse(text).ok_or_else(|| ErrorCode::InvalidUrlPattern.into())
}
