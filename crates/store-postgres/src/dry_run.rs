//! Dry-run chunks on PostgreSQL: planned against the stored records overlaid by the job's
//! scratch state, written to that scratch state (`dry_run_keys`, `dry_run_records`) with the
//! result rows and the checkpoint, in the chunk's one fenced transaction (see
//! `bulkwrite_store::dry_run`). A dry-run chunk waits for the one before it to settle before it
//! starts: it must see that chunk's scratch state.

use bulkwrite_core::ids::{JobId, RecordId, UserId};
use bulkwrite_core::plan::{plan_chunk, probes_for, Key};
use bulkwrite_store::dry_run::{
    keys_before, overlay_keys, overlay_records, provisional_ids, scratch_write, wanted_records, ScratchRecord,
    ScratchWrite,
};
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::types::Json;

use crate::chunk::{free_elsewhere, record_progress};
use crate::chunk_read::fetch_existing;
use crate::error::write_error;
use crate::job_row::fence;
use crate::statements::{execute, get, get_u64, query};
use crate::{pg_error, signed, PgStore};

/// Applies a dry-run chunk: no record or stored key is written.
pub(crate) async fn apply_dry_chunk(
    store: &PgStore,
    lease: &Lease,
    mut chunk: ChunkWrite,
    order: &mut ChunkOrder,
) -> StoreResult<ChunkOutcome> {
    order.previous_settled().await;
    let org = signed(lease.org.get());
    let job = signed(lease.job.get());
    let mut write = chunk.take_records();
    let module = write.module.clone();
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg_error)?;
    fence(&tx, lease).await?;
    let mut existing = fetch_existing(&tx, org, &module, write.operation, &write.rows).await?;
    let probes = probes_for(&write.rows);
    overlay_keys(&mut existing, scratch_keys(&tx, job, &module, &probes.keys).await?);
    if write.operation != Operation::Insert {
        let records = scratch_records(&tx, job, &module, &wanted_records(&probes, &existing)).await?;
        overlay_records(&mut existing, records);
    }
    let before = keys_before(&existing);
    let mut ids = provisional_ids(chunk.resource, chunk.rows_done_before);
    let mut plan = plan_chunk(write.take_plan_input(), existing, &mut ids);
    write_scratch(&tx, job, &module, &scratch_write(&plan, before)).await?;
    record_progress(&tx, lease, &chunk, &plan, None).await?;
    tx.commit().await.map_err(write_error)?;
    let results = std::mem::take(&mut plan.results);
    let outcome = ChunkOutcome { added: plan.added, updated: plan.updated, skipped: plan.skipped, results };
    free_elsewhere(plan);
    Ok(outcome)
}

/// The scratch state of the probed keys: where the run left each one it changed.
async fn scratch_keys(
    tx: &Transaction<'_>,
    job: i64,
    module: &str,
    keys: &[Key],
) -> StoreResult<Vec<(Key, Option<RecordId>)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let fields: Vec<&str> = keys.iter().map(|(field, _)| field.as_str()).collect();
    let values: Vec<&str> = keys.iter().map(|(_, value)| value.as_str()).collect();
    let rows = query(
        tx,
        "SELECT p.field, p.value, k.record_id FROM unnest($3::text[], $4::text[]) AS p (field, value)
         JOIN dry_run_keys k ON k.job_id = $1 AND k.module = $2 AND k.field = p.field AND k.value = p.value",
        &[&job, &module, &fields, &values],
    )
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let record: Option<i64> = get(row, 2)?;
        found.push(((get(row, 0)?, get(row, 1)?), record.map(|id| RecordId::new(id as u64))));
    }
    Ok(found)
}

/// The records of `ids` the run has written, as it left them.
async fn scratch_records(
    tx: &Transaction<'_>,
    job: i64,
    module: &str,
    ids: &[RecordId],
) -> StoreResult<Vec<ScratchRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|id| signed(id.get())).collect();
    let rows = query(
        tx,
        "SELECT id, owner, layout_id, data, keys FROM dry_run_records WHERE job_id = $1 AND module = $2 AND id = ANY($3::int8[])",
        &[&job, &module, &ids],
    )
    .await?;
    rows.iter().map(read_scratch).collect()
}

