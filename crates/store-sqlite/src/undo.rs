//! Undo jobs (see `bulkwrite_store::undo`): queued as rows of kind `undo`, settled chunk by chunk
//! under the lease with the checkpoint check.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, RecordId, UserId};
use bulkwrite_core::jobspec::JobSpec;
use bulkwrite_core::plan::ChunkPlan;
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_store::undo::{decide, key_taken, outcome_of, undo_row, CurrentRecord, StoredImage, UndoAction};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::key_scopes::Scopes;
use crate::key_slots;
use crate::{db_error, instant, json_error, ms, SqliteStore};

#[async_trait]
impl UndoStore for SqliteStore {
    async fn create_undo_job(&self, job: NewUndoJob) -> StoreResult<UndoCreation> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let original: Option<(String, String, Option<i64>)> = tx
                .query_row(
                    "SELECT spec_json, api_version, result_expired_at FROM jobs WHERE id = ?1 AND org = ?2",
                    params![job.undo_of.get() as i64, job.org.get() as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((spec, api_version, expired)) = original else { return Ok(UndoCreation::NoSuchJob) };
            if expired.is_some() {
                return Ok(UndoCreation::Expired);
            }
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE undo_of = ?1 AND org = ?2 AND state NOT IN ('failed', 'cancelled')
                     ORDER BY id LIMIT 1",
                    params![job.undo_of.get() as i64, job.org.get() as i64],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            if let Some(existing) = existing {
                return Ok(UndoCreation::AlreadyUndone(JobId::new(existing as u64)));
            }
            let mut spec: JobSpec = serde_json::from_str(&spec).map_err(json_error)?;
            spec.callback = None;
            spec.dry_run = false;
            let resources = spec.resources.len();
            tx.execute(
                "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at, kind, undo_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, 'undo', ?7)",
                params![
                    job.id.get() as i64,
                    job.org.get() as i64,
                    job.created_by.get() as i64,
                    api_version,
                    serde_json::to_string(&spec).map_err(json_error)?,
                    ms(job.created_at),
                    job.undo_of.get() as i64
                ],
            )
            .map_err(db_error)?;
            for index in 0..resources {
                tx.execute(
                    "INSERT INTO job_resources (job_id, idx, state) VALUES (?1, ?2, 'pending')",
                    params![job.id.get() as i64, index as i64],
                )
                .map_err(db_error)?;
            }
            tx.commit().map_err(db_error)?;
            Ok(UndoCreation::Created)
        })
        .await
    }

    async fn apply_undo_chunk(&self, lease: &Lease, chunk: UndoChunk) -> StoreResult<ChunkOutcome> {
        self.write_fenced(lease.clone(), move |tx, lease| {
            let mut results = Vec::with_capacity(chunk.rows.len());
            for row in &chunk.rows {
                if let Some(result) = settle(tx, lease, &chunk, row)? {
                    results.push(result);
                }
            }
            let outcome = outcome_of(results);
            let plan = ChunkPlan {
                results: outcome.results,
                added: outcome.added,
                updated: outcome.updated,
                skipped: outcome.skipped,
                ..ChunkPlan::default()
            };
            let span = (chunk.resource, chunk.rows_done_before, chunk.rows_done);
            crate::chunk::record_progress_at(tx, lease, span, plan, None)
        })
        .await
    }
}

