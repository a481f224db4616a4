//! Applying one chunk: fetch what the rows name, plan with core's rules, write the plan, the
//! result rows (and the failed rows' reasons), the counters and the checkpoint. Runs inside the caller's fenced transaction.

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use std::borrow::Cow;
use std::collections::HashMap;

use bulkwrite_core::plan::{plan_chunk, ChunkPlan, ExistingState, Key, NewRecordView, PlannedRecord};
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use rusqlite::{params, Connection, OptionalExtension};

use ahead::Planned;
use stored::{read_named, Lookups, Named};

use crate::batch::{insert_many, insert_many_ignoring};
use crate::key_scopes::Scopes;
use crate::key_slots;
use crate::new_keys::{insert_prepared, prepare, unprobed, Attempt, Hints, Prepared};
use crate::orgs::reserve_ids;
use crate::{db_error, json_error, ms};

pub(crate) mod ahead;
pub(crate) mod stored;

/// An insert's chunk skips the key probes unless its job met existing keys before (see
/// `new_keys`, whose `hints` remember those jobs); `prepared`, it was planned before (its
/// records taken from `chunk`).
pub(crate) fn apply_chunk(
    tx: &Connection,
    lease: &Lease,
    mut chunk: ChunkWrite,
    hints: &Hints,
    prepared: Option<Prepared>,
) -> StoreResult<ChunkOutcome> {
    // Refused before it writes anything: the writer then keeps the chunks its transaction
    // holds (see `writer`: a batched chunk has no savepoint of its own).
    at_checkpoint(tx, lease, chunk.resource, chunk.rows_done_before)?;
    if chunk.dry_run {
        return crate::dry_run::apply_dry_chunk(tx, lease, chunk);
    }
    let capture = Capture {
        job: lease.job.get() as i64,
        resource: chunk.resource as i64,
        chunk_at: chunk.rows_done_before as i64,
    };
    let org = lease.org.get() as i64;
    let prepared = match prepared {
        Some(prepared) => prepared,
        None => {
            let write = chunk.take_records();
            if !unprobed(hints, lease.job, write.operation) {
                let plan = plan_and_write(tx, org, write, Some(capture))?;
                return record_progress(tx, lease, &chunk, plan, None);
            }
            prepare(write)?
        }
    };
    let (plan, results_json) = match insert_prepared(tx, org, prepared)? {
        Attempt::Written(plan, results_json) => (plan, Some(results_json)),
        Attempt::MetKeys(write) => {
            hints.mark(lease.job);
            (plan_and_write(tx, org, write, Some(capture))?, None)
        }
    };
    record_progress(tx, lease, &chunk, plan, results_json)
}

/// Fails with [`StoreError::checkpoint_moved`] unless resource `index` of the lease's job is at
/// checkpoint `before` (the chunk's result rows are stored with the same check).
fn at_checkpoint(tx: &Connection, lease: &Lease, index: usize, before: u64) -> StoreResult<()> {
    let stored: Option<i64> = tx
        .prepare_cached("SELECT rows_done FROM job_resources WHERE job_id = ?1 AND idx = ?2")
        .map_err(db_error)?
        .query_row(params![lease.job.get() as i64, index as i64], |row| row.get(0))
        .optional()
        .map_err(db_error)?;
    match stored {
        Some(rows_done) if rows_done == before as i64 => Ok(()),
        _ => Err(StoreError::checkpoint_moved(index, before)),
    }
}

/// Where a job's chunk keeps the before-images of the records it updates (see
/// `bulkwrite_store::undo`): the job, the resource and the chunk's place in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capture {
    pub job: i64,
    pub resource: i64,
    pub chunk_at: i64,
}

/// Stores a planned chunk's result rows (`results_json` when already encoded) and moves its
/// resource's counters and checkpoint, refusing the chunk unless the stored checkpoint is the one
/// it follows.
pub(crate) fn record_progress(
    tx: &Connection,
    lease: &Lease,
    chunk: &ChunkWrite,
    plan: ChunkPlan,
    results_json: Option<String>,
) -> StoreResult<ChunkOutcome> {
    record_progress_at(tx, lease, (chunk.resource, chunk.rows_done_before, chunk.rows_done), plan, results_json)
}

