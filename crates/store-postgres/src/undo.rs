//! Undo jobs (see `bulkwrite_store::undo`): queued as rows of kind `undo` (the original job's row
//! locked, so two requests racing queue one undo), settled chunk by chunk in one fenced
//! transaction with the checkpoint check. The records a chunk settles are locked `FOR UPDATE`
//! before they are judged, so a concurrent write either lands before (and is seen as a change)
//! or waits for the undo.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, RecordId, UserId};
use bulkwrite_core::jobspec::JobSpec;
use bulkwrite_core::plan::ChunkPlan;
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_store::undo::{decide, key_taken, outcome_of, undo_row, CurrentRecord, StoredImage, UndoAction};
use bulkwrite_store::*;
use deadpool_postgres::Transaction;

use crate::job_row::fence;
use crate::jobs::notify;
use crate::statements::{execute, get, get_data, get_u64, query, query_opt};
use crate::{json_error, pg_error, signed, PgStore, JOBS_CHANNEL};
use crate::{key_scopes, record_keys};

#[async_trait]
impl UndoStore for PgStore {
    async fn create_undo_job(&self, job: NewUndoJob) -> StoreResult<UndoCreation> {
        let (org, undo_of) = (signed(job.org.get()), signed(job.undo_of.get()));
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let original = query_opt(
            &tx,
            "SELECT spec_json, api_version, result_expired_at FROM jobs WHERE id = $1 AND org = $2 FOR UPDATE",
            &[&undo_of, &org],
        )
        .await?;
        let Some(original) = original else { return Ok(UndoCreation::NoSuchJob) };
        // Locked: a sweep expiring the job's result either committed before (seen here) or waits.
        if get::<Option<Timestamp>>(&original, 2)?.is_some() {
            return Ok(UndoCreation::Expired);
        }
        let existing = query_opt(
            &tx,
            "SELECT id FROM jobs WHERE undo_of = $1 AND org = $2 AND state NOT IN ('failed', 'cancelled')
             ORDER BY id LIMIT 1",
            &[&undo_of, &org],
        )
        .await?;
        if let Some(existing) = existing {
            return Ok(UndoCreation::AlreadyUndone(JobId::new(get_u64(&existing, 0)?)));
        }
        let spec: String = get(&original, 0)?;
        let api_version: String = get(&original, 1)?;
        let mut spec: JobSpec = serde_json::from_str(&spec).map_err(json_error)?;
        spec.callback = None;
        spec.dry_run = false;
        let id = signed(job.id.get());
        execute(
            &tx,
            "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at, kind, undo_of)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, 'undo', $7)",
            &[
                &id,
                &org,
                &signed(job.created_by.get()),
                &api_version,
                &serde_json::to_string(&spec).map_err(json_error)?,
                &job.created_at,
                &undo_of,
            ],
        )
        .await?;
        let count = i32::try_from(spec.resources.len()).unwrap_or(i32::MAX);
        execute(
            &tx,
            "INSERT INTO job_resources (job_id, idx, state) SELECT $1, generate_series(0, $2 - 1), 'pending'",
            &[&id, &count],
        )
        .await?;
        notify(&tx, JOBS_CHANNEL).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(UndoCreation::Created)
    }

