//! The worker's metrics, through the `metrics` facade (the server installs the recorder; without
//! one they cost nothing). Log lines about a job carry its ids through the `job` span opened
//! around each run and the `callback` span around each delivery attempt.

use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_core::result::RowStatus;
use bulkwrite_store::{DeliveryOutcome, Job};

use crate::{RunOutcome, WorkerContext};

/// `bulkwrite_jobs_finished_total{state="COMPLETED"|"FAILED"}`: jobs this node finished.
pub const JOBS_FINISHED: &str = "bulkwrite_jobs_finished_total";
/// `bulkwrite_rows_total{status="ADDED"|"UPDATED"|"SKIPPED"}`: rows of the jobs this node
/// finished, by result status, counted when the job ends.
pub const ROWS: &str = "bulkwrite_rows_total";
/// `bulkwrite_job_duration_seconds{state}`: creation to final state of finished jobs (queue
/// wait included).
pub const JOB_DURATION: &str = "bulkwrite_job_duration_seconds";
/// `bulkwrite_job_runs_total{outcome}`: runs on this node by how they ended (`completed`,
/// `failed`, `cancelled`, `released`, `lease_lost`, `held`).
pub const JOB_RUNS: &str = "bulkwrite_job_runs_total";
/// `bulkwrite_callback_attempts_total{outcome="delivered"|"retry"|"gave_up"}`.
pub const CALLBACK_ATTEMPTS: &str = "bulkwrite_callback_attempts_total";

/// Registers the help text of the worker's metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(JOBS_FINISHED, "Bulk write jobs this node brought to a final state, by that state.");
    metrics::describe_counter!(ROWS, "Rows of the jobs this node finished, by result status.");
    metrics::describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Time from a job's creation to its final state, by that state."
    );
    metrics::describe_counter!(JOB_RUNS, "Job runs on this node by how they ended.");
    metrics::describe_counter!(CALLBACK_ATTEMPTS, "Callback delivery attempts by outcome.");
}

fn run_label(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Completed => "completed",
        RunOutcome::Failed => "failed",
        RunOutcome::Cancelled => "cancelled",
        RunOutcome::Released => "released",
        RunOutcome::LeaseLost => "lease_lost",
        RunOutcome::Held => "held",
    }
}

/// Counts a run's end; a job that reached its final state is read back for its row counts and
/// duration (the figures the store committed, whichever node applied the rows).
pub(crate) async fn record_run_end(ctx: &WorkerContext, org: OrgId, id: JobId, outcome: RunOutcome) {
    metrics::counter!(JOB_RUNS, "outcome" => run_label(outcome)).increment(1);
    let state = match outcome {
        RunOutcome::Completed => "COMPLETED",
        RunOutcome::Failed => "FAILED",
        RunOutcome::Cancelled => "CANCELLED",
        RunOutcome::Released | RunOutcome::LeaseLost | RunOutcome::Held => return,
    };
    metrics::counter!(JOBS_FINISHED, "state" => state).increment(1);
    match ctx.store.get_job(org, id).await {
        Ok(Some(job)) => record_finished_job(&job, state),
        Ok(None) => tracing::warn!("metrics: the finished job is gone"),
        Err(error) => tracing::warn!(error = %error.with_causes(), "metrics: reading the finished job failed"),
    }
}

fn record_finished_job(job: &Job, state: &'static str) {
    let mut added = 0;
    let mut updated = 0;
    let mut skipped = 0;
    for resource in &job.resources {
        added += resource.added;
        updated += resource.updated;
        skipped += resource.skipped;
    }
    metrics::counter!(ROWS, "status" => RowStatus::Added.as_str()).increment(added);
    metrics::counter!(ROWS, "status" => RowStatus::Updated.as_str()).increment(updated);
    metrics::counter!(ROWS, "status" => RowStatus::Skipped.as_str()).increment(skipped);
    if let Some(finished_at) = job.finished_at {
        let seconds = (finished_at - job.created_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!(JOB_DURATION, "state" => state).record(seconds);
    }
}

/// Counts a callback attempt by what happens next.
pub(crate) fn record_callback_attempt(outcome: &DeliveryOutcome) {
    let label = match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::RetryAt(_) => "retry",
        DeliveryOutcome::GaveUp => "gave_up",
    };
    metrics::counter!(CALLBACK_ATTEMPTS, "outcome" => label).increment(1);
}
