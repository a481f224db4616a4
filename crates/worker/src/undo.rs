//! An undo job's run (see `bulkwrite_store::undo`), plugged into the queue's worker by kind: the
//! same claim, lease, heartbeat, fencing, cancel, backoff, stepping and release as a write job.
//! It reads the undone job's result rows a page at a time, resource by resource, from its own
//! checkpoint (an original row number), and has the store settle each page in one fenced
//! transaction with the undo's result rows and checkpoint; so a resumed undo continues after its
//! last committed page and settles no record twice. At the end (or when it stops early) its
//! result file lists one row per record: `RECORD_ID,STATUS,ERRORS,MODULE,SOURCE_ROW`.

use std::io::BufWriter;

use bulkwrite_core::result::{result_csv_name, ResultRow, ResultZipWriter};
use bulkwrite_core::state::ResourceState;
use bulkwrite_store::{Job, Lease, StoreError, UndoChunk};
use tokio::sync::watch;

use crate::heartbeat::Heartbeat;
use crate::pipeline::{complete, record_failure, stopped, with_retries, Stop};
use crate::result_file::{finish_zip, staged_file, store_result};
use crate::{RunLimit, RunOutcome, WorkerContext};

/// Original result rows read (and settled) per committed chunk at most.
const PAGE: usize = 2000;

/// The columns of an undo's result CSV.
pub(crate) const UNDO_COLUMNS: [&str; 5] = ["RECORD_ID", "STATUS", "ERRORS", "MODULE", "SOURCE_ROW"];

pub(crate) async fn run_undo_job(
    ctx: &WorkerContext,
    job: Job,
    lease: Lease,
    limit: RunLimit,
    shutdown: &watch::Receiver<bool>,
) -> RunOutcome {
    let heartbeat = Heartbeat::start(ctx, &lease, limit);
    let outcome = match undo(ctx, &job, &lease, &heartbeat, shutdown).await {
        Ok(()) => finish(ctx, &job, &lease).await,
        Err(stop) => match stopped(ctx, &job, &lease, stop).await {
            Ok(outcome) => outcome,
            Err(reason) => fail(ctx, &job, &lease, &reason).await,
        },
    };
    drop(heartbeat);
    outcome
}

async fn undo(
    ctx: &WorkerContext,
    job: &Job,
    lease: &Lease,
    heartbeat: &Heartbeat,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), Stop> {
    let original_id = job.undo_of.ok_or_else(|| Stop::Permanent("not an undo job".into()))?;
    let original = ctx
        .store
        .get_job(job.org, original_id)
        .await?
        .ok_or_else(|| Stop::Permanent(format!("job {original_id} no longer exists")))?;
    if let Some(at) = original.result_expired_at {
        return Err(Stop::Permanent(format!("the undo data of job {original_id} expired at {}", at.to_rfc3339())));
    }
    let page = ctx.config.chunk_rows.clamp(1, PAGE);
    for (index, resource) in original.spec.resources.iter().enumerate() {
        let progress = job.resources.get(index).copied();
        if progress.is_some_and(|p| p.state == ResourceState::Done) {
            continue;
        }
        with_retries(|| ctx.store.start_resource(lease, index)).await?;
        ctx.announcer().job_changed(job.id).await;
        let mut after = progress.map_or(0, |p| p.rows_done);
        loop {
            if heartbeat.is_lost() {
                return Err(Stop::LeaseLost);
            }
            if heartbeat.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            if *shutdown.borrow() {
                return Err(Stop::Shutdown);
            }
            let rows = with_retries(|| ctx.store.result_rows(job.org, original_id, index, after, page as u32)).await?;
            let Some(last) = rows.last().map(|row| row.row_no) else { break };
            if !heartbeat.may_start_chunk() {
                return Err(Stop::Held);
            }
            let full = rows.len() == page;
            let applied: Vec<ResultRow> =
                rows.into_iter().filter(|row| row.status.is_applied() && row.record_id.is_some()).collect();
            let chunk = UndoChunk {
                undo_of: original_id,
                resource: index,
                module: resource.module.clone(),
                rows: applied,
                rows_done_before: after,
                rows_done: last,
                actor: job.created_by,
                now: ctx.now(),
            };
            // One attempt: on a transient failure the job resumes from its last checkpoint.
            ctx.store.apply_undo_chunk(lease, chunk).await?;
            after = last;
            ctx.announcer().job_changed(job.id).await;
            if !full {
                break;
            }
        }
        with_retries(|| ctx.store.finish_resource(lease, index, after)).await?;
        ctx.announcer().job_changed(job.id).await;
    }
    Ok(())
}

async fn finish(ctx: &WorkerContext, job: &Job, lease: &Lease) -> RunOutcome {
    complete(ctx, job, lease, write_undo_result(ctx, job).await).await
}

async fn fail(ctx: &WorkerContext, job: &Job, lease: &Lease, reason: &str) -> RunOutcome {
    tracing::warn!(job = %job.id, reason, "undo failed");
    let partial = write_undo_result(ctx, job).await.ok();
    record_failure(ctx, lease, reason, partial.as_deref()).await
}

/// Writes the undo's result zip from its stored rows (one CSV per resource of the undone job)
/// and returns its blob key; what a cancelled or failed undo settled is listed the same way.
pub(crate) async fn write_undo_result(ctx: &WorkerContext, job: &Job) -> Result<String, StoreError> {
    let (file, path) = staged_file(ctx)?;
    let store = std::sync::Arc::clone(&ctx.store);
    let job_owned = job.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut writer = ResultZipWriter::new(BufWriter::new(file));
        for (index, resource) in job_owned.spec.resources.iter().enumerate() {
            let name = format!("undo-{}", result_csv_name(&resource.module, &resource.csv_name));
            writer.start_plain_csv(&name, &UNDO_COLUMNS)?;
            let mut after = 0;
            loop {
                let rows =
                    handle.block_on(store.result_rows(job_owned.org, job_owned.id, index, after, PAGE as u32))?;
                for row in &rows {
                    let id = row.record_id.map(|id| id.to_string()).unwrap_or_default();
                    let module = row.echo.first().map_or("", String::as_str);
                    let reason = row.echo.get(1).map_or("", String::as_str);
                    let source_row = row.row_no.to_string();
                    writer.write_cells(&[&id, row.status.as_str(), reason, module, &source_row])?;
                }
                match rows.last() {
                    Some(last) if rows.len() == PAGE => after = last.row_no,
                    _ => break,
                }
            }
        }
        finish_zip(writer)
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    store_result(ctx, job, path).await
}
