//! What a chunk reads before it plans: the owners of the keys its rows name, and the records it
//! may update (locked, or as committed) with their keys and versions. Reads wait until the chunk
//! before has settled, so they see what it wrote.

use std::collections::HashMap;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{probes_for, ExistingState, Key, Probes};
use bulkwrite_store::merge::StoredRecord;
use bulkwrite_store::{Before, ChunkOrder, StoreError, StoreResult};
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;

use crate::key_scopes::Scopes;
use crate::record_keys;
use crate::statements::{get, get_u64, query, Tid};
use crate::{pg_error, signed};

// Lookups by many values go one value at a time through a unique index (`unnest` and a
// `LATERAL` probe), never as `= ANY($n)` beside the `org`/`module` prefix: on a table that has
// not been analysed yet (a new org's first import) the planner takes that prefix for selective,
// scans all of the module's keys and filters them, which costs O(records) per chunk. `LIMIT 1`
// and `FOR UPDATE` keep each probe a separate index lookup.

/// Existing owners of the keys `($1, $2)` (parallel arrays of scopes and values, see
/// `key_scopes`), each owner with its key's number in `$3`: the chunk knows its keys, so they
/// are not sent back.
const PROBE_KEYS: &str =
    "SELECT v.n, k.record_id FROM unnest($1::int8[], $2::text[], $3::int4[]) AS v (scope, value, n)
     CROSS JOIN LATERAL (
         SELECT u.record_id FROM unique_keys u WHERE u.scope = v.scope AND u.value = v.value LIMIT 1
     ) AS k";

/// Everything an update or upsert reads, in one statement (one round trip, where three went one
/// after the other): the owners of the keys `($3, $4)` as in [`PROBE_KEYS`] (rows of kind 0:
/// record id, the key's number from `$5`); the records those keys and the ids `($6)` name (kind
/// 1: id, owner, layout, data, version, place, keys), in ascending id order, each with its keys
/// (`records.keys`, see `record_keys`). `$1` and `$2` are the org and module. `$lock` is
/// `FOR UPDATE` or `LIMIT 1` (see [`Locking`]; either keeps the lookup a probe of the primary
/// key, see above). Locked, the records are taken in id order, so concurrent writers of the same
/// records queue instead of overwriting each other, without deadlocks.
/// A record's data comes as text (`json` is stored as its text, so the cast copies it): the
/// chunk merges its rows into that text (`bulkwrite_store::merge`) instead of parsing it.
/// A record's row also carries its place in the table (`ctid`, see [`Tid`]): the chunk's
/// `UPDATE` goes straight to it instead of descending the primary key again for every record. A
/// record locked stays there while the lock is held; one read as committed may have moved since,
/// and is then not found there, which fails the write as a record changed since it was read.
macro_rules! read_sql {
    ($lock:literal) => {
        concat!(
            "WITH probes AS (
         SELECT v.n, k.record_id FROM unnest($3::int8[], $4::text[], $5::int4[]) AS v (scope, value, n)
         CROSS JOIN LATERAL (
             SELECT u.record_id FROM unique_keys u WHERE u.scope = v.scope AND u.value = v.value LIMIT 1
         ) AS k
     ), found AS (
         SELECT r.id, r.owner, r.layout_id, r.data, r.version, r.ctid, r.keys
         FROM unnest(ARRAY(
             SELECT DISTINCT w.id FROM (SELECT record_id FROM probes UNION ALL SELECT unnest($6::int8[])) AS w (id)
             ORDER BY w.id
         )) AS u (id)
         CROSS JOIN LATERAL (
             SELECT id, owner, layout_id, data, version, ctid, keys FROM records WHERE id = u.id AND org = $1 AND module = $2 ",
            $lock,
            "
         ) AS r
     )
     SELECT 0, record_id, n, NULL::int8, NULL::text, NULL::text, NULL::int8, NULL::tid, NULL::text FROM probes
     UNION ALL
     SELECT 1, id, NULL, owner, layout_id, data, version, ctid, keys FROM found"
        )
    };
}

/// [`read_sql`], the records locked.
const READ_LOCKED: &str = read_sql!("FOR UPDATE");

