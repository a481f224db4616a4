//! The queue runtime: claims jobs with a lease, runs the import pipeline in checkpointed chunks,
//! writes the result file, and delivers callbacks from the outbox.
//!
//! Owns: claiming, lease renewal, retries, the pipeline (zip → CSV → mapping → chunks) and
//! callback delivery. Must not: touch a database or the filesystem except through the store and
//! blob traits.
//!
//! Invariants:
//! - a chunk is applied only while this worker holds the job's lease; a lost lease stops the job
//!   at once and nothing more is written for it;
//! - a resumed job continues after the last committed checkpoint, so no row is applied twice;
//! - at most as many chunks of a resource are in flight as the store takes (two, three for a
//!   PostgreSQL insert), and the run settles them all before it stops for any reason (see
//!   `in_flight`);
//! - CPU-bound work (unzip, CSV, conversion, result zip) runs on blocking threads;
//! - callbacks are delivered after the job's final state is committed, never inside a
//!   transaction, and every attempt is recorded;
//! - every line logged about a job is in its `job` span (a delivery's in its `callback` span),
//!   which carries the job and org ids; metrics are counted in [`observe`].
//! - a job asked to stop (cancel) stops at its next chunk once its heartbeat sees the request
//!   (announced, else polled every [`CANCEL_POLL`]); the chunks in flight settle first, so
//!   committed rows keep their result rows. A queued job asked to stop is cancelled by the
//!   finaliser beside the worker, without waiting for a slot. A cancelled or failed job's result
//!   file lists the rows it never reached as `UNPROCESSED`, read again from the upload within
//!   the reader's bound.
//! - the retention sweeper deletes a blob only after the transaction that expired its file
//!   committed, and never an upload an unfinished job names.
//! - fault rules of the test controls (`faults`) are read only when the switch is on: a job's
//!   are decided once, at its first run, and applied at its chunks; a callback's at each attempt,
//!   in place of the send. A faulted run takes the same paths as a real failure (fail, defer,
//!   retry), so the invariants above hold for it too.
//! - a Bulk Read job runs in the same queue (`export`): each part of its export is stored as
//!   a blob, then committed with its checkpoint under the lease, so a resumed export continues
//!   after the last committed part; memory holds one part at a time.
//! - two clocks (see `bulkwrite_store::control`): what the worker writes as a time (record,
//!   finish and callback attempt times, callback backoff, retention) is business time,
//!   [`WorkerContext::now`], which the test controls move; leases, heartbeats and the transient
//!   backoff run on the system's time, so moving the test clock expires no lease.
//! - an undo job runs in the same queue (`undo`): each page of the undone job's result rows is
//!   settled with its result rows and checkpoint in one fenced transaction, each record once.
//! - with the test controls on, a paused queue claims nothing and a running job stops before
//!   its next chunk and is held (`controls`); a step runs exactly one chunk of one job.

mod announce;
mod callback;
mod cancel;
pub mod controls;
mod export;
mod faults;
mod heartbeat;
mod in_flight;
mod inventory;
pub mod observe;
mod parents;
mod pipeline;
mod reader;
mod result_file;
mod retention;
mod undo;
mod unprocessed;

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_core::ids::JobId;
use bulkwrite_core::limits::Limits;
use bulkwrite_store::{BlobStore, Claim, Job, Lease, LiveControls, StepClaim, StepOutcome, StepTarget, Store};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

pub use callback::{CallbackDispatcher, PER_RECEIVER};
pub use controls::{watch_controls, ControlDriver, CONTROLS_POLL};
pub use export::PART_RECORDS;
pub use heartbeat::CANCEL_POLL;
pub use retention::{RetentionConfig, SweepReport, Sweeper, DEFAULT_RETENTION};

/// Rows per committed chunk of an update or upsert job on PostgreSQL unless configured (an
/// insert's: [`DEFAULT_INSERT_CHUNK_ROWS`]). Measured on two cores (docs/PERFORMANCE.md, fourth
/// pass): 2,000-row chunks cut a 25,000-row insert by 10-15% against 500, for about 30 MiB more
/// peak memory; 1,000 lost 5–15%. A 1,000,000-row upsert took as long in 3,500-row and 5,000-row
/// chunks (20.4–20.8 s against 20.9–21.3 s), for 30–65 MiB more at the peak.
pub const DEFAULT_CHUNK_ROWS: usize = 2000;