/// Settles the record of one original row, unless an undo of the job settled it already.
fn settle(tx: &Connection, lease: &Lease, chunk: &UndoChunk, row: &ResultRow) -> StoreResult<Option<ResultRow>> {
    let Some(id) = row.record_id.filter(|_| row.status.is_applied()) else { return Ok(None) };
    let (job, record, org) = (chunk.undo_of.get() as i64, id.get() as i64, lease.org.get() as i64);
    let first = tx
        .prepare_cached("INSERT OR IGNORE INTO undo_settled (job_id, record_id, undo_job_id) VALUES (?1, ?2, ?3)")
        .map_err(db_error)?
        .execute(params![job, record, lease.job.get() as i64])
        .map_err(db_error)?;
    if first == 0 {
        return Ok(None);
    }
    let images = images_of(tx, job, record)?;
    let current = current_record(tx, org, &chunk.module, record)?;
    let module = chunk.module.as_str();
    let action = decide(id, row.status == RowStatus::Added, &images, current.as_ref());
    let (status, reason) = match action {
        UndoAction::Delete => {
            tx.execute("DELETE FROM records WHERE id = ?1 AND org = ?2", params![record, org]).map_err(db_error)?;
            key_slots::delete_of_record(tx, record)?;
            (RowStatus::Deleted, String::new())
        }
        UndoAction::Restore { values, owner, layout_id, keys } => {
            if let Some(keys) = &keys {
                if let Some(reason) = restore_keys(tx, org, module, id, keys)? {
                    return Ok(Some(undo_row(row, module, RowStatus::Conflict, &reason)));
                }
            }
            tx.execute(
                "UPDATE records SET owner = ?1, layout_id = ?2, modified_by = ?3, modified_at = ?4, data = ?5,
                                    version = version + 1
                 WHERE id = ?6 AND org = ?7",
                params![
                    owner.get() as i64,
                    layout_id,
                    chunk.actor.get() as i64,
                    ms(chunk.now),
                    serde_json::to_string(&values).map_err(json_error)?,
                    record,
                    org
                ],
            )
            .map_err(db_error)?;
            (RowStatus::Restored, String::new())
        }
        UndoAction::Conflict(reason) => (RowStatus::Conflict, reason),
    };
    Ok(Some(undo_row(row, module, status, &reason)))
}

/// Gives record `id` the keys `keys` back; a key another record holds now refuses the restore
/// (its sentence), leaving every key as it was.
fn restore_keys(
    tx: &Connection,
    org: i64,
    module: &str,
    id: RecordId,
    keys: &[(String, String)],
) -> StoreResult<Option<String>> {
    let mut scopes = Scopes::new(org, module);
    for (field, value) in keys {
        let holder = key_slots::holder(tx, scopes.get(tx, field)?, value)?;
        if let Some((holder, _)) = holder.filter(|(holder, _)| *holder != id.get() as i64) {
            return Ok(Some(key_taken(id, field, RecordId::new(holder as u64))));
        }
    }
    key_slots::delete_of_record(tx, id.get() as i64)?;
    for (field, value) in keys {
        key_slots::insert_free(tx, scopes.get(tx, field)?, value, id.get() as i64)?;
    }
    Ok(None)
}

fn images_of(tx: &Connection, job: i64, record: i64) -> StoreResult<Vec<StoredImage>> {
    let mut statement = tx
        .prepare_cached(
            "SELECT version, image_json FROM undo_images WHERE job_id = ?1 AND record_id = ?2 ORDER BY idx, first_row",
        )
        .map_err(db_error)?;
    let rows = statement
        .query_map(params![job, record], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
        .map_err(db_error)?;
    let mut images = Vec::new();
    for row in rows {
        let (version, text) = row.map_err(db_error)?;
        images.push(StoredImage { version, image: serde_json::from_str(&text).map_err(json_error)? });
    }
    Ok(images)
}

fn current_record(tx: &Connection, org: i64, module: &str, record: i64) -> StoreResult<Option<CurrentRecord>> {
    type Raw = (i64, i64, i64, Option<String>, String);
    let raw: Option<Raw> = tx
        .prepare_cached(
            "SELECT version, modified_at, owner, layout_id, data FROM records WHERE id = ?1 AND org = ?2 AND module = ?3",
        )
        .map_err(db_error)?
        .query_row(params![record, org, module], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })
        .optional()
        .map_err(db_error)?;
    let Some((version, modified_at, owner, layout_id, data)) = raw else { return Ok(None) };
    Ok(Some(CurrentRecord {
        version,
        modified_at: instant(modified_at)?,
        values: serde_json::from_str(&data).map_err(json_error)?,
        owner: UserId::new(owner as u64),
        layout_id,
    }))
}
