//! Writing a chunk's plan: new records and keys with binary `COPY`, updates and key deletes as
//! statements over arrays (`unnest`) or pipelined. Unique violations here are races with another
//! node and classified as retryable (see [`write_error`]).

use std::collections::HashMap;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::plan::{ChunkPlan, Decisions, Key, PlanInput, PlannedRecord};
use bulkwrite_store::merge::StoredRecord;
use bulkwrite_store::undo::BeforeImage;
use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::Transaction;
use tokio_postgres::types::{ToSql, Type};

use crate::chunk::Stamp;
use crate::copy::CopyRows;
use crate::error::write_error;
use crate::record_keys::{self, Changes};
use crate::signed;
use crate::statements::Tid;

/// `COPY` of new records.
pub(crate) const COPY_RECORDS: &str =
    "COPY records (id, org, module, owner, layout_id, created_by, modified_by, created_at,
     modified_at, data, parent_id, keys)
     FROM STDIN (FORMAT binary)";

/// `COPY` of new keys.
pub(crate) const COPY_KEYS: &str = "COPY unique_keys (scope, value, record_id) FROM STDIN (FORMAT binary)";

/// Inserts the new records of `rows` (see [`encode_planned_records`], [`encode_new_records`]).
pub(crate) async fn insert_records(tx: &Transaction<'_>, rows: CopyRows) -> StoreResult<()> {
    if !rows.is_empty() {
        rows.send(tx, COPY_RECORDS).await.map_err(write_error)?;
    }
    Ok(())
}

/// The rows of a `COPY` of the plan's new records.
pub(crate) fn encode_planned_records(stamp: &Stamp<'_>, plan: &ChunkPlan) -> StoreResult<CopyRows> {
    let mut rows = CopyRows::with_capacity(RECORD_COLUMNS, plan.inserts.len() * RECORD_BYTES);
    let added = record_keys::Added::of(&plan.key_inserts);
    let mut keys = Vec::new();
    for record in &plan.inserts {
        keys.clear();
        keys.extend(added.of_record(record.id));
        let new = NewRecord {
            id: record.id,
            owner: record.owner,
            layout_id: record.layout_id.as_deref(),
            parent_id: parent_id(&record.values),
            keys: &keys,
        };
        new_record(&mut rows, stamp, &new, |rows| rows.json(&record.values))?;
    }
    Ok(rows)
}

/// The rows of a `COPY` of the records `decisions` inserts, encoded from the input's rows in
/// place (before [`Decisions::build`] moves their values), so that it can go out while the
/// keys are checked. Only for inserts: an upsert may update what it inserts.
pub(crate) fn encode_new_records(stamp: &Stamp<'_>, decisions: &Decisions, input: &PlanInput) -> StoreResult<CopyRows> {
    let mut rows = CopyRows::with_capacity(RECORD_COLUMNS, input.rows.len() * RECORD_BYTES);
    let added = record_keys::Added::of(&decisions.key_inserts);
    let mut keys = Vec::new();
    for view in decisions.inserted(input) {
        keys.clear();
        keys.extend(added.of_record(view.id));
        let new = NewRecord {
            id: view.id,
            owner: view.owner,
            layout_id: view.layout_id,
            parent_id: view.values.get("Parent_Id").and_then(parent_id_of),
            keys: &keys,
        };
        // The text the values were frozen into as the row was mapped, if they were.
        new_record(&mut rows, stamp, &new, |rows| match view.values.written() {
            Some(text) => rows.text(text),
            None => rows.json(&view.values),
        })?;
    }
    Ok(rows)
}

const RECORD_COLUMNS: i16 = 12;

/// A typical record's `COPY` row: its columns and some dozen fields of JSON.
const RECORD_BYTES: usize = 640;

/// A typical key's `COPY` row: scope, a value of a few dozen bytes, record id.
const KEY_BYTES: usize = 64;

/// What a new record's row holds besides its values.
struct NewRecord<'a> {
    id: RecordId,
    owner: UserId,
    layout_id: Option<&'a str>,
    parent_id: Option<i64>,
    /// The keys it takes (see `record_keys`).
    keys: &'a [(&'a str, &'a str)],
}

