//! Stopping a job on request. A running job's heartbeat notices the request and the pipeline
//! stops at its next chunk; a queued job (or one whose worker died) is taken by the finaliser,
//! which runs beside the worker and needs no free slot of the org. Either way the job gets its
//! partial result file (committed rows, then `UNPROCESSED` rows), the `cancelled` state and its
//! callback, in that order.

use bulkwrite_core::job_details::format_time;
use bulkwrite_store::{Claim, Job, Lease};

use crate::pipeline::{release, with_retries, Stop};
use crate::result_file::write_partial_result_file;
use crate::{RunOutcome, WorkerContext};

/// Finalises a job asked to stop that this worker holds.
pub(crate) async fn cancel(ctx: &WorkerContext, job: &Job, lease: &Lease) -> RunOutcome {
    let reason = cancel_reason(ctx, job).await;
    tracing::info!(job = %job.id, reason, "job cancelled");
    // A read job has no partial file: its details say FAILURE with the reason.
    // An undo's lists the records it settled.
    let written = match job.kind() {
        bulkwrite_store::JobKind::Read => None,
        bulkwrite_store::JobKind::Undo => Some(crate::undo::write_undo_result(ctx, job).await),
        bulkwrite_store::JobKind::Write => Some(write_partial_result_file(ctx, job).await),
    };
    let partial = match written {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => {
            tracing::warn!(job = %job.id, error = %error.with_causes(), "writing the cancelled job's result file failed");
            None
        }
    };
    match with_retries(|| ctx.store.cancel_job(lease, &reason, partial.as_deref(), ctx.now())).await {
        Ok(()) => RunOutcome::Cancelled,
        Err(Stop::LeaseLost) => RunOutcome::LeaseLost,
        // Still asked to stop: the finaliser takes it again.
        Err(_) => release(ctx, lease).await,
    }
}

/// `cancelled by <user> at <time>`, the time in the org's zone.
async fn cancel_reason(ctx: &WorkerContext, job: &Job) -> String {
    let stored = ctx.store.get_job(job.org, job.id).await.ok().flatten();
    let Some(request) = stored.and_then(|stored| stored.cancel).or(job.cancel) else {
        return "cancelled".to_string();
    };
    let user = ctx.store.get_user(job.org, request.by).await.ok().flatten();
    let name = user.map(|user| user.full_name()).filter(|name| !name.is_empty());
    let who = name.unwrap_or_else(|| request.by.to_string());
    let org = ctx.store.get_org(job.org).await.ok().flatten();
    let zone = org.and_then(|org| org.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    format!("cancelled by {who} at {}", format_time(request.at, zone))
}

/// Takes one job that was asked to stop while queued (or whose worker died) and cancels it;
/// returns its id, or `None` when there is none.
pub(crate) async fn finalise_one(ctx: &WorkerContext, owner: &str) -> Option<(bulkwrite_core::ids::JobId, RunOutcome)> {
    let lease_for = chrono::Duration::from_std(ctx.config.lease_duration).unwrap_or(chrono::Duration::seconds(30));
    let claim = Claim::new(owner, chrono::Utc::now(), lease_for);
    let claimed = match ctx.store.claim_cancelled_job(&claim).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(error = %error.with_causes(), "looking for cancelled jobs failed");
            return None;
        }
    };
    let (job, lease) = claimed?;
    let outcome = cancel(ctx, &job, &lease).await;
    ctx.announcer().job_changed(job.id).await;
    if outcome == RunOutcome::Cancelled {
        ctx.wakeup.callbacks.notify_one();
    }
    Some((job.id, outcome))
}
