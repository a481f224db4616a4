//! A Bulk Read job's run, plugged into the queue's worker by kind: the same claim, lease,
//! heartbeat, fencing, cancel, backoff and release as a write job. The export reads the
//! module from the store a part at a time (by id, after the last committed part), renders each
//! part on a blocking thread, stores it as a blob and commits it with its checkpoint under the
//! lease; at the end the parts are streamed into the result zip. A node that takes the job over
//! continues after the last committed part: no record is written twice or lost, and memory
//! holds one part whatever the export's size.

mod render;
mod result;
mod select;

use std::collections::HashMap;

use bulkwrite_core::readspec::{plan_columns, Column, FileType, PageToken, ReadSpec};
use bulkwrite_store::{module_gone, read_failure, Job, Lease, ReadOutcome, ReadPart, StoreError};
use tokio::sync::watch;

use crate::heartbeat::Heartbeat;
use crate::pipeline::{release, stopped, with_retries, Stop};
use crate::{RunLimit, RunOutcome, WorkerContext};

use render::RenderFacts;
pub(crate) use select::RecordFilter;

/// Records per committed part unless configured.
pub const PART_RECORDS: u32 = 10_000;

/// Records a part reads from the store at once: the part's rendered bytes grow batch by batch,
/// and only one batch of records is held (as maps of values, 10,000 records were ~26 MiB: the
/// export's peak RSS above what the server held, see docs/PERFORMANCE.md, "Reads").
const READ_BATCH: u32 = 1_000;

pub(crate) async fn run_read_job(
    ctx: &WorkerContext,
    job: Job,
    lease: Lease,
    limit: RunLimit,
    shutdown: &watch::Receiver<bool>,
) -> RunOutcome {
    let heartbeat = Heartbeat::start(ctx, &lease, limit);
    let outcome = match export(ctx, &job, &lease, &heartbeat, shutdown).await {
        Ok(()) => RunOutcome::Completed,
        Err(stop) => match stopped(ctx, &job, &lease, stop).await {
            Ok(outcome) => outcome,
            Err(reason) => fail(ctx, &job, &lease, &reason).await,
        },
    };
    drop(heartbeat);
    outcome
}

async fn fail(ctx: &WorkerContext, job: &Job, lease: &Lease, reason: &str) -> RunOutcome {
    tracing::warn!(job = %job.id, reason, "read job failed");
    match with_retries(|| ctx.store.fail_job(lease, reason, None, ctx.now())).await {
        Ok(()) => RunOutcome::Failed,
        Err(Stop::LeaseLost) => RunOutcome::LeaseLost,
        Err(_) => release(ctx, lease).await,
    }
}

/// What one run knows before it reads a record.
struct Plan {
    spec: ReadSpec,
    columns: Vec<Column>,
    filter: RecordFilter,
    facts: RenderFacts,
}

async fn plan(ctx: &WorkerContext, job: &Job) -> Result<Plan, Stop> {
    // What the export cannot do any more is kept as Zoho's code and sentence (`read_failure`),
    // which the job's details show in `result.error_message`.
    let spec =
        job.read.as_ref().map(|read| read.spec.clone()).ok_or_else(|| Stop::Permanent("not a read job".into()))?;
    let org = ctx.store.get_org(job.org).await?.ok_or_else(|| Stop::Permanent("the org no longer exists".into()))?;
    let time_zone: chrono_tz::Tz = org.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let schema = ctx.store.org_schema(job.org).await?;
    let module = schema.module(&spec.module).ok_or_else(|| Stop::Permanent(module_gone(&spec.module)))?;
    let columns = plan_columns(&schema, module, &spec.fields).map_err(|error| Stop::Permanent(read_failure(&error)))?;
    let filter = RecordFilter::build(module, &spec, time_zone).map_err(Stop::Permanent)?;
    let users = ctx.store.users(job.org).await?.into_iter().map(|user| (user.id, user)).collect();
    let facts = RenderFacts { time_zone, users, related: HashMap::new() };
    Ok(Plan { spec, columns, filter, facts })
}

