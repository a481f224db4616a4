//! What a chunk reads before it plans: the owners of the keys its rows name, and the records it
//! may update with their keys and versions.
//!
//! A chunk that looks records up (updates, upserts) reads either
//! - **locked**, after the chunk before it has settled: the records come back `FOR UPDATE`, as
//!   they were when the chunk before committed; or
//! - **ahead**, while the chunk before is still being written (see [`read_ahead`]): nothing is
//!   locked, and what was read is then checked against what the chunk before wrote (its
//!   [`Touched`], published before it signals its keys written). If the two meet, the chunk reads
//!   again, locked, once the chunk before has settled. If they do not, what was read is what a
//!   locked read after the chunk before would have returned, except for other jobs' writes: the
//!   update then names the version of each record it read, and a record changed since (by any
//!   writer: every write bumps the version) makes the chunk fail as retryable, like a key
//!   another node took (see `crate::error::write_error`); it is planned again, locked.

use std::collections::{BTreeMap, HashMap, HashSet};

use bulkwrite_core::ids::{JobId, RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{probes_for, ChunkPlan, ExistingRecord, ExistingState, Key};
use bulkwrite_store::{ChunkOrder, StoreResult};
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use tokio_postgres::types::Json;

use crate::ids::WriteHints;
use crate::signed;
use crate::statements::{get, get_u64, query};

// Lookups by many values go one value at a time through a unique index (`unnest` and a
// `LATERAL` probe), never as `= ANY($n)` beside the `org`/`module` prefix: on a table that has
// not been analysed yet (a new org's first import) the planner takes that prefix for selective,
// scans all of the module's keys and filters them, which costs O(records) per chunk. `LIMIT 1`
// and `FOR UPDATE` keep each probe a separate index lookup.

/// Existing owners of `($4)` values of one key field.
const PROBE_KEYS: &str = "SELECT v.value, k.record_id FROM unnest($4::text[]) AS v (value)
     CROSS JOIN LATERAL (
         SELECT record_id FROM record_keys WHERE org = $1 AND module = $2 AND field = $3 AND value = v.value LIMIT 1
     ) AS k";

/// The records `($3)` a chunk may update, locked in the (ascending) order given, so concurrent
/// chunks updating the same records queue instead of overwriting each other, without deadlocks.
const LOCK_RECORDS: &str = "SELECT r.id, r.owner, r.layout_id, r.data, r.version FROM unnest($3::int8[]) AS u (id)
     CROSS JOIN LATERAL (
         SELECT id, owner, layout_id, data, version FROM records WHERE id = u.id AND org = $1 AND module = $2 FOR UPDATE
     ) AS r";

/// The records `($3)` a chunk may update, read ahead without locks (see the module's comment).
/// Locking a record writes to its page (and, first after a checkpoint, the whole page to the
/// WAL); the update that follows writes it anyway.
const READ_RECORDS: &str = "SELECT r.id, r.owner, r.layout_id, r.data, r.version FROM unnest($3::int8[]) AS u (id)
     CROSS JOIN LATERAL (
         SELECT id, owner, layout_id, data, version FROM records WHERE id = u.id AND org = $1 AND module = $2 LIMIT 1
     ) AS r";

/// The keys of records `($1)` (found above, within the org).
const KEYS_OF_RECORDS: &str = "SELECT u.id, k.field, k.value FROM unnest($1::int8[]) AS u (id)
     CROSS JOIN LATERAL (SELECT field, value FROM record_keys WHERE record_id = u.id OFFSET 0) AS k";

/// Whether a read locks the records it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    Records,
    None,
}

/// What a chunk read: the state it plans against, the version of each record in it, and every
/// key and record id the read depended on.
#[derive(Default)]
pub(crate) struct Read {
    pub existing: ExistingState,
    pub versions: HashMap<RecordId, i64>,
    keys: Vec<Key>,
    ids: Vec<RecordId>,
}

/// What a chunk writes that a chunk read ahead of its commit may have read: every key it takes
/// or frees, every record it creates or updates; and the checkpoint it follows.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    keys: HashSet<Key>,
    ids: HashSet<RecordId>,
    follows: u64,
}

impl Touched {
    /// What `plan` writes.
    pub fn of_plan(plan: &ChunkPlan) -> Touched {
        let mut touched = Touched::default();
        touched.keys.extend(plan.key_deletes.iter().cloned());
        touched.keys.extend(plan.key_inserts.iter().map(|(key, _)| key.clone()));
        touched.ids.extend(plan.inserts.iter().chain(&plan.updates).map(|record| record.id));
        touched
    }

    /// What an optimistic insert writes: keys `key_inserts` and records `ids`.
    pub fn of_insert(key_inserts: &[(Key, RecordId)], ids: impl Iterator<Item = RecordId>) -> Touched {
        Touched { keys: key_inserts.iter().map(|(key, _)| key.clone()).collect(), ids: ids.collect(), follows: 0 }
    }

    /// Whether `read` depended on anything this wrote.
    fn meets(&self, read: &Read) -> bool {
        read.keys.iter().any(|key| self.keys.contains(key)) || read.ids.iter().any(|id| self.ids.contains(id))
    }
}