/// [`read_sql`], the records as committed.
const READ_COMMITTED: &str = read_sql!("LIMIT 1");

/// Whether a write's read locks the records it may update.
///
/// Either way, every record is rewritten only at the version it was read at (see
/// `chunk_write::update_records`), and every key goes in through the unique index, so nothing
/// another writer changed in between is overwritten; what differs is who waits and who starts
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// `FOR UPDATE`: the read waits for a writer of the same records to commit, and nobody else
    /// changes them until this write commits. For writes that answer at once (the records API,
    /// dry runs), and for the chunks of a job with a chunk that failed as retryable.
    Locked,
    /// As committed, without locks: a record changed between the read and the write fails the
    /// write as retryable, and the chunk is made again (then locked). For a job's chunks: a
    /// lock costs PostgreSQL a write to the record's page and its WAL, for every record, and
    /// other writers of the same records are rare.
    Optimistic,
}

/// What a chunk read: the state it plans against (its records without their values), the
/// records as stored, and where each one is.
#[derive(Default)]
pub(crate) struct Read {
    /// The keys' owners, and the records found with their keys but no values.
    pub existing: ExistingState,
    /// The records found, their data unparsed, with the version each was read at.
    pub stored: HashMap<RecordId, StoredRecord>,
    /// Where each record found is in the table (its `ctid`; see [`read_sql`]).
    pub places: HashMap<RecordId, Tid>,
    /// What was looked up: the keys and ids the rows name.
    pub probes: Probes,
}

/// Reads for a chunk that looks records up, as of once the chunk before it (`order`) has
/// settled.
///
/// Unlocked reads ([`Locking::Optimistic`], a job's chunks) start at once, beside everything
/// the chunk before does, its own read included: they wait for nothing and nobody waits for
/// them. Locked reads start once the chunk before has planned (its locks are taken and it reads
/// no more), and run beside its writes. Either way, once the chunk before has settled, the reads
/// are made again only if they may have seen what it changed: a key it took or freed, or a
/// record it wrote, among what this chunk probed or found (a record it wrote and this chunk
/// locks was waited for and read as it left it, but its keys came from before). Updates and
/// upserts of a file whose rows name different records read once, while the chunk before reads
/// and writes, instead of after it.
pub(crate) async fn read_for_plan(
    tx: &Transaction<'_>,
    (org, module, scopes): (i64, &str, &Scopes),
    (operation, locking): (Operation, Locking),
    rows: &[RowDraft],
    order: &mut ChunkOrder,
) -> StoreResult<Read> {
    // With three chunks in flight (inserts), the first may still be writing: reads wait for it.
    order.earlier_settled().await;
    if locking == Locking::Locked {
        order.previous_planned().await;
    }
    let read = read_existing(tx, (org, module, scopes), (operation, locking), rows).await?;
    match order.previous_settled_touching().await {
        Before::Nothing => Ok(read),
        Before::Touched(touched) if !touched.missed_by(&read.probes, &read.existing) => Ok(read),
        before @ (Before::Touched(_) | Before::Unknown) => {
            tracing::debug!(known = matches!(before, Before::Touched(_)), "read again after the chunk before wrote");
            read_existing(tx, (org, module, scopes), (operation, locking), rows).await
        }
    }
}