/// Every record of `module` the run `job` has written, as it left them.
pub(crate) async fn module_scratch(store: &PgStore, job: JobId, module: &str) -> StoreResult<Vec<ScratchRecord>> {
    let conn = store.conn().await?;
    let rows = query(
        &conn,
        "SELECT id, owner, layout_id, data, keys FROM dry_run_records WHERE job_id = $1 AND module = $2 ORDER BY id",
        &[&signed(job.get()), &module],
    )
    .await?;
    rows.iter().map(read_scratch).collect()
}

fn read_scratch(row: &tokio_postgres::Row) -> StoreResult<ScratchRecord> {
    let Json(values) = get::<Json<Map<String, Value>>>(row, 3)?;
    let Json(keys) = get::<Json<Vec<Key>>>(row, 4)?;
    Ok(ScratchRecord {
        id: RecordId::new(get_u64(row, 0)?),
        owner: UserId::new(get_u64(row, 1)?),
        layout_id: get(row, 2)?,
        values,
        keys,
    })
}

/// Writes what the chunk changed to the job's scratch state (a key or record written before is
/// replaced).
async fn write_scratch(tx: &Transaction<'_>, job: i64, module: &str, scratch: &ScratchWrite) -> StoreResult<()> {
    if !scratch.keys.is_empty() {
        let fields: Vec<&str> = scratch.keys.keys().map(|(field, _)| field.as_str()).collect();
        let values: Vec<&str> = scratch.keys.keys().map(|(_, value)| value.as_str()).collect();
        let records: Vec<Option<i64>> = scratch.keys.values().map(|id| id.map(|id| signed(id.get()))).collect();
        execute(
            tx,
            "INSERT INTO dry_run_keys (job_id, module, field, value, record_id)
             SELECT $1, $2, f, v, r FROM unnest($3::text[], $4::text[], $5::int8[]) AS t (f, v, r)
             ON CONFLICT (job_id, module, field, value) DO UPDATE SET record_id = excluded.record_id",
            &[&job, &module, &fields, &values, &records],
        )
        .await?;
    }
    // One row per record (a record is written once per chunk).
    let mut seen = std::collections::HashSet::new();
    let records: Vec<&ScratchRecord> = scratch.records.iter().rev().filter(|record| seen.insert(record.id)).collect();
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = records.iter().map(|record| signed(record.id.get())).collect();
    let owners: Vec<i64> = records.iter().map(|record| signed(record.owner.get())).collect();
    let layouts: Vec<Option<&str>> = records.iter().map(|record| record.layout_id.as_deref()).collect();
    let data: Vec<Json<&Map<String, Value>>> = records.iter().map(|record| Json(&record.values)).collect();
    let keys: Vec<Json<&Vec<Key>>> = records.iter().map(|record| Json(&record.keys)).collect();
    execute(
        tx,
        "INSERT INTO dry_run_records (job_id, id, module, owner, layout_id, data, keys)
         SELECT $1, i, $2, o, l, d, k FROM unnest($3::int8[], $4::int8[], $5::text[], $6::json[], $7::json[]) AS t (i, o, l, d, k)
         ON CONFLICT (job_id, id) DO UPDATE SET owner = excluded.owner, layout_id = excluded.layout_id,
             data = excluded.data, keys = excluded.keys",
        &[&job, &module, &ids, &owners, &layouts, &data, &keys],
    )
    .await?;
    Ok(())
}

/// Deletes the job's scratch state (inside the transaction that ends the job).
pub(crate) async fn forget_scratch(tx: &Transaction<'_>, job: JobId) -> StoreResult<()> {
    let job = signed(job.get());
    execute(tx, "DELETE FROM dry_run_keys WHERE job_id = $1", &[&job]).await?;
    execute(tx, "DELETE FROM dry_run_records WHERE job_id = $1", &[&job]).await?;
    Ok(())
}