/// [`record_progress`] of resource `resource` from checkpoint `before` to `after`, with the plan's
/// result rows already encoded when `results_json` holds them.
pub(crate) fn record_progress_at(
    tx: &Connection,
    lease: &Lease,
    (index, before, after): (usize, u64, u64),
    mut plan: ChunkPlan,
    results_json: Option<String>,
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
            match results_json {
                Some(encoded) => encoded,
                None => bulkwrite_store::result_rows::encode(&plan.results)?,
            }
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
        .prepare_cached(
            "UPDATE job_resources SET rows_done = ?1, added = added + ?2, updated = updated + ?3, skipped = skipped + ?4
             WHERE job_id = ?5 AND idx = ?6 AND rows_done = ?7",
        )
        .map_err(db_error)?
        .execute(
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
/// with `capture`, the before-images of the records it updates). An update or upsert merges its
/// rows into the stored records' text (see `bulkwrite_store::merge`), as a chunk planned ahead
/// does ([`ahead`]); an insert, or a chunk that updates a record it inserts itself, plans with
/// the records' maps.
pub(crate) fn plan_and_write(
    tx: &Connection,
    org: i64,
    write: RecordWrite,
    capture: Option<Capture>,
) -> StoreResult<ChunkPlan> {
    plan_and_write_noting(tx, org, write, capture, &mut Vec::new())
}

/// [`plan_and_write`], adding to `written` the records it creates or changes.
pub(crate) fn plan_and_write_noting(
    tx: &Connection,
    org: i64,
    write: RecordWrite,
    capture: Option<Capture>,
    written: &mut Vec<RecordId>,
) -> StoreResult<ChunkPlan> {
    if write.operation == Operation::Insert {
        // Inserts read keys only.
        let named = read_named(tx, org, &write.module, &write.rows, true)?;
        let id_count = write.new_id_count();
        let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
        return plan_with_maps(tx, org, ahead::Read { write, named, first_id }, capture, written);
    }
    let lookups = Lookups::of(&write.rows)?;
    let read = ahead::read(tx, org, write, lookups)?;
    match ahead::plan(read, capture.is_some())? {
        Planned::Ahead(planned) => {
            let (plan, _, touched) = planned.write(tx, org, capture)?;
            written.extend(touched.records);
            Ok(plan)
        }
        Planned::WithMaps(read) => plan_with_maps(tx, org, *read, capture, written),
    }
}

/// Plans what was read with the records' maps (core's planner builds every record), and writes it.
fn plan_with_maps(
    tx: &Connection,
    org: i64,
    read: ahead::Read,
    capture: Option<Capture>,
    written: &mut Vec<RecordId>,
) -> StoreResult<ChunkPlan> {
    let ahead::Read { mut write, named, first_id } = read;
    let Named { keys, records: stored, .. } = named;
    let id_count = write.new_id_count();
    let new_ids = || (first_id..first_id + id_count).map(RecordId::new);
    let input = write.take_plan_input();
    let mut existing = ExistingState { keys, records: HashMap::with_capacity(stored.len()) };
    for (id, record) in &stored {
        existing.records.insert(*id, record.existing(*id, true)?);
    }
    let (now, actor, module) = (ms(write.now), write.actor.get() as i64, write.module.as_str());
    // Inserts update nothing: only an update or upsert keeps what it found.
    let before = match capture {
        Some(_) if !existing.records.is_empty() => existing.records.clone(),
        _ => HashMap::new(),
    };
    let plan = plan_chunk(input, existing, &mut new_ids());
    insert_records(tx, org, module, actor, now, &plan.inserts)?;
    written.extend(plan.inserts.iter().chain(&plan.updates).map(|record| record.id));
    let mut update = Update::prepare(tx, org, actor, now)?;
    let mut images = Vec::new();
    for record in &plan.updates {
        let data = record.data()?;
        let written = update.write(record.id, record.owner, record.layout_id.as_deref(), Some(&data))?;
        let version = stored.get(&record.id).map(|stored| stored.version + 1).filter(|_| written);
        if let (Some(version), Some(old)) = (version, before.get(&record.id)) {
            let image = bulkwrite_store::undo::chunk_image(old, record, &plan);
            images.push((record.id, version, serde_json::to_string(&image).map_err(json_error)?));
        }
    }
    drop(update);
    insert_images(tx, capture, &images)?;
    write_keys(tx, org, module, &plan)?;
    Ok(plan)
}

/// The statement that writes an updated record (its version one up).
struct Update<'conn> {
    statement: rusqlite::CachedStatement<'conn>,
    org: i64,
    actor: i64,
    now: i64,
}

impl<'conn> Update<'conn> {
    fn prepare(tx: &'conn Connection, org: i64, actor: i64, now: i64) -> StoreResult<Update<'conn>> {
        // No `RETURNING`: it made each statement one SQLite journals on its own (a statement
        // journal truncated at its end, 11% of the upsert's writer); the version is the one read
        // with the record, plus one.
        let statement = tx
            .prepare_cached(
                "UPDATE records SET owner = ?1, layout_id = ?2, modified_by = ?3, modified_at = ?4,
                 data = COALESCE(?5, data), version = version + 1
                 WHERE id = ?6 AND org = ?7",
            )
            .map_err(db_error)?;
        Ok(Update { statement, org, actor, now })
    }

    /// Whether the record was there to write. `data: None` keeps its stored data (see
    /// `bulkwrite_store::merge::Merged`).
    fn write(&mut self, id: RecordId, owner: UserId, layout_id: Option<&str>, data: Option<&str>) -> StoreResult<bool> {
        let changed = self
            .statement
            .execute(params![owner.get() as i64, layout_id, self.actor, self.now, data, id.get() as i64, self.org])
            .map_err(db_error)?;
        Ok(changed > 0)
    }
}

/// Stores the before-images of a chunk's updated records (none without `capture`).
fn insert_images(tx: &Connection, capture: Option<Capture>, images: &[(RecordId, i64, String)]) -> StoreResult<()> {
    let Some(capture) = capture else { return Ok(()) };
    insert_many(
        tx,
        "undo_images (job_id, record_id, idx, first_row, version, image_json)",
        6,
        images,
        |(id, version, image), bind| {
            bind(&capture.job).map_err(db_error)?;
            bind(&(id.get() as i64)).map_err(db_error)?;
            bind(&capture.resource).map_err(db_error)?;
            bind(&capture.chunk_at).map_err(db_error)?;
            bind(version).map_err(db_error)?;
            bind(image).map_err(db_error)
        },
    )
}

/// Removes the keys the plan releases and gives the records the keys it takes (which it
/// probed as free).
fn write_keys(tx: &Connection, org: i64, module: &str, plan: &ChunkPlan) -> StoreResult<()> {
    let mut scopes = Scopes::new(org, module);
    for (field, value) in &plan.key_deletes {
        key_slots::delete_value(tx, scopes.get(tx, field)?, value)?;
    }
    for ((field, value), record) in &plan.key_inserts {
        key_slots::insert_free(tx, scopes.get(tx, field)?, value, record.get() as i64)?;
    }
    Ok(())
}

/// A new record as the `records` table takes it: a planned one, or one read in place from its row.
pub(crate) trait NewRecord {
    fn columns(&self) -> (RecordId, UserId, Option<&str>);
    fn data(&self) -> StoreResult<Cow<'_, str>>;
}

impl NewRecord for PlannedRecord {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id.as_deref())
    }
    fn data(&self) -> StoreResult<Cow<'_, str>> {
        serde_json::to_string(&self.values).map(Cow::Owned).map_err(json_error)
    }
}

