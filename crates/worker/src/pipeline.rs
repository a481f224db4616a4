//! One job's run: resources in order, chunks applied under the lease, then the result file and
//! the final state. Errors are classified where they happen: a bad file fails the job, a busy
//! database is retried, a lost lease stops everything.

use std::time::Duration;

use bulkwrite_core::ids::FileId;
use bulkwrite_core::jobspec::ResourceSpec;
use bulkwrite_core::lookup::{plan_lookups, resolve_lookups, LookupAnswers};
use bulkwrite_core::mapping::{RowDraft, RowMapper, UserDirectory, UserEntry};
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_core::state::ResourceState;
use bulkwrite_store::{ChunkWrite, Job, Lease, StoreError};
use tokio::sync::{mpsc, watch};

use crate::faults::JobFaults;
use crate::heartbeat::Heartbeat;
use crate::in_flight::{InFlight, NewValues, Settled};
use crate::parents::load_parent_keys;
use crate::reader::{read_chunks, ReadPlan, ReaderMessage};
use crate::result_file::{write_partial_result_file, write_result_file, ResultStream};
use crate::{RunLimit, RunOutcome, WorkerContext};

/// Chunks read ahead of the one being applied. One: with two more in flight (a SQLite update
/// read or planned beside the chunk before's write), a second one read ahead only held memory
/// (1,000,000-row SQLite insert, three rounds in turn: 5.8–5.9 s and 100–102 MiB against 5.9–6.2 s
/// and 107–108 MiB with two).
const READ_AHEAD: usize = 1;
/// Tries of one store write before the job is given back to the queue.
const WRITE_TRIES: u32 = 5;

/// Why a run stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The job cannot run: fail it with this reason.
    Permanent(String),
    /// The store kept failing: give the job back.
    Transient(StoreError),
    LeaseLost,
    Shutdown,
    /// Someone asked the job to stop.
    Cancelled,
    /// The test controls stop it here: the queue is paused, or a step's chunk is done.
    Held,
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Stop {
        match error {
            StoreError::LeaseLost => Stop::LeaseLost,
            StoreError::NotFound(what) | StoreError::Expired(what) => {
                Stop::Permanent(format!("{what} no longer exists"))
            }
            other => Stop::Transient(other),
        }
    }
}

/// The shared, read-only facts of one run.
struct RunFacts {
    time_zone: chrono_tz::Tz,
    schema: OrgSchema,
    users: UserDirectory,
}

pub(crate) async fn run_job(
    ctx: &WorkerContext,
    job: Job,
    lease: Lease,
    limit: RunLimit,
    shutdown: &watch::Receiver<bool>,
) -> RunOutcome {
    let heartbeat = Heartbeat::start(ctx, &lease, limit);
    let results = start_result_stream(ctx, &job);
    let result = run_resources(ctx, &job, &lease, &heartbeat, shutdown, results.as_ref()).await;
    let outcome = match result {
        Ok(()) => finish(ctx, &job, &lease, results).await,
        Err(stop) => match stopped(ctx, &job, &lease, stop).await {
            Ok(outcome) => outcome,
            Err(reason) => fail(ctx, &job, &lease, &reason).await,
        },
    };
    drop(heartbeat);
    outcome
}

/// What becomes of a job whose run stopped short, the same for every kind of job (bulk write,
/// Bulk Read, undo); a permanent failure is handed back (`Err(reason)`) for the kind to record
/// with what result file it has.
pub(crate) async fn stopped(ctx: &WorkerContext, job: &Job, lease: &Lease, stop: Stop) -> Result<RunOutcome, String> {
    Ok(match stop {
        Stop::Permanent(reason) => return Err(reason),
        Stop::LeaseLost => RunOutcome::LeaseLost,
        Stop::Shutdown => release(ctx, lease).await,
        Stop::Cancelled => crate::cancel::cancel(ctx, job, lease).await,
        Stop::Transient(error) => defer(ctx, job, lease, &error).await,
        Stop::Held => hold(ctx, lease).await,
    })
}

/// A job that runs from its first row writes its result file as its chunks commit; a resumed
/// one writes it from the stored rows at the end.
fn start_result_stream(ctx: &WorkerContext, job: &Job) -> Option<ResultStream> {
    let fresh = job.resources.iter().all(|p| p.rows_done == 0 && p.state != ResourceState::Done);
    if !fresh {
        return None;
    }
    ResultStream::start(ctx)
        .inspect_err(|error| tracing::warn!(job = %job.id, error = %error.with_causes(), "the result file will be written at the end"))
        .ok()
}

