//! Jobs and the queue: create, claim with a lease, progress, finish with the outbox.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_core::jobspec::JobSpec;
use bulkwrite_core::result::ResultRow;
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;

use crate::changes::CANCEL_PREFIX;
use crate::job_row::{fence, read_job, JOB_COLUMNS};
use crate::statements::{execute, get, query_one, query_opt};
use crate::statistics;
use crate::{json_error, pg_error, signed, PgStore, CALLBACKS_CHANNEL, JOBS_CHANNEL};

/// The advisory lock key that serialises claims made under a per-org limit.
const CLAIM_LOCK: i64 = 0x6277_636c_6169_6d00;

/// Takes the oldest claimable job of an org below the limit and leases it, in one statement.
/// `FOR UPDATE SKIP LOCKED` (applied before `LIMIT`) passes over jobs another claimer or a
/// fenced write holds.
const CLAIM: &str = "WITH candidate AS (
         SELECT j.id FROM jobs j
         WHERE ((j.state = 'queued' AND (j.run_at IS NULL OR j.run_at <= $1))
                OR (j.state = 'running' AND j.lease_expires_at < $1))
           AND j.cancel_requested_at IS NULL
           AND ($2::bigint >= 4294967295 OR (
                SELECT COUNT(*) FROM jobs r
                WHERE r.org = j.org AND r.id <> j.id AND r.state = 'running' AND r.lease_expires_at >= $1) < $2)
           AND NOT ($6::boolean AND EXISTS (SELECT 1 FROM test_controls WHERE queue_paused))
         ORDER BY j.created_at, j.id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
     )
     UPDATE jobs SET state = 'running', lease_owner = $3, lease_node = $4, lease_expires_at = $5,
                     attempts = attempts + 1, error = NULL, run_at = NULL
     FROM candidate WHERE jobs.id = candidate.id
     RETURNING jobs.id, jobs.org, jobs.created_by, jobs.api_version, jobs.spec_json, jobs.state, jobs.attempts,
               jobs.character_encoding, jobs.result_blob, jobs.error, jobs.created_at, jobs.finished_at,
               jobs.cancel_requested_at, jobs.cancelled_by, jobs.result_expired_at, jobs.read_json, jobs.undo_of";

/// Ends the open transactions of nodes whose lease on a job has expired. A node that hangs, is
/// paused or is cut off mid-chunk keeps its transaction, and the job row and unique keys it
/// locked, open; a `COPY` it stopped feeding is not even ended by `statement_timeout` (the server
/// only notices termination while it waits for the client). Such a node has stopped renewing its
/// lease, so its transactions are ended here (each session names its node in
/// `application_name`): the job can be claimed at once, and the node, should it resume, finds its
/// connections gone and its lease taken (every write is fenced).
const END_STALE_SESSIONS: &str = "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
       AND pg_has_role(a.usesysid, 'MEMBER')
       AND a.application_name IN (
           SELECT DISTINCT 'bulkwrite-' || j.lease_node FROM jobs j
           WHERE j.state = 'running' AND j.lease_expires_at < $1 AND j.lease_node IS NOT NULL AND j.lease_node <> $2)";

