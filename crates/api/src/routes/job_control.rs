//! Cancelling and listing jobs, our own endpoints beside Zoho's: `POST
//! /bulkwrite/v1/jobs/{id}/cancel` and `GET /bulkwrite/v1/jobs`, and the queue's document of a
//! job that both answer with (`GET /bulkwrite/v1/jobs/{id}`).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::{JobId, UserId};
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::state::JobState;
use bulkwrite_store::{CancelRequest, Job, JobKind, JobListQuery, MAX_JOBS_PER_PAGE};
use bulkwrite_wire::read::read_state;
use bulkwrite_wire::{status, ApiError, ErrorCode, Operation};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

/// How long a cancel answer waits for the job to stop before it answers 202.
const CANCEL_WAIT: Duration = Duration::from_secs(5);
/// How often the cancel answer looks whether the job stopped.
const CANCEL_LOOK: Duration = Duration::from_millis(50);

/// The queue's view of a job: its state in our words and Zoho's, attempts, error, cancel
/// request, times (RFC 3339, UTC) and each resource's checkpoint and counts.
pub(crate) fn job_state_document(job: &Job, result_retention: std::time::Duration) -> Value {
    let resources: Vec<_> = job
        .resources
        .iter()
        .map(|r| json!({"state": r.state.as_str(), "rows_done": r.rows_done, "added": r.added, "updated": r.updated, "skipped": r.skipped}))
        .collect();
    let cancel = job
        .cancel
        .map(|request| json!({"requested_by": request.by.to_string(), "requested_at": request.at.to_rfc3339()}));
    json!({
        "id": job.id.to_string(),
        "kind": job.kind().as_str(),
        "operation": operation(job),
        "state": job.state.view_word(),
        "status": job.zoho_word(),
        "attempts": job.attempts,
        "api_version": job.api_version,
        "character_encoding": job.character_encoding,
        "error": job.error,
        "cancel": cancel,
        "created_at": job.created_at.to_rfc3339(),
        "finished_at": job.finished_at.map(|t| t.to_rfc3339()),
        "resources": resources,
        "result_expired": job.result_expired_at.is_some(),
        "result_expired_at": job.result_expired_at.map(|t| t.to_rfc3339()),
        "result_expires_at": result_expires_at(job, result_retention).map(|t| t.to_rfc3339()),
        "dry_run": job.spec.dry_run,
        "read": read_view(job),
        "undo_of": job.undo_of.map(|id| id.to_string()),
        "undo": undo_view(job),
    })
}

/// An undo job's counts (`null` for other jobs): records deleted, restored, and left alone
/// because they changed after the job wrote them.
fn undo_view(job: &Job) -> Value {
    if job.kind() != JobKind::Undo {
        return Value::Null;
    }
    let sum = |count: fn(&bulkwrite_store::ResourceProgress) -> u64| job.resources.iter().map(count).sum::<u64>();
    json!({"deleted": sum(|r| r.added), "restored": sum(|r| r.updated), "conflicts": sum(|r| r.skipped)})
}

/// `read` for a read job, `insert`/`update`/`upsert` for a write job.
fn operation(job: &Job) -> &'static str {
    match job.kind() {
        JobKind::Read => bulkwrite_wire::read::READ_OPERATION,
        JobKind::Undo => JobKind::Undo.as_str(),
        JobKind::Write => job.spec.operation.as_str(),
    }
}

/// What a read job exports and, once it completed, what it found (`null` for a write job).
fn read_view(job: &Job) -> Value {
    let Some(read) = &job.read else { return Value::Null };
    let outcome = read.outcome.as_ref();
    json!({
        "module": read.spec.module,
        "file_type": read.spec.file_type.as_str(),
        "page": read.spec.page,
        "per_page": read.spec.per_page,
        "count": outcome.map(|o| o.count),
        "more_records": outcome.map(|o| o.more_records),
    })
}

/// When retention will expire (or expired) the job's result file: its finish plus the
/// configured retention; `None` while the job runs.
fn result_expires_at(job: &Job, retention: std::time::Duration) -> Option<chrono::DateTime<chrono::Utc>> {
    let retention = chrono::Duration::from_std(retention).ok()?;
    job.finished_at?.checked_add_signed(retention)
}

/// `POST /bulkwrite/v1/jobs/{job_id}/cancel`: asks a queued or running job to stop. Answers 200
/// with the job's document once it is cancelled (normally well within a second), or 202 with the
/// document as it stands if it has not stopped within [`CANCEL_WAIT`] (it stops later).
pub async fn cancel_job(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL"])?;
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    let request = CancelRequest { by: auth.0.user, at: state.clock.now() };
    let job = state.store.request_cancel(auth.0.org, id, request).await?.ok_or_else(not_found)?;
    if job.state.is_final() {
        return Err(already_finished(&job));
    }
    state.events.announce_cancel(state.store.as_ref(), id).await;
    let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
    let mut current = job;
    while !current.state.is_final() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(CANCEL_LOOK).await;
        current = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    }
    let status = if current.state.is_final() { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok(json_response(status, &job_state_document(&current, state.config.result_retention)))
}

fn already_finished(job: &Job) -> ErrorResponse {
    let status = job.state.zoho_status();
    let message = match job.state {
        JobState::Cancelled => format!("the job already finished: it was cancelled (status {status})"),
        _ => format!("the job already finished with status {status}"),
    };
    ErrorResponse(
        ApiError::with_message(ErrorCode::InvalidRequest, message)
            .detail("id", job.id.to_string())
            .detail("status", status)
            .detail("state", job.state.view_word()),
    )
}

