//! Applying one chunk: fetch what the rows name, plan with core's rules, write the plan, the
//! result rows (and the failed rows' reasons), the counters and the checkpoint. Runs inside the caller's fenced transaction.

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{
    plan_chunk, probes_for, ChunkPlan, ExistingRecord, ExistingState, Key, NewRecordView, PlannedRecord,
};
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use rusqlite::{params, Connection, OptionalExtension};

use crate::batch::{insert_many, insert_many_ignoring};
use crate::new_keys::{insert_unprobed, Attempt, Hints};
use crate::orgs::reserve_ids;
use crate::{db_error, json_error, ms};

/// An insert's chunk skips the key probes unless its job met existing keys before (see
/// `new_keys`, whose `hints` remember those jobs).
pub(crate) fn apply_chunk(
    tx: &Connection,
    lease: &Lease,
    mut chunk: ChunkWrite,
    hints: &Hints,
) -> StoreResult<ChunkOutcome> {
    if chunk.dry_run {
        return crate::dry_run::apply_dry_chunk(tx, lease, chunk);
    }
    let capture = Capture {
        job: lease.job.get() as i64,
        resource: chunk.resource as i64,
        chunk_at: chunk.rows_done_before as i64,
    };
    let org = lease.org.get() as i64;
    let mut write = chunk.take_records();
    if write.operation == Operation::Insert && hints.expects_new_keys(lease.job) {
        match insert_unprobed(tx, org, write)? {
            Attempt::Written(plan) => return record_progress(tx, lease, &chunk, plan),
            Attempt::MetKeys(again) => {
                hints.note_conflict(lease.job);
                write = again;
            }
        }
    }
    let plan = plan_and_write(tx, org, write, Some(capture))?;
    record_progress(tx, lease, &chunk, plan)
}

/// Where a job's chunk keeps the before-images of the records it updates (see
/// `bulkwrite_store::undo`): the job, the resource and the chunk's place in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capture {
    pub job: i64,
    pub resource: i64,
    pub chunk_at: i64,
}

/// Stores a planned chunk's result rows and moves its resource's counters and checkpoint,
/// refusing the chunk unless the stored checkpoint is the one it follows.
pub(crate) fn record_progress(
    tx: &Connection,
    lease: &Lease,
    chunk: &ChunkWrite,
    plan: ChunkPlan,
) -> StoreResult<ChunkOutcome> {
    record_progress_at(tx, lease, (chunk.resource, chunk.rows_done_before, chunk.rows_done), plan)
}

