//! `GET /metrics` (Prometheus text format) and `GET /readyz` (503 while the database is
//! unreachable). Both are served by every node, worker-only ones included.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::observe::refresh_queue_gauges;
use crate::response::json_response;
use crate::AppState;

/// How long `/readyz` waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn get_metrics(State(state): State<AppState>) -> Response {
    refresh_queue_gauges(state.store.as_ref(), state.clock.now()).await;
    let text = state.metrics.as_ref().map(|exporter| exporter.render()).unwrap_or_default();
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    response
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let failure = match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => return json_response(StatusCode::OK, &json!({"status": "ready"})),
        Ok(Err(error)) => error.with_causes().to_string(),
        Err(_) => format!("no answer within {READY_TIMEOUT:?}"),
    };
    tracing::warn!(reason = %failure, "readiness: the database is unreachable");
    json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable"}))
}