/// Rows per committed chunk of an insert job on PostgreSQL unless configured. Each chunk's
/// `COPY`s cost PostgreSQL something whatever their size (PostgreSQL 15's resource owner alone
/// about 1.8 ms a `COPY` of keys), and a 1,000,000-row insert spent 1.5–1.7 s less of
/// PostgreSQL's CPU in 5,000-row chunks than in 2,000-row ones. At 4,000 the insert took 10.5 /
/// 10.5 s against 11.0 / 12.1 s (25,000 rows: 321 / 331 ms against 393 / 364 ms), for a peak RSS
/// of 106–113 MiB against 75–84 MiB. Updates and upserts hold more for each row (what they
/// read, the before-images): in 3,500-row chunks one peaked at 119 MiB, in 5,000-row chunks at
/// 154 MiB, so they keep [`DEFAULT_CHUNK_ROWS`] (docs/PERFORMANCE.md).
pub const DEFAULT_INSERT_CHUNK_ROWS: usize = 4000;

/// Rows per committed chunk on SQLite unless configured: as fast as 2,000 there (a SQLite
/// transaction holds 48 chunks past a file's first rows anyway), and 20–25 MiB less at the peak
/// once an update's chunk is read and planned beside the chunk before's write (25,000 and
/// 1,000,000 rows, in turn: 82–100 MiB against 107–122 MiB).
pub const DEFAULT_SQLITE_CHUNK_ROWS: usize = 1000;

/// Bytes of CSV records per committed chunk at most, whatever `chunk_rows` says: a chunk of wide
/// rows closes early, so the chunks a job holds at once stay within a few times this.
pub const DEFAULT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Callback deliveries in flight at once on a node unless configured.
pub const DEFAULT_CALLBACK_CONCURRENCY: usize = 16;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this process in lease owners (unique per start).
    pub node_id: String,
    /// How long a claim holds a job without renewal; a dead worker's job is taken over after it.
    pub lease_duration: Duration,
    /// Rows per committed chunk of an update or upsert job: bigger is faster, smaller shows
    /// progress sooner and holds less memory.
    pub chunk_rows: usize,
    /// Rows per committed chunk of an insert job.
    pub insert_chunk_rows: usize,
    /// Bytes of CSV records per committed chunk at most (memory per chunk, whatever the rows).
    pub chunk_bytes: usize,
    /// The bounds on what a file may make a job read: rows (then `LIMIT_EXCEEDED`, then the
    /// cut), columns, bytes per entry and per record, cells per record.
    pub limits: Limits,
    /// How often an idle worker looks for work when nothing wakes it.
    pub idle_poll: Duration,
    /// How often a running job, and the finaliser of queued ones, look for a cancel request
    /// when nothing wakes them: a request made through a node's API wakes them at once, on
    /// PostgreSQL on every node ([`CANCEL_POLL`] by default).
    pub cancel_poll: Duration,
    /// Jobs of one org that run at once across every worker on the database.
    pub max_running_per_org: u32,
    /// Base of absolute URLs (`result.download_url` in callback bodies).
    pub public_url: String,
    /// How callbacks are delivered.
    pub callbacks: CallbackConfig,
    /// How a job that fails transiently (disk full, database unreachable) waits and gives up.
    pub transient: TransientConfig,
    /// Records per committed part of a Bulk Read export (memory per part; a resumed export
    /// repeats at most one part's reading).
    pub read_part_records: u32,
    /// Whether the test controls are on (`--test-controls`): only then are the job and
    /// callback fault rules applied (see `faults`); off, the worker never reads them.
    pub test_controls: bool,
}

/// Backoff between claims of a job that failed transiently.
#[derive(Debug, Clone)]
pub struct TransientConfig {
    /// Wait after the first failure; each later one doubles, up to `cap`, jittered (half to all).
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
    /// A job failing transiently for longer than this (since the first failure of the spell,
    /// which ends when the job completes) is failed for good.
    pub budget: Duration,
}

impl Default for TransientConfig {
    fn default() -> TransientConfig {
        TransientConfig { base: Duration::from_secs(1), cap: Duration::from_secs(60), budget: Duration::from_secs(600) }
    }
}