    async fn apply_undo_chunk(&self, lease: &Lease, chunk: UndoChunk) -> StoreResult<ChunkOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        fence(&tx, lease).await?;
        unpack_images(&tx, signed(chunk.undo_of.get())).await?;
        let mut results = Vec::with_capacity(chunk.rows.len());
        for row in &chunk.rows {
            if let Some(result) = settle(&tx, lease, &chunk, row).await? {
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
        crate::chunk::record_progress_at(&tx, lease, span, &plan, None).await?;
        tx.commit().await.map_err(crate::error::write_error)?;
        Ok(ChunkOutcome { added: plan.added, updated: plan.updated, skipped: plan.skipped, results: plan.results })
    }
}

/// Settles the record of one original row, unless an undo of the job settled it already.
async fn settle(
    tx: &Transaction<'_>,
    lease: &Lease,
    chunk: &UndoChunk,
    row: &ResultRow,
) -> StoreResult<Option<ResultRow>> {
    let Some(id) = row.record_id.filter(|_| row.status.is_applied()) else { return Ok(None) };
    let (job, record, org) = (signed(chunk.undo_of.get()), signed(id.get()), signed(lease.org.get()));
    let first = execute(
        tx,
        "INSERT INTO undo_settled (job_id, record_id, undo_job_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&job, &record, &signed(lease.job.get())],
    )
    .await?;
    if first == 0 {
        return Ok(None);
    }
    let module = chunk.module.as_str();
    let current = current_record(tx, org, module, record).await?;
    let images = images_of(tx, job, record).await?;
    let action = decide(id, row.status == RowStatus::Added, &images, current.as_ref());
    let (status, reason) = match action {
        UndoAction::Delete => {
            let gone = query_opt(tx, "DELETE FROM records WHERE id = $1 AND org = $2 RETURNING keys", &[&record, &org])
                .await?;
            if let Some(gone) = gone {
                record_keys::free(tx, (org, module), &[(record, get(&gone, 0)?)]).await?;
            }
            (RowStatus::Deleted, String::new())
        }
        UndoAction::Restore { values, owner, layout_id, keys } => {
            if let Some(keys) = &keys {
                if let Some(reason) = restore_keys(tx, org, module, id, keys).await? {
                    return Ok(Some(undo_row(row, module, RowStatus::Conflict, &reason)));
                }
            }
            let parent = crate::chunk_write::parent_id(&values);
            execute(
                tx,
                "UPDATE records SET owner = $1, layout_id = $2, modified_by = $3, modified_at = $4, data = $5,
                                    parent_id = $6, version = version + 1
                 WHERE id = $7 AND org = $8",
                &[
                    &signed(owner.get()),
                    &layout_id,
                    &signed(chunk.actor.get()),
                    &chunk.now,
                    &serde_json::to_string(&values).map_err(json_error)?,
                    &parent,
                    &record,
                    &org,
                ],
            )
            .await?;
            (RowStatus::Restored, String::new())
        }
        UndoAction::Conflict(reason) => (RowStatus::Conflict, reason),
    };
    Ok(Some(undo_row(row, module, status, &reason)))
}

/// Gives record `id` the keys `keys` back; a key another record holds now refuses the restore
/// (its sentence), leaving every key as it was.
async fn restore_keys(
    tx: &Transaction<'_>,
    org: i64,
    module: &str,
    id: RecordId,
    keys: &[(String, String)],
) -> StoreResult<Option<String>> {
    for (field, value) in keys {
        let holder = query_opt(
            tx,
            "SELECT record_id FROM unique_keys
             WHERE scope = (SELECT id FROM key_scopes WHERE org = $1 AND module = $2 AND field = $3) AND value = $4",
            &[&org, &module, field, value],
        )
        .await?;
        if let Some(holder) = holder {
            let holder = get_u64(&holder, 0)?;
            if holder != id.get() {
                return Ok(Some(key_taken(id, field, RecordId::new(holder))));
            }
        }
    }
    let record = signed(id.get());
    let held = query_opt(tx, "SELECT keys FROM records WHERE id = $1 AND org = $2", &[&record, &org]).await?;
    if let Some(held) = held {
        record_keys::free(tx, (org, module), &[(record, get(&held, 0)?)]).await?;
    }
    let fields: Vec<String> = keys.iter().map(|(field, _)| field.clone()).collect();
    let scopes = key_scopes::ensure(tx, org, module, &fields).await?;
    for (field, value) in keys {
        execute(
            tx,
            "INSERT INTO unique_keys (scope, value, record_id) VALUES ($1, $2, $3)",
            &[&scopes.of(field)?, value, &record],
        )
        .await?;
    }
    let restored = record_keys::encode(keys.iter().map(|(field, value)| (field.as_str(), value.as_str())).collect())?;
    execute(tx, "UPDATE records SET keys = $3 WHERE id = $1 AND org = $2", &[&record, &org, &restored]).await?;
    Ok(None)
}

/// Moves the before-images the undone job's chunks kept (a row a chunk, migration 0026) into
/// `undo_images`, a row a record, where [`images_of`] finds a record's. The undo's first chunk
/// moves them all, in its own transaction; the chunks after it find none to move.
async fn unpack_images(tx: &Transaction<'_>, job: i64) -> StoreResult<()> {
    execute(
        tx,
        "WITH packed AS (DELETE FROM undo_chunk_images WHERE job_id = $1 RETURNING idx, first_row, images_json)
         INSERT INTO undo_images (job_id, record_id, idx, first_row, version, image_json)
         SELECT $1, (e ->> 0)::int8, p.idx, p.first_row, (e ->> 1)::int8, (e -> 2)::text
         FROM packed p CROSS JOIN LATERAL json_array_elements(p.images_json::json) AS e",
        &[&job],
    )
    .await?;
    Ok(())
}

async fn images_of(tx: &Transaction<'_>, job: i64, record: i64) -> StoreResult<Vec<StoredImage>> {
    let rows = query(
        tx,
        "SELECT version, image_json FROM undo_images WHERE job_id = $1 AND record_id = $2 ORDER BY idx, first_row",
        &[&job, &record],
    )
    .await?;
    let mut images = Vec::with_capacity(rows.len());
    for row in &rows {
        let text: String = get(row, 1)?;
        images.push(StoredImage { version: get(row, 0)?, image: serde_json::from_str(&text).map_err(json_error)? });
    }
    Ok(images)
}

async fn current_record(
    tx: &Transaction<'_>,
    org: i64,
    module: &str,
    record: i64,
) -> StoreResult<Option<CurrentRecord>> {
    let row = query_opt(
        tx,
        "SELECT version, modified_at, owner, layout_id, data FROM records
         WHERE id = $1 AND org = $2 AND module = $3 FOR UPDATE",
        &[&record, &org, &module],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let values = get_data(&row, 4)?;
    Ok(Some(CurrentRecord {
        version: get(&row, 0)?,
        modified_at: get(&row, 1)?,
        values,
        owner: UserId::new(get_u64(&row, 2)?),
        layout_id: get(&row, 3)?,
    }))
}
