//! Bulk Read jobs: created as queue rows of kind `read` (waking workers like any job); their
//! parts committed under the lease (the job row held `FOR KEY SHARE` by the fence) with the
//! checkpoint check; completed with their outcome and the outbox in one transaction.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_store::*;

use crate::job_row::fence;
use crate::jobs::{notify, queue_callback};
use crate::statements::{execute, get, get_u64, query, query_one, query_opt};
use crate::{json_error, pg_error, signed, PgStore, JOBS_CHANNEL};

#[async_trait]
impl ReadStore for PgStore {
    async fn create_read_job(&self, job: NewReadJob) -> StoreResult<()> {
        let spec = serde_json::to_string(&job.outbox_spec()).map_err(json_error)?;
        let read = serde_json::to_string(&job.read_job()).map_err(json_error)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        execute(
            &tx,
            "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at, kind, read_json)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, 'read', $7)",
            &[
                &signed(job.id.get()),
                &signed(job.org.get()),
                &signed(job.created_by.get()),
                &job.api_version,
                &spec,
                &job.created_at,
                &read,
            ],
        )
        .await?;
        notify(&tx, JOBS_CHANNEL).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn read_parts(&self, org: OrgId, job: JobId) -> StoreResult<Vec<ReadPart>> {
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
        let rows = query(
            &conn,
            "SELECT part_no, blob_key, row_count, last_id FROM read_parts WHERE job_id = $1 ORDER BY part_no",
            &[&signed(job.get())],
        )
        .await?;
        let mut parts = Vec::with_capacity(rows.len());
        for row in &rows {
            let part_no: i32 = get(row, 0)?;
            parts.push(ReadPart {
                part_no: u32::try_from(part_no).map_err(|_| StoreError::Corrupt(format!("part {part_no}")))?,
                blob_key: get(row, 1)?,
                rows: get_u64(row, 2)?,
                last_id: get_u64(row, 3)?,
            });
        }
        Ok(parts)
    }

    async fn commit_read_part(&self, lease: &Lease, part: &ReadPart) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        fence(&tx, lease).await?;
        let job = signed(lease.job.get());
        let committed: i64 =
            get(&query_one(&tx, "SELECT COUNT(*) FROM read_parts WHERE job_id = $1", &[&job]).await?, 0)?;
        if committed != i64::from(part.part_no) {
            return Err(StoreError::checkpoint_moved(0, part.part_no.into()));
        }
        let part_no = i32::try_from(part.part_no).map_err(|_| StoreError::Corrupt(format!("part {}", part.part_no)))?;
        execute(
            &tx,
            "INSERT INTO read_parts (job_id, part_no, blob_key, row_count, last_id) VALUES ($1, $2, $3, $4, $5)",
            &[&job, &part_no, &part.blob_key, &signed(part.rows), &signed(part.last_id)],
        )
        .await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn complete_read_job(
        &self,
        lease: &Lease,
        result_blob: &str,
        outcome: &ReadOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        fence(&tx, lease).await?;
        let job = signed(lease.job.get());
        let row = query_one(&tx, "SELECT read_json FROM jobs WHERE id = $1", &[&job]).await?;
        let read: Option<String> = get(&row, 0)?;
        let mut read: ReadJob = match read {
            Some(text) => serde_json::from_str(&text).map_err(json_error)?,
            None => return Err(StoreError::Corrupt(format!("job {job} is not a read job"))),
        };
        read.outcome = Some(outcome.clone());
        let read = serde_json::to_string(&read).map_err(json_error)?;
        let row = query_one(
            &tx,
            "UPDATE jobs SET state = 'succeeded', result_blob = $1, finished_at = $2, read_json = $3,
                             lease_owner = NULL, lease_node = NULL, lease_expires_at = NULL,
                             error = NULL, waiting_since = NULL
             WHERE id = $4
             RETURNING spec_json",
            &[&result_blob, &now, &read, &job],
        )
        .await?;
        crate::cancel::forget_read_parts(&tx, &[job], now).await?;
        queue_callback(&tx, lease, &get::<String>(&row, 0)?, now).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn count_download(
        &self,
        org: OrgId,
        user: UserId,
        now: Timestamp,
        window: DownloadWindow,
    ) -> StoreResult<DownloadVerdict> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // One user's downloads are counted one transaction at a time, whichever node serves them.
        let key = format!("bulkwrite:read-downloads:{org}:{user}");
        execute(&tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        let (org, user) = (signed(org.get()), signed(user.get()));
        let start = now - window.length;
        execute(&tx, "DELETE FROM read_downloads WHERE at <= $1", &[&start]).await?;
        let row = query_one(
            &tx,
            "SELECT COUNT(*), MIN(at) FROM read_downloads WHERE org = $1 AND user_id = $2",
            &[&org, &user],
        )
        .await?;
        let count: i64 = get(&row, 0)?;
        if count >= i64::from(window.limit) {
            let oldest: Option<Timestamp> = get(&row, 1)?;
            let retry_at = oldest.unwrap_or(now) + window.length;
            return Ok(DownloadVerdict::Refused { retry_at });
        }
        execute(&tx, "INSERT INTO read_downloads (org, user_id, at) VALUES ($1, $2, $3)", &[&org, &user, &now]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(DownloadVerdict::Allowed)
    }
}
