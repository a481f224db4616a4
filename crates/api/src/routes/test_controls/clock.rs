//! `GET /bulkwrite/v1/clock` and `POST /bulkwrite/v1/clock` (`{"advance": "7d"}` or
//! `{"reset": true}`): business time, which token, grant, upload and result expiry, retention,
//! callback backoff and creation times read. The offset is kept in the store, so every node
//! sharing it runs on one clock (another node takes a move up within `CONTROLS_POLL`, at once
//! when asked this path); a move sweeps what retention now expires before it answers. Leases
//! never read it (see `bulkwrite_store::control`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::clock::parse_advance;
use bulkwrite_store::ControlState;
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiResult, ErrorResponse};
use crate::response::json_response;
use crate::routes::test_controls::TestControls;
use crate::AppState;

/// A move of the clock: forward by an amount, or back to the system's time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveRequest {
    /// `7d`, `12h`, `30m`, `90s`, or a number of seconds.
    #[serde(default)]
    advance: Option<Value>,
    /// Sets the offset back to zero.
    #[serde(default)]
    reset: Option<bool>,
}

/// The clock's document: business time now and its offset from the system's.
pub(crate) fn clock_document(state: &AppState) -> Value {
    json!({"now": state.clock.now().to_rfc3339(), "offset_seconds": state.controls.offset_seconds()})
}

/// Takes on the stored state here; when that moved this node's clock, sweeps and wakes the
/// callbacks as the watcher would.
pub(crate) async fn take_on(state: &AppState, stored: ControlState) {
    if state.controls.apply(stored) {
        if let Some(driver) = &state.driver {
            driver.clock_moved().await;
        }
    }
}

/// `GET /bulkwrite/v1/clock`: read from the store, so any node answers the shared clock.
pub async fn get_clock(State(state): State<AppState>, _: TestControls) -> ApiResult<Response> {
    let stored = state.store.control_state().await?;
    take_on(&state, stored).await;
    Ok(json_response(StatusCode::OK, &clock_document(&state)))
}

/// `POST /bulkwrite/v1/clock`: moves every node's clock forward (or back to the real time);
/// answers once what retention expires at the new time is swept on this node.
pub async fn move_clock(State(state): State<AppState>, _: TestControls, bytes: Bytes) -> ApiResult<Response> {
    let request: MoveRequest = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!("the body must be {{\"advance\": \"7d\"}} or {{\"reset\": true}}: {e}"), "body")
    })?;
    let stored = match (request.advance, request.reset) {
        (Some(_), Some(true)) => return Err(invalid("give advance or reset, not both".into(), "reset")),
        (Some(advance), _) => state.store.advance_clock(seconds(&advance)?).await?,
        (None, Some(true)) => state.store.reset_clock().await?,
        (None, _) => return Err(invalid("give advance (e.g. \"7d\") or reset: true".into(), "advance")),
    };
    take_on(&state, stored).await;
    Ok(json_response(StatusCode::OK, &clock_document(&state)))
}

/// The seconds an `advance` names: a text like `7d`, or a whole number of seconds.
fn seconds(advance: &Value) -> Result<i64, ErrorResponse> {
    let text = match advance {
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
        other => {
            return Err(invalid(format!("advance must be a text like \"7d\" or whole seconds, not {other}"), "advance"))
        }
    };
    parse_advance(&text).map_err(|error| invalid(error.0, "advance"))
}

fn invalid(message: String, key: &str) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, message).detail("api_name", key))
}
