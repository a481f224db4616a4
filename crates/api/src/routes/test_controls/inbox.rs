//! The callback inbox of the test controls: the built-in receiver `/bulkwrite/v1/inbox/{name}`
//! (`POST` stores anything, `GET` lists, `DELETE` empties) and
//! `POST /bulkwrite/v1/jobs/{id}/callback/replay`.
//!
//! An inbox is per org: a callback the dispatcher delivers to the server's own inbox is stored
//! under its job's org without a connection; a `POST` with a valid token under the token's org;
//! an anonymous `POST` under no org, and every caller of that inbox sees it. `GET` and `DELETE`
//! take the admin credential (every org's deliveries) or an org's `bulkwrite.test` token (its
//! org's and the anonymous ones).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bulkwrite_core::callback_url::INBOX_ANSWER;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_core::job_details::format_time;
use bulkwrite_store::inbox::valid_name;
use bulkwrite_store::{InboxDelivery, ReplayOutcome};
use bulkwrite_wire::inbox::{Inbox, InboxDelivery as DeliveryView, Removed};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

use super::TestControls;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::routes::admin::AdminAuth;
use crate::AppState;

/// Bytes of a request body the inbox keeps; a longer one is refused (`413 FILE_TOO_LARGE`).
pub const INBOX_BODY_LIMIT: usize = 1024 * 1024;

/// Headers never stored: credentials.
const SECRET_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

fn inbox_name(name: &str) -> Result<&str, ErrorResponse> {
    if valid_name(name) {
        return Ok(name);
    }
    let message = format!("'{name}' is not an inbox name: 1 to 100 letters, digits, '-', '_' or '.'");
    Err(ErrorResponse(ApiError::with_message(ErrorCode::InvalidUrlPattern, message)))
}

/// The org of the request's token, if it carries a valid one (an inbox takes anonymous posts).
pub struct MaybeOrg(Option<OrgId>);

impl FromRequestParts<AppState> for MaybeOrg {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<MaybeOrg, ErrorResponse> {
        Ok(MaybeOrg(Auth::from_request_parts(parts, state).await.ok().map(|auth| auth.0.org)))
    }
}

