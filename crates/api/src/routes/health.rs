//! `GET /healthz`: 200 once the server accepts requests and its store answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::response::json_response;
use crate::AppState;

pub async fn health(State(state): State<AppState>) -> Response {
    match state.store.bootstrap_record().await {
        Ok(_) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Err(error) => {
            tracing::warn!(error = %error.with_causes(), "health check: store unavailable");
            json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable"}))
        }
    }
}