/// A new record's row; `values` writes its values' JSON.
fn new_record(
    rows: &mut CopyRows,
    stamp: &Stamp<'_>,
    new: &NewRecord<'_>,
    values: impl FnOnce(&mut CopyRows) -> StoreResult<()>,
) -> StoreResult<()> {
    rows.row();
    rows.int8(signed(new.id.get()));
    rows.int8(stamp.org);
    rows.text(stamp.module)?;
    rows.int8(signed(new.owner.get()));
    rows.opt_text(new.layout_id)?;
    rows.int8(stamp.actor);
    rows.int8(stamp.actor);
    rows.value(&stamp.now, &Type::TIMESTAMPTZ)?;
    rows.value(&stamp.now, &Type::TIMESTAMPTZ)?;
    values(rows)?;
    rows.opt_int8(new.parent_id);
    record_keys::copy(rows, new.keys)
}

/// A record an update rewrites: its new columns and data (a JSON object's text; `None` keeps
/// the stored text, see `bulkwrite_store::merge::Merged`).
pub(crate) struct Rewrite {
    pub id: RecordId,
    pub owner: UserId,
    pub layout_id: Option<String>,
    pub data: Option<String>,
}

impl Rewrite {
    /// A record the planner built (its values serialised).
    pub(crate) fn of(record: &PlannedRecord) -> StoreResult<Rewrite> {
        Ok(Rewrite {
            id: record.id,
            owner: record.owner,
            layout_id: record.layout_id.clone(),
            data: Some(serde_json::to_string(&record.values).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        })
    }
}

/// Rewrites `records` in one statement, bumping each one's version (to the one read, plus one).
/// Each is written only at the version it was read at (`stored`): a record changed since fails
/// the write as retryable, and the chunk is planned again. Read locked, none can have changed (a
/// safeguard); read as committed, this is what keeps another writer's change from being
/// overwritten (see `chunk_read::Locking`). Records are written in id order, so concurrent
/// writers lock them in one order.
///
/// Each record is found at the place the read saw it (`places`, its `ctid`), a TID scan instead
/// of a descent of the primary key per record: a row locked by this transaction does not move
/// until this transaction moves it, and a row that moved since an unlocked read was changed, so
/// is not written either way. A record without a known place (none today: every updated record
/// was read first) is found by a probe of the primary key (a `LIMIT 1` subquery, which the
/// planner keeps as a probe even on a table it has no statistics for).
pub(crate) async fn update_records(
    tx: &Transaction<'_>,
    stamp: &Stamp<'_>,
    records: &mut [Rewrite],
    read: (&HashMap<RecordId, StoredRecord>, &HashMap<RecordId, Tid>),
    plan: &ChunkPlan,
) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let (stored, places) = read;
    records.sort_unstable_by_key(|record| record.id);
    let located = records.iter().all(|record| places.contains_key(&record.id) && stored.contains_key(&record.id));
    let statement =
        tx.prepare_cached(if located { UPDATE_AT_PLACES } else { UPDATE_BY_ID }).await.map_err(write_error)?;
    // In parts, sent one after the other without waiting (pipelined): the database updates the
    // first part's records while the next part's values are encoded.
    let changes = Changes::of(&plan.key_deletes, &plan.key_inserts);
    let parts = records.chunks(UPDATE_PART).map(|part| {
        let columns = UpdateColumns::of(part, stored, places, &changes);
        let statement = &statement;
        async move {
            let columns = columns?;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![
                &stamp.actor,
                &stamp.now,
                &columns.ids,
                &columns.owners,
                &columns.layouts,
                &columns.data,
                &columns.parents,
            ];
            if located {
                params.extend([&columns.versions as &(dyn ToSql + Sync), &columns.places]);
            } else {
                params.extend([&stamp.org as &(dyn ToSql + Sync), &stamp.module, &columns.versions]);
            }
            params.extend([&columns.rekeyed as &(dyn ToSql + Sync), &columns.keys]);
            tx.execute(statement, &params).await.map_err(write_error)
        }
    });
    let written: u64 = futures_util::future::try_join_all(parts).await?.into_iter().sum();
    if written != records.len() as u64 {
        return Err(StoreError::Unavailable(
            format!(
                "{} of {} records changed while the chunk planned; planning again",
                records.len() as u64 - written,
                records.len()
            )
            .into(),
        ));
    }
    Ok(())
}

/// Records per `UPDATE` statement of [`update_records`].
const UPDATE_PART: usize = 500;

/// The parameters of one part of [`update_records`], a column each.
struct UpdateColumns<'a> {
    ids: Vec<i64>,
    owners: Vec<i64>,
    layouts: Vec<Option<&'a str>>,
    data: Vec<Option<&'a str>>,
    parents: Vec<Option<i64>>,
    versions: Vec<Option<i64>>,
    places: Vec<Option<Tid>>,
    /// Whether the plan changes the record's keys, and what they are then (see `record_keys`).
    rekeyed: Vec<bool>,
    keys: Vec<Option<String>>,
}

