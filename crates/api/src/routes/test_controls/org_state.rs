//! Reset and snapshots of an org (test controls): `POST /bulkwrite/v1/orgs/{org}/reset`,
//! `POST|GET /bulkwrite/v1/orgs/{org}/snapshots`, `POST …/snapshots/{name}/restore` and
//! `DELETE …/snapshots/{name}`. The admin credential acts on any org, an org's `bulkwrite.test`
//! token on its own (another org answers as an unknown one, `404`). What is state and what is
//! kept: see `bulkwrite_store::org_state`; the caller's own token survives.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::inbox::valid_name;
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{Keep, SnapshotInfo, StoreError};
use bulkwrite_wire::inbox::{NewSnapshot, Removed, ResetSummary, Snapshot, SnapshotList};
use bulkwrite_wire::{ApiError, ErrorCode};

use super::{TestCaller, TestControls};
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

fn org_not_found(text: &str) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("org {text} not found")))
}

fn snapshot_not_found(name: &str) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("snapshot '{name}' not found")))
}

/// The org of the path, if the caller may act on it and it exists.
async fn org_of(state: &AppState, caller: &TestCaller, text: &str) -> Result<OrgId, ErrorResponse> {
    let org = OrgId::parse(text).ok_or_else(|| org_not_found(text))?;
    if !caller.may_act_on(org) || state.store.get_org(org).await?.is_none() {
        return Err(org_not_found(text));
    }
    Ok(org)
}

/// The caller's own access token, kept through a reset (the admin credential is no token).
fn keep(caller: &TestCaller, headers: &HeaderMap) -> Keep {
    let token = match caller {
        TestCaller::Admin => None,
        TestCaller::Org(_) => {
            headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(crate::auth::bearer)
        }
    };
    Keep { token_hash: token.map(hash_token) }
}

fn snapshot_view(info: SnapshotInfo) -> Snapshot {
    Snapshot {
        name: info.name,
        created_time: info.created_time.to_rfc3339(),
        records: info.records,
        jobs: info.jobs,
        rows: info.rows,
    }
}

/// `POST /bulkwrite/v1/orgs/{org}/reset`: deletes the org's state in one transaction; 200 with
/// what went. Running jobs go with it: their workers' next write finds no lease and stops.
pub async fn reset_org(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(org): PathParams<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    let summary = state.store.reset_org(org, &keep(&caller, &headers)).await?;
    tracing::info!(org = %org, records = summary.records, jobs = summary.jobs, "org reset");
    let view =
        ResetSummary { org_id: org.to_string(), records: summary.records, jobs: summary.jobs, rows: summary.rows };
    Ok(json_response(StatusCode::OK, &view))
}

/// `POST /bulkwrite/v1/orgs/{org}/snapshots {"name"}`: 201 with the snapshot.
pub async fn create_snapshot(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(org): PathParams<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    let request: NewSnapshot = serde_json::from_slice(&bytes).map_err(|error| {
        let message = format!("the body is not {{\"name\": \"…\"}}: {error}");
        ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, message))
    })?;
    if !valid_name(&request.name) {
        let message = format!("'{}' is not a snapshot name: 1 to 100 letters, digits, '-', '_' or '.'", request.name);
        return Err(ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, message).detail("api_name", "name")));
    }
    match state.store.create_snapshot(org, &request.name, state.clock.now()).await {
        Ok(info) => Ok(json_response(StatusCode::CREATED, &snapshot_view(info))),
        Err(StoreError::Conflict(_)) => {
            let message = format!("the org has a snapshot named '{}'; delete it first", request.name);
            Err(ErrorResponse(ApiError::with_message(ErrorCode::DuplicateData, message).detail("api_name", "name")))
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /bulkwrite/v1/orgs/{org}/snapshots`: `{"snapshots": […]}`, oldest first.
pub async fn list_snapshots(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(org): PathParams<String>,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    let snapshots = state.store.snapshots(org).await?.into_iter().map(snapshot_view).collect();
    Ok(json_response(StatusCode::OK, &SnapshotList { snapshots }))
}

/// `POST /bulkwrite/v1/orgs/{org}/snapshots/{name}/restore`: the org's state becomes the
/// snapshot's (a reset and the copy back, in one transaction); 200 with the snapshot.
pub async fn restore_snapshot(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams((org, name)): PathParams<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    let restored = state.store.restore_snapshot(org, &name, &keep(&caller, &headers)).await?;
    let info = restored.ok_or_else(|| snapshot_not_found(&name))?;
    // Jobs the snapshot held queued, and its pending callbacks, are due again.
    state.job_queued.notify_one();
    if let Some(driver) = &state.driver {
        driver.callbacks_queued().await;
    }
    tracing::info!(org = %org, snapshot = %name, "snapshot restored");
    Ok(json_response(StatusCode::OK, &snapshot_view(info)))
}

/// `DELETE /bulkwrite/v1/orgs/{org}/snapshots/{name}`: `{"removed": 1}`.
pub async fn delete_snapshot(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams((org, name)): PathParams<(String, String)>,
) -> ApiResult<Response> {
    let org = org_of(&state, &caller, &org).await?;
    if !state.store.delete_snapshot(org, &name).await? {
        return Err(snapshot_not_found(&name));
    }
    Ok(json_response(StatusCode::OK, &Removed { removed: 1 }))
}