async fn load_facts(ctx: &WorkerContext, job: &Job) -> Result<RunFacts, Stop> {
    let org = ctx.store.get_org(job.org).await?.ok_or_else(|| Stop::Permanent("the org no longer exists".into()))?;
    let time_zone = org.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let schema = ctx.store.org_schema(job.org).await?;
    let users = ctx.store.users(job.org).await?;
    let entries = users.into_iter().filter(|u| u.active).map(|u| UserEntry {
        id: u.id,
        full_name: u.full_name(),
        email: u.email,
    });
    Ok(RunFacts { time_zone, schema, users: UserDirectory::new(entries) })
}

async fn run_resources(
    ctx: &WorkerContext,
    job: &Job,
    lease: &Lease,
    heartbeat: &Heartbeat,
    shutdown: &watch::Receiver<bool>,
    results: Option<&ResultStream>,
) -> Result<(), Stop> {
    let facts = load_facts(ctx, job).await?;
    let faults = JobFaults::of(ctx, job).await?;
    for (index, resource) in job.spec.resources.iter().enumerate() {
        let progress = job.resources.get(index).copied();
        if progress.is_some_and(|p| p.state == ResourceState::Done) {
            continue;
        }
        if heartbeat.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if heartbeat.is_held() {
            return Err(Stop::Held);
        }
        let module = facts
            .schema
            .module(&resource.module)
            .ok_or_else(|| Stop::Permanent(format!("module {} no longer exists", resource.module)))?;
        let rows_done = progress.map(|p| p.rows_done).unwrap_or(0);
        with_retries(|| ctx.store.start_resource(lease, index)).await?;
        ctx.announcer().job_changed(job.id).await;
        if let Some(results) = results {
            results.start_csv(job, index).await;
        }
        let run = (heartbeat, shutdown, results, &faults);
        let checkpoint = run_resource(ctx, job, lease, run, &facts, (index, resource, module), rows_done).await?;
        with_retries(|| ctx.store.finish_resource(lease, index, checkpoint)).await?;
        ctx.announcer().job_changed(job.id).await;
    }
    crate::inventory::update_totals(ctx, job, &facts.schema).await
}