/// [`record_progress`] of resource `resource` from checkpoint `before` to `after`.
pub(crate) fn record_progress_at(
    tx: &Connection,
    lease: &Lease,
    (index, before, after): (usize, u64, u64),
    mut plan: ChunkPlan,
) -> StoreResult<ChunkOutcome> {
    let job = lease.job.get() as i64;
    let resource = index as i64;
    if let (Some(first), Some(last)) = (plan.results.first(), plan.results.last()) {
        tx.prepare_cached(
            "INSERT INTO job_results (job_id, idx, first_row, last_row, rows_json) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db_error)?
        .execute(params![
            job,
            resource,
            first.row_no as i64,
            last.row_no as i64,
            bulkwrite_store::result_rows::encode(&plan.results)?
        ])
        .map_err(db_error)?;
        if let Some(reasons) = bulkwrite_store::result_rows::encode_reasons(&plan.results)? {
            tx.prepare_cached(
                "INSERT INTO job_row_reasons (job_id, idx, first_row, reasons_json) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db_error)?
            .execute(params![job, resource, first.row_no as i64, reasons])
            .map_err(db_error)?;
        }
    }
    let moved = tx
        .execute(
            "UPDATE job_resources SET rows_done = ?1, added = added + ?2, updated = updated + ?3, skipped = skipped + ?4
             WHERE job_id = ?5 AND idx = ?6 AND rows_done = ?7",
            params![
                after as i64,
                plan.added as i64,
                plan.updated as i64,
                plan.skipped as i64,
                job,
                resource,
                before as i64
            ],
        )
        .map_err(db_error)?;
    if moved == 0 {
        return Err(StoreError::checkpoint_moved(index, before));
    }
    let (added, updated, skipped, results) =
        (plan.added, plan.updated, plan.skipped, std::mem::take(&mut plan.results));
    // Its records and keys are freed off the writer's thread.
    crate::new_keys::free_elsewhere(plan);
    Ok(ChunkOutcome { added, updated, skipped, results })
}

/// Fetches what the rows name, plans them with core's rules and writes records and keys (and,
/// with `capture`, the before-images of the records it updates).
pub(crate) fn plan_and_write(
    tx: &Connection,
    org: i64,
    mut write: RecordWrite,
    capture: Option<Capture>,
) -> StoreResult<ChunkPlan> {
    let existing = fetch_existing(tx, org, &write.module, write.operation, &write.rows)?;
    let id_count = write.new_id_count();
    let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
    let mut new_ids = (first_id..first_id + id_count).map(RecordId::new);
    // Inserts update nothing: only an update or upsert keeps what it found.
    let before = match capture {
        Some(_) if !existing.records.is_empty() => existing.records.clone(),
        _ => std::collections::HashMap::new(),
    };
    let plan = plan_chunk(write.take_plan_input(), existing, &mut new_ids);

    let now = ms(write.now);
    let actor = write.actor.get() as i64;
    let module = write.module.as_str();
    insert_records(tx, org, module, actor, now, &plan.inserts)?;
    let mut update = tx
        .prepare_cached(
            "UPDATE records SET owner = ?1, layout_id = ?2, modified_by = ?3, modified_at = ?4, data = ?5, version = version + 1
             WHERE id = ?6 AND org = ?7 RETURNING version",
        )
        .map_err(db_error)?;
    let mut images = Vec::new();
    for record in &plan.updates {
        let version: Option<i64> = update
            .query_row(
                params![
                    record.owner.get() as i64,
                    record.layout_id,
                    actor,
                    now,
                    record.data()?,
                    record.id.get() as i64,
                    org
                ],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error)?;
        if let (Some(version), Some(old)) = (version, before.get(&record.id)) {
            let keys = bulkwrite_store::undo::keys_after(old, &plan.key_deletes, &plan.key_inserts);
            let image = bulkwrite_store::undo::before_image(old, record, &keys);
            images.push((record.id, version, serde_json::to_string(&image).map_err(json_error)?));
        }
    }
    drop(update);
    if let Some(capture) = capture {
        insert_many(
            tx,
            "undo_images (job_id, record_id, idx, first_row, version, image_json)",
            6,
            &images,
            |(id, version, image), bind| {
                bind(&capture.job).map_err(db_error)?;
                bind(&(id.get() as i64)).map_err(db_error)?;
                bind(&capture.resource).map_err(db_error)?;
                bind(&capture.chunk_at).map_err(db_error)?;
                bind(version).map_err(db_error)?;
                bind(image).map_err(db_error)
            },
        )?;
    }
    let mut delete_key = tx
        .prepare_cached("DELETE FROM record_keys WHERE org = ?1 AND module = ?2 AND field = ?3 AND value = ?4")
        .map_err(db_error)?;
    for (field, value) in &plan.key_deletes {
        delete_key.execute(params![org, module, field, value]).map_err(db_error)?;
    }
    let keys = insert_keys(tx, org, module, &plan.key_inserts)?;
    if keys < plan.key_inserts.len() {
        return Err(StoreError::Conflict("a unique key the chunk probed as free is taken".into()));
    }
    Ok(plan)
}

/// A new record as the `records` table takes it: a planned one, or one read in place from its row.
pub(crate) trait NewRecord {
    fn columns(&self) -> (RecordId, UserId, Option<&str>);
    fn data(&self) -> StoreResult<String>;
}

impl NewRecord for PlannedRecord {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id.as_deref())
    }
    fn data(&self) -> StoreResult<String> {
        serde_json::to_string(&self.values).map_err(json_error)
    }
}

impl NewRecord for NewRecordView<'_> {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id)
    }
    fn data(&self) -> StoreResult<String> {
        serde_json::to_string(&self.values).map_err(json_error)
    }
}