/// Callback delivery settings.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// Which addresses a callback may reach (checked again for every resolved address).
    pub policy: CallbackPolicy,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// First retry delay; each later one is three times longer, plus jitter.
    pub retry_base: Duration,
    /// Deliveries in flight at once on this node (at most `callback::PER_RECEIVER` to one receiver).
    pub concurrency: usize,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            node_id: "node".to_string(),
            lease_duration: Duration::from_secs(30),
            chunk_rows: DEFAULT_CHUNK_ROWS,
            insert_chunk_rows: DEFAULT_INSERT_CHUNK_ROWS,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            limits: Limits::default(),
            idle_poll: Duration::from_secs(1),
            cancel_poll: CANCEL_POLL,
            max_running_per_org: 10,
            public_url: "http://127.0.0.1:8080".to_string(),
            callbacks: CallbackConfig {
                policy: CallbackPolicy::default(),
                timeout: Duration::from_secs(10),
                max_attempts: 5,
                retry_base: Duration::from_secs(2),
                concurrency: DEFAULT_CALLBACK_CONCURRENCY,
            },
            transient: TransientConfig::default(),
            read_part_records: export::PART_RECORDS,
            test_controls: false,
        }
    }
}

/// Wakes idle workers and dispatchers when there is new work.
#[derive(Debug, Default)]
pub struct Wakeup {
    /// Shared with the API, which rings it when it queues a job.
    pub jobs: Arc<Notify>,
    /// Rung when a job finishes and its callback is queued.
    pub callbacks: Arc<Notify>,
    /// Rung after each change of a job this node runs (claim, chunk commit, end), and on
    /// PostgreSQL by the listener for the other nodes' jobs; the events streams follow it.
    pub changes: Arc<bulkwrite_store::changes::JobChanges>,
}

/// What is shared by the worker's tasks.
#[derive(Clone)]
pub struct WorkerContext {
    /// The queue, jobs and records.
    pub store: Arc<dyn Store>,
    /// Upload and result zips.
    pub blobs: Arc<dyn BlobStore>,
    /// The worker's settings.
    pub config: Arc<WorkerConfig>,
    /// Where idle tasks wait for new work.
    pub wakeup: Arc<Wakeup>,
    /// The node's test controls: business time, and whether the queue is paused.
    pub controls: Arc<LiveControls>,
}

impl WorkerContext {
    /// Business time now (the test controls' clock; see the crate docs for what reads it).
    pub fn now(&self) -> bulkwrite_store::Timestamp {
        self.controls.now()
    }
}

/// How a job's run ended on this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every row has its result; the job succeeded.
    Completed,
    /// The job failed for good (its error is stored).
    Failed,
    /// Given back to the queue (shutdown, or a transient failure: then it waits out a backoff).
    Released,
    /// Another worker took the job over.
    LeaseLost,
    /// Stopped on request: the job is cancelled (`FAILED` to Zoho).
    Cancelled,
    /// Stopped by the test controls (the queue paused, or a step's one chunk done): the job
    /// stays in progress with no worker until the next step, or the queue resumes.
    Held,
}

/// How far one run of a job may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunLimit {
    /// To the end, unless the queue is paused.
    Free,
    /// This many chunks (a step), whatever the pause.
    Chunks(u32),
}

/// The job worker.
pub struct Worker {
    ctx: WorkerContext,
    claims: std::sync::atomic::AtomicU64,
}

impl Worker {
    /// A worker on `ctx`; it claims nothing until run.
    pub fn new(ctx: WorkerContext) -> Worker {
        Worker { ctx, claims: std::sync::atomic::AtomicU64::new(0) }
    }

