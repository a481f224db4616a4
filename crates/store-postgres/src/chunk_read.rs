//! What a chunk reads before it plans: the owners of the keys its rows name, and the records it
//! may update (locked) with their keys and versions. Reads wait until the chunk before has
//! settled, so they see what it wrote.

use std::collections::HashMap;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{probes_for, ExistingRecord, ExistingState, Probes};
use bulkwrite_store::{Before, ChunkOrder, StoreResult, Touched};
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

use crate::statements::{get, get_u64, query};
use crate::{pg_error, signed};

// Lookups by many values go one value at a time through a unique index (`unnest` and a
// `LATERAL` probe), never as `= ANY($n)` beside the `org`/`module` prefix: on a table that has
// not been analysed yet (a new org's first import) the planner takes that prefix for selective,
// scans all of the module's keys and filters them, which costs O(records) per chunk. `LIMIT 1`
// and `FOR UPDATE` keep each probe a separate index lookup.

/// Existing owners of the keys `($3, $4)` (parallel arrays of fields and values).
const PROBE_KEYS: &str = "SELECT v.field, v.value, k.record_id FROM unnest($3::text[], $4::text[]) AS v (field, value)
     CROSS JOIN LATERAL (
         SELECT u.record_id FROM key_scopes s JOIN unique_keys u ON u.scope = s.id
         WHERE s.org = $1 AND s.module = $2 AND s.field = v.field AND u.value = v.value LIMIT 1
     ) AS k";

/// Everything an update or upsert reads, in one statement (one round trip, where three went one
/// after the other): the owners of the keys `($3, $4)` (rows of kind 0: field, value, record id);
/// the records those keys and the ids `($5)` name (kind 1: id, owner, layout, data, version),
/// locked in ascending id order, so concurrent chunks updating the same records queue instead of
/// overwriting each other, without deadlocks; and those records' keys (kind 2: id, field, value).
/// A locked record's row also carries its place in the table (`ctid`, as text): it stays put
/// while the lock is held, so the chunk's `UPDATE` goes straight to it instead of descending
/// the primary key again for every record.
const READ_FOR_UPDATE: &str = "WITH probes AS (
         SELECT v.field, v.value, k.record_id FROM unnest($3::text[], $4::text[]) AS v (field, value)
         CROSS JOIN LATERAL (
             SELECT u.record_id FROM key_scopes s JOIN unique_keys u ON u.scope = s.id
             WHERE s.org = $1 AND s.module = $2 AND s.field = v.field AND u.value = v.value LIMIT 1
         ) AS k
     ), locked AS (
         SELECT r.id, r.owner, r.layout_id, r.data, r.version, r.ctid
         FROM unnest(ARRAY(
             SELECT DISTINCT w.id FROM (SELECT record_id FROM probes UNION ALL SELECT unnest($5::int8[])) AS w (id)
             ORDER BY w.id
         )) AS u (id)
         CROSS JOIN LATERAL (
             SELECT id, owner, layout_id, data, version, ctid FROM records WHERE id = u.id AND org = $1 AND module = $2 FOR UPDATE
         ) AS r
     )
     SELECT 0, record_id, field, value, NULL::int8, NULL::text, NULL::json, NULL::int8, NULL::text FROM probes
     UNION ALL
     SELECT 1, id, NULL, NULL, owner, layout_id, data, version, ctid::text FROM locked
     UNION ALL
     SELECT 2, l.id, k.field, k.value, NULL, NULL, NULL, NULL, NULL FROM locked AS l
     CROSS JOIN LATERAL (
         SELECT s.field, u.value FROM unique_keys u JOIN key_scopes s ON s.id = u.scope WHERE u.record_id = l.id OFFSET 0
     ) AS k";

/// What a chunk read: the state it plans against, the version of each record in it, and the
/// rows the records came from.
#[derive(Default)]
pub(crate) struct Read {
    pub existing: ExistingState,
    pub versions: HashMap<RecordId, i64>,
    /// Where each locked record is in the table (its `ctid`, as text; see [`READ_FOR_UPDATE`]).
    pub places: HashMap<RecordId, String>,
    pub stored: StoredValues,
    /// What was looked up: the keys and ids the rows name.
    pub probes: Probes,
}

/// The records' values as read (JSON text in the rows), for a second, lazy parse. Planning
/// moves the parsed values into the records it writes; the before-images need them again, and
/// parsing them again while the database runs the `UPDATE` costs less, on the path each chunk
/// waits for, than deep-copying every record before planning.
#[derive(Default)]
pub(crate) struct StoredValues {
    rows: Vec<Row>,
    at: HashMap<RecordId, usize>,
}

