//! Cancel requests, the claim that finalises cancelled jobs, and the job list.

use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::job_row::read_job;
use crate::{db_error, ms};

/// Records the first cancel request of a queued or running job; returns the job as it stands.
pub(crate) fn request_cancel(
    conn: &mut Connection,
    org: OrgId,
    job: JobId,
    request: CancelRequest,
) -> StoreResult<Option<Job>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    tx.execute(
        "UPDATE jobs SET cancel_requested_at = ?1, cancelled_by = ?2
         WHERE id = ?3 AND org = ?4 AND state IN ('queued', 'running') AND cancel_requested_at IS NULL",
        params![ms(request.at), request.by.get() as i64, job.get() as i64, org.get() as i64],
    )
    .map_err(db_error)?;
    let stored = read_job(&tx, "id = ?1 AND org = ?2", params![job.get() as i64, org.get() as i64])?;
    tx.commit().map_err(db_error)?;
    Ok(stored)
}

pub(crate) fn cancel_requested(conn: &Connection, lease: &Lease) -> StoreResult<bool> {
    let requested: Option<Option<i64>> = conn
        .query_row(
            "SELECT cancel_requested_at FROM jobs WHERE id = ?1 AND org = ?2",
            params![lease.job.get() as i64, lease.org.get() as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    Ok(matches!(requested, Some(Some(_))))
}

/// Leases a job asked to stop that no live worker holds, whatever its org runs.
pub(crate) fn claim_cancelled_job(conn: &mut Connection, claim: Claim) -> StoreResult<Option<(Job, Lease)>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let now = ms(claim.now);
    let candidate: Option<i64> = tx
        .query_row(
            "SELECT id FROM jobs
             WHERE (state = 'queued' OR (state = 'running' AND lease_expires_at < ?1))
               AND cancel_requested_at IS NOT NULL
             ORDER BY cancel_requested_at, id LIMIT 1",
            params![now],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    let Some(id) = candidate else { return Ok(None) };
    // No attempt is counted: cancelling is not a run.
    crate::jobs::lease_job(tx, id, claim, "").map(Some)
}

/// The final state of a job that stopped early, `"failed"` or `"cancelled"`, with its open
/// resources failed or skipped, inside the caller's fenced transaction.
pub(crate) fn mark_stopped(
    tx: &Connection,
    lease: &Lease,
    state: &str,
    error: &str,
    result_blob: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let job = lease.job.get() as i64;
    tx.execute(
        "UPDATE jobs SET state = ?5, error = ?1, result_blob = ?2, finished_at = ?3, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?4",
        params![error, result_blob, ms(now), job, state],
    )
    .map_err(db_error)?;
    tx.execute("UPDATE job_resources SET state = 'failed' WHERE job_id = ?1 AND state = 'running'", [job])
        .map_err(db_error)?;
    tx.execute("UPDATE job_resources SET state = 'skipped' WHERE job_id = ?1 AND state = 'pending'", [job])
        .map_err(db_error)?;
    forget_read_parts(tx, job, now)
}

/// An export that stops early leaves its committed parts behind: nothing will read them again,
/// so their blobs go to the sweeper's queue and the rows go, in the caller's transaction.
pub(crate) fn forget_read_parts(tx: &Connection, job: i64, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        "INSERT OR IGNORE INTO expired_blobs (key, queued_at) SELECT blob_key, ?1 FROM read_parts WHERE job_id = ?2",
        params![ms(now), job],
    )
    .map_err(db_error)?;
    tx.execute("DELETE FROM read_parts WHERE job_id = ?1", [job]).map_err(db_error)?;
    Ok(())
}

/// One page of the org's jobs, newest first: the ids come from one paged query on the
/// `jobs_by_org` index, then each job is read whole.
pub(crate) fn list_jobs(conn: &Connection, org: OrgId, query: &JobListQuery) -> StoreResult<JobPage> {
    let states = query.state_words().map(|words| serde_json::Value::from(words).to_string());
    let operation = query.operation.map(|operation| operation.as_str());
    let kind = query.kind.map(JobKind::as_str);
    let limit = i64::from(query.per_page) + 1;
    let offset = i64::try_from(query.skip()).unwrap_or(i64::MAX);
    let mut statement = conn
        .prepare_cached(
            "SELECT id FROM jobs j
             WHERE org = ?1
               AND (?2 IS NULL OR state IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(j.spec_json, '$.resources') r
                                          WHERE json_extract(r.value, '$.module') = ?3)
                               OR json_extract(j.read_json, '$.spec.module') = ?3)
               AND (?4 IS NULL OR (j.kind = 'write' AND json_extract(j.spec_json, '$.operation') = ?4))
               AND (?7 IS NULL OR j.kind = ?7)
             ORDER BY created_at DESC, id DESC
             LIMIT ?5 OFFSET ?6",
        )
        .map_err(db_error)?;
    let ids = statement
        .query_map(params![org.get() as i64, states, query.module, operation, limit, offset, kind], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(db_error)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(db_error)?;
    let more_records = ids.len() as i64 == limit;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids.into_iter().take(query.per_page as usize) {
        if let Some(job) = read_job(conn, "id = ?1", [id])? {
            jobs.push(job);
        }
    }
    Ok(JobPage { jobs, more_records })
}
