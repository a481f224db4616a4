//! The metering layer: around every route, it prices a metered call, admits it through the
//! store (charging its credits and taking a concurrency slot) or answers 429, and frees the slot
//! once the handler has answered.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulkwrite_core::credits::{CreditPlan, Refusal, SUB_CONCURRENCY};
use bulkwrite_store::credits::SELF_APP;
use bulkwrite_store::{CallAdmission, CallRequest, CallSlot, Store};
use bulkwrite_wire::{ApiError, ErrorCode};

use super::classify::{classify, priced_by_body, Metered};
use super::view::plan_in_force;
use crate::auth::Auth;
use crate::error::{log_store_failure, ErrorResponse};
use crate::refusal::refusal_for_status;
use crate::AppState;

/// The header Zoho adds once half the window's credits are used: the credits left.
pub const CREDITS_REMAINING_HEADER: &str = "x-api-credits-remaining";

/// How long a call's concurrency slot is held at most: a node that dies mid-call frees its
/// slots this long after (its calls end with it).
pub const SLOT_LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// Largest body read to price a call (records writes, COQL): axum's default body limit, which
/// their handlers keep.
const MAX_PRICED_BODY: usize = 2 * 1024 * 1024;

/// Meters the call (see [`crate::credits`]): routes Zoho does not meter, callers without a
/// valid token and orgs not metered pass straight through.
pub async fn meter(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string());
    let metered = route.and_then(|route| classify(request.method(), &route, request.uri().query()));
    let Some(metered) = metered else { return next.run(request).await };
    let (mut parts, body) = request.into_parts();
    // The handler answers a missing or bad token itself; its `Auth` reuses this lookup.
    let Ok(auth) = Auth::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    parts.extensions.insert(auth.clone());
    let Some(plan) = plan_in_force(auth.0.credits, state.config.api_credits) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let (call, body) = match metered {
        Metered::Call(call) => (call, body),
        Metered::RecordsInBody | Metered::CoqlInBody => match read_body(&parts, body).await {
            Ok(bytes) => (priced_by_body(metered, &bytes), Body::from(bytes)),
            Err(refused) => return refused.into_response(),
        },
    };
    let request = CallRequest {
        org: auth.0.org,
        app: auth.0.client_id.clone().unwrap_or_else(|| SELF_APP.to_string()),
        cost: call.cost(),
        complex: call.is_complex(),
        credit_limit: plan.credit_limit(),
        concurrency: plan.concurrency(),
        sub_concurrency: SUB_CONCURRENCY,
        now: state.clock.now(),
        slot_lease: SLOT_LEASE,
    };
    let admission = match state.store.begin_call(&request).await {
        Ok(admission) => admission,
        Err(error) => return ErrorResponse::from(error).into_response(),
    };
    match admission {
        CallAdmission::Refused { refusal, used } => {
            tracing::info!(org = %auth.0.org, limit = refusal.as_str(), used, "API call refused: 429");
            let mut response = too_many_requests(refusal);
            remaining_header(&mut response, &plan, used);
            response
        }
        CallAdmission::Admitted { slot, used } => {
            let guard = SlotGuard { store: Some(Arc::clone(&state.store)), slot };
            let mut response = next.run(Request::from_parts(parts, body)).await;
            guard.end().await;
            remaining_header(&mut response, &plan, used);
            response
        }
    }
}

/// The 429 of a refused call: Zoho's code, the words of its status-codes page for the limit.
fn too_many_requests(refusal: Refusal) -> Response {
    ErrorResponse(ApiError::with_message(ErrorCode::TooManyRequests, refusal.message())).into_response()
}

/// Adds `X-API-CREDITS-REMAINING` once `used` reaches half the plan's included credits.
fn remaining_header(response: &mut Response, plan: &CreditPlan, used: u64) {
    if used < plan.header_threshold() {
        return;
    }
    let remaining = plan.credit_limit().saturating_sub(used);
    response.headers_mut().insert(CREDITS_REMAINING_HEADER, HeaderValue::from(remaining));
}

/// The body of a call priced by it, read whole (as its handler reads it); a body over the limit
/// is refused as the handler would refuse it.
async fn read_body(parts: &Parts, body: Body) -> Result<axum::body::Bytes, ErrorResponse> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_PRICED_BODY as u64) {
        return Err(ErrorResponse(refusal_for_status(413)));
    }
    axum::body::to_bytes(body, MAX_PRICED_BODY).await.map_err(|error| {
        let too_long =
            std::error::Error::source(&error).is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
        ErrorResponse(refusal_for_status(if too_long { 413 } else { 400 }))
    })
}

/// An admitted call's slot: freed by [`SlotGuard::end`] once the handler answered, or, when the
/// call is dropped before that (the client went away), by a task spawned on drop.
struct SlotGuard {
    store: Option<Arc<dyn Store>>,
    slot: CallSlot,
}

impl SlotGuard {
    async fn end(mut self) {
        if let Some(store) = self.store.take() {
            if let Err(error) = store.end_call(self.slot).await {
                log_store_failure(&error);
            }
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else { return };
        let slot = self.slot;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = store.end_call(slot).await {
                    log_store_failure(&error);
                }
            });
        }
    }
}
