//! Cancel requests, the claim that finalises cancelled jobs, and the job list.

use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::*;
use deadpool_postgres::Transaction;

use crate::job_row::{read_job, JOB_COLUMNS};
use crate::statements::{execute, get, query, query_opt};
use crate::{pg_error, signed, PgStore};

/// Records the first cancel request of a queued or running job; returns the job as it stands.
pub(crate) async fn request_cancel(
    store: &PgStore,
    org: OrgId,
    job: JobId,
    request: CancelRequest,
) -> StoreResult<Option<Job>> {
    let conn = store.conn().await?;
    execute(
        &conn,
        "UPDATE jobs SET cancel_requested_at = $1, cancelled_by = $2
         WHERE id = $3 AND org = $4 AND state IN ('queued', 'running') AND cancel_requested_at IS NULL",
        &[&request.at, &signed(request.by.get()), &signed(job.get()), &signed(org.get())],
    )
    .await?;
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND org = $2");
    let Some(row) = query_opt(&conn, &sql, &[&signed(job.get()), &signed(org.get())]).await? else {
        return Ok(None);
    };
    read_job(&conn, &row).await.map(Some)
}

pub(crate) async fn cancel_requested(store: &PgStore, lease: &Lease) -> StoreResult<bool> {
    let conn = store.conn().await?;
    let row = query_opt(
        &conn,
        "SELECT cancel_requested_at IS NOT NULL FROM jobs WHERE id = $1 AND org = $2",
        &[&signed(lease.job.get()), &signed(lease.org.get())],
    )
    .await?;
    match row {
        Some(row) => get::<bool>(&row, 0),
        None => Ok(false),
    }
}

/// Leases a job asked to stop that no live worker holds, whatever its org runs; `SKIP LOCKED`
/// passes over a job another node is claiming or writing.
pub(crate) async fn claim_cancelled_job(store: &PgStore, claim: &Claim) -> StoreResult<Option<(Job, Lease)>> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg_error)?;
    let until = claim.now + claim.lease_for;
    let sql = format!(
        "WITH candidate AS (
             SELECT id FROM jobs
             WHERE cancel_requested_at IS NOT NULL
               AND (state = 'queued' OR (state = 'running' AND lease_expires_at < $1))
             ORDER BY cancel_requested_at, id
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs SET state = 'running', lease_owner = $2, lease_node = $3, lease_expires_at = $4
         FROM candidate WHERE jobs.id = candidate.id
         RETURNING {}",
        JOB_COLUMNS.split(", ").map(|column| format!("jobs.{}", column.trim())).collect::<Vec<_>>().join(", ")
    );
    let row = query_opt(&tx, &sql, &[&claim.now, &claim.owner, &store.inner.node, &until]).await?;
    let Some(row) = row else {
        tx.commit().await.map_err(pg_error)?;
        return Ok(None);
    };
    let job = read_job(&tx, &row).await?;
    tx.commit().await.map_err(pg_error)?;
    let lease = Lease { job: job.id, org: job.org, owner: claim.owner.clone() };
    Ok(Some((job, lease)))
}

/// Marks a leased job failed (`"failed"`) or cancelled (`"cancelled"`) and its open resources
/// failed or skipped, fenced by the lease, inside the caller's transaction; returns its spec for
/// the callback.
pub(crate) async fn mark_stopped(
    tx: &Transaction<'_>,
    lease: &Lease,
    state: &str,
    error: &str,
    result_blob: Option<&str>,
    now: Timestamp,
) -> StoreResult<String> {
    let job = signed(lease.job.get());
    let row = query_opt(
        tx,
        "UPDATE jobs SET state = $7, error = $1, result_blob = $2, finished_at = $3,
                         lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL
         WHERE id = $4 AND org = $5 AND lease_owner = $6 AND state = 'running'
         RETURNING spec_json",
        &[&error, &result_blob, &now, &job, &signed(lease.org.get()), &lease.owner, &state],
    )
    .await?;
    let Some(row) = row else { return Err(StoreError::LeaseLost) };
    execute(
        tx,
        "UPDATE job_resources SET state = CASE state WHEN 'running' THEN 'failed' ELSE 'skipped' END
         WHERE job_id = $1 AND state IN ('running', 'pending')",
        &[&job],
    )
    .await?;
    forget_read_parts(tx, &[job], now).await?;
    get::<String>(&row, 0)
}

/// An export that stops early leaves its committed parts behind: nothing will read them again,
/// so their blobs go to the sweeper's queue and the rows go, in the caller's transaction.
pub(crate) async fn forget_read_parts(tx: &Transaction<'_>, jobs: &[i64], now: Timestamp) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO expired_blobs (key, queued_at) SELECT blob_key, $1 FROM read_parts WHERE job_id = ANY($2)
         ON CONFLICT (key) DO NOTHING",
        &[&now, &jobs],
    )
    .await?;
    execute(tx, "DELETE FROM read_parts WHERE job_id = ANY($1)", &[&jobs]).await?;
    Ok(())
}

/// One page of the org's jobs, newest first, paged on the `jobs_by_org` index.
pub(crate) async fn list_jobs(store: &PgStore, org: OrgId, filter: &JobListQuery) -> StoreResult<JobPage> {
    let conn = store.conn().await?;
    let states: Option<Vec<String>> = filter.state_words().map(|words| words.into_iter().map(str::to_string).collect());
    let operation = filter.operation.map(|operation| operation.as_str().to_string());
    let kind = filter.kind.map(|kind| kind.as_str().to_string());
    let limit = i64::from(filter.per_page) + 1;
    let offset = i64::try_from(filter.skip()).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE org = $1
           AND ($2::text[] IS NULL OR state = ANY($2))
           AND ($3::text IS NULL
                OR spec_json::jsonb -> 'resources' @> jsonb_build_array(jsonb_build_object('module', $3::text))
                OR read_json::jsonb -> 'spec' ->> 'module' = $3)
           AND ($4::text IS NULL OR (kind = 'write' AND spec_json::jsonb ->> 'operation' = $4))
           AND ($7::text IS NULL OR kind = $7)
         ORDER BY created_at DESC, id DESC
         LIMIT $5 OFFSET $6"
    );
    let rows =
        query(&conn, &sql, &[&signed(org.get()), &states, &filter.module, &operation, &limit, &offset, &kind]).await?;
    let more_records = rows.len() as i64 == limit;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows.iter().take(filter.per_page as usize) {
        jobs.push(read_job(&conn, row).await?);
    }
    Ok(JobPage { jobs, more_records })
}
