//! Org metadata in Zoho's shapes (spec §10.1–10.4): the org, its users, modules, fields and
//! layouts. (Being written: these answer INVALID_URL_PATTERN until then.)

use axum::extract::State;
use axum::response::Response;
use bulkwrite_wire::ErrorCode;

use crate::auth::Auth;
use crate::error::{ApiResult, Failure};
use crate::paths::ZPath;
use crate::AppState;

/// `GET /crm/{v}/org`
pub async fn get_org(State(_state): State<AppState>, ZPath(_version): ZPath<String>, _auth: Auth) -> ApiResult<Response> {
    Err(Failure::from(ErrorCode::InvalidUrlPattern))
}

/// `GET /crm/{v}/users`
pub async fn get_users(State(_state): State<AppState>, ZPath(_version): ZPath<String>, _auth: Auth) -> ApiResult<Response> {
    Err(Failure::from(ErrorCode::InvalidUrlPattern))
}

/// `GET /crm/{v}/settings/modules`
pub async fn get_modules(State(_state): State<AppState>, ZPath(_version): ZPath<String>, _auth: Auth) -> ApiResult<Response> {
    Err(Failure::from(ErrorCode::InvalidUrlPattern))
}

/// `GET /crm/{v}/settings/fields?module=`
pub async fn get_fields(State(_state): State<AppState>, ZPath(_version): ZPath<String>, _auth: Auth) -> ApiResult<Response> {
    Err(Failure::from(ErrorCode::InvalidUrlPattern))
}

/// `GET /crm/{v}/settings/layouts?module=`
pub async fn get_layouts(State(_state): State<AppState>, ZPath(_version): ZPath<String>, _auth: Auth) -> ApiResult<Response> {
    Err(Failure::from(ErrorCode::InvalidUrlPattern))
}