/// `POST /bulkwrite/v1/inbox/{name}`: stores the request (any body up to 1 MiB); 200
/// `{"status":"success"}`, what the server's own deliveries are answered with too.
pub async fn post_inbox(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
    headers: HeaderMap,
    MaybeOrg(org): MaybeOrg,
    bytes: Bytes,
) -> ApiResult<Response> {
    if !state.config.test_controls {
        return Err(ErrorCode::InvalidUrlPattern.into());
    }
    let name = inbox_name(&name)?;
    if bytes.len() > INBOX_BODY_LIMIT {
        let message = format!("the inbox keeps bodies of up to {INBOX_BODY_LIMIT} bytes");
        return Err(ErrorResponse(ApiError::with_message(ErrorCode::FileTooLarge, message)));
    }
    let mut kept = BTreeMap::new();
    for (header, value) in &headers {
        if SECRET_HEADERS.contains(&header.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        kept.entry(header.as_str().to_string())
            .and_modify(|existing: &mut String| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let delivery = InboxDelivery {
        name: name.to_string(),
        org,
        job: None,
        received_at: state.clock.now(),
        headers: kept,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    state.store.add_inbox_delivery(delivery).await?;
    let answer: Value = serde_json::from_str(INBOX_ANSWER).unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &answer))
}

/// `GET /bulkwrite/v1/inbox/{name}`: `{"deliveries": [{"received_time", "headers", "body",
/// "job_id", "org_id"}]}`, oldest first.
pub async fn get_inbox(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(name): PathParams<String>,
) -> ApiResult<Response> {
    let name = inbox_name(&name)?;
    let deliveries = state.store.inbox_deliveries(name, caller.own_org()).await?;
    let inbox = Inbox { deliveries: deliveries.into_iter().map(view).collect() };
    Ok(json_response(StatusCode::OK, &inbox))
}

/// `DELETE /bulkwrite/v1/inbox/{name}`: empties it (as the caller sees it); `{"removed": n}`.
pub async fn clear_inbox(
    State(state): State<AppState>,
    TestControls(caller): TestControls,
    PathParams(name): PathParams<String>,
) -> ApiResult<Response> {
    let name = inbox_name(&name)?;
    let removed = state.store.clear_inbox(name, caller.own_org()).await?;
    Ok(json_response(StatusCode::OK, &Removed { removed }))
}

fn view(delivery: InboxDelivery) -> DeliveryView {
    let body = body_value(&delivery.headers, delivery.body);
    DeliveryView {
        received_time: format_time(delivery.received_at, chrono_tz::UTC),
        headers: delivery.headers,
        body,
        job_id: delivery.job.map(|job| job.to_string()),
        org_id: delivery.org.map(|org| org.to_string()),
    }
}

/// A JSON body as JSON, a form as an object of its fields (a repeated field's last value),
/// anything else (or a body that does not parse as its type says) as a string.
fn body_value(headers: &BTreeMap<String, String>, body: String) -> Value {
    let content_type = headers.get(CONTENT_TYPE.as_str()).map(|value| value.to_ascii_lowercase()).unwrap_or_default();
    if content_type.contains("json") || content_type.is_empty() {
        if let Ok(value) = serde_json::from_str::<Value>(&body) {
            return value;
        }
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        if let Ok(fields) = serde_urlencoded::from_str::<Vec<(String, String)>>(&body) {
            let object = fields.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
            return Value::Object(object);
        }
    }
    Value::String(body)
}

/// Who may replay a job's callback (switch on): the admin credential (any org's job), or a
/// token of the job's org with a bulk write scope.
pub struct ReplayCaller(Option<OrgId>);

impl FromRequestParts<AppState> for ReplayCaller {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ReplayCaller, ErrorResponse> {
        if !state.config.test_controls {
            return Err(ErrorCode::InvalidUrlPattern.into());
        }
        if AdminAuth::from_request_parts(parts, state).await.is_ok() {
            return Ok(ReplayCaller(None));
        }
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL"])?;
        Ok(ReplayCaller(Some(auth.0.org)))
    }
}

fn not_found() -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound))
}

/// `POST /bulkwrite/v1/jobs/{id}/callback/replay`: queues the finished job's callback again
/// (durably, in the outbox, like a first delivery; recorded as a new attempt marked
/// `"replay": true` with a fresh retry budget). 202 with the callback as it stands and
/// `replay_attempt`, the number the replayed attempt will have.
pub async fn replay_callback(
    State(state): State<AppState>,
    ReplayCaller(caller): ReplayCaller,
    PathParams(job_id): PathParams<String>,
) -> ApiResult<Response> {
    let job = JobId::parse(&job_id).ok_or_else(not_found)?;
    let orgs = match caller {
        Some(org) => vec![org],
        None => state.store.orgs().await?.into_iter().map(|org| org.zgid).collect(),
    };
    let now = state.clock.now();
    for org in orgs {
        let refusal = |message: String| ErrorResponse(ApiError::with_message(ErrorCode::InvalidRequest, message));
        match state.store.replay_callback(org, job, now).await? {
            ReplayOutcome::NoJob => continue,
            ReplayOutcome::Unfinished => {
                return Err(refusal(format!("job {job} has not finished; its callback is sent when it does")));
            }
            ReplayOutcome::NoCallback => return Err(refusal(format!("job {job} has no callback"))),
            ReplayOutcome::Queued { attempt } => {
                if let Some(driver) = &state.driver {
                    driver.callbacks_queued().await;
                }
                let report = state.store.callback_report(org, job).await?.ok_or_else(not_found)?;
                let mut body = serde_json::to_value(&report).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut body {
                    map.insert("replay_attempt".into(), Value::from(attempt));
                }
                return Ok(json_response(StatusCode::ACCEPTED, &body));
            }
        }
    }
    Err(not_found())
}
