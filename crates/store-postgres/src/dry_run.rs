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
    let scopes = crate::key_scopes::existing(&tx, org, &module, &crate::key_scopes::fields_of(&write.rows)).await?;
    let mut existing = fetch_existing(&tx, (org, &module, &scopes), write.operation, &write.rows).await?;
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

/// Where the run `$1` left the keys (`$3`, `$4`) of module `$2` it changed: a probe of the
/// scratch keys' primary key per key (see the crate's note on lookups). As a join, on a table
/// not analyzed since the run began, PostgreSQL read all the run's keys for every chunk.
const SCRATCH_KEYS: &str =
    "SELECT p.field, p.value, k.record_id FROM unnest($3::text[], $4::text[]) AS p (field, value)
     CROSS JOIN LATERAL (
         SELECT record_id FROM dry_run_keys
         WHERE job_id = $1 AND module = $2 AND field = p.field AND value = p.value LIMIT 1
     ) AS k";

/// The records `$3` of module `$2` the run `$1` wrote, a probe per id.
const SCRATCH_RECORDS: &str = "SELECT r.id, r.owner, r.layout_id, r.data, r.keys FROM unnest($3::int8[]) AS u (id)
     CROSS JOIN LATERAL (
         SELECT id, owner, layout_id, data, keys FROM dry_run_records
         WHERE job_id = $1 AND id = u.id AND module = $2 LIMIT 1
     ) AS r";

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
    let rows = query(tx, SCRATCH_KEYS, &[&job, &module, &fields, &values]).await?;
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
    let rows = query(tx, SCRATCH_RECORDS, &[&job, &module, &ids]).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_checks::Fresh;

    const JOB: i64 = 5_725_767_000_000_100_009;
    const WRITTEN: i64 = 100_000;

    /// A dry run that wrote 100,000 keys and records, on tables the planner has never measured
    /// (as in the middle of the run): a chunk's lookups of 2,000 keys and records find theirs
    /// by a probe each, and read only the rows they find, not the run's whole scratch state.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
    async fn a_chunks_lookups_in_the_scratch_state_probe_each_key_and_record() {
        let fresh = Fresh::new("dryrun").await;
        let mut conn = fresh.store.conn().await.unwrap();
        conn.execute(
            "INSERT INTO dry_run_keys (job_id, module, field, value, record_id)
             SELECT $1, 'Leads', 'Email', 'l' || i || '@x.example', i FROM generate_series(1, $2::int8) AS i",
            &[&JOB, &WRITTEN],
        )
        .await
        .unwrap();
        conn.execute(
            "INSERT INTO dry_run_records (job_id, id, module, owner, layout_id, data, keys)
             SELECT $1, i, 'Leads', 1, NULL, json_build_object('Last_Name', 'L' || i), '[]' FROM generate_series(1, $2::int8) AS i",
            &[&JOB, &WRITTEN],
        )
        .await
        .unwrap();
        let fields: Vec<&str> = vec!["Email"; 2_000];
        let values: Vec<String> = (99_001..=101_000).map(|i| format!("l{i}@x.example")).collect();
        let ids: Vec<i64> = (99_001..=101_000).collect();
        let module = "Leads";

        let tx = conn.transaction().await.unwrap();
        let keys: Vec<Key> = fields.iter().zip(&values).map(|(f, v)| (f.to_string(), v.clone())).collect();
        let found = scratch_keys(&tx, JOB, module, &keys).await.unwrap();
        assert_eq!(found.len(), 1_000, "the keys the run wrote, and no others");
        assert!(found.iter().all(|((_, value), id)| *value == format!("l{}@x.example", id.unwrap().get())));
        let wanted: Vec<RecordId> = ids.iter().map(|&id| RecordId::new(id as u64)).collect();
        assert_eq!(scratch_records(&tx, JOB, module, &wanted).await.unwrap().len(), 1_000);
        tx.rollback().await.unwrap();

        // A probe reads the row it finds; a scan of the run's state reads all 100,000.
        let keys = fresh.most_rows_a_scan_read("dry_run_keys", SCRATCH_KEYS, &[&JOB, &module, &fields, &values]).await;
        assert!(keys <= 1, "{keys} keys one scan read");
        let records = fresh.most_rows_a_scan_read("dry_run_records", SCRATCH_RECORDS, &[&JOB, &module, &ids]).await;
        assert!(records <= 1, "{records} records one scan read");
        drop(conn);
        fresh.drop().await;
    }
}