/// Inserts a chunk's new records. `OR IGNORE` and a count (see `insert_many_ignoring`): their
/// ids are new, so one left out is a conflict.
pub(crate) fn insert_records<T: NewRecord>(
    tx: &Connection,
    org: i64,
    module: &str,
    actor: i64,
    now: i64,
    records: &[T],
) -> StoreResult<()> {
    let columns = "records (id, org, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data)";
    let inserted = insert_many_ignoring(tx, columns, 10, records, |record, bind| {
        let (id, owner, layout_id) = record.columns();
        bind(&(id.get() as i64)).map_err(db_error)?;
        bind(&org).map_err(db_error)?;
        bind(&module).map_err(db_error)?;
        bind(&(owner.get() as i64)).map_err(db_error)?;
        bind(&layout_id).map_err(db_error)?;
        bind(&actor).map_err(db_error)?;
        bind(&actor).map_err(db_error)?;
        bind(&now).map_err(db_error)?;
        bind(&now).map_err(db_error)?;
        bind(&record.data()?).map_err(db_error)
    })?;
    if inserted < records.len() {
        return Err(StoreError::Conflict("a new record's id is taken".into()));
    }
    Ok(())
}

/// Inserts a chunk's unique keys, leaving out (`OR IGNORE`) those another record holds; returns
/// how many went in.
pub(crate) fn insert_keys(tx: &Connection, org: i64, module: &str, keys: &[(Key, RecordId)]) -> StoreResult<usize> {
    insert_many_ignoring(
        tx,
        "record_keys (org, module, field, value, record_id)",
        5,
        keys,
        |((field, value), record), bind| {
            bind(&org).map_err(db_error)?;
            bind(&module).map_err(db_error)?;
            bind(field).map_err(db_error)?;
            bind(value).map_err(db_error)?;
            bind(&(record.get() as i64)).map_err(db_error)
        },
    )
}

pub(crate) fn fetch_existing(
    tx: &Connection,
    org: i64,
    module: &str,
    operation: Operation,
    rows: &[RowDraft],
) -> StoreResult<ExistingState> {
    let probes = probes_for(rows);
    let mut existing = ExistingState::default();
    // One probe per field: the chunk's values travel as one JSON array.
    let mut by_field: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (field, value) in &probes.keys {
        by_field.entry(field.as_str()).or_default().push(value.as_str());
    }
    let mut find_keys = tx
        .prepare_cached(
            "SELECT value, record_id FROM record_keys
             WHERE org = ?1 AND module = ?2 AND field = ?3 AND value IN (SELECT value FROM json_each(?4))",
        )
        .map_err(db_error)?;
    for (field, values) in by_field {
        let array = serde_json::to_string(&values).map_err(json_error)?;
        let rows = find_keys
            .query_map(params![org, module, field, array], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .map_err(db_error)?;
        for row in rows {
            let (value, id) = row.map_err(db_error)?;
            existing.keys.insert((field.to_string(), value), RecordId::new(id as u64));
        }
    }
    if operation == Operation::Insert {
        return Ok(existing);
    }
    let mut wanted: Vec<RecordId> = probes.ids.clone();
    wanted.extend(existing.keys.values().copied());
    wanted.sort();
    wanted.dedup();
    for id in wanted {
        if let Some(record) = load_record(tx, org, module, id)? {
            existing.records.insert(id, record);
        }
    }
    Ok(existing)
}

fn load_record(tx: &Connection, org: i64, module: &str, id: RecordId) -> StoreResult<Option<ExistingRecord>> {
    let row: Option<(i64, Option<String>, String)> = tx
        .prepare_cached("SELECT owner, layout_id, data FROM records WHERE id = ?1 AND org = ?2 AND module = ?3")
        .map_err(db_error)?
        .query_row(params![id.get() as i64, org, module], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()
        .map_err(db_error)?;
    let Some((owner, layout_id, data)) = row else {
        return Ok(None);
    };
    let mut keys = Vec::new();
    let mut statement =
        tx.prepare_cached("SELECT field, value FROM record_keys WHERE record_id = ?1").map_err(db_error)?;
    let rows = statement
        .query_map([id.get() as i64], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(db_error)?;
    for row in rows {
        keys.push(row.map_err(db_error)?);
    }
    Ok(Some(ExistingRecord {
        id,
        values: serde_json::from_str(&data).map_err(json_error)?,
        owner: UserId::new(owner as u64),
        layout_id,
        keys,
    }))
}