async fn export(
    ctx: &WorkerContext,
    job: &Job,
    lease: &Lease,
    heartbeat: &Heartbeat,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), Stop> {
    let mut plan = plan(ctx, job).await?;
    let mut parts = with_retries(|| ctx.store.read_parts(job.org, job.id)).await?;
    let mut exported: u64 = parts.iter().map(|part| part.rows).sum();
    let mut after = parts.last().map(|part| part.last_id).or(plan.spec.start_after);
    // The page's first records are skipped once, by the first part; later parts go by id.
    let mut skip = if parts.is_empty() { plan.spec.skip() } else { 0 };
    let per_page = u64::from(plan.spec.per_page);
    let owner: String = lease.owner.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let started = std::time::Instant::now();
    while exported < per_page {
        if heartbeat.is_lost() {
            return Err(Stop::LeaseLost);
        }
        if heartbeat.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if *shutdown.borrow() {
            return Err(Stop::Shutdown);
        }
        if !heartbeat.may_start_chunk() {
            return Err(Stop::Held);
        }
        let limit = (per_page - exported).min(u64::from(ctx.config.read_part_records.max(1))) as u32;
        let Some((bytes, count, last)) = read_part(ctx, job, &mut plan, after, skip, limit).await? else { break };
        skip = 0;
        let part = ReadPart {
            part_no: parts.len() as u32,
            blob_key: format!("reads/{}/{}/{owner}-{}.part", job.org, job.id, parts.len()),
            rows: count,
            last_id: last,
        };
        result::store_part(ctx, &part.blob_key, bytes).await?;
        with_retries(|| ctx.store.commit_read_part(lease, &part)).await?;
        parts.push(part);
        exported += count;
        after = Some(last);
        if count < u64::from(limit) {
            break;
        }
    }
    let more_records =
        exported >= per_page && !with_retries(|| plan.filter.select(ctx, job, after, 0, 1)).await?.is_empty();
    let next_page_token = match (more_records, after) {
        (true, Some(after)) => {
            Some(PageToken { page: plan.spec.page.saturating_add(1), after, user: job.created_by.get() }.encode())
        }
        _ => None,
    };
    let mut blobs = Vec::with_capacity(parts.len());
    for part in &parts {
        blobs.push(ctx.blobs.local(&part.blob_key).await?);
    }
    let header = render::header_line(&plan.columns);
    let key = result::write_result_zip(ctx, job, plan.spec.file_type, header, blobs).await?;
    let outcome = ReadOutcome { count: exported, more_records, next_page_token };
    with_retries(|| ctx.store.complete_read_job(lease, &key, &outcome, ctx.now())).await?;
    tracing::info!(
        job = %job.id,
        records = exported,
        parts = parts.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "export written"
    );
    Ok(())
}

/// The rendered bytes of the next part (up to `limit` records after `after`, skipping `skip`),
/// its record count and its last record's id; `None` when no record is left. The records are
/// read [`READ_BATCH`] at a time, each batch by id after the one before.
async fn read_part(
    ctx: &WorkerContext,
    job: &Job,
    plan: &mut Plan,
    mut after: Option<u64>,
    mut skip: u64,
    limit: u32,
) -> Result<Option<(Vec<u8>, u64, u64)>, Stop> {
    let mut bytes = Vec::new();
    let mut count: u64 = 0;
    while count < u64::from(limit) {
        let batch = (u64::from(limit) - count).min(u64::from(READ_BATCH)) as u32;
        let records = with_retries(|| plan.filter.select(ctx, job, after, skip, batch)).await?;
        skip = 0;
        let Some(last) = records.last().map(|record| record.id.get()) else { break };
        load_related(ctx, job, &plan.columns, &records, &mut plan.facts).await?;
        match plan.spec.file_type {
            FileType::Csv => {
                bytes.extend(render::csv_rows(&plan.columns, &records, &plan.facts).map_err(StoreError::Io)?);
            }
            FileType::Ics => bytes.extend(render::ics_events(&records, &plan.facts)),
        }
        count += records.len() as u64;
        after = Some(last);
        if records.len() < batch as usize {
            break;
        }
    }
    Ok(after.filter(|_| count > 0).map(|last| (bytes, count, last)))
}

/// Reads the records the page's lookup columns point at into `facts` (one query per module).
async fn load_related(
    ctx: &WorkerContext,
    job: &Job,
    columns: &[Column],
    records: &[bulkwrite_store::StoredRecord],
    facts: &mut RenderFacts,
) -> Result<(), Stop> {
    facts.related.clear();
    for (module, ids) in render::related_ids(columns, records) {
        if ids.is_empty() {
            continue;
        }
        let found = with_retries(|| select::records_by_id(ctx, job, &module, &ids)).await?;
        facts.related.insert(module, found.into_iter().map(|record| (record.id, record)).collect());
    }
    Ok(())
}
