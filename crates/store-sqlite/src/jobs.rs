//! Jobs and the queue: create, claim with a lease, progress, finish with the outbox.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_core::jobspec::JobSpec;
use bulkwrite_core::result::ResultRow;
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::job_row::{check_lease, read_job};
use crate::writer::{Commit, Submitted};
use crate::{db_error, json_error, ms, SqliteStore};

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: NewJob) -> StoreResult<()> {
        let spec = serde_json::to_string(&job.spec).map_err(json_error)?;
        let file_ids = job.file_ids();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            // The write lock is held from here to commit, so no sweep expires an upload between
            // this check and the job that keeps it alive.
            crate::retention::hold_uploads(&tx, job.org, job.id, &file_ids)?;
            tx.execute(
                "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6)",
                params![job.id.get() as i64, job.org.get() as i64, job.created_by.get() as i64, job.api_version, spec, ms(job.created_at)],
            )
            .map_err(db_error)?;
            for index in 0..job.spec.resources.len() {
                tx.execute("INSERT INTO job_resources (job_id, idx, state) VALUES (?1, ?2, 'pending')", params![job.id.get() as i64, index as i64])
                    .map_err(db_error)?;
            }
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn get_job(&self, org: OrgId, job: JobId) -> StoreResult<Option<Job>> {
        self.run(move |conn| read_job(conn, "id = ?1 AND org = ?2", params![job.get() as i64, org.get() as i64])).await
    }

    async fn get_job_details(&self, org: OrgId, job: JobId) -> StoreResult<Option<JobWithOrg>> {
        self.run(move |conn| crate::job_row::read_job_details(conn, org.get() as i64, job.get() as i64)).await
    }

    async fn claim_next_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>> {
        let claim = claim.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let now = ms(claim.now);
            let candidate: Option<i64> = tx
                .query_row(
                    "SELECT j.id FROM jobs j
                     WHERE ((j.state = 'queued' AND (j.run_at IS NULL OR j.run_at <= ?1))
                            OR (j.state = 'running' AND j.lease_expires_at < ?1))
                       AND j.cancel_requested_at IS NULL
                       AND (SELECT COUNT(*) FROM jobs r
                            WHERE r.org = j.org AND r.id != j.id AND r.state = 'running' AND r.lease_expires_at >= ?1) < ?2
                       AND (?3 = 0 OR NOT EXISTS (SELECT 1 FROM test_controls WHERE queue_paused = 1))
                     ORDER BY j.created_at, j.id LIMIT 1",
                    params![now, i64::from(claim.max_running_per_org), i64::from(claim.respect_pause)],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            let Some(id) = candidate else { return Ok(None) };
            lease_job(tx, id, claim, ", attempts = attempts + 1, error = NULL, run_at = NULL").map(Some)
        })
        .await
    }

    async fn renew_lease(&self, lease: &Lease, until: Timestamp) -> StoreResult<()> {
        let lease = lease.clone();
        self.write_now(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE jobs SET lease_expires_at = ?1 WHERE id = ?2 AND lease_owner = ?3 AND state = 'running'",
                    params![ms(until), lease.job.get() as i64, lease.owner],
                )
                .map_err(db_error)?;
            if changed == 0 {
                return Err(StoreError::LeaseLost);
            }
            Ok(())
        })
        .await
    }

    async fn release_job(&self, lease: &Lease) -> StoreResult<()> {
        let lease = lease.clone();
        self.write_now(move |conn| {
            conn.execute(
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
                params![lease.job.get() as i64, lease.owner],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn defer_job(&self, lease: &Lease, deferral: &Deferral) -> StoreResult<bool> {
        let deferral = deferral.clone();
        self.write_fenced(lease.clone(), move |tx, lease| {
            let since: Option<i64> = tx
                .query_row("SELECT waiting_since FROM jobs WHERE id = ?1", [lease.job.get() as i64], |row| row.get(0))
                .map_err(db_error)?;
            if since.is_some_and(|since| since < ms(deferral.give_up_before)) {
                return Ok(false);
            }
            tx.execute(
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_at = ?1, error = ?2,
                                 waiting_since = COALESCE(waiting_since, ?3)
                 WHERE id = ?4",
                params![ms(deferral.run_at), deferral.reason, ms(deferral.now), lease.job.get() as i64],
            )
            .map_err(db_error)?;
            Ok(true)
        })
        .await
    }

    async fn requeue_running_jobs(&self) -> StoreResult<u64> {
        self.run(|conn| {
            let changed = conn
                .execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE state = 'running'", [])
                .map_err(db_error)?;
            Ok(changed as u64)
        })
        .await
    }

    async fn set_character_encoding(&self, lease: &Lease, encoding: &str) -> StoreResult<()> {
        let lease = lease.clone();
        let encoding = encoding.to_string();
        self.write_fenced(lease, move |tx, lease| {
            tx.execute(
                "UPDATE jobs SET character_encoding = ?1 WHERE id = ?2",
                params![encoding, lease.job.get() as i64],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn start_resource(&self, lease: &Lease, resource: usize) -> StoreResult<()> {
        self.set_resource_state(lease, resource, "running", None).await
    }

    async fn apply_chunk(&self, lease: &Lease, chunk: ChunkWrite) -> StoreResult<ChunkOutcome> {
        self.apply_prepared(lease, chunk, None).await
    }

    /// An insert expected to meet no existing key is planned, and its records encoded, before
    /// the chunk before it has settled: beside it, while the writer's thread applies it (see
    /// `new_keys`). An update or upsert reads on the writer's thread and plans off it (see
    /// `chunk::ahead`).
    async fn apply_chunk_in_order(
        &self,
        lease: &Lease,
        mut chunk: ChunkWrite,
        mut order: ChunkOrder,
    ) -> StoreResult<ChunkOutcome> {
        if !chunk.dry_run && chunk.operation != bulkwrite_wire::Operation::Insert {
            return self.apply_ahead(lease, chunk, order).await;
        }
        let prepared = if !chunk.dry_run && crate::new_keys::unprobed(&self.pool.new_keys, lease.job, chunk.operation) {
            let write = chunk.take_records();
            let planned = tokio::task::spawn_blocking(move || crate::new_keys::prepare(write)).await;
            Some(planned.map_err(|error| StoreError::Backend(error.into()))??)
        } else {
            None
        };
        if chunk.dry_run {
            order.previous_settled().await;
            return self.apply_prepared(lease, chunk, prepared).await;
        }
        // The writer applies writes in the order they join its queue: this chunk joins once the
        // one before has, without waiting for that one's answer.
        order.previous_submitted().await;
        let submitted = self.submit_prepared(lease, chunk, prepared)?;
        order.submitted();
        submitted.answer().await
    }

    async fn dry_run_records(
        &self,
        lease: &Lease,
        module: &str,
    ) -> StoreResult<Vec<bulkwrite_store::dry_run::ScratchRecord>> {
        let (job, module) = (lease.job.get() as i64, module.to_string());
        self.run(move |conn| crate::dry_run::module_scratch(conn, job, &module)).await
    }

    async fn finish_resource(&self, lease: &Lease, resource: usize, rows_done: u64) -> StoreResult<()> {
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
        // With several chunks a commit (`--sqlite-commit-chunks`), the last chunks' result rows
        // may sit in the writer's open transaction, where a reader cannot see them: commit it
        // first, or a job failing mid-file would list rows it applied as never reached.
        self.run_writer(|writer| writer.commit()).await?;
        self.run(move |conn| {
            let owned: bool = conn
                .query_row(
                    "SELECT 1 FROM jobs WHERE id = ?1 AND org = ?2",
                    params![job.get() as i64, org.get() as i64],
                    |_| Ok(true),
                )
                .optional()
                .map_err(db_error)?
                .unwrap_or(false);
            if !owned {
                return Err(StoreError::NotFound(format!("job {job}")));
            }
            crate::results::read_after(conn, job.get() as i64, resource as i64, after, limit as usize)
        })
        .await
    }

    async fn complete_job(&self, lease: &Lease, result_blob: &str, now: Timestamp) -> StoreResult<()> {
        let result_blob = result_blob.to_string();
        self.write_fenced(lease.clone(), move |tx, lease| {
            tx.execute(
                "UPDATE jobs SET state = 'succeeded', result_blob = ?1, finished_at = ?2, lease_owner = NULL, lease_expires_at = NULL, error = NULL, waiting_since = NULL WHERE id = ?3",
                params![result_blob, ms(now), lease.job.get() as i64],
            )
            .map_err(db_error)?;
            crate::dry_run::forget_scratch(tx, lease.job.get() as i64)?;
            queue_callback(tx, lease, now)
        })
        .await
    }

    async fn fail_job(&self, lease: &Lease, error: &str, result_blob: Option<&str>, now: Timestamp) -> StoreResult<()> {
        let error = error.to_string();
        let result_blob = result_blob.map(str::to_string);
        self.write_fenced(lease.clone(), move |tx, lease| {
            crate::cancel::mark_stopped(tx, lease, "failed", &error, result_blob.as_deref(), now)?;
            crate::dry_run::forget_scratch(tx, lease.job.get() as i64)?;
            queue_callback(tx, lease, now)
        })
        .await
    }

    async fn request_cancel(&self, org: OrgId, job: JobId, request: CancelRequest) -> StoreResult<Option<Job>> {
        self.run(move |conn| crate::cancel::request_cancel(conn, org, job, request)).await
    }

    async fn cancel_requested(&self, lease: &Lease) -> StoreResult<bool> {
        let lease = lease.clone();
        self.run(move |conn| crate::cancel::cancel_requested(conn, &lease)).await
    }

    async fn claim_cancelled_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>> {
        let claim = claim.clone();
        self.run(move |conn| crate::cancel::claim_cancelled_job(conn, claim)).await
    }

    async fn cancel_job(
        &self,
        lease: &Lease,
        error: &str,
        result_blob: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let error = error.to_string();
        let result_blob = result_blob.map(str::to_string);
        self.write_fenced(lease.clone(), move |tx, lease| {
            crate::cancel::mark_stopped(tx, lease, "cancelled", &error, result_blob.as_deref(), now)?;
            crate::dry_run::forget_scratch(tx, lease.job.get() as i64)?;
            queue_callback(tx, lease, now)
        })
        .await
    }

    async fn list_jobs(&self, org: OrgId, query: &JobListQuery) -> StoreResult<JobPage> {
        let query = query.clone();
        self.run(move |conn| crate::cancel::list_jobs(conn, org, &query)).await
    }
}

impl SqliteStore {
    /// Applies `chunk` on the writer's thread, with its records `prepared` before when they were.
    async fn apply_prepared(
        &self,
        lease: &Lease,
        chunk: ChunkWrite,
        prepared: Option<crate::new_keys::Prepared>,
    ) -> StoreResult<ChunkOutcome> {
        self.submit_prepared(lease, chunk, prepared)?.answer().await
    }

    /// Queues [`SqliteStore::apply_prepared`]'s write for the writer's thread.
    fn submit_prepared(
        &self,
        lease: &Lease,
        chunk: ChunkWrite,
        prepared: Option<crate::new_keys::Prepared>,
    ) -> StoreResult<Submitted<ChunkOutcome>> {
        // A dry run's later chunks read what its earlier ones wrote from other connections.
        let commit =
            if chunk.dry_run { Commit::Now } else { Commit::Chunk { rows_done_before: chunk.rows_done_before } };
        let pool = std::sync::Arc::clone(&self.pool);
        let lease = lease.clone();
        self.pool.writer().submit(move |writer| {
            writer.write(commit, |tx| {
                check_lease(tx, &lease)?;
                crate::chunk::apply_chunk(tx, &lease, chunk, &pool.new_keys, prepared)
            })
        })
    }

    /// Runs `work` in an immediate transaction after checking that `lease` still holds the job,
    /// and commits it (with any chunks the writer's transaction holds; see `writer`).
    pub(crate) async fn write_fenced<T, F>(&self, lease: Lease, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Lease) -> StoreResult<T> + Send + 'static,
    {
        self.write_fenced_as(lease, Commit::Now, work).await
    }

    /// [`SqliteStore::write_fenced`], committed as `commit` says.
    pub(crate) async fn write_fenced_as<T, F>(&self, lease: Lease, commit: Commit, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Lease) -> StoreResult<T> + Send + 'static,
    {
        self.run_writer(move |writer| {
            writer.write(commit, |tx| {
                check_lease(tx, &lease)?;
                work(tx, &lease)
            })
        })
        .await
    }

    /// Sets a resource's state, at checkpoint `rows_done` when one is given.
    async fn set_resource_state(
        &self,
        lease: &Lease,
        resource: usize,
        state: &'static str,
        rows_done: Option<u64>,
    ) -> StoreResult<()> {
        self.write_fenced(lease.clone(), move |tx, lease| {
            let changed = tx
                .execute(
                    "UPDATE job_resources SET state = ?1 WHERE job_id = ?2 AND idx = ?3 AND (?4 IS NULL OR rows_done = ?4)",
                    params![state, lease.job.get() as i64, resource as i64, rows_done.map(|n| n as i64)],
                )
                .map_err(db_error)?;
            match rows_done {
                Some(expected) if changed == 0 => Err(StoreError::checkpoint_moved(resource, expected)),
                _ => Ok(()),
            }
        })
        .await
    }
}

/// The outbox: a delivery row committed with the job's final state.
pub(crate) fn queue_callback(tx: &Connection, lease: &Lease, now: Timestamp) -> StoreResult<()> {
    let spec: String = tx
        .query_row("SELECT spec_json FROM jobs WHERE id = ?1", [lease.job.get() as i64], |row| row.get(0))
        .map_err(db_error)?;
    let spec: JobSpec = serde_json::from_str(&spec).map_err(json_error)?;
    let Some(callback) = spec.callback else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO callbacks (job_id, org, url, state, next_attempt_at) VALUES (?1, ?2, ?3, 'pending', ?4) ON CONFLICT (job_id) DO NOTHING",
        params![lease.job.get() as i64, lease.org.get() as i64, callback.url, ms(now)],
    )
    .map_err(db_error)?;
    Ok(())
}

/// Leases job `id`, chosen inside `tx`, to `claim.owner` and commits; `also` adds assignments to
/// the update (a run's claim counts an attempt and clears the wait; the cancel finaliser's does not).
pub(crate) fn lease_job(tx: rusqlite::Transaction<'_>, id: i64, claim: Claim, also: &str) -> StoreResult<(Job, Lease)> {
    let sql = format!("UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires_at = ?2{also} WHERE id = ?3");
    tx.execute(&sql, params![claim.owner, ms(claim.now + claim.lease_for), id]).map_err(db_error)?;
    let job = read_job(&tx, "id = ?1", [id])?.ok_or_else(|| StoreError::Corrupt("claimed job vanished".into()))?;
    tx.commit().map_err(db_error)?;
    let lease = Lease { job: job.id, org: job.org, owner: claim.owner };
    Ok((job, lease))
}