impl<'a> UpdateColumns<'a> {
    fn of(
        part: &'a [Rewrite],
        stored: &'a HashMap<RecordId, StoredRecord>,
        places: &'a HashMap<RecordId, Tid>,
        changes: &Changes<'a>,
    ) -> StoreResult<UpdateColumns<'a>> {
        let mut columns = UpdateColumns {
            ids: Vec::with_capacity(part.len()),
            owners: Vec::with_capacity(part.len()),
            layouts: Vec::with_capacity(part.len()),
            data: Vec::with_capacity(part.len()),
            parents: Vec::with_capacity(part.len()),
            versions: Vec::with_capacity(part.len()),
            places: Vec::with_capacity(part.len()),
            rekeyed: Vec::with_capacity(part.len()),
            keys: Vec::with_capacity(part.len()),
        };
        for record in part {
            columns.ids.push(signed(record.id.get()));
            columns.owners.push(signed(record.owner.get()));
            columns.layouts.push(record.layout_id.as_deref());
            columns.data.push(record.data.as_deref());
            columns.parents.push(record.data.as_deref().and_then(parent_id_in));
            columns.versions.push(stored.get(&record.id).map(|stored| stored.version));
            columns.places.push(places.get(&record.id).copied());
            let keys = changes.after(record.id, stored.get(&record.id));
            columns.rekeyed.push(keys.is_some());
            columns.keys.push(match keys {
                Some(keys) => record_keys::encode(keys)?,
                None => None,
            });
        }
        Ok(columns)
    }
}

/// The `SET` of [`UPDATE_AT_PLACES`] and [`UPDATE_BY_ID`]: `$1` and `$2` the actor and the time,
/// `u` the record's row of parameters. The data comes as JSON text, written as it is (migration
/// 0023), or NULL where the record keeps its stored data (and with it its `parent_id`); a
/// record's keys replace its stored ones where the plan changes them (`u.rekeyed`).
macro_rules! update_set {
    () => {
        "
     SET owner = u.owner, layout_id = u.layout_id, modified_by = $1, modified_at = $2,
         data = COALESCE(u.data, r.data),
         parent_id = CASE WHEN u.data IS NULL THEN r.parent_id ELSE u.parent_id END,
         version = r.version + 1, keys = CASE WHEN u.rekeyed THEN u.keys ELSE r.keys END"
    };
}

