//! Our own endpoints under `/bulkwrite/v1/`, outside Zoho's paths.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::JobId;
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::routes::admin::AdminAuth;
use crate::AppState;

/// `GET /bulkwrite/v1/jobs/{job_id}`: the queue's view of a job (state, attempts, error, cancel
/// request, times).
pub async fn get_job_state(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let id = readable_job(&auth, &job_id)?;
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    let mut body = super::job_control::job_state_document(&job, state.config.result_retention);
    // An undo has no Zoho details: its result link is given here.
    if job.kind() == bulkwrite_store::JobKind::Undo && job.result_blob.is_some() {
        let url = bulkwrite_core::job_details::download_url(&state.config.public_url, job.org, job.id);
        body["result"] = serde_json::json!({"download_url": url});
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// Who may read a job's callback: a token of the job's org with a bulk scope, or the admin
/// credential (`None`: any org's job).
pub struct CallbackReader(Option<Auth>);

impl FromRequestParts<AppState> for CallbackReader {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<CallbackReader, ErrorResponse> {
        if AdminAuth::from_request_parts(parts, state).await.is_ok() {
            return Ok(CallbackReader(None));
        }
        Ok(CallbackReader(Some(Auth::from_request_parts(parts, state).await?)))
    }
}

/// `GET /bulkwrite/v1/jobs/{job_id}/callback`: the callback's delivery state and every attempt,
/// each with its request and the receiver's answer.
pub async fn get_callback_report(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    CallbackReader(reader): CallbackReader,
) -> ApiResult<Response> {
    let (id, orgs) = match &reader {
        Some(auth) => (readable_job(auth, &job_id)?, vec![auth.0.org]),
        None => {
            let id = JobId::parse(&job_id).ok_or_else(not_found)?;
            (id, state.store.orgs().await?.into_iter().map(|org| org.zgid).collect())
        }
    };
    for org in orgs {
        if let Some(report) = state.store.callback_report(org, id).await? {
            return Ok(json_response(StatusCode::OK, &report));
        }
    }
    Err(not_found())
}

pub(crate) fn not_found() -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound))
}

/// The job id of a path, once the token may read bulk jobs.
pub(crate) fn readable_job(auth: &Auth, job_id: &str) -> Result<JobId, ErrorResponse> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    JobId::parse(job_id).ok_or_else(not_found)
}
