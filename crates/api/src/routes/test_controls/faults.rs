//! `/bulkwrite/v1/faults`: the fault rules of the test controls (see [`crate::faults`]), behind
//! the switch: the admin credential acts on every rule, an org's token (`bulkwrite.test`) on its
//! own org's.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_wire::faults::NewFault;
use bulkwrite_wire::{ApiError, ErrorCode};

use super::TestControls;
use crate::error::{ApiResult, ErrorResponse};
use crate::faults::{FaultError, Faults};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

impl From<FaultError> for ErrorResponse {
    fn from(error: FaultError) -> ErrorResponse {
        match error {
            FaultError::Refused(refusal) => ErrorResponse(refusal),
            FaultError::Store(error) => ErrorResponse::from(error),
        }
    }
}

fn faults(state: &AppState) -> Faults {
    Faults { store: state.store.clone(), ids: state.ids.clone(), clock: state.clock.clone() }
}

/// `POST /bulkwrite/v1/faults`: adds a rule; 201 `{"id"}`.
pub async fn add_fault(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewFault = serde_json::from_slice(&bytes).map_err(|error| {
        ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, format!("the body is not a fault rule: {error}")))
    })?;
    let created = faults(&state).add(caller.own_org(), &request).await?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `GET /bulkwrite/v1/faults`: the caller's rules with how often each fired.
pub async fn list_faults(State(state): State<AppState>, TestControls(caller): TestControls) -> ApiResult<Response> {
    let list = faults(&state).list(caller.own_org()).await?;
    Ok(json_response(StatusCode::OK, &list))
}

/// `DELETE /bulkwrite/v1/faults/{id}`: removes one of the caller's rules.
pub async fn remove_fault(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let removed = faults(&state).remove(caller.own_org(), &id).await?;
    Ok(json_response(StatusCode::OK, &removed))
}

/// `DELETE /bulkwrite/v1/faults`: removes every rule of the caller.
pub async fn clear_faults(State(state): State<AppState>, TestControls(caller): TestControls) -> ApiResult<Response> {
    let removed = faults(&state).clear(caller.own_org()).await?;
    Ok(json_response(StatusCode::OK, &removed))
}
