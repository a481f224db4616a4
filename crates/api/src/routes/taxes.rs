//! Zoho's Taxes API (read): `GET /crm/{v}/org/taxes` lists the org's taxes and
//! `GET /crm/{v}/org/taxes/{id}` answers one (an unknown id is `INVALID_DATA`); v2–v4 answer
//! `{"taxes", "preference"}`, v5 and later wrap them in `org_taxes` (see
//! `bulkwrite_core::inventory::tax`). No taxes is `204`. Scope `ZohoCRM.org.READ` (or broader).
//! The taxes are set by `bulkwrite admin taxes` and `/bulkwrite/v1/admin/orgs/{org}/taxes`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::inventory::tax::render_org_taxes;
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::{json_response, no_content};
use crate::AppState;

/// `GET /crm/{v}/org/taxes`
pub async fn get_taxes(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.org.READ", "ZohoCRM.settings.taxes.READ"])?;
    let taxes = state.store.org_taxes(auth.0.org).await?;
    if taxes.is_empty() {
        return Ok(no_content());
    }
    Ok(json_response(StatusCode::OK, &render_org_taxes(&taxes, api_version)))
}

/// `GET /crm/{v}/org/taxes/{id}`
pub async fn get_tax(
    State(state): State<AppState>,
    PathParams((path_version, id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.org.READ", "ZohoCRM.settings.taxes.READ"])?;
    let taxes = state.store.org_taxes(auth.0.org).await?;
    let Some(tax) = taxes.into_iter().find(|t| t.id.to_string() == id) else {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::InvalidData, "the id given seems to be invalid").detail("id", id),
        ));
    };
    Ok(json_response(StatusCode::OK, &render_org_taxes(&[tax], api_version)))
}
