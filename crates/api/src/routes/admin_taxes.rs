//! `/bulkwrite/v1/admin/orgs/{org}/taxes`: the org's taxes behind the admin credential — `GET`
//! lists them, `PUT {"taxes": [{"name", "value"}]}` sets them (replacing by name), `DELETE
//! …/taxes/{id}` deletes one. Each answers the org's taxes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::OrgId;
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Deserialize;

use crate::admin::{Admin, TaxRequest};
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::routes::admin::AdminAuth;
use crate::AppState;

#[derive(Deserialize)]
pub struct TaxesBody {
    taxes: Vec<TaxRequest>,
}

fn org_id(text: &str) -> Result<OrgId, ErrorResponse> {
    OrgId::parse(text).ok_or_else(|| {
        ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("org {text} not found")))
    })
}

fn admin(state: &AppState) -> Admin {
    crate::routes::admin::admin(state)
}

/// `GET /bulkwrite/v1/admin/orgs/{org}/taxes`
pub async fn list_taxes(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
) -> ApiResult<Response> {
    let taxes = admin(&state).taxes(org_id(&org)?).await?;
    Ok(json_response(StatusCode::OK, &taxes))
}

/// `PUT /bulkwrite/v1/admin/orgs/{org}/taxes`
pub async fn put_taxes(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let body: TaxesBody = serde_json::from_slice(&bytes).map_err(|e| {
        ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, format!("the body does not fit: {e}")))
    })?;
    let taxes = admin(&state).set_taxes(org_id(&org)?, &body.taxes).await?;
    Ok(json_response(StatusCode::OK, &taxes))
}

/// `DELETE /bulkwrite/v1/admin/orgs/{org}/taxes/{id}`
pub async fn delete_tax(
    State(state): State<AppState>,
    PathParams((org, id)): PathParams<(String, String)>,
    _: AdminAuth,
) -> ApiResult<Response> {
    let taxes = admin(&state).delete_tax(org_id(&org)?, &id).await?;
    Ok(json_response(StatusCode::OK, &taxes))
}
