//! What a chunk reads before it plans: the owners of the keys its rows name, and the records it
//! may update (locked) with their keys and versions. Reads wait until the chunk before has
//! settled, so they see what it wrote.

use std::collections::{BTreeMap, HashMap};

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{probes_for, ExistingRecord, ExistingState};
use bulkwrite_store::{ChunkOrder, StoreResult};
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::types::Json;

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

/// The keys of records `($1)` (found above, within the org).
const KEYS_OF_RECORDS: &str = "SELECT u.id, k.field, k.value FROM unnest($1::int8[]) AS u (id)
     CROSS JOIN LATERAL (SELECT field, value FROM record_keys WHERE record_id = u.id OFFSET 0) AS k";

/// What a chunk read: the state it plans against, and the version of each record in it.
#[derive(Default)]
pub(crate) struct Read {
    pub existing: ExistingState,
    pub versions: HashMap<RecordId, i64>,
}

/// Reads for a chunk that looks records up, once the chunk before it (`order`) has settled.
pub(crate) async fn read_for_plan(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
    order: &mut ChunkOrder,
) -> StoreResult<Read> {
    order.previous_settled().await;
    read_existing(tx, (org, module), operation, rows).await
}

/// The owners of the keys `rows` name, and for updates and upserts the records they may update
/// (locked) with their keys and versions.
pub(crate) async fn read_existing(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
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
        return Ok(read);
    }
    let mut wanted: Vec<i64> = probes.ids.iter().map(|id| signed(id.get())).collect();
    wanted.extend(read.existing.keys.values().map(|id| signed(id.get())));
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(read);
    }
    let found = query(tx, LOCK_RECORDS, &[&org, &module, &wanted]).await?;
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
    Ok(read_existing(tx, (org, module), operation, rows).await?.existing)
}