impl StoredValues {
    /// The values of record `id` as read, parsed again.
    pub fn values(&self, id: RecordId) -> StoreResult<Option<Map<String, Value>>> {
        let Some(&index) = self.at.get(&id) else { return Ok(None) };
        let Json(values) = get::<Json<Map<String, Value>>>(&self.rows[index], 6)?;
        Ok(Some(values))
    }
}

/// Reads for a chunk that looks records up, as of once the chunk before it (`order`) has
/// settled.
///
/// The reads start as soon as the chunk before has planned (its locks are taken and it reads no
/// more), and run beside its writes; once it has settled, they are made again only if they may
/// have seen what it changed: a key it took or freed, or a record it wrote, among what this
/// chunk probed or found (a record it wrote and this chunk locks was waited for and read as it
/// left it, but its keys came from before). Updates and upserts of a file whose rows name
/// different records read once, while the chunk before writes, instead of after it.
pub(crate) async fn read_for_plan(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
    order: &mut ChunkOrder,
) -> StoreResult<Read> {
    order.previous_planned().await;
    let read = read_existing(tx, (org, module), operation, rows).await?;
    match order.previous_settled_touching().await {
        Before::Nothing => Ok(read),
        Before::Touched(touched) if !read.may_have_missed(&touched) => Ok(read),
        before @ (Before::Touched(_) | Before::Unknown) => {
            tracing::debug!(known = matches!(before, Before::Touched(_)), "read again after the chunk before wrote");
            read_existing(tx, (org, module), operation, rows).await
        }
    }
}

impl Read {
    /// Whether these reads may predate something `touched` (what the chunk before wrote).
    fn may_have_missed(&self, touched: &Touched) -> bool {
        let keys = self.probes.keys.iter().chain(self.existing.keys.keys());
        let records = self.probes.ids.iter().chain(self.existing.records.keys()).chain(self.existing.keys.values());
        keys.into_iter().any(|key| touched.keys.contains(key))
            || records.into_iter().any(|id| touched.records.contains(id))
    }
}

/// The owners of the keys `rows` name, and for updates and upserts the records they may update
/// (locked) with their keys and versions.
pub(crate) async fn read_existing(
    tx: &Transaction<'_>,
    (org, module): (i64, &str),
    operation: Operation,
    rows: &[RowDraft],
) -> StoreResult<Read> {
    let mut read = Read { probes: probes_for(rows), ..Read::default() };
    let (fields, values): (Vec<&str>, Vec<&str>) =
        read.probes.keys.iter().map(|(field, value)| (field.as_str(), value.as_str())).unzip();
    if operation == Operation::Insert {
        if fields.is_empty() {
            return Ok(read);
        }
        for row in &query(tx, PROBE_KEYS, &[&org, &module, &fields, &values]).await? {
            read.existing.keys.insert((get(row, 0)?, get(row, 1)?), RecordId::new(get_u64(row, 2)?));
        }
        return Ok(read);
    }
    let ids: Vec<i64> = read.probes.ids.iter().map(|id| signed(id.get())).collect();
    if fields.is_empty() && ids.is_empty() {
        return Ok(read);
    }
    // The rows are decoded as they arrive: the records' JSON is parsed here while the database
    // goes on locking and sending the next ones, instead of after the last one.
    let statement = tx.prepare_cached(READ_FOR_UPDATE).await.map_err(pg_error)?;
    let params: [&(dyn ToSql + Sync); 5] = [&org, &module, &fields, &values, &ids];
    let stream = tx.query_raw(&statement, params).await.map_err(pg_error)?;
    futures_util::pin_mut!(stream);
    let mut found = Vec::new();
    let mut keys = Vec::new();
    while let Some(row) = stream.try_next().await.map_err(pg_error)? {
        match get::<i32>(&row, 0)? {
            0 => {
                read.existing.keys.insert((get(&row, 2)?, get(&row, 3)?), RecordId::new(get_u64(&row, 1)?));
            }
            1 => {
                let id = RecordId::new(get_u64(&row, 1)?);
                let Json(values) = get::<Json<Map<String, Value>>>(&row, 6)?;
                let owner = UserId::new(get_u64(&row, 4)?);
                let record = ExistingRecord { id, values, owner, layout_id: get(&row, 5)?, keys: Vec::new() };
                read.existing.records.insert(id, record);
                read.versions.insert(id, get(&row, 7)?);
                read.places.insert(id, get(&row, 8)?);
                read.stored.at.insert(id, found.len());
                found.push(row);
            }
            _ => keys.push((RecordId::new(get_u64(&row, 1)?), (get(&row, 2)?, get(&row, 3)?))),
        }
    }
    for (id, key) in keys {
        if let Some(record) = read.existing.records.get_mut(&id) {
            record.keys.push(key);
        }
    }
    for record in read.existing.records.values_mut() {
        record.keys.sort();
    }
    read.stored.rows = found;
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