/// `GET /bulkwrite/v1/jobs?status=&module=&operation=&kind=&page=&per_page=`: the org's jobs,
/// Bulk Write and Bulk Read, newest first, one page at a time.
pub async fn list_jobs(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))?;
    let mut filter = read_filter(&params)?;
    if let Some(name) = &filter.module {
        let schema = state.store.org_schema(auth.0.org).await?;
        let module = schema.module(name).ok_or_else(|| invalid("module", "a module API name of the org"))?;
        filter.module = Some(module.api_name.clone());
    }
    let page = state.store.list_jobs(auth.0.org, &filter).await?;
    let org = state.store.get_org(auth.0.org).await?;
    let zone = org.and_then(|org| org.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    let names: HashMap<UserId, String> =
        state.store.users(auth.0.org).await?.into_iter().map(|user| (user.id, user.full_name())).collect();
    let jobs: Vec<Value> = page.jobs.iter().map(|job| list_entry(job, &names, zone)).collect();
    let body = json!({
        "jobs": jobs,
        "info": {"page": filter.page, "per_page": filter.per_page, "count": jobs.len(), "more_records": page.more_records},
    });
    Ok(json_response(StatusCode::OK, &body))
}

fn list_entry(job: &Job, names: &HashMap<UserId, String>, zone: chrono_tz::Tz) -> Value {
    let mut modules: Vec<&str> = job.spec.resources.iter().map(|resource| resource.module.as_str()).collect();
    let (added, updated, skipped) = job
        .resources
        .iter()
        .fold((0, 0, 0), |(a, u, s), progress| (a + progress.added, u + progress.updated, s + progress.skipped));
    // A read job writes no records: its total is the records it exported.
    let mut total = added + updated + skipped;
    if let Some(read) = &job.read {
        modules.push(read.spec.module.as_str());
        total = read.outcome.as_ref().map_or(0, |outcome| outcome.count);
    }
    let name = names.get(&job.created_by).cloned().unwrap_or_default();
    json!({
        "id": job.id.to_string(),
        "kind": job.kind().as_str(),
        "status": job.zoho_word(),
        "state": job.state.view_word(),
        "operation": operation(job),
        "modules": modules,
        "created_time": format_time(job.created_at, zone),
        "finished_time": job.finished_at.map(|at| format_time(at, zone)),
        "created_by": {"id": job.created_by.to_string(), "name": name},
        "counts": {"added": added, "updated": updated, "skipped": skipped, "total": total},
        "dry_run": job.spec.dry_run,
        "undo_of": job.undo_of.map(|id| id.to_string()),
    })
}

/// The filters and page of a list request; every bad value names its parameter.
fn read_filter(params: &HashMap<String, String>) -> Result<JobListQuery, ErrorResponse> {
    let mut filter = JobListQuery::all();
    let expected_status = "ADDED, QUEUED, IN PROGRESS, COMPLETED, FAILED, FAILURE";
    if let Some(words) = params.get("status") {
        for word in words.split(',').map(str::trim).filter(|word| !word.is_empty()) {
            let states = states_of(&word.to_ascii_uppercase());
            if states.is_empty() {
                return Err(invalid("status", expected_status));
            }
            filter.states.extend(states);
        }
        if filter.states.is_empty() {
            return Err(invalid("status", expected_status));
        }
    }
    if let Some(word) = params.get("kind") {
        filter.kind = Some(match word.trim().to_ascii_lowercase().as_str() {
            "read" => JobKind::Read,
            "write" => JobKind::Write,
            "undo" => JobKind::Undo,
            _ => return Err(invalid("kind", "read, write, undo")),
        });
    }
    if let Some(name) = params.get("module") {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("module", "a module API name of the org"));
        }
        filter.module = Some(name.to_string());
    }
    if let Some(word) = params.get("operation") {
        let word = word.trim().to_ascii_lowercase();
        if word == bulkwrite_wire::read::READ_OPERATION {
            // Bulk Read's one operation: the read jobs (with `kind=write` nothing matches).
            if filter.kind == Some(JobKind::Write) {
                filter.operation = Some(Operation::Insert);
            }
            filter.kind = Some(JobKind::Read);
        } else {
            let operation = Operation::parse(&word);
            filter.operation = Some(operation.ok_or_else(|| invalid("operation", "insert, update, upsert, read"))?);
        }
    }
    let number = |name: &str, default: u32, max: u32| -> Result<u32, ErrorResponse> {
        let Some(text) = params.get(name) else { return Ok(default) };
        let expected = format!("a whole number from 1 to {max}");
        text.trim().parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| invalid(name, &expected))
    };
    filter.page = number("page", 1, u32::MAX)?;
    filter.per_page = number("per_page", MAX_JOBS_PER_PAGE, MAX_JOBS_PER_PAGE)?;
    Ok(filter)
}

/// The states a status word names: a write job's `status` (`ADDED`, `IN PROGRESS`, `COMPLETED`,
/// `FAILED`) or a read job's `state` (`QUEUED` and `FAILURE` besides).
fn states_of(word: &str) -> Vec<JobState> {
    match word {
        read_state::QUEUED => vec![JobState::Queued],
        read_state::FAILURE => JobState::with_zoho_status(status::FAILED),
        _ => JobState::with_zoho_status(word),
    }
}

fn invalid(param: &str, expected: &str) -> ErrorResponse {
    ErrorResponse(
        ApiError::with_message(ErrorCode::InvalidData, format!("the value of the parameter {param} is invalid"))
            .detail("param_name", param)
            .detail("expected", expected),
    )
}

fn not_found() -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound))
}