/// Where a job's chunk stands, to publish what it writes for the chunk after it (see
/// [`WriteHints::publish_touched`]).
#[derive(Clone, Copy)]
pub(crate) struct Ahead<'a> {
    pub hints: &'a WriteHints,
    pub job: JobId,
    pub resource: usize,
    /// The checkpoint the chunk follows, and the one it moves to.
    pub rows_done_before: u64,
    pub rows_done: u64,
}

impl Ahead<'_> {
    /// Tells the chunk after this one what this one writes. Before `ChunkOrder::keys_written`.
    pub fn publish(&self, touched: Touched) {
        let touched = Touched { follows: self.rows_done_before, ..touched };
        self.hints.publish_touched((self.job, self.resource, self.rows_done), touched);
    }
}

/// Reads for a chunk that looks records up. With `ahead` and the chunk before still in flight,
/// reads without waiting for it, then waits for it to have written and checks what it wrote
/// (see the module's comment); otherwise waits for it to settle and reads locked.
///
/// A read ahead stands only if every chunk before the one in flight had committed when it began
/// (this node's last committed checkpoint was the one the chunk before follows): a caller may
/// keep more than two chunks in flight, and the check covers only the chunk just before.
pub(crate) async fn read_for_plan(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
    ahead: Option<Ahead<'_>>,
    order: &mut ChunkOrder,
) -> StoreResult<Read> {
    let in_flight = order.previous_settled().now_or_never().is_none();
    if let (Some(ahead), true) = (ahead, in_flight) {
        let committed = ahead.hints.committed(ahead.job, ahead.resource);
        let read = read_existing(tx, (org, module), operation, rows, Lock::None).await?;
        order.previous_keys_written().await;
        let before = ahead.hints.take_touched((ahead.job, ahead.resource, ahead.rows_done_before));
        if before.is_some_and(|touched| committed == Some(touched.follows) && !touched.meets(&read)) {
            return Ok(read);
        }
    }
    order.previous_settled().await;
    read_existing(tx, (org, module), operation, rows, Lock::Records).await
}

/// The owners of the keys `rows` name, and for updates and upserts the records they may update
/// (locked or not) with their keys.
pub(crate) async fn read_existing(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
    lock: Lock,
) -> StoreResult<Read> {
    let probes = probes_for(rows);
    let mut read = Read::default();
    // One probe per field: the chunk's values travel as one array.
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (field, value) in &probes.keys {
        by_field.entry(field.as_str()).or_default().push(value.as_str());
    }
    for (field, values) in by_field {
        let found = query(tx, PROBE_KEYS, &[&org, &module, &field, &values]).await?;
        for row in &found {
            let value: String = get(row, 0)?;
            read.existing.keys.insert((field.to_string(), value), RecordId::new(get_u64(row, 1)?));
        }
    }
    if operation == Operation::Insert {
        read.keys = probes.keys;
        return Ok(read);
    }
    let mut wanted: Vec<i64> = probes.ids.iter().map(|id| signed(id.get())).collect();
    wanted.extend(read.existing.keys.values().map(|id| signed(id.get())));
    wanted.sort_unstable();
    wanted.dedup();
    read.keys = probes.keys;
    read.ids = wanted.iter().map(|id| RecordId::new(*id as u64)).collect();
    if wanted.is_empty() {
        return Ok(read);
    }
    let statement = if lock == Lock::Records { LOCK_RECORDS } else { READ_RECORDS };
    let found = query(tx, statement, &[&org, &module, &wanted]).await?;
    for row in &found {
        let id = RecordId::new(get_u64(row, 0)?);
        let Json(values) = get::<Json<Map<String, Value>>>(row, 3)?;
        let record = ExistingRecord {
            id,
            values,
            owner: UserId::new(get_u64(row, 1)?),
            layout_id: get(row, 2)?,
            keys: Vec::new(),
        };
        read.existing.records.insert(id, record);
        read.versions.insert(id, get(row, 4)?);
    }
    let ids: Vec<i64> = read.existing.records.keys().map(|id| signed(id.get())).collect();
    let keys = query(tx, KEYS_OF_RECORDS, &[&ids]).await?;
    for row in &keys {
        let id = RecordId::new(get_u64(row, 0)?);
        if let Some(record) = read.existing.records.get_mut(&id) {
            record.keys.push((get(row, 1)?, get(row, 2)?));
        }
    }
    for record in read.existing.records.values_mut() {
        record.keys.sort();
        // A key the read found a record holding is one it depended on too.
        read.keys.extend(record.keys.iter().cloned());
    }
    Ok(read)
}

/// [`read_existing`], locked, for a write that has only the state to keep (dry runs).
pub(crate) async fn fetch_existing(
    tx: &Transaction<'_>,
    org: i64,
    module: &str,
    operation: Operation,
    rows: &[RowDraft],
) -> StoreResult<ExistingState> {
    Ok(read_existing(tx, (org, module), operation, rows, Lock::Records).await?.existing)
}
