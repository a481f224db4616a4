//! `GET /bulkwrite/v1/queue` and `POST /bulkwrite/v1/queue/pause`, `/resume`, `/step`
//! (`{"job_id": "…"}` optional): the queue paused for every node sharing the store (no job is
//! claimed; running ones stop before their next chunk and are held, still `IN PROGRESS`), and
//! stepped one chunk at a time, so a test can see a job part-way with exact counts.
//!
//! The pause answers once no job runs under a live lease any more (200), or after
//! [`PAUSE_WAIT`] with the jobs still running (202). A step answers once its chunk committed,
//! with the job's own document (`GET /bulkwrite/v1/jobs/{id}`); Zoho's details path shows the
//! same counts. An org token steps only its org's jobs.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::JobId;
use bulkwrite_store::{Job, QueueDepth, StepOutcome, StepTarget};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiResult, ErrorResponse};
use crate::response::json_response;
use crate::routes::job_control::job_state_document;
use crate::routes::test_controls::clock::take_on;
use crate::routes::test_controls::TestControls;
use crate::AppState;

/// How long a pause waits for running jobs to stop before it answers 202.
pub const PAUSE_WAIT: Duration = Duration::from_secs(10);
/// How often the pause looks whether they stopped.
const PAUSE_LOOK: Duration = Duration::from_millis(25);

/// What to step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
    /// The job; without it, the oldest queued or held one.
    #[serde(default)]
    job_id: Option<String>,
}

fn queue_document(paused: bool, depth: QueueDepth) -> Value {
    json!({"paused": paused, "queued": depth.queued, "running": depth.running, "held": depth.held})
}

/// The queue as the store has it (the pause taken on by this node as well).
async fn current(state: &AppState) -> ApiResult<(bool, QueueDepth)> {
    let stored = state.store.control_state().await?;
    take_on(state, stored).await;
    let depth = state.store.queue_depth(chrono::Utc::now()).await?;
    Ok((stored.queue_paused, depth))
}

/// `GET /bulkwrite/v1/queue`: paused or not, and the jobs queued, running and held.
pub async fn get_queue(State(state): State<AppState>, _: TestControls) -> ApiResult<Response> {
    let (paused, depth) = current(&state).await?;
    Ok(json_response(StatusCode::OK, &queue_document(paused, depth)))
}

/// `POST /bulkwrite/v1/queue/pause`: no node claims a job any more; answers once no job runs.
pub async fn pause_queue(State(state): State<AppState>, _: TestControls) -> ApiResult<Response> {
    let stored = state.store.set_queue_paused(true).await?;
    take_on(&state, stored).await;
    let deadline = tokio::time::Instant::now() + PAUSE_WAIT;
    let (mut paused, mut depth) = current(&state).await?;
    while paused && depth.running > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(PAUSE_LOOK).await;
        (paused, depth) = current(&state).await?;
    }
    let status = if depth.running == 0 { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok(json_response(status, &queue_document(paused, depth)))
}

/// `POST /bulkwrite/v1/queue/resume`: every node claims again; held jobs are taken up first
/// (they are the oldest).
pub async fn resume_queue(State(state): State<AppState>, _: TestControls) -> ApiResult<Response> {
    let stored = state.store.set_queue_paused(false).await?;
    take_on(&state, stored).await;
    state.job_queued.notify_one();
    let (paused, depth) = current(&state).await?;
    Ok(json_response(StatusCode::OK, &queue_document(paused, depth)))
}

/// `POST /bulkwrite/v1/queue/step`: one chunk of the named job, or of the oldest queued or held
/// one, on this node; answers with the job once the chunk committed. Only while paused.
pub async fn step_queue(State(state): State<AppState>, controls: TestControls, bytes: Bytes) -> ApiResult<Response> {
    let request: StepRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        StepRequest::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            ErrorResponse(
                ApiError::with_message(
                    ErrorCode::InvalidData,
                    format!("the body must be {{\"job_id\": \"…\"}} or empty: {e}"),
                )
                .detail("api_name", "body"),
            )
        })?
    };
    let job = match &request.job_id {
        Some(text) => Some(JobId::parse(text).ok_or_else(|| job_not_found(text))?),
        None => None,
    };
    let stored = state.store.control_state().await?;
    take_on(&state, stored).await;
    if !stored.queue_paused {
        return Err(refused("the queue is not paused: POST /bulkwrite/v1/queue/pause first, then step it".into()));
    }
    let Some(driver) = &state.driver else {
        return Err(refused("this node has no worker to step the queue with".into()));
    };
    let target = StepTarget { job, org: controls.0.own_org() };
    match driver.step(target).await? {
        StepOutcome::Stepped(job) => {
            let document = job_state_document(&job, state.config.result_retention);
            Ok(json_response(StatusCode::OK, &json!({"job": document})))
        }
        StepOutcome::Nothing => match &request.job_id {
            Some(text) => Err(job_not_found(text)),
            None => Err(refused("no job is waiting to run: nothing is queued or held".into())),
        },
        StepOutcome::Refused(job) => Err(not_steppable(&job)),
    }
}

fn refused(message: String) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::InvalidRequest, message))
}

fn job_not_found(text: &str) -> ErrorResponse {
    ErrorResponse(
        ApiError::with_message(ErrorCode::ResourceNotFound, format!("no job {text} to step"))
            .detail("api_name", "job_id"),
    )
}

/// Why a named job cannot be stepped, with its state.
fn not_steppable(job: &Job) -> ErrorResponse {
    let status = job.state.zoho_status();
    let message = if job.state.is_final() {
        format!("the job already finished with status {status}")
    } else if job.cancel.is_some() {
        "the job was asked to stop; it is cancelled, not stepped".to_string()
    } else {
        "the job is running on a worker; it is held at its next chunk, then steps".to_string()
    };
    ErrorResponse(
        ApiError::with_message(ErrorCode::InvalidRequest, message)
            .detail("id", job.id.to_string())
            .detail("status", status)
            .detail("state", job.state.view_word()),
    )
}