/// Runs [`END_STALE_SESSIONS`]; a failure (say, sessions of a role this one may not signal) is
/// logged and the claim goes on: such a job is taken over once the server ends the session.
async fn end_stale_sessions(conn: &deadpool_postgres::Object, now: Timestamp, node: &str) {
    match crate::statements::query(conn, END_STALE_SESSIONS, &[&now, &node]).await {
        Ok(ended) if !ended.is_empty() => {
            tracing::warn!(sessions = ended.len(), "ended the transactions of a node whose lease expired");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(error = %error, "ending the sessions of a node whose lease expired failed"),
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn create_job(&self, job: NewJob) -> StoreResult<()> {
        let spec = serde_json::to_string(&job.spec).map_err(json_error)?;
        let resources = i32::try_from(job.spec.resources.len()).unwrap_or(i32::MAX);
        let file_ids = job.file_ids();
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        crate::retention::hold_uploads(&tx, job.org, job.id, &file_ids).await?;
        execute(
            &tx,
            "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
            &[
                &signed(job.id.get()),
                &signed(job.org.get()),
                &signed(job.created_by.get()),
                &job.api_version,
                &spec,
                &job.created_at,
            ],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO job_resources (job_id, idx, state) SELECT $1, idx, 'pending' FROM generate_series(0, $2 - 1) AS idx",
            &[&signed(job.id.get()), &resources],
        )
        .await?;
        notify(&tx, JOBS_CHANNEL).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn get_job(&self, org: OrgId, job: JobId) -> StoreResult<Option<Job>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND org = $2");
        let Some(row) = query_opt(&conn, &sql, &[&signed(job.get()), &signed(org.get())]).await? else {
            return Ok(None);
        };
        read_job(&conn, &row).await.map(Some)
    }

    async fn get_job_details(&self, org: OrgId, job: JobId) -> StoreResult<Option<JobWithOrg>> {
        self.read_details(org, job).await
    }

    async fn claim_next_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>> {
        let mut conn = self.conn().await?;
        end_stale_sessions(&conn, claim.now, &self.inner.node).await;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let limited = claim.max_running_per_org < u32::MAX;
        if limited {
            // Under a limit, two claimers must not both count the same free slot of an org: they
            // take turns. Each statement after the lock sees the claims committed before it.
            execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK]).await?;
        }
        let until = claim.now + claim.lease_for;
        let row = query_opt(
            &tx,
            CLAIM,
            &[
                &claim.now,
                &i64::from(claim.max_running_per_org),
                &claim.owner,
                &self.inner.node,
                &until,
                &claim.respect_pause,
            ],
        )
        .await?;
        let Some(row) = row else {
            tx.commit().await.map_err(pg_error)?;
            return Ok(None);
        };
        let job = read_job(&tx, &row).await?;
        tx.commit().await.map_err(pg_error)?;
        let lease = Lease { job: job.id, org: job.org, owner: claim.owner.clone() };
        Ok(Some((job, lease)))
    }

    async fn renew_lease(&self, lease: &Lease, until: Timestamp) -> StoreResult<()> {
        let conn = self.conn().await?;
        let changed = execute(
            &conn,
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND org = $3 AND lease_owner = $4 AND state = 'running'",
            &[&until, &signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }

    async fn release_job(&self, lease: &Lease) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let changed = execute(
            &tx,
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL
             WHERE id = $1 AND org = $2 AND lease_owner = $3 AND state = 'running'",
            &[&signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
        )
        .await?;
        if changed > 0 {
            notify(&tx, JOBS_CHANNEL).await?;
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn defer_job(&self, lease: &Lease, deferral: &Deferral) -> StoreResult<bool> {
        let conn = self.conn().await?;
        let changed = execute(
            &conn,
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL,
                             run_at = $1, error = $2, waiting_since = COALESCE(waiting_since, $3)
             WHERE id = $4 AND org = $5 AND lease_owner = $6 AND state = 'running'
               AND (waiting_since IS NULL OR waiting_since >= $7)",
            &[
                &deferral.run_at,
                &deferral.reason,
                &deferral.now,
                &signed(lease.job.get()),
                &signed(lease.org.get()),
                &lease.owner,
                &deferral.give_up_before,
            ],
        )
        .await?;
        if changed > 0 {
            return Ok(true);
        }
        // Not deferred: still ours (the budget is spent), or the lease is gone.
        fence(&conn, lease).await?;
        Ok(false)
    }

    /// Requeues the running jobs this node claimed and those whose lease expired (by the
    /// database's clock); jobs that another live node holds keep running there.
    async fn requeue_running_jobs(&self) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let changed = execute(
            &tx,
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL
             WHERE state = 'running' AND (lease_node = $1 OR lease_expires_at < now())",
            &[&self.inner.node],
        )
        .await?;
        if changed > 0 {
            notify(&tx, JOBS_CHANNEL).await?;
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(changed)
    }

    async fn set_character_encoding(&self, lease: &Lease, encoding: &str) -> StoreResult<()> {
        let conn = self.conn().await?;
        let changed = execute(
            &conn,
            "UPDATE jobs SET character_encoding = $1 WHERE id = $2 AND org = $3 AND lease_owner = $4 AND state = 'running'",
            &[&encoding, &signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }

    async fn start_resource(&self, lease: &Lease, resource: usize) -> StoreResult<()> {
        self.set_resource_state(lease, resource, "running", None).await
    }

    async fn apply_chunk(&self, lease: &Lease, chunk: ChunkWrite) -> StoreResult<ChunkOutcome> {
        crate::chunk::apply_chunk(self, lease, chunk, &mut ChunkOrder::first()).await
    }

    async fn apply_chunk_in_order(
        &self,
        lease: &Lease,
        chunk: ChunkWrite,
        mut order: ChunkOrder,
    ) -> StoreResult<ChunkOutcome> {
        crate::chunk::apply_chunk(self, lease, chunk, &mut order).await
    }

    /// Three for an insert: its chunks' `COPY`s and commits keep both cores busier with a third
    /// chunk going out while two commit (docs/PERFORMANCE.md); a chunk that reads waits for the
    /// first of them to settle (`chunk_read::read_for_plan`). Two for the rest: an update or
    /// upsert is short of CPU, not of overlap, and holds what it read for each chunk.
    fn chunks_in_flight(&self, operation: Operation, dry_run: bool) -> usize {
        if operation == Operation::Insert && !dry_run {
            3
        } else {
            2
        }
    }

    async fn dry_run_records(
        &self,
        lease: &Lease,
        module: &str,
    ) -> StoreResult<Vec<bulkwrite_store::dry_run::ScratchRecord>> {
        crate::dry_run::module_scratch(self, lease.job, module).await
    }

    async fn finish_resource(&self, lease: &Lease, resource: usize, rows_done: u64) -> StoreResult<()> {
        // Committed synchronously: the resource's chunks (committed without waiting for the
        // disk) are durable once this is, and the checkpoint check finds any that were lost.
        self.set_resource_state(lease, resource, "done", Some(rows_done)).await
    }

    async fn result_rows(
        &self,
        org: OrgId,
        job: JobId,
        resource: usize,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<ResultRow>> {
        let conn = self.conn().await?;
        let owned = query_opt(
            &conn,
            "SELECT 1 FROM jobs WHERE id = $1 AND org = $2",
            &[&signed(job.get()), &signed(org.get())],
        )
        .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound(format!("job {job}")));
        }
        let resource = i32::try_from(resource).map_err(|_| StoreError::NotFound(format!("resource {resource}")))?;
        crate::results::read_after(&conn, signed(job.get()), resource, after, limit as usize).await
    }

    async fn complete_job(&self, lease: &Lease, result_blob: &str, now: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let row = query_opt(
            &tx,
            "UPDATE jobs SET state = 'succeeded', result_blob = $1, finished_at = $2,
                             lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL,
                             error = NULL, waiting_since = NULL
             WHERE id = $3 AND org = $4 AND lease_owner = $5 AND state = 'running'
             RETURNING spec_json",
            &[&result_blob, &now, &signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
        )
        .await?;
        let Some(row) = row else { return Err(StoreError::LeaseLost) };
        crate::dry_run::forget_scratch(&tx, lease.job).await?;
        queue_callback(&tx, lease, &get::<String>(&row, 0)?, now).await?;
        let added: i64 = get(
            &query_one(
                &tx,
                "SELECT COALESCE(SUM(added), 0)::bigint FROM job_resources WHERE job_id = $1",
                &[&signed(lease.job.get())],
            )
            .await?,
            0,
        )?;
        let analyze = statistics::needs_analyze(&tx, added).await?;
        tx.commit().await.map_err(pg_error)?;
        if analyze {
            // Beside the node's next job rather than before it: the queue does not wait for it.
            tokio::spawn(async move { statistics::analyze_grown_tables(&mut conn, added).await });
        }
        Ok(())
    }

    async fn fail_job(&self, lease: &Lease, error: &str, result_blob: Option<&str>, now: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let spec = crate::cancel::mark_stopped(&tx, lease, "failed", error, result_blob, now).await?;
        crate::dry_run::forget_scratch(&tx, lease.job).await?;
        queue_callback(&tx, lease, &spec, now).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn request_cancel(&self, org: OrgId, job: JobId, request: CancelRequest) -> StoreResult<Option<Job>> {
        crate::cancel::request_cancel(self, org, job, request).await
    }

    async fn cancel_requested(&self, lease: &Lease) -> StoreResult<bool> {
        crate::cancel::cancel_requested(self, lease).await
    }

    async fn claim_cancelled_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>> {
        crate::cancel::claim_cancelled_job(self, claim).await
    }

    async fn cancel_job(
        &self,
        lease: &Lease,
        error: &str,
        result_blob: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let spec = crate::cancel::mark_stopped(&tx, lease, "cancelled", error, result_blob, now).await?;
        crate::dry_run::forget_scratch(&tx, lease.job).await?;
        queue_callback(&tx, lease, &spec, now).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn list_jobs(&self, org: OrgId, query: &JobListQuery) -> StoreResult<JobPage> {
        crate::cancel::list_jobs(self, org, query).await
    }

    async fn announce_job_change(&self, job: JobId) -> StoreResult<()> {
        crate::changes::announce(self, &job.to_string()).await
    }

    async fn announce_cancel_request(&self, job: JobId) -> StoreResult<()> {
        crate::changes::announce(self, &format!("{CANCEL_PREFIX}{job}")).await
    }
}

impl PgStore {
    /// Sets a resource's state, at checkpoint `rows_done` when one is given.
    async fn set_resource_state(
        &self,
        lease: &Lease,
        index: usize,
        state: &'static str,
        rows_done: Option<u64>,
    ) -> StoreResult<()> {
        let resource = i32::try_from(index).map_err(|_| StoreError::NotFound(format!("resource {index}")))?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        fence(&tx, lease).await?;
        let changed = execute(
            &tx,
            "UPDATE job_resources SET state = $1 WHERE job_id = $2 AND idx = $3 AND ($4::int8 IS NULL OR rows_done = $4)",
            &[&state, &signed(lease.job.get()), &resource, &rows_done.map(signed)],
        )
        .await?;
        if let (Some(expected), 0) = (rows_done, changed) {
            return Err(StoreError::checkpoint_moved(index, expected));
        }
        tx.commit().await.map_err(pg_error)
    }
}

/// The outbox: a delivery row committed with the job's final state; dispatchers on every node
/// are woken when it commits.
pub(crate) async fn queue_callback(tx: &Transaction<'_>, lease: &Lease, spec: &str, now: Timestamp) -> StoreResult<()> {
    let spec: JobSpec = serde_json::from_str(spec).map_err(json_error)?;
    let Some(callback) = spec.callback else {
        return Ok(());
    };
    let inserted = execute(
        tx,
        "INSERT INTO callbacks (job_id, org, url, state, next_attempt_at) VALUES ($1, $2, $3, 'pending', $4)
         ON CONFLICT (job_id) DO NOTHING",
        &[&signed(lease.job.get()), &signed(lease.org.get()), &callback.url, &now],
    )
    .await?;
    if inserted > 0 {
        notify(tx, CALLBACKS_CHANNEL).await?;
    }
    Ok(())
}

/// Queues a notification on `channel`, delivered to listeners when the transaction commits.
pub(crate) async fn notify(tx: &Transaction<'_>, channel: &str) -> StoreResult<()> {
    query_one(tx, "SELECT pg_notify($1, '')", &[&channel]).await.map(|_| ())
}
