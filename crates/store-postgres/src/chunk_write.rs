//! Writing a chunk's plan: new records and keys with binary `COPY`, updates and key deletes as
//! statements over arrays (`unnest`) or pipelined. Unique violations here are races with another
//! node and classified as retryable (see [`write_error`]).

use std::collections::HashMap;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::plan::{ChunkPlan, Decisions, ExistingRecord, Key, PlanInput, PlannedRecord};
use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::Transaction;
use serde::Serialize;
use tokio_postgres::types::{Json, ToSql, Type};

use crate::chunk::Stamp;
use crate::chunk_read::StoredValues;
use crate::copy::CopyRows;
use crate::error::write_error;
use crate::signed;

/// `COPY` of new records.
pub(crate) const COPY_RECORDS: &str =
    "COPY records (id, org, module, owner, layout_id, created_by, modified_by, created_at,
     modified_at, data, parent_id)
     FROM STDIN (FORMAT binary)";

/// `COPY` of new keys.
pub(crate) const COPY_KEYS: &str = "COPY unique_keys (scope, value, record_id) FROM STDIN (FORMAT binary)";

/// Inserts the plan's new records.
pub(crate) async fn insert_records(tx: &Transaction<'_>, stamp: &Stamp<'_>, plan: &ChunkPlan) -> StoreResult<()> {
    if plan.inserts.is_empty() {
        return Ok(());
    }
    let mut rows = CopyRows::with_capacity(RECORD_COLUMNS, plan.inserts.len() * RECORD_BYTES);
    for record in &plan.inserts {
        let new = NewRecord {
            id: record.id,
            owner: record.owner,
            layout_id: record.layout_id.as_deref(),
            parent_id: parent_id(&record.values),
        };
        new_record(&mut rows, stamp, &new, &record.values)?;
    }
    rows.send(tx, COPY_RECORDS).await.map_err(write_error)?;
    Ok(())
}

/// The rows of a `COPY` of the records `decisions` inserts, encoded from the input's rows in
/// place (before [`Decisions::build`] moves their values), so that it can go out while the
/// keys are checked. Only for inserts: an upsert may update what it inserts.
pub(crate) fn encode_new_records(stamp: &Stamp<'_>, decisions: &Decisions, input: &PlanInput) -> StoreResult<CopyRows> {
    let mut rows = CopyRows::with_capacity(RECORD_COLUMNS, input.rows.len() * RECORD_BYTES);
    for view in decisions.inserted(input) {
        let new = NewRecord {
            id: view.id,
            owner: view.owner,
            layout_id: view.layout_id,
            parent_id: view.values.get("Parent_Id").and_then(parent_id_of),
        };
        new_record(&mut rows, stamp, &new, &view.values)?;
    }
    Ok(rows)
}

const RECORD_COLUMNS: i16 = 11;

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
}

fn new_record(rows: &mut CopyRows, stamp: &Stamp<'_>, new: &NewRecord<'_>, values: &impl Serialize) -> StoreResult<()> {
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
    rows.json(values)?;
    rows.opt_int8(new.parent_id);
    Ok(())
}

/// Rewrites the records the plan updates, in one statement, bumping each one's version; returns
/// the version each was left at. Each is written only at the version it was read at (`read`,
/// locked): a record changed since fails the write as retryable (a safeguard; the lock should
/// make it impossible). Records are written in id order, so concurrent writers lock them in one
/// order.
///
/// Each record is found at the place the locking read saw it (`read.places`, its `ctid`: a row
/// locked by this transaction does not move until this transaction moves it), a TID scan
/// instead of a descent of the primary key per record. A record without a known place (none
/// today: every updated record was read locked) is found by a probe of the primary key (a
/// `LIMIT 1` subquery, which the planner keeps as a probe even on a table it has no statistics
/// for).
pub(crate) async fn update_records(
    tx: &Transaction<'_>,
    stamp: &Stamp<'_>,
    plan: &ChunkPlan,
    read: (&HashMap<RecordId, i64>, &HashMap<RecordId, String>),
) -> StoreResult<HashMap<RecordId, i64>> {
    if plan.updates.is_empty() {
        return Ok(HashMap::new());
    }
    let (read_versions, read_places) = read;
    let mut updates: Vec<&PlannedRecord> = plan.updates.iter().collect();
    updates.sort_unstable_by_key(|record| record.id);
    let located =
        updates.iter().all(|record| read_places.contains_key(&record.id) && read_versions.contains_key(&record.id));
    let statement =
        tx.prepare_cached(if located { UPDATE_AT_PLACES } else { UPDATE_BY_ID }).await.map_err(write_error)?;
    // In parts, sent one after the other without waiting (pipelined): the database updates the
    // first part's records while the next part's values are encoded.
    let parts = updates.chunks(UPDATE_PART).map(|part| {
        let columns = UpdateColumns::of(part, read_versions, read_places);
        let statement = &statement;
        async move {
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
            let rows = tx.query(statement, &params).await;
            rows.map_err(write_error)
        }
    });
    let parts = futures_util::future::try_join_all(parts).await?;
    let written: usize = parts.iter().map(Vec::len).sum();
    if written != updates.len() {
        return Err(StoreError::Unavailable(
            format!(
                "{} of {} records changed while the chunk planned; planning again",
                updates.len() - written,
                updates.len()
            )
            .into(),
        ));
    }
    let mut versions = HashMap::with_capacity(written);
    for row in parts.iter().flatten() {
        let id: i64 = row.try_get(0).map_err(write_error)?;
        let version: i64 = row.try_get(1).map_err(write_error)?;
        versions.insert(RecordId::new(id as u64), version);
    }
    Ok(versions)
}

