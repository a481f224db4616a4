//! `POST /bulkwrite/v1/jobs/{job_id}/undo`: queues an undo of a finished bulk write job, a job of
//! its own (kind `undo`) whose details and result come from `GET /bulkwrite/v1/jobs/{id}` (see
//! `bulkwrite_store::undo`). Auth as for cancel (the org's token with a bulk write scope), or the
//! admin credential for any org's job. Refusals are `400 INVALID_REQUEST` with a sentence; an
//! unknown job, or another org's, is `404 RESOURCE_NOT_FOUND`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::state::JobState;
use bulkwrite_store::{Job, JobKind, NewUndoJob, UndoCreation};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::json;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::routes::admin::AdminAuth;
use crate::routes::extensions::not_found;
use crate::routes::jobs::BULK_WRITE_SCOPES;
use crate::AppState;

/// Who asked for an undo.
pub enum UndoCaller {
    /// The admin credential: any org's job.
    Admin,
    /// An org's token with a bulk write scope: that org's jobs, as that user.
    Org(OrgId, UserId),
}

impl FromRequestParts<AppState> for UndoCaller {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<UndoCaller, ErrorResponse> {
        if AdminAuth::from_request_parts(parts, state).await.is_ok() {
            return Ok(UndoCaller::Admin);
        }
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.require(BULK_WRITE_SCOPES)?;
        Ok(UndoCaller::Org(auth.0.org, auth.0.user))
    }
}

/// `POST /bulkwrite/v1/jobs/{job_id}/undo`: 201 `{"id", "undo_of", "kind", "state", "status"}`.
pub async fn undo_job(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    caller: UndoCaller,
) -> ApiResult<Response> {
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    let original = match &caller {
        UndoCaller::Org(org, _) => state.store.get_job(*org, id).await?,
        UndoCaller::Admin => find_in_any_org(&state, id).await?,
    };
    let original = original.ok_or_else(not_found)?;
    refuse_unless_undoable(&original)?;
    let created_by = match caller {
        UndoCaller::Org(_, user) => user,
        UndoCaller::Admin => original.created_by,
    };
    let undo_id = JobId::new(state.ids.next_id().await?);
    let undo = NewUndoJob { id: undo_id, org: original.org, created_by, undo_of: id, created_at: state.clock.now() };
    match state.store.create_undo_job(undo).await? {
        UndoCreation::Created => {}
        UndoCreation::NoSuchJob => return Err(not_found()),
        UndoCreation::Expired => {
            let message = format!(
                "the undo data of job {id} expired with its result file (result retention): it can no longer be undone"
            );
            return Err(ErrorResponse(refusal(&original, message)));
        }
        UndoCreation::AlreadyUndone(other) => {
            let message = format!("job {id} is already undone, or being undone, by job {other}");
            return Err(ErrorResponse(refusal(&original, message).detail("undo_job_id", other.to_string())));
        }
    }
    crate::observe::record_job_created();
    state.job_queued.notify_one();
    state.events.announce(state.store.as_ref(), undo_id).await;
    let body = json!({
        "id": undo_id.to_string(),
        "undo_of": id.to_string(),
        "kind": JobKind::Undo.as_str(),
        "state": JobState::Queued.view_word(),
        "status": JobState::Queued.zoho_status(),
    });
    Ok(json_response(StatusCode::CREATED, &body))
}

/// The admin's view: the job of whichever org has it.
async fn find_in_any_org(state: &AppState, id: JobId) -> ApiResult<Option<Job>> {
    for org in state.store.orgs().await? {
        if let Some(job) = state.store.get_job(org.zgid, id).await? {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

/// Refuses a job an undo cannot apply to, in a sentence that says why.
fn refuse_unless_undoable(job: &Job) -> Result<(), ErrorResponse> {
    let id = job.id;
    let wrote: u64 = job.resources.iter().map(|r| r.added + r.updated).sum();
    let message = match job.kind() {
        JobKind::Undo => Some(format!("job {id} is itself an undo: an undo cannot be undone")),
        JobKind::Read => Some(format!("job {id} is a Bulk Read job: it wrote no records, so there is nothing to undo")),
        JobKind::Write if job.spec.dry_run => {
            Some(format!("job {id} is a dry run: it wrote no records, so there is nothing to undo"))
        }
        JobKind::Write if !job.state.is_final() => Some(format!(
            "job {id} is still {}: it can be undone once it has finished",
            job.state.view_word()
        )),
        JobKind::Write if wrote == 0 => {
            Some(format!("job {id} finished with status {} having written no records: there is nothing to undo", job.zoho_word()))
        }
        JobKind::Write => job.result_expired_at.map(|at| {
            format!(
                "the undo data of job {id} expired at {} with its result file (result retention): it can no longer be undone",
                at.to_rfc3339()
            )
        }),
    };
    match message {
        Some(message) => Err(ErrorResponse(refusal(job, message))),
        None => Ok(()),
    }
}

fn refusal(job: &Job, message: String) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidRequest, message)
        .detail("id", job.id.to_string())
        .detail("kind", job.kind().as_str())
        .detail("state", job.state.view_word())
}