    /// Claims and runs one job if one is due.
    pub async fn run_once(&self, shutdown: &watch::Receiver<bool>) -> Option<(JobId, RunOutcome)> {
        let owner = self.next_owner("");
        let claim = Claim {
            respect_pause: self.ctx.controls.enabled(),
            max_running_per_org: self.ctx.config.max_running_per_org,
            ..Claim::new(&owner, chrono::Utc::now(), self.lease_for())
        };
        let claimed = match self.ctx.store.claim_next_job(&claim).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(error = %error.with_causes(), "claiming a job failed");
                return None;
            }
        };
        let (job, lease) = claimed?;
        let id = job.id;
        let outcome = self.run_claimed(job, lease, RunLimit::Free, shutdown).await;
        Some((id, outcome))
    }

    /// Runs exactly one chunk of one job (a Bulk Read job: one part), whatever the pause: the
    /// named job if it is queued or held, else the oldest runnable one; then holds it again, or
    /// finishes it when that chunk was its last. Returns once that is committed, with the job
    /// as it then stands.
    pub async fn step(
        &self,
        target: StepTarget,
        shutdown: &watch::Receiver<bool>,
    ) -> bulkwrite_store::StoreResult<StepOutcome> {
        let owner = self.next_owner("step");
        let claim = Claim::new(&owner, chrono::Utc::now(), self.lease_for());
        let (job, lease) = match self.ctx.store.claim_step(&claim, target).await? {
            StepClaim::Claimed(claimed) => *claimed,
            StepClaim::Nothing => return Ok(StepOutcome::Nothing),
            StepClaim::Refused(job) => return Ok(StepOutcome::Refused(job)),
        };
        let (id, org) = (job.id, job.org);
        let outcome = self.run_claimed(job, lease, RunLimit::Chunks(1), shutdown).await;
        tracing::info!(job = %id, ?outcome, "job stepped");
        let stepped = self.ctx.store.get_job(org, id).await?;
        let stepped = stepped.ok_or_else(|| bulkwrite_store::StoreError::NotFound(format!("job {id}")))?;
        Ok(StepOutcome::Stepped(Box::new(stepped)))
    }

    /// A lease owner unique to this claim.
    fn next_owner(&self, kind: &str) -> String {
        let claim = self.claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}#{kind}{claim}", self.ctx.config.node_id)
    }

    fn lease_for(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ctx.config.lease_duration).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Runs a claimed job as far as `limit` lets it, in its span.
    async fn run_claimed(
        &self,
        job: Job,
        lease: Lease,
        limit: RunLimit,
        shutdown: &watch::Receiver<bool>,
    ) -> RunOutcome {
        let (id, org) = (job.id, job.org);
        self.ctx.announcer().job_changed(id).await;
        // Every line logged while the job runs (and by the tasks it starts) carries its ids; the
        // span is at ERROR level so that no `RUST_LOG` filter drops it from the lines it lets through.
        let span = tracing::error_span!("job", job = %id, org = %org);
        let outcome = async {
            tracing::info!(attempt = job.attempts, "job claimed");
            // One queue, one runtime: the kind of job decides how it reads and writes.
            let outcome = match job.kind() {
                bulkwrite_store::JobKind::Write => pipeline::run_job(&self.ctx, job, lease, limit, shutdown).await,
                bulkwrite_store::JobKind::Read => export::run_read_job(&self.ctx, job, lease, limit, shutdown).await,
                bulkwrite_store::JobKind::Undo => undo::run_undo_job(&self.ctx, job, lease, limit, shutdown).await,
            };
            tracing::info!(?outcome, "job run ended");
            observe::record_run_end(&self.ctx, org, id, outcome).await;
            outcome
        }
        .instrument(span)
        .await;
        self.ctx.announcer().job_changed(id).await;
        if matches!(outcome, RunOutcome::Completed | RunOutcome::Failed | RunOutcome::Cancelled) {
            self.ctx.wakeup.callbacks.notify_one();
        }
        outcome
    }

    /// Cancels one job that was asked to stop while queued (or whose worker died), if there is
    /// one; the worker's own loop does this beside its jobs.
    pub async fn finalise_cancelled_once(&self) -> Option<(JobId, RunOutcome)> {
        let owner = self.next_owner("cancel");
        cancel::finalise_one(&self.ctx, &owner).await
    }

    /// Runs jobs until `shutdown` turns true; the job in hand is checkpointed and released.
    /// Beside them, jobs asked to stop while queued are cancelled as soon as the request is
    /// announced ([`JobChange::Cancel`](bulkwrite_store::changes::JobChange::Cancel)), else
    /// within [`WorkerConfig::cancel_poll`], whether or not a job is running.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        let finaliser = Worker { ctx: self.ctx.clone(), claims: std::sync::atomic::AtomicU64::new(0) };
        let finaliser_shutdown = shutdown.clone();
        let finalising = tokio::spawn(async move { finaliser.finalise_cancelled(finaliser_shutdown).await });
        self.run_jobs(shutdown).await;
        let _ = finalising.await;
    }

    /// The finaliser's loop: cancels queued jobs asked to stop, when a request is announced or
    /// every [`WorkerConfig::cancel_poll`].
    async fn finalise_cancelled(&self, mut shutdown: watch::Receiver<bool>) {
        let mut requests = heartbeat::CancelRequests::new(&self.ctx.wakeup.changes, None);
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.finalise_cancelled_once().await.is_some() {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.ctx.config.cancel_poll) => {}
                () = requests.next() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn run_jobs(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.run_once(&shutdown).await.is_some() {
                continue;
            }
            tokio::select! {
                () = self.ctx.wakeup.jobs.notified() => {}
                () = tokio::time::sleep(self.ctx.config.idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
