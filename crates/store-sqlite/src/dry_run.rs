//! Dry-run chunks on SQLite: planned against the stored records overlaid by the job's scratch
//! state, written to that scratch state (`dry_run_keys`, `dry_run_records`) with the result rows
//! and the checkpoint, in the chunk's one transaction (see `bulkwrite_store::dry_run`).

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::plan::{plan_chunk, probes_for, Key};
use bulkwrite_store::dry_run::{
    keys_before, overlay_keys, overlay_records, provisional_ids, scratch_write, wanted_records, ScratchRecord,
};
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use rusqlite::{params, Connection};

use crate::chunk::{fetch_existing, record_progress};
use crate::{db_error, json_error};

/// Applies a dry-run chunk: no record or stored key is written.
pub(crate) fn apply_dry_chunk(tx: &Connection, lease: &Lease, mut chunk: ChunkWrite) -> StoreResult<ChunkOutcome> {
    let org = lease.org.get() as i64;
    let job = lease.job.get() as i64;
    let mut write = chunk.take_records();
    let module = write.module.clone();
    let mut existing = fetch_existing(tx, org, &module, write.operation, &write.rows)?;
    let probes = probes_for(&write.rows);
    overlay_keys(&mut existing, scratch_keys(tx, job, &module, &probes.keys)?);
    if write.operation != Operation::Insert {
        let records = scratch_records(tx, job, &module, &wanted_records(&probes, &existing))?;
        overlay_records(&mut existing, records);
    }
    let before = keys_before(&existing);
    let mut ids = provisional_ids(chunk.resource, chunk.rows_done_before);
    let plan = plan_chunk(write.take_plan_input(), existing, &mut ids);
    let scratch = scratch_write(&plan, before);
    let mut put_key = tx
        .prepare_cached(
            "INSERT INTO dry_run_keys (job_id, module, field, value, record_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (job_id, module, field, value) DO UPDATE SET record_id = excluded.record_id",
        )
        .map_err(db_error)?;
    for ((field, value), record) in &scratch.keys {
        put_key.execute(params![job, module, field, value, record.map(|id| id.get() as i64)]).map_err(db_error)?;
    }
    let mut put_record = tx
        .prepare_cached(
            "INSERT INTO dry_run_records (job_id, id, module, owner, layout_id, data, keys_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (job_id, id) DO UPDATE SET owner = excluded.owner, layout_id = excluded.layout_id,
                 data = excluded.data, keys_json = excluded.keys_json",
        )
        .map_err(db_error)?;
    for record in &scratch.records {
        put_record
            .execute(params![
                job,
                record.id.get() as i64,
                module,
                record.owner.get() as i64,
                record.layout_id,
                serde_json::to_string(&record.values).map_err(json_error)?,
                serde_json::to_string(&record.keys).map_err(json_error)?
            ])
            .map_err(db_error)?;
    }
    record_progress(tx, lease, &chunk, plan, None)
}

/// The scratch state of the probed keys: where the run left each one it changed. One probe
/// per field, the chunk's values as one JSON array (like `chunk::fetch_existing`).
fn scratch_keys(tx: &Connection, job: i64, module: &str, keys: &[Key]) -> StoreResult<Vec<(Key, Option<RecordId>)>> {
    let by_field = crate::chunk::stored::values_by_field(keys);
    let mut statement = tx
        .prepare_cached(
            "SELECT value, record_id FROM dry_run_keys
             WHERE job_id = ?1 AND module = ?2 AND field = ?3 AND value IN (SELECT value FROM json_each(?4))",
        )
        .map_err(db_error)?;
    let mut found = Vec::new();
    for (field, values) in by_field {
        let array = serde_json::to_string(&values).map_err(json_error)?;
        let rows = statement
            .query_map(params![job, module, field, array], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?))
            })
            .map_err(db_error)?;
        for row in rows {
            let (value, record) = row.map_err(db_error)?;
            found.push(((field.to_string(), value), record.map(|id| RecordId::new(id as u64))));
        }
    }
    Ok(found)
}

/// The records of `ids` the run has written, as it left them.
fn scratch_records(tx: &Connection, job: i64, module: &str, ids: &[RecordId]) -> StoreResult<Vec<ScratchRecord>> {
    let mut statement = tx
        .prepare_cached(
            "SELECT id, owner, layout_id, data, keys_json FROM dry_run_records WHERE job_id = ?1 AND id = ?2 AND module = ?3",
        )
        .map_err(db_error)?;
    let mut found = Vec::new();
    for id in ids {
        let mut rows = statement.query(params![job, id.get() as i64, module]).map_err(db_error)?;
        if let Some(row) = rows.next().map_err(db_error)? {
            found.push(read_scratch(row)?);
        }
    }
    Ok(found)
}

/// Every record of `module` the run has written, as it left them.
pub(crate) fn module_scratch(conn: &Connection, job: i64, module: &str) -> StoreResult<Vec<ScratchRecord>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, owner, layout_id, data, keys_json FROM dry_run_records WHERE job_id = ?1 AND module = ?2 ORDER BY id",
        )
        .map_err(db_error)?;
    let mut rows = statement.query(params![job, module]).map_err(db_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        found.push(read_scratch(row)?);
    }
    Ok(found)
}

fn read_scratch(row: &rusqlite::Row<'_>) -> StoreResult<ScratchRecord> {
    let data: String = row.get(3).map_err(db_error)?;
    let keys: String = row.get(4).map_err(db_error)?;
    Ok(ScratchRecord {
        id: RecordId::new(row.get::<_, i64>(0).map_err(db_error)? as u64),
        owner: UserId::new(row.get::<_, i64>(1).map_err(db_error)? as u64),
        layout_id: row.get(2).map_err(db_error)?,
        values: serde_json::from_str(&data).map_err(json_error)?,
        keys: serde_json::from_str(&keys).map_err(json_error)?,
    })
}

/// Deletes the job's scratch state (inside the transaction that ends the job).
pub(crate) fn forget_scratch(tx: &Connection, job: i64) -> StoreResult<()> {
    tx.execute("DELETE FROM dry_run_keys WHERE job_id = ?1", [job]).map_err(db_error)?;
    tx.execute("DELETE FROM dry_run_records WHERE job_id = ?1", [job]).map_err(db_error)?;
    Ok(())
}