/// Records per `UPDATE` statement of [`update_records`].
const UPDATE_PART: usize = 500;

/// The parameters of one part of [`update_records`], a column each.
struct UpdateColumns<'a> {
    ids: Vec<i64>,
    owners: Vec<i64>,
    layouts: Vec<Option<&'a str>>,
    data: Vec<Json<&'a serde_json::Map<String, serde_json::Value>>>,
    parents: Vec<Option<i64>>,
    versions: Vec<Option<i64>>,
    places: Vec<Option<&'a str>>,
}

impl<'a> UpdateColumns<'a> {
    fn of(
        part: &[&'a PlannedRecord],
        read_versions: &HashMap<RecordId, i64>,
        read_places: &'a HashMap<RecordId, String>,
    ) -> UpdateColumns<'a> {
        let mut columns = UpdateColumns {
            ids: Vec::with_capacity(part.len()),
            owners: Vec::with_capacity(part.len()),
            layouts: Vec::with_capacity(part.len()),
            data: Vec::with_capacity(part.len()),
            parents: Vec::with_capacity(part.len()),
            versions: Vec::with_capacity(part.len()),
            places: Vec::with_capacity(part.len()),
        };
        for record in part {
            columns.ids.push(signed(record.id.get()));
            columns.owners.push(signed(record.owner.get()));
            columns.layouts.push(record.layout_id.as_deref());
            columns.data.push(Json(&record.values));
            columns.parents.push(parent_id(&record.values));
            columns.versions.push(read_versions.get(&record.id).copied());
            columns.places.push(read_places.get(&record.id).map(String::as_str));
        }
        columns
    }
}

/// [`update_records`] of records at known places (`$9`, `ctid`s as text) and versions (`$8`).
const UPDATE_AT_PLACES: &str = "UPDATE records r
     SET owner = u.owner, layout_id = u.layout_id, modified_by = $1, modified_at = $2, data = u.data,
         parent_id = u.parent_id, version = r.version + 1
     FROM unnest($3::int8[], $4::int8[], $5::text[], $6::json[], $7::int8[], $8::int8[], $9::text[]::tid[])
         AS u (id, owner, layout_id, data, parent_id, version, place)
     WHERE r.ctid = u.place AND r.id = u.id AND r.version = u.version
     RETURNING r.id, r.version";

/// [`update_records`] of records found by id (`$8`, `$9`: org and module), at the versions read
/// (`$10`, or any version where none was).
const UPDATE_BY_ID: &str = "UPDATE records r
     SET owner = u.owner, layout_id = u.layout_id, modified_by = $1, modified_at = $2, data = u.data,
         parent_id = u.parent_id, version = r.version + 1
     FROM unnest($3::int8[], $4::int8[], $5::text[], $6::json[], $7::int8[], $10::int8[])
         AS u (id, owner, layout_id, data, parent_id, version)
     CROSS JOIN LATERAL (SELECT ctid FROM records WHERE org = $8 AND module = $9 AND id = u.id LIMIT 1) AS at
     WHERE r.ctid = at.ctid AND (u.version IS NULL OR r.version = u.version)
     RETURNING r.id, r.version";

/// Stores the before-image of every record the plan updated (see `bulkwrite_store::undo`),
/// with the version the update left it at, in one statement. `before` holds the records as read
/// but for their values, which `stored` parses again.
pub(crate) async fn insert_images(
    tx: &Transaction<'_>,
    capture: crate::chunk::Capture,
    plan: &ChunkPlan,
    (before, stored): (&HashMap<RecordId, &ExistingRecord>, &StoredValues),
    versions: &HashMap<RecordId, i64>,
) -> StoreResult<()> {
    let mut ids = Vec::with_capacity(plan.updates.len());
    let mut kept = Vec::with_capacity(plan.updates.len());
    let mut images = Vec::with_capacity(plan.updates.len());
    for record in &plan.updates {
        let (Some(old), Some(version)) = (before.get(&record.id), versions.get(&record.id)) else { continue };
        let Some(values) = stored.values(record.id)? else { continue };
        let old = ExistingRecord { values, ..(*old).clone() };
        let keys = bulkwrite_store::undo::keys_after(&old, &plan.key_deletes, &plan.key_inserts);
        let image = bulkwrite_store::undo::before_image(&old, record, &keys);
        ids.push(signed(record.id.get()));
        kept.push(*version);
        images.push(serde_json::to_string(&image).map_err(|e| bulkwrite_store::StoreError::Corrupt(e.to_string()))?);
    }
    if ids.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO undo_images (job_id, record_id, idx, first_row, version, image_json)
         SELECT $1, u.id, $2, $3, u.version, u.image FROM unnest($4::int8[], $5::int8[], $6::text[]) AS u (id, version, image)",
        &[&capture.job, &capture.resource, &capture.chunk_at, &ids, &kept, &images],
    )
    .await
    .map_err(write_error)?;
    Ok(())
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