/// The owners of the keys `rows` name, and for updates and upserts the records they may update
/// (locked or not, see [`Locking`]) with their keys and versions. A key of a field without a
/// scope in `scopes` has no owner (no key of the field was ever stored).
pub(crate) async fn read_existing(
    tx: &Transaction<'_>,
    (org, module, scopes): (i64, &str, &Scopes),
    (operation, locking): (Operation, Locking),
    rows: &[RowDraft],
) -> StoreResult<Read> {
    let mut read = Read { probes: probes_for(rows), ..Read::default() };
    // Sized for what the probes may find up front: growing them a record at a time rehashed
    // every map several times a chunk (4% of the server's CPU in a 1,000,000-row upsert).
    read.existing.keys.reserve(read.probes.keys.len());
    if operation != Operation::Insert {
        let found = read.probes.keys.len() + read.probes.ids.len();
        read.stored.reserve(found);
        read.places.reserve(found);
        read.existing.records.reserve(found);
    }
    let probed = Probed::of(&read.probes, scopes);
    if operation == Operation::Insert {
        if probed.numbers.is_empty() {
            return Ok(read);
        }
        let params: [&(dyn ToSql + Sync); 3] = [&probed.scopes, &probed.values, &probed.numbers];
        for row in &query(tx, PROBE_KEYS, &params).await? {
            let key = numbered(&read.probes, get(row, 0)?)?;
            read.existing.keys.insert(key.clone(), RecordId::new(get_u64(row, 1)?));
        }
        return Ok(read);
    }
    let ids: Vec<i64> = read.probes.ids.iter().map(|id| signed(id.get())).collect();
    if probed.numbers.is_empty() && ids.is_empty() {
        return Ok(read);
    }
    // The rows are decoded as they arrive: the records' JSON is parsed here while the database
    // goes on locking and sending the next ones, instead of after the last one.
    let sql = match locking {
        Locking::Locked => READ_LOCKED,
        Locking::Optimistic => READ_COMMITTED,
    };
    let statement = tx.prepare_cached(sql).await.map_err(pg_error)?;
    let params: [&(dyn ToSql + Sync); 6] = [&org, &module, &probed.scopes, &probed.values, &probed.numbers, &ids];
    let stream = tx.query_raw(&statement, params).await.map_err(pg_error)?;
    futures_util::pin_mut!(stream);
    while let Some(row) = stream.try_next().await.map_err(pg_error)? {
        match get::<i32>(&row, 0)? {
            0 => {
                let key = numbered(&read.probes, get(&row, 2)?)?;
                read.existing.keys.insert(key.clone(), RecordId::new(get_u64(&row, 1)?));
            }
            _ => {
                let id = RecordId::new(get_u64(&row, 1)?);
                let record = StoredRecord {
                    owner: UserId::new(get_u64(&row, 3)?),
                    layout_id: get(&row, 4)?,
                    data: get(&row, 5)?,
                    version: get(&row, 6)?,
                    keys: record_keys::decode(get::<Option<&str>>(&row, 8)?)?,
                };
                read.stored.insert(id, record);
                read.places.insert(id, get(&row, 7)?);
            }
        }
    }
    for (id, record) in &read.stored {
        read.existing.records.insert(*id, record.existing(*id, false)?);
    }
    Ok(read)
}

/// The keys a read probes, as the statements' parallel arrays: each key's scope, its value and
/// its number (its place in [`Probes::keys`]), which the owners found come back with.
struct Probed<'a> {
    scopes: Vec<i64>,
    values: Vec<&'a str>,
    numbers: Vec<i32>,
}

impl<'a> Probed<'a> {
    fn of(probes: &'a Probes, scopes: &Scopes) -> Probed<'a> {
        let mut probed = Probed {
            scopes: Vec::with_capacity(probes.keys.len()),
            values: Vec::with_capacity(probes.keys.len()),
            numbers: Vec::with_capacity(probes.keys.len()),
        };
        for (number, (field, value)) in probes.keys.iter().enumerate() {
            if let (Some(scope), Ok(number)) = (scopes.get(field), i32::try_from(number)) {
                probed.scopes.push(scope);
                probed.values.push(value);
                probed.numbers.push(number);
            }
        }
        probed
    }
}

/// The key numbered `number` (see [`Probed`]), as a row the database sent back names it.
fn numbered(probes: &Probes, number: i32) -> StoreResult<&Key> {
    usize::try_from(number)
        .ok()
        .and_then(|at| probes.keys.get(at))
        .ok_or_else(|| StoreError::Corrupt(format!("a probe came back as key {number} of {}", probes.keys.len())))
}

/// [`read_existing`], locked, for a write that has only the state to keep (dry runs).
pub(crate) async fn fetch_existing(
    tx: &Transaction<'_>,
    (org, module, scopes): (i64, &str, &Scopes),
    operation: Operation,
    rows: &[RowDraft],
) -> StoreResult<ExistingState> {
    let Read { mut existing, stored, .. } =
        read_existing(tx, (org, module, scopes), (operation, Locking::Locked), rows).await?;
    for (id, record) in &stored {
        existing.records.insert(*id, record.existing(*id, true)?);
    }
    Ok(existing)
}
