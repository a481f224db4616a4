//! Bulk Read jobs: created as queue rows of kind `read`; their parts committed under the lease
//! with the checkpoint check; completed with their outcome and the outbox in one transaction.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::jobs::queue_callback;
use crate::{db_error, json_error, ms, SqliteStore};

#[async_trait]
impl ReadStore for SqliteStore {
    async fn create_read_job(&self, job: NewReadJob) -> StoreResult<()> {
        let spec = serde_json::to_string(&job.outbox_spec()).map_err(json_error)?;
        let read = serde_json::to_string(&job.read_job()).map_err(json_error)?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            tx.execute(
                "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at, kind, read_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, 'read', ?7)",
                params![
                    job.id.get() as i64,
                    job.org.get() as i64,
                    job.created_by.get() as i64,
                    job.api_version,
                    spec,
                    ms(job.created_at),
                    read
                ],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn read_parts(&self, org: OrgId, job: JobId) -> StoreResult<Vec<ReadPart>> {
        self.run(move |conn| {
            let owned = conn
                .query_row(
                    "SELECT 1 FROM jobs WHERE id = ?1 AND org = ?2",
                    params![job.get() as i64, org.get() as i64],
                    |_| Ok(()),
                )
                .optional()
                .map_err(db_error)?;
            if owned.is_none() {
                return Err(StoreError::NotFound(format!("job {job}")));
            }
            parts_of(conn, job.get() as i64)
        })
        .await
    }

    async fn commit_read_part(&self, lease: &Lease, part: &ReadPart) -> StoreResult<()> {
        let part = part.clone();
        self.write_fenced(lease.clone(), move |tx, lease| {
            let job = lease.job.get() as i64;
            let committed: i64 = tx
                .query_row("SELECT COUNT(*) FROM read_parts WHERE job_id = ?1", [job], |row| row.get(0))
                .map_err(db_error)?;
            if committed != i64::from(part.part_no) {
                return Err(StoreError::checkpoint_moved(0, part.part_no.into()));
            }
            tx.execute(
                "INSERT INTO read_parts (job_id, part_no, blob_key, row_count, last_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job, part.part_no, part.blob_key, part.rows as i64, part.last_id as i64],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn complete_read_job(
        &self,
        lease: &Lease,
        result_blob: &str,
        outcome: &ReadOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let result_blob = result_blob.to_string();
        let outcome = outcome.clone();
        self.write_fenced(lease.clone(), move |tx, lease| {
            let job = lease.job.get() as i64;
            let read: Option<String> =
                tx.query_row("SELECT read_json FROM jobs WHERE id = ?1", [job], |row| row.get(0)).map_err(db_error)?;
            let mut read: ReadJob = match read {
                Some(text) => serde_json::from_str(&text).map_err(json_error)?,
                None => return Err(StoreError::Corrupt(format!("job {job} is not a read job"))),
            };
            read.outcome = Some(outcome);
            let read = serde_json::to_string(&read).map_err(json_error)?;
            tx.execute(
                "UPDATE jobs SET state = 'succeeded', result_blob = ?1, finished_at = ?2, read_json = ?3,
                                 lease_owner = NULL, lease_expires_at = NULL, error = NULL, waiting_since = NULL
                 WHERE id = ?4",
                params![result_blob, ms(now), read, job],
            )
            .map_err(db_error)?;
            crate::cancel::forget_read_parts(tx, job, now)?;
            queue_callback(tx, lease, now)
        })
        .await
    }

    async fn count_download(
        &self,
        org: OrgId,
        user: UserId,
        now: Timestamp,
        window: DownloadWindow,
    ) -> StoreResult<DownloadVerdict> {
        let (org, user, now) = (org.get() as i64, user.get() as i64, ms(now));
        self.run(move |conn| count_download(conn, org, user, now, window)).await
    }
}

/// One download counted in an immediate transaction (SQLite's one writer at a time makes the
/// count and the insert atomic).
fn count_download(
    conn: &mut Connection,
    org: i64,
    user: i64,
    now: i64,
    window: DownloadWindow,
) -> StoreResult<DownloadVerdict> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let start = now - window.length.num_milliseconds();
    tx.execute("DELETE FROM read_downloads WHERE at <= ?1", [start]).map_err(db_error)?;
    let (count, oldest): (i64, Option<i64>) = tx
        .query_row(
            "SELECT COUNT(*), MIN(at) FROM read_downloads WHERE org = ?1 AND user_id = ?2",
            params![org, user],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(db_error)?;
    if count >= i64::from(window.limit) {
        let oldest = oldest.unwrap_or(now);
        let retry_at = crate::instant(oldest + window.length.num_milliseconds())?;
        return Ok(DownloadVerdict::Refused { retry_at });
    }
    tx.execute("INSERT INTO read_downloads (org, user_id, at) VALUES (?1, ?2, ?3)", params![org, user, now])
        .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(DownloadVerdict::Allowed)
}

fn parts_of(conn: &Connection, job: i64) -> StoreResult<Vec<ReadPart>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT part_no, blob_key, row_count, last_id FROM read_parts WHERE job_id = ?1 ORDER BY part_no",
        )
        .map_err(db_error)?;
    let rows = statement
        .query_map([job], |row| {
            Ok(ReadPart {
                part_no: row.get(0)?,
                blob_key: row.get(1)?,
                rows: row.get::<_, i64>(2)? as u64,
                last_id: row.get::<_, i64>(3)? as u64,
            })
        })
        .map_err(db_error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
}
