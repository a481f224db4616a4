//! Retention: expiring uploads and result files, and the queue of blobs to delete.
//!
//! Every write here runs in an immediate transaction, so it is serialised with job creation:
//! an upload is either expired before a job names it (and the job is refused) or named by an
//! unfinished job before the sweep looks (and kept). Deleted rows free their pages to SQLite's
//! freelist, which later writes reuse before the file grows.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, JobId, OrgId};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{db_error, ms, SqliteStore};

/// Refuses a job that names an expired upload of its org; otherwise records the uploads it
/// reads, so no sweep expires them while the job is unfinished. Runs in the job's transaction.
pub(crate) fn hold_uploads(tx: &Connection, org: OrgId, job: JobId, file_ids: &[FileId]) -> StoreResult<()> {
    for file_id in file_ids {
        let expired: Option<Option<i64>> = tx
            .query_row(
                "SELECT expired_at FROM uploads WHERE org = ?1 AND file_id = ?2",
                params![org.get() as i64, file_id.get() as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error)?;
        match expired {
            // Not an upload of this org: nothing to keep.
            None => continue,
            Some(Some(_)) => return Err(StoreError::Expired(format!("upload {file_id}"))),
            Some(None) => {}
        }
        tx.execute(
            "INSERT OR IGNORE INTO job_uploads (file_id, job_id) VALUES (?1, ?2)",
            params![file_id.get() as i64, job.get() as i64],
        )
        .map_err(db_error)?;
    }
    Ok(())
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn expire_uploads(&self, expiry: &Expiry) -> StoreResult<u64> {
        let expiry = *expiry;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let due: Vec<(i64, String)> = due_pairs(
                &tx,
                "SELECT u.file_id, u.blob_key FROM uploads u
                 WHERE u.expired_at IS NULL AND u.created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM job_uploads ju JOIN jobs j ON j.id = ju.job_id
                                   WHERE ju.file_id = u.file_id AND j.finished_at IS NULL)
                 ORDER BY u.created_at LIMIT ?2",
                &expiry,
            )?;
            for (file_id, blob_key) in &due {
                tx.execute("UPDATE uploads SET expired_at = ?1 WHERE file_id = ?2", params![ms(expiry.now), file_id])
                    .map_err(db_error)?;
                queue_blob(&tx, blob_key, expiry.now)?;
            }
            tx.commit().map_err(db_error)?;
            Ok(due.len() as u64)
        })
        .await
    }

    async fn expire_results(&self, expiry: &Expiry) -> StoreResult<u64> {
        let expiry = *expiry;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let due: Vec<(i64, Option<String>)> = due_pairs(
                &tx,
                "SELECT id, result_blob FROM jobs
                 WHERE finished_at IS NOT NULL AND result_expired_at IS NULL AND finished_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM jobs u WHERE u.undo_of = jobs.id AND u.finished_at IS NULL)
                 ORDER BY finished_at LIMIT ?2",
                &expiry,
            )?;
            for (job, result_blob) in &due {
                tx.execute("UPDATE jobs SET result_expired_at = ?1 WHERE id = ?2", params![ms(expiry.now), job])
                    .map_err(db_error)?;
                tx.execute("DELETE FROM job_results WHERE job_id = ?1", [job]).map_err(db_error)?;
                tx.execute("DELETE FROM job_row_reasons WHERE job_id = ?1", [job]).map_err(db_error)?;
                // What an undo of the job would need goes with its result rows (an undo in
                // flight keeps the job from expiring, above).
                tx.execute("DELETE FROM undo_images WHERE job_id = ?1", [job]).map_err(db_error)?;
                tx.execute("DELETE FROM undo_settled WHERE job_id = ?1", [job]).map_err(db_error)?;
                // Parts left by an export that ended before this sweep knew to forget them.
                crate::cancel::forget_read_parts(&tx, *job, expiry.now)?;
                if let Some(key) = result_blob {
                    queue_blob(&tx, key, expiry.now)?;
                }
            }
            tx.commit().map_err(db_error)?;
            Ok(due.len() as u64)
        })
        .await
    }

    async fn expired_blobs(&self, limit: u32) -> StoreResult<Vec<String>> {
        self.run(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT key FROM expired_blobs ORDER BY queued_at, key LIMIT ?1")
                .map_err(db_error)?;
            let rows = statement.query_map([i64::from(limit)], |row| row.get(0)).map_err(db_error)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(db_error)
        })
        .await
    }

    async fn forget_expired_blobs(&self, keys: &[String]) -> StoreResult<()> {
        let keys = keys.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            for key in &keys {
                tx.execute("DELETE FROM expired_blobs WHERE key = ?1", [key]).map_err(db_error)?;
            }
            tx.commit().map_err(db_error)
        })
        .await
    }
}

fn queue_blob(tx: &Connection, key: &str, now: Timestamp) -> StoreResult<()> {
    tx.execute("INSERT OR IGNORE INTO expired_blobs (key, queued_at) VALUES (?1, ?2)", params![key, ms(now)])
        .map_err(db_error)?;
    Ok(())
}

/// The `(key, blob)` pairs a sweep query finds: files older than `expiry.older_than`, at most
/// `expiry.limit` (the query's `?1` and `?2`).
fn due_pairs<K: rusqlite::types::FromSql, B: rusqlite::types::FromSql>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    expiry: &Expiry,
) -> StoreResult<Vec<(K, B)>> {
    let mut statement = tx.prepare_cached(sql).map_err(db_error)?;
    let rows = statement
        .query_map(params![ms(expiry.older_than), i64::from(expiry.limit)], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}
