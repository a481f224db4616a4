//! `/bulkwrite/v1/orgs/{org}/credits`: an org's API credits and calls in flight (`GET`), its
//! own metering plan (`PUT {"edition", "users", "addon_credits"}` or `{"metered": false}`), and
//! back to the server's setting (`DELETE`). For the admin credential always; with the test
//! controls on, also for the org's own token granted `bulkwrite.test` (see
//! [`crate::credits`]).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::{OrgCredits, StoreError};
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::credits::{credits_view, setting_from_request, CreditsRequest};
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::routes::admin::AdminAuth;
use crate::routes::test_controls::{TestCaller, TestControls};
use crate::AppState;

/// A caller of the credits routes: the admin credential (switch on or off), or a test-controls
/// caller.
pub struct CreditsCaller(TestCaller);

impl FromRequestParts<AppState> for CreditsCaller {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<CreditsCaller, ErrorResponse> {
        if AdminAuth::from_request_parts(parts, state).await.is_ok() {
            return Ok(CreditsCaller(TestCaller::Admin));
        }
        let TestControls(caller) = TestControls::from_request_parts(parts, state).await?;
        Ok(CreditsCaller(caller))
    }
}

fn not_found(text: &str) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("org {text} not found")))
}

/// The org of the path, if the caller may act on it and it exists (another org's token sees
/// the same answer as for an org that does not exist).
async fn org_of(state: &AppState, caller: &CreditsCaller, text: &str) -> Result<OrgId, ErrorResponse> {
    let org = OrgId::parse(text).ok_or_else(|| not_found(text))?;
    if !caller.0.may_act_on(org) || state.store.get_org(org).await?.is_none() {
        return Err(not_found(text));
    }
    Ok(org)
}

async fn answer_view(state: &AppState, org: OrgId) -> ApiResult<Response> {
    let view = credits_view(state.store.as_ref(), org, state.clock.now(), state.config.api_credits).await?;
    Ok(json_response(StatusCode::OK, &view))
}

async fn store_setting(state: &AppState, org: OrgId, setting: OrgCredits) -> ApiResult<Response> {
    match state.store.set_org_credits(org, setting).await {
        Ok(()) => answer_view(state, org).await,
        Err(StoreError::NotFound(_)) => Err(not_found(&org.to_string())),
        Err(error) => Err(error.into()),
    }
}

/// `GET /bulkwrite/v1/orgs/{org}/credits`.
pub async fn get_credits(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    caller: CreditsCaller,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    answer_view(&state, org).await
}

/// `PUT /bulkwrite/v1/orgs/{org}/credits`: the org's own plan, or not metered.
pub async fn put_credits(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    caller: CreditsCaller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    let request: CreditsRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, format!("the body does not fit: {e}")))
    })?;
    let setting = setting_from_request(&request)
        .map_err(|reason| ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, reason)))?;
    store_setting(&state, org, setting).await
}

/// `DELETE /bulkwrite/v1/orgs/{org}/credits`: the org follows the server's setting again.
pub async fn delete_credits(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    caller: CreditsCaller,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    store_setting(&state, org, OrgCredits::Inherit).await
}