impl NewRecord for NewRecordView<'_> {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id)
    }
    fn data(&self) -> StoreResult<Cow<'_, str>> {
        // The text the values were frozen into as the row was mapped, if they were.
        match self.values.written() {
            Some(text) => Ok(Cow::Borrowed(text)),
            None => serde_json::to_string(&self.values).map(Cow::Owned).map_err(json_error),
        }
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
        bind(&record.data()?.as_ref()).map_err(db_error)
    })?;
    if inserted < records.len() {
        return Err(StoreError::Conflict("a new record's id is taken".into()));
    }
    Ok(())
}

/// Gives a chunk's new records their unique keys, unprobed: each key takes its home slot, and
/// one whose home another key holds (the same value, most likely) is left out (`OR IGNORE`).
/// Returns how many took their slot; when that is fewer than all, the caller takes the chunk's
/// keys back ([`key_slots::delete_of_records`]) and plans again with probes.
pub(crate) fn insert_keys(tx: &Connection, org: i64, module: &str, keys: &[(Key, RecordId)]) -> StoreResult<usize> {
    let mut scopes = Scopes::new(org, module);
    let slotted = keys
        .iter()
        .map(|((field, value), record)| {
            Ok((record.get() as i64, scopes.get(tx, field)?, value.as_str(), key_slots::home_slot(value)))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    insert_many(
        tx,
        "unique_keys (record_id, scope, value, slot)",
        4,
        &slotted,
        |(record, scope, value, slot), bind| {
            bind(record).map_err(db_error)?;
            bind(scope).map_err(db_error)?;
            bind(value).map_err(db_error)?;
            bind(slot).map_err(db_error)
        },
    )?;
    insert_many_ignoring(tx, "key_slots (scope, slot, record_id)", 3, &slotted, |(record, scope, _, slot), bind| {
        bind(scope).map_err(db_error)?;
        bind(slot).map_err(db_error)?;
        bind(record).map_err(db_error)
    })
}

/// What the rows name, with the records' maps (a dry run plans against them).
pub(crate) fn fetch_existing(
    tx: &Connection,
    org: i64,
    module: &str,
    operation: Operation,
    rows: &[RowDraft],
) -> StoreResult<ExistingState> {
    let Named { keys, records, .. } = read_named(tx, org, module, rows, operation == Operation::Insert)?;
    let mut existing = ExistingState { keys, records: HashMap::with_capacity(records.len()) };
    for (id, record) in &records {
        existing.records.insert(*id, record.existing(*id, true)?);
    }
    Ok(existing)
}
