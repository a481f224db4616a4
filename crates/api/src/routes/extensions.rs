//! Our own endpoints under `/bulkwrite/v1/`, outside Zoho's paths.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::JobId;
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::json;

use crate::auth::Auth;
use crate::error::{ApiResult, Failure};
use crate::paths::ZPath;
use crate::response::json_response;
use crate::AppState;

/// `GET /bulkwrite/v1/jobs/{job_id}`: the queue's view of a job (attempts, error, times).
pub async fn get_job_state(
    State(state): State<AppState>,
    ZPath(job_id): ZPath<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let id = readable_job(&auth, &job_id)?;
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    let resources: Vec<_> = job
        .resources
        .iter()
        .map(|r| json!({"state": r.state.as_str(), "rows_done": r.rows_done, "added": r.added, "updated": r.updated, "skipped": r.skipped}))
        .collect();
    let body = json!({
        "id": job.id.to_string(),
        "state": job.state.as_str(),
        "attempts": job.attempts,
        "api_version": job.api_version,
        "character_encoding": job.character_encoding,
        "error": job.error,
        "created_at": job.created_at.to_rfc3339(),
        "finished_at": job.finished_at.map(|t| t.to_rfc3339()),
        "resources": resources,
        "result_expired": job.result_expired_at.is_some(),
        "result_expired_at": job.result_expired_at.map(|t| t.to_rfc3339()),
        "result_expires_at": result_expires_at(&state, &job).map(|t| t.to_rfc3339()),
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /bulkwrite/v1/jobs/{job_id}/callback`: the callback's delivery state and every attempt.
pub async fn get_callback_report(
    State(state): State<AppState>,
    ZPath(job_id): ZPath<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let id = readable_job(&auth, &job_id)?;
    let report = state.store.callback_report(auth.0.org, id).await?.ok_or_else(not_found)?;
    Ok(json_response(StatusCode::OK, &report))
}

/// When retention will expire (or expired) the job's result file: its finish plus the
/// configured retention; `None` while the job runs.
fn result_expires_at(state: &AppState, job: &bulkwrite_store::Job) -> Option<chrono::DateTime<chrono::Utc>> {
    let retention = chrono::Duration::from_std(state.config.result_retention).ok()?;
    job.finished_at?.checked_add_signed(retention)
}

fn not_found() -> Failure {
    Failure(ApiError::new(ErrorCode::ResourceNotFound))
}

/// The job id of a path, once the token may read bulk jobs.
fn readable_job(auth: &Auth, job_id: &str) -> Result<JobId, Failure> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    JobId::parse(job_id).ok_or_else(not_found)
}