/// [`update_records`] of records at known places (`$9`, `ctid`s) and versions (`$8`), with
/// their data (`$6`) and keys (`$11`, where `$10`) as `update_set!` writes them.
const UPDATE_AT_PLACES: &str = concat!(
    "UPDATE records r",
    update_set!(),
    "
     FROM unnest($3::int8[], $4::int8[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::tid[],
                 $10::bool[], $11::text[])
         AS u (id, owner, layout_id, data, parent_id, version, place, rekeyed, keys)
     WHERE r.ctid = u.place AND r.id = u.id AND r.version = u.version"
);

/// [`update_records`] of records found by id (`$8`, `$9`: org and module), at the versions read
/// (`$10`, or any version where none was), with their data and keys as in [`UPDATE_AT_PLACES`]
/// (`$11`, `$12`).
const UPDATE_BY_ID: &str = concat!(
    "UPDATE records r",
    update_set!(),
    "
     FROM unnest($3::int8[], $4::int8[], $5::text[], $6::text[], $7::int8[], $10::int8[], $11::bool[], $12::text[])
         AS u (id, owner, layout_id, data, parent_id, version, rekeyed, keys)
     CROSS JOIN LATERAL (SELECT ctid FROM records WHERE org = $8 AND module = $9 AND id = u.id LIMIT 1) AS at
     WHERE r.ctid = at.ctid AND (u.version IS NULL OR r.version = u.version)"
);

/// Stores before-images (see `bulkwrite_store::undo`), each with the version its record was
/// left at (`(record, version, image)`), as the chunk's one row of `undo_chunk_images`
/// (migration 0026; an undo moves them into rows of their own, see `undo::unpack_images`).
pub(crate) async fn insert_images(
    tx: &Transaction<'_>,
    capture: crate::chunk::Capture,
    images: &[(RecordId, i64, BeforeImage)],
) -> StoreResult<()> {
    if images.is_empty() {
        return Ok(());
    }
    let text = images_json(images)?;
    tx.execute(
        "INSERT INTO undo_chunk_images (job_id, idx, first_row, images_json) VALUES ($1, $2, $3, $4)",
        &[&capture.job, &capture.resource, &capture.chunk_at, &text],
    )
    .await
    .map_err(write_error)?;
    Ok(())
}

/// A chunk's before-images as one JSON array, `[record id, version left, image]` each.
fn images_json(images: &[(RecordId, i64, BeforeImage)]) -> StoreResult<String> {
    let mut out = Vec::with_capacity(images.len() * IMAGE_BYTES);
    out.push(b'[');
    for (at, (id, version, image)) in images.iter().enumerate() {
        if at > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &(signed(id.get()), version, image))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    out.push(b']');
    String::from_utf8(out).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A typical before-image's element: the ids, and an image of a field or two.
const IMAGE_BYTES: usize = 64;

/// The `Parent_Id` of a record's data (a JSON object's text), read without building the
/// record: only subform rows have one.
fn parent_id_in(data: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Parent {
        #[serde(rename = "Parent_Id")]
        parent: Option<serde_json::Value>,
    }
    if !data.contains("\"Parent_Id\"") {
        return None;
    }
    let Parent { parent } = serde_json::from_str(data).ok()?;
    parent.as_ref().and_then(parent_id_of)
}

/// The id of a subform row's parent (`Parent_Id.id`), kept in its own indexed column so that
/// `child_records` finds rows without parsing every record's JSON.
pub(crate) fn parent_id(values: &serde_json::Map<String, serde_json::Value>) -> Option<i64> {
    values.get("Parent_Id").and_then(parent_id_of)
}

/// The id inside a `Parent_Id` value.
fn parent_id_of(parent: &serde_json::Value) -> Option<i64> {
    let id = match parent.get("id")? {
        serde_json::Value::String(text) => text.parse::<u64>().ok()?,
        serde_json::Value::Number(number) => number.as_u64()?,
        _ => return None,
    };
    i64::try_from(id).ok()
}

/// Removes the keys the plan frees, each only while the record that held it still does. Each
/// key is one statement on the full primary key; the statements are pipelined (sent together,
/// answered together), and are few: only updates that change a unique value free keys.
pub(crate) async fn delete_keys(
    tx: &Transaction<'_>,
    stamp: &Stamp<'_>,
    plan: &ChunkPlan,
    owners: &HashMap<Key, RecordId>,
) -> StoreResult<()> {
    if plan.key_deletes.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "DELETE FROM unique_keys
             WHERE scope = (SELECT id FROM key_scopes WHERE org = $1 AND module = $2 AND field = $3) AND value = $4
               AND ($5::int8 IS NULL OR record_id = $5)",
        )
        .await
        .map_err(write_error)?;
    let holders: Vec<Option<i64>> =
        plan.key_deletes.iter().map(|key| owners.get(key).map(|id| signed(id.get()))).collect();
    let mut deletes = Vec::with_capacity(plan.key_deletes.len());
    for (key, holder) in plan.key_deletes.iter().zip(&holders) {
        let params: [&(dyn ToSql + Sync); 5] = [&stamp.org, &stamp.module, &key.0, &key.1, holder];
        deletes.push(tx.execute_raw(&statement, params));
    }
    futures_util::future::try_join_all(deletes).await.map_err(write_error)?;
    Ok(())
}

/// Adds new keys (a plan's or a decision's), in key order (so concurrent writers wait on each
/// other's keys in one order and do not deadlock). The driver's error is returned as is, inside:
/// an optimistic insert tells a key that exists (a unique violation) from other failures.
pub(crate) async fn insert_keys(
    tx: &Transaction<'_>,
    stamp: &Stamp<'_>,
    key_inserts: &[(Key, RecordId)],
) -> StoreResult<Result<(), tokio_postgres::Error>> {
    if key_inserts.is_empty() {
        return Ok(Ok(()));
    }
    Ok(encode_keys(stamp, key_inserts)?.send(tx, COPY_KEYS).await.map(drop))
}

/// The rows of a `COPY` of new keys, in key order (see [`insert_keys`]).
pub(crate) fn encode_keys(stamp: &Stamp<'_>, key_inserts: &[(Key, RecordId)]) -> StoreResult<CopyRows> {
    let mut keys: Vec<&(Key, RecordId)> = key_inserts.iter().collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rows = CopyRows::with_capacity(3, keys.len() * KEY_BYTES);
    for ((field, value), record) in keys {
        rows.row();
        rows.int8(stamp.scopes.of(field)?);
        rows.text(value)?;
        rows.int8(signed(record.get()));
    }
    Ok(rows)
}
