//! Retention: expiring uploads and result files, and the queue of blobs to delete, safe with
//! several nodes sweeping at once.
//!
//! Job creation locks the uploads it names `FOR SHARE` and records them in `job_uploads` before
//! it commits. A sweep locks the uploads it would expire `FOR UPDATE SKIP LOCKED` (so it passes
//! over those a creation or another sweep holds), then asks again, in a statement of its own and
//! so with a snapshot taken after its locks, whether an unfinished job names them: a job that
//! committed in between is seen, and its upload is kept. A creation that waited for a sweep's
//! lock reads the row the sweep committed and finds it expired. So an upload is never expired
//! under a job, and no job is accepted on an expired upload.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, JobId, OrgId};
use bulkwrite_store::*;
use deadpool_postgres::Transaction;

use crate::statements::{execute, get, query};
use crate::{pg_error, signed, PgStore};

/// Refuses a job that names an expired upload of its org; otherwise records the uploads it
/// reads, so no sweep expires them while the job is unfinished. Runs in the job's transaction;
/// the share locks hold until it commits.
pub(crate) async fn hold_uploads(tx: &Transaction<'_>, org: OrgId, job: JobId, file_ids: &[FileId]) -> StoreResult<()> {
    if file_ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = file_ids.iter().map(|id| signed(id.get())).collect();
    let rows = query(
        tx,
        "SELECT file_id, expired_at IS NOT NULL FROM uploads WHERE org = $1 AND file_id = ANY($2)
         ORDER BY file_id FOR SHARE",
        &[&signed(org.get()), &ids],
    )
    .await?;
    // Only uploads of this org are kept for the job; other ids name nothing to keep.
    let mut held: Vec<i64> = Vec::with_capacity(rows.len());
    for row in &rows {
        let file_id: i64 = get(row, 0)?;
        let expired: bool = get(row, 1)?;
        if expired {
            return Err(StoreError::Expired(format!("upload {file_id}")));
        }
        held.push(file_id);
    }
    if held.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO job_uploads (file_id, job_id) SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING",
        &[&held, &signed(job.get())],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl RetentionStore for PgStore {
    async fn expire_uploads(&self, expiry: &Expiry) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let limit = i64::from(expiry.limit);
        let candidates = query(
            &tx,
            "SELECT u.file_id, u.blob_key FROM uploads u
             WHERE u.expired_at IS NULL AND u.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM job_uploads ju JOIN jobs j ON j.id = ju.job_id
                               WHERE ju.file_id = u.file_id AND j.finished_at IS NULL)
             ORDER BY u.created_at LIMIT $2
             FOR UPDATE OF u SKIP LOCKED",
            &[&expiry.older_than, &limit],
        )
        .await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let mut ids: Vec<i64> = Vec::with_capacity(candidates.len());
        for row in &candidates {
            ids.push(get(row, 0)?);
        }
        // A fresh snapshot, taken after the locks: sees every job committed before them.
        let in_use = query(
            &tx,
            "SELECT DISTINCT ju.file_id FROM job_uploads ju JOIN jobs j ON j.id = ju.job_id
             WHERE ju.file_id = ANY($1) AND j.finished_at IS NULL",
            &[&ids],
        )
        .await?;
        let mut used: Vec<i64> = Vec::with_capacity(in_use.len());
        for row in &in_use {
            used.push(get(row, 0)?);
        }
        let mut expired: Vec<i64> = Vec::with_capacity(candidates.len());
        let mut keys: Vec<String> = Vec::with_capacity(candidates.len());
        for row in &candidates {
            let file_id: i64 = get(row, 0)?;
            if used.contains(&file_id) {
                continue;
            }
            expired.push(file_id);
            keys.push(get(row, 1)?);
        }
        execute(&tx, "UPDATE uploads SET expired_at = $1 WHERE file_id = ANY($2)", &[&expiry.now, &expired]).await?;
        queue_blobs(&tx, &keys, expiry.now).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(expired.len() as u64)
    }

    async fn expire_results(&self, expiry: &Expiry) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let limit = i64::from(expiry.limit);
        let due = query(
            &tx,
            "SELECT id, result_blob FROM jobs
             WHERE finished_at IS NOT NULL AND result_expired_at IS NULL AND finished_at < $1
               AND NOT EXISTS (SELECT 1 FROM jobs u WHERE u.undo_of = jobs.id AND u.finished_at IS NULL)
             ORDER BY finished_at LIMIT $2
             FOR UPDATE SKIP LOCKED",
            &[&expiry.older_than, &limit],
        )
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut jobs: Vec<i64> = Vec::with_capacity(due.len());
        let mut keys: Vec<String> = Vec::with_capacity(due.len());
        for row in &due {
            jobs.push(get(row, 0)?);
            let key: Option<String> = get(row, 1)?;
            keys.extend(key);
        }
        execute(&tx, "UPDATE jobs SET result_expired_at = $1 WHERE id = ANY($2)", &[&expiry.now, &jobs]).await?;
        execute(&tx, "DELETE FROM job_results WHERE job_id = ANY($1)", &[&jobs]).await?;
        execute(&tx, "DELETE FROM job_row_reasons WHERE job_id = ANY($1)", &[&jobs]).await?;
        // What an undo of the job would need goes with its result rows (an undo in flight keeps
        // the job from expiring, above).
        execute(&tx, "DELETE FROM undo_images WHERE job_id = ANY($1)", &[&jobs]).await?;
        execute(&tx, "DELETE FROM undo_chunk_images WHERE job_id = ANY($1)", &[&jobs]).await?;
        execute(&tx, "DELETE FROM undo_settled WHERE job_id = ANY($1)", &[&jobs]).await?;
        // Parts left by an export that ended before this sweep knew to forget them.
        crate::cancel::forget_read_parts(&tx, &jobs, expiry.now).await?;
        queue_blobs(&tx, &keys, expiry.now).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(jobs.len() as u64)
    }

    async fn expired_blobs(&self, limit: u32) -> StoreResult<Vec<String>> {
        let conn = self.conn().await?;
        let rows = query(&conn, "SELECT key FROM expired_blobs ORDER BY queued_at, key LIMIT $1", &[&i64::from(limit)])
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(get(row, 0)?);
        }
        Ok(keys)
    }

    async fn forget_expired_blobs(&self, keys: &[String]) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM expired_blobs WHERE key = ANY($1)", &[&keys]).await?;
        Ok(())
    }
}

async fn queue_blobs(tx: &Transaction<'_>, keys: &[String], now: Timestamp) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO expired_blobs (key, queued_at) SELECT unnest($1::text[]), $2 ON CONFLICT (key) DO NOTHING",
        &[&keys, &now],
    )
    .await?;
    Ok(())
}
