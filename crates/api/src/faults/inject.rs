//! The HTTP seam of the fault rules: a layer on the router that every request passes through
//! before its handler (or the fallback) runs. With the test controls on, a request to one of
//! Zoho's paths is matched against the live HTTP rules in the order they were added: every rule
//! that fires adds its latency, and the first that fires with an error answers in its place with
//! Zoho's body, status and headers for that code (later error rules are not tried, so they count
//! no match). Rules limited to an org match the org of the request's token, or failing that its
//! `X-CRM-ORG` header. bulkwrite's own paths (`/bulkwrite/…`, the faults themselves included),
//! `/healthz`, `/readyz` and `/metrics` are never faulted.
//!
//! With the switch off the layer reads nothing and costs one flag test a request.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulkwrite_core::faults::{is_zoho_path, FaultAction, FaultKind};
use bulkwrite_core::ids::OrgId;
use bulkwrite_wire::faults::CREDITS_REMAINING_HEADER;
use bulkwrite_wire::{ApiError, ErrorCode};
use futures_util::StreamExt;

use crate::error::ErrorResponse;
use crate::AppState;

/// What the rules that fired on a request do to it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Decision {
    /// Milliseconds to wait before answering (the sum of the latencies that fired).
    delay_ms: u64,
    /// The rule that answers instead of the handler, and its code.
    error: Option<(u64, ErrorCode)>,
}

/// The layer: see the module docs.
pub async fn http_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.config.test_controls || !is_zoho_path(request.uri().path()) {
        return next.run(request).await;
    }
    let decision = decide(&state, request.method().as_str(), request.uri().path(), request.headers()).await;
    if decision.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
    }
    let Some((fault, code)) = decision.error else {
        return next.run(request).await;
    };
    // Read the body the client is sending before answering, as a handler would: closing on
    // unread bytes resets the connection, and the client could lose the answer.
    drain(request.into_body(), state.config.limits.max_upload_bytes.saturating_mul(2)).await;
    tracing::info!(fault, code = code.as_str(), "fault rule answered in place of the handler");
    error_answer(code)
}

/// Zoho's answer of `code`: the table's status and body, and the headers Zoho sends with it.
/// A `429 TOO_MANY_REQUESTS` carries `X-API-CREDITS-REMAINING: 0`, the one rate header Zoho's
/// API limits pages name (they promise no `Retry-After`).
fn error_answer(code: ErrorCode) -> Response {
    let mut response = ErrorResponse(ApiError::new(code)).into_response();
    if code == ErrorCode::TooManyRequests {
        if let Ok(name) = HeaderName::from_bytes(CREDITS_REMAINING_HEADER.as_bytes()) {
            response.headers_mut().insert(name, HeaderValue::from_static("0"));
        }
    }
    response
}

/// Matches the live HTTP rules against a request and fires those that apply, in order.
async fn decide(state: &AppState, method: &str, path: &str, headers: &HeaderMap) -> Decision {
    let mut decision = Decision::default();
    let rules = match state.store.live_faults(FaultKind::Http).await {
        Ok(rules) => rules,
        Err(error) => {
            tracing::warn!(error = %error.with_causes(), "reading the fault rules failed; the request goes on unfaulted");
            return decision;
        }
    };
    let candidates: Vec<_> = rules.iter().filter(|fault| fault.rule.matches_request(method, path)).collect();
    if candidates.is_empty() {
        return decision;
    }
    let org =
        if candidates.iter().any(|fault| fault.rule.org.is_some()) { request_org(state, headers).await } else { None };
    for fault in candidates {
        let FaultAction::Http(http) = fault.rule.action else { continue };
        if !fault.rule.applies_to(org) {
            continue;
        }
        match state.store.fire_fault(fault.id).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(fault = fault.id, error = %error.with_causes(), "firing a fault rule failed; it is skipped");
                continue;
            }
        }
        decision.delay_ms = decision.delay_ms.saturating_add(http.latency_ms.unwrap_or(0));
        if let Some(code) = http.error {
            decision.error = Some((fault.id, code));
            break;
        }
        tracing::info!(fault = fault.id, latency_ms = http.latency_ms, "fault rule delays the answer");
    }
    decision
}

/// The org a request acts for: its token's (a valid one), else its `X-CRM-ORG` header's.
async fn request_org(state: &AppState, headers: &HeaderMap) -> Option<OrgId> {
    let token = headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(crate::auth::bearer);
    if let Some(token) = token {
        if let Ok(Some(principal)) = crate::auth::principal(state, token).await {
            return Some(principal.org);
        }
    }
    headers.get("x-crm-org").and_then(|value| value.to_str().ok()).and_then(|text| OrgId::parse(text.trim()))
}

/// Reads and drops a request body, up to `limit` bytes (then stops: the connection will close).
async fn drain(body: Body, limit: u64) {
    let mut read = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        read = read.saturating_add(chunk.len() as u64);
        if read > limit {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_too_many_requests_answer_carries_the_credits_header() {
        let response = error_answer(ErrorCode::TooManyRequests);
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["x-api-credits-remaining"], "0");
        let response = error_answer(ErrorCode::InternalError);
        assert_eq!(response.status().as_u16(), 500);
        assert!(response.headers().get("x-api-credits-remaining").is_none());
    }
}