/// Reads and applies one resource's rows from checkpoint `rows_done`; returns the checkpoint
/// its last chunk committed.
async fn run_resource(
    ctx: &WorkerContext,
    job: &Job,
    lease: &Lease,
    (heartbeat, shutdown, results, faults): (&Heartbeat, &watch::Receiver<bool>, Option<&ResultStream>, &JobFaults),
    facts: &RunFacts,
    (index, resource, module): (usize, &ResourceSpec, &Module),
    rows_done: u64,
) -> Result<u64, Stop> {
    let file_id = FileId::parse(&resource.file_id).ok_or_else(|| Stop::Permanent("the file id is malformed".into()))?;
    let upload = ctx
        .store
        .get_upload(job.org, file_id)
        .await?
        .ok_or_else(|| Stop::Permanent(format!("file {file_id} no longer exists")))?;
    let blob = ctx.blobs.local(&upload.blob_key).await?;
    let mut mapper = RowMapper::new(resource, module, job.spec.operation, facts.time_zone, facts.users.clone());
    if let (Some(link), Some(parent)) = (&resource.parent_link, job.spec.resources.first()) {
        let keys = load_parent_keys(ctx, job, parent, link).await?;
        mapper = mapper.with_parent_keys(std::sync::Arc::new(keys));
    }
    let full_name = module.field("Full_Name").is_some_and(|field| field.read_only);
    let plan = ReadPlan {
        zip_path: blob.path().to_path_buf(),
        csv_name: resource.csv_name.clone(),
        requested_encoding: job.spec.character_encoding.clone(),
        max_columns: ctx.config.limits.max_columns.max(resource.header.len()),
        limits: ctx.config.limits,
        skip_rows: rows_done,
        chunk_rows: match job.spec.operation {
            bulkwrite_wire::Operation::Insert => ctx.config.insert_chunk_rows,
            _ => ctx.config.chunk_rows,
        }
        .max(1),
        chunk_bytes: ctx.config.chunk_bytes.max(1),
        freeze_values: (job.spec.operation == bulkwrite_wire::Operation::Insert && !job.spec.dry_run)
            .then_some(full_name),
        limit_column: resource.echo_headers().into_iter().next().unwrap_or_else(|| resource.module.clone()),
        // Zoho: a subform or line-item child CSV (linked by `Parent_Id`, where a linking
        // module's is its lookup field) holds at most 200 rows.
        child: resource.parent_link.as_ref().is_some_and(|link| link.field == "Parent_Id"),
        mapper,
    };
    let (sender, mut receiver) = mpsc::channel(READ_AHEAD);
    let reader = tokio::task::spawn_blocking(move || read_chunks(plan, sender));
    let default_layout = module.default_layout().map(|layout| layout.id.clone());
    let started = std::time::Instant::now();
    let mut waiting = Duration::ZERO;
    let mut rows_applied = 0usize;
    let mut checkpoint = rows_done;
    // Each chunk starts while the ones before it commit; the run settles them all before it
    // returns.
    let depth = ctx.store.chunks_in_flight(job.spec.operation, job.spec.dry_run);
    let mut in_flight = InFlight::new(ctx.announcer(), std::sync::Arc::clone(&ctx.store), lease.clone(), depth);
    let applied = async {
        while let Some(message) = receiver.recv().await {
            if heartbeat.is_lost() {
                return Err(Stop::LeaseLost);
            }
            if heartbeat.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            match message {
                ReaderMessage::Encoding(encoding) => {
                    if index == 0 || job.character_encoding.is_none() {
                        with_retries(|| ctx.store.set_character_encoding(lease, &encoding)).await?;
                    }
                }
                ReaderMessage::Failed(reason) => return Err(Stop::Permanent(reason)),
                ReaderMessage::Chunk { mut rows, mut rows_done } => {
                    if *shutdown.borrow() {
                        return Err(Stop::Shutdown);
                    }
                    if !heartbeat.may_start_chunk() {
                        return Err(Stop::Held);
                    }
                    faults.slow_down().await;
                    let cut = faults.cut(&mut rows, rows_done);
                    if let Some(cut) = &cut {
                        rows_done = cut.rows_done;
                        if rows.is_empty() {
                            return Err(Stop::Permanent(cut.reason.clone()));
                        }
                    }
                    resolve_chunk_lookups(ctx, (job, lease), &facts.schema, &mut rows).await?;
                    crate::inventory::check_chunk(ctx, job, resource, &module.api_name, &mut rows).await?;
                    rows_applied += rows.len();
                    let new_values = new_picklist_values(&rows);
                    let chunk = ChunkWrite {
                        resource: index,
                        module: resource.module.clone(),
                        operation: job.spec.operation,
                        ignore_empty: resource.effective_ignore_empty,
                        rows,
                        rows_done_before: checkpoint,
                        rows_done,
                        default_owner: job.created_by,
                        default_layout: default_layout.clone(),
                        actor: job.created_by,
                        now: ctx.now(),
                        full_name,
                        dry_run: job.spec.dry_run,
                    };
                    checkpoint = rows_done;
                    // One attempt: on a transient failure the job goes back to the queue and
                    // resumes from its last checkpoint, so the chunk is never copied for a retry.
                    let wait_started = std::time::Instant::now();
                    let settled = in_flight.start(chunk, new_values).await?;
                    waiting += wait_started.elapsed();
                    after_commit(ctx, job, (&resource.module, results, faults), settled).await?;
                    if let Some(cut) = cut {
                        // The cut chunk commits as the run settles; then the job fails.
                        return Err(Stop::Permanent(cut.reason));
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    let settled = in_flight.settle_all().await;
    drop(receiver);
    let _ = reader.await;
    applied?;
    for settled in settled? {
        after_commit(ctx, job, (&resource.module, results, faults), Some(settled)).await?;
    }
    let elapsed = started.elapsed();
    tracing::info!(
        job = %job.id,
        resource = index,
        rows = rows_applied,
        elapsed_ms = elapsed.as_millis() as u64,
        waiting_for_chunks_ms = waiting.as_millis() as u64,
        "resource read and applied"
    );
    Ok(checkpoint)
}

/// Hands a committed chunk's result rows to the result file and adds the picklist values it
/// used to their fields (unless a fault fails the run here first).
async fn after_commit(
    ctx: &WorkerContext,
    job: &Job,
    (module, results, faults): (&str, Option<&ResultStream>, &JobFaults),
    settled: Option<Settled>,
) -> Result<(), Stop> {
    let Some(Settled { outcome, new_values }) = settled else {
        return Ok(());
    };
    faults.after_commit(ctx, job).await?;
    if let Some(results) = results {
        results.rows(outcome.results).await;
    }
    // A dry run adds no picklist values: it changes nothing the real job would change.
    if job.spec.dry_run {
        return Ok(());
    }
    for (field, values) in new_values {
        with_retries(|| ctx.store.add_picklist_values(job.org, module, &field, &values)).await?;
    }
    Ok(())
}

/// Picklist values that applied rows use and the fields do not list yet, by field.
fn new_picklist_values(rows: &[RowDraft]) -> NewValues {
    let mut by_field = NewValues::new();
    for row in rows.iter().filter(|row| row.errors.is_empty()) {
        for (field, value) in &row.new_picklist_values {
            let values = by_field.entry(field.clone()).or_default();
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
    }
    by_field
}

/// Resolves the chunk's lookup cells against the related modules, one query per (module, field).
/// A dry run's lookups also see the records the run itself would have written.
async fn resolve_chunk_lookups(
    ctx: &WorkerContext,
    (job, lease): (&Job, &Lease),
    schema: &OrgSchema,
    rows: &mut [RowDraft],
) -> Result<(), Stop> {
    if rows.iter().all(|row| row.lookups.is_empty()) {
        return Ok(());
    }
    let mut answers = LookupAnswers::default();
    for query in plan_lookups(rows, schema) {
        let mut hits = with_retries(|| ctx.store.find_records(job.org, &query)).await?;
        if job.spec.dry_run {
            let scratch = with_retries(|| ctx.store.dry_run_records(lease, &query.module)).await?;
            hits = bulkwrite_store::dry_run::overlay_lookup(&query, hits, &scratch);
        }
        answers.add(&query, hits);
    }
    resolve_lookups(rows, schema, &answers);
    Ok(())
}

/// Retries a store call on transient errors with backoff and jitter.
pub(crate) async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, Stop>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=WRITE_TRIES {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_retryable() && attempt < WRITE_TRIES => {
                let jitter = Duration::from_millis(rand::random::<u64>() % 100);
                tokio::time::sleep(delay + jitter).await;
                delay *= 2;
            }
            Err(error) => return Err(error.into()),
        }
    }
    unreachable!("the last attempt returns")
}

async fn finish(ctx: &WorkerContext, job: &Job, lease: &Lease, results: Option<ResultStream>) -> RunOutcome {
    let started = std::time::Instant::now();
    let written = match results {
        Some(results) => match results.finish(ctx, job).await {
            Ok(key) => Ok(key),
            Err(error) => {
                tracing::warn!(job = %job.id, error = %error.with_causes(), "the streamed result file failed; writing it from the stored rows");
                write_result_file(ctx, job).await
            }
        },
        None => write_result_file(ctx, job).await,
    };
    tracing::info!(job = %job.id, elapsed_ms = started.elapsed().as_millis() as u64, "result file written");
    complete(ctx, job, lease, written).await
}

/// Completes a job whose result file was `written` (stored under the key it holds): a failure to
/// write it, or a transient one to record the completion, sends the job back with its backoff.
/// Bulk write and undo jobs end here alike.
pub(crate) async fn complete(
    ctx: &WorkerContext,
    job: &Job,
    lease: &Lease,
    written: Result<String, StoreError>,
) -> RunOutcome {
    let key = match written {
        Ok(key) => key,
        Err(error) => {
            tracing::warn!(job = %job.id, error = %error.with_causes(), "writing the result file failed");
            return defer(ctx, job, lease, &error).await;
        }
    };
    match with_retries(|| ctx.store.complete_job(lease, &key, ctx.now())).await {
        Ok(()) => RunOutcome::Completed,
        Err(Stop::LeaseLost) => RunOutcome::LeaseLost,
        Err(Stop::Transient(error)) => defer(ctx, job, lease, &error).await,
        Err(_) => release(ctx, lease).await,
    }
}

async fn fail(ctx: &WorkerContext, job: &Job, lease: &Lease, reason: &str) -> RunOutcome {
    tracing::warn!(job = %job.id, reason, "job failed");
    let partial = write_partial_result_file(ctx, job).await.ok();
    record_failure(ctx, lease, reason, partial.as_deref()).await
}

/// Fails a job for good with `reason` and the result file it has so far, if any.
pub(crate) async fn record_failure(
    ctx: &WorkerContext,
    lease: &Lease,
    reason: &str,
    partial: Option<&str>,
) -> RunOutcome {
    match with_retries(|| ctx.store.fail_job(lease, reason, partial, ctx.now())).await {
        Ok(()) => RunOutcome::Failed,
        Err(Stop::LeaseLost) => RunOutcome::LeaseLost,
        Err(_) => release(ctx, lease).await,
    }
}

/// Gives the job back after a transient failure, to be claimed again after a backoff that doubles
/// with its claims (jittered, capped), its error naming the cause while it waits; or fails it
/// once it has been failing for longer than the time budget.
///
/// A database that is away (the usual cause) refuses the give-back too: it is retried on fresh
/// connections, with backoff, for as long as the lease lasts, the backoff counted from when it
/// succeeds. So once the database answers again the job waits out its backoff saying why,
/// rather than being released with no reason and claimed again at once.
pub(crate) async fn defer(ctx: &WorkerContext, job: &Job, lease: &Lease, error: &StoreError) -> RunOutcome {
    let config = &ctx.config.transient;
    let (cause, said) = (error.named_cause(), error.last_said());
    let doublings = job.attempts.saturating_sub(1).min(20);
    let full = config.base.saturating_mul(1u32 << doublings).min(config.cap);
    let wait = full.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    let budget = chrono::Duration::from_std(config.budget).unwrap_or(chrono::Duration::days(1));
    // The backoff runs on the system's time, as leases do: it waits for a resource to recover.
    let deferral = || {
        let now = chrono::Utc::now();
        let run_at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
        bulkwrite_store::Deferral {
            now,
            run_at,
            reason: format!("{cause}; waiting to retry at {} ({said})", run_at.to_rfc3339()),
            give_up_before: now - budget,
        }
    };
    let deadline = std::time::Instant::now() + ctx.config.lease_duration;
    let mut delay = Duration::from_millis(100);
    let deferred = loop {
        match ctx.store.defer_job(lease, &deferral()).await {
            Err(failure) if failure.is_retryable() && std::time::Instant::now() + delay < deadline => {
                tracing::warn!(job = %job.id, %cause, error = %failure.with_causes(), "giving the job back failed; retrying");
                tokio::time::sleep(delay + Duration::from_millis(rand::random::<u64>() % 100)).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => break other.map_err(Stop::from),
        }
    };
    match deferred {
        Ok(true) => {
            tracing::warn!(job = %job.id, %cause, %said, wait_ms = wait.as_millis() as u64, "job waits after a transient failure");
            RunOutcome::Released
        }
        Ok(false) => {
            let reason = format!("{cause} for longer than {} s: {said}", config.budget.as_secs());
            fail(ctx, job, lease, &reason).await
        }
        Err(Stop::LeaseLost) => RunOutcome::LeaseLost,
        Err(_) => release(ctx, lease).await,
    }
}

/// Holds the job for the test controls: it stays in progress with no lease, for the next step
/// or any worker once the queue runs (retried like a release; a failure releases it instead).
pub(crate) async fn hold(ctx: &WorkerContext, lease: &Lease) -> RunOutcome {
    match with_retries(|| ctx.store.hold_job(lease)).await {
        Ok(()) => {
            tracing::info!(job = %lease.job, "job held by the test controls");
            RunOutcome::Held
        }
        Err(_) => release(ctx, lease).await,
    }
}

/// Gives the job back to the queue. A connection that died (a restarted or unreachable
/// database) is retried on a fresh one, with backoff, for as long as the lease lasts: once the
/// database answers again the job is claimable at once rather than a lease later.
pub(crate) async fn release(ctx: &WorkerContext, lease: &Lease) -> RunOutcome {
    let deadline = std::time::Instant::now() + ctx.config.lease_duration;
    let mut delay = Duration::from_millis(100);
    loop {
        match ctx.store.release_job(lease).await {
            Ok(()) => break,
            Err(error) if error.is_retryable() && std::time::Instant::now() + delay < deadline => {
                tracing::warn!(job = %lease.job, error = %error.with_causes(), "releasing the job failed; retrying");
                tokio::time::sleep(delay + Duration::from_millis(rand::random::<u64>() % 100)).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(error) => {
                tracing::warn!(job = %lease.job, error = %error.with_causes(), "releasing the job failed; its lease will expire");
                break;
            }
        }
    }
    ctx.wakeup.jobs.notify_one();
    RunOutcome::Released
}
