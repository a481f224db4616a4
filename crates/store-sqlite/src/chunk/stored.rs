//! What a chunk's rows name, read in one statement per kind instead of two per record: the
//! owners of the unique keys the rows probe (one statement per field), the records the rows
//! find (one statement), and those records' keys (one statement). The records' data stays the
//! stored JSON text: an update merges the rows into it (see `bulkwrite_store::merge`) without
//! building the record's map.
//!
//! Profile of the 25,000-row upsert before this (writer thread): a record read with its keys by
//! two statements each, 15%; its data parsed into a map, 8%, and that map cloned for the
//! before-images, 8%.

use std::collections::{BTreeMap, HashMap};

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{probes_for, Key, Probes};
use bulkwrite_store::merge::StoredRecord;
use bulkwrite_store::StoreResult;
use rusqlite::{params, Connection};

use crate::{db_error, key_slots};

/// What the rows name: the current owner of each key they probe, and (unless `keys_only`) the
/// records they find, by the ids they give or by those keys.
pub(crate) struct Named {
    pub keys: HashMap<Key, RecordId>,
    pub records: HashMap<RecordId, StoredRecord>,
    /// What was looked up: the keys and ids the rows name.
    pub probes: Probes,
}

/// What a chunk's rows look up, ready for the reads: the keys and ids they name, and each
/// field's values with their homes (see [`key_slots::homes_in_order`]). Needs no database, so
/// can be made off the writer's thread.
pub(crate) struct Lookups {
    probes: Probes,
    /// One probe per field: the chunk's values travel as one array.
    fields: Vec<FieldProbe>,
}

/// A field's values, probed together.
struct FieldProbe {
    field: String,
    /// The values' homes, as the JSON array a probe reads.
    homes: String,
    /// The values, in the homes' order: a probe's row names its value by its place (`j.key`).
    values: Vec<String>,
}

impl Lookups {
    pub(crate) fn of(rows: &[RowDraft]) -> StoreResult<Lookups> {
        let probes = probes_for(rows);
        let fields = values_by_field(&probes.keys)
            .into_iter()
            .map(|(field, values)| {
                let (homes, values) = key_slots::homes_in_order(&values)?;
                Ok(FieldProbe { field: field.to_string(), homes, values })
            })
            .collect::<StoreResult<_>>()?;
        Ok(Lookups { probes, fields })
    }
}

/// Reads what the rows name (see [`Named`]). An insert reads keys only.
pub(crate) fn read_named(
    tx: &Connection,
    org: i64,
    module: &str,
    rows: &[RowDraft],
    keys_only: bool,
) -> StoreResult<Named> {
    read_looked_up(tx, org, module, Lookups::of(rows)?, keys_only)
}

/// [`read_named`] of lookups made before.
pub(crate) fn read_looked_up(
    tx: &Connection,
    org: i64,
    module: &str,
    lookups: Lookups,
    keys_only: bool,
) -> StoreResult<Named> {
    let Lookups { probes, fields } = lookups;
    if keys_only {
        // The keys of the records the slots point at, kept where they hold the value probed.
        let keys = probe(tx, (org, module), &fields, true)?;
        return Ok(Named { keys: keys.into_iter().collect(), records: HashMap::new(), probes });
    }
    // The records are read with their keys, which say which of the records a value's slots
    // point at holds it: the probe reads the slots alone.
    let candidates = probe(tx, (org, module), &fields, false)?;
    let mut wanted: Vec<RecordId> = probes.ids.clone();
    wanted.extend(candidates.iter().map(|(_, id)| *id));
    wanted.sort();
    wanted.dedup();
    let records = read_records(tx, org, module, &wanted)?;
    let keys = candidates
        .into_iter()
        .filter(|(key, id)| records.get(id).is_some_and(|record| record.keys.contains(key)))
        .collect();
    Ok(Named { keys, records, probes })
}

/// Probes each field's values (see [`Lookups`]) in the org's module, by
/// [`key_slots::probe_sql`]: the `(key, record)` pairs found. With `checked`, only records that
/// hold the value probed are kept.
fn probe(
    tx: &Connection,
    (org, module): (i64, &str),
    fields: &[FieldProbe],
    checked: bool,
) -> StoreResult<Vec<(Key, RecordId)>> {
    let scope = "(SELECT id FROM key_scopes WHERE org = ?1 AND module = ?2 AND field = ?3)";
    let mut statement = tx.prepare_cached(&key_slots::probe_sql(scope, checked)).map_err(db_error)?;
    let mut found = Vec::new();
    for FieldProbe { field, homes, values } in fields {
        let mut rows = statement.query(params![org, module, field, homes]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let place: i64 = row.get(0).map_err(db_error)?;
            let value = usize::try_from(place).ok().and_then(|place| values.get(place)).ok_or_else(|| {
                bulkwrite_store::StoreError::Corrupt(format!("a key probe named value {place} of {}", values.len()))
            })?;
            if checked && row.get_ref(2).map_err(db_error)? != rusqlite::types::ValueRef::Text(value.as_bytes()) {
                continue;
            }
            found.push(((field.clone(), value.clone()), RecordId::new(row.get::<_, i64>(1).map_err(db_error)? as u64)));
        }
    }
    Ok(found)
}

/// The records whose ids a JSON array lists, in the org's module: each found by the table's own
/// key, one descent a record. Written as `id IN (…) AND org = … AND module = …`, SQLite went
/// through the index by module, then to the table: two descents a record.
const RECORDS_BY_ID: &str = "SELECT r.id, r.owner, r.layout_id, r.data, r.version FROM json_each(?1) j
     CROSS JOIN records r ON r.id = j.value WHERE r.org = ?2 AND r.module = ?3";

/// The records of `ids` that exist in the org's module, with their keys: two statements.
pub(crate) fn read_records(
    tx: &Connection,
    org: i64,
    module: &str,
    ids: &[RecordId],
) -> StoreResult<HashMap<RecordId, StoredRecord>> {
    let mut records = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(records);
    }
    let array = id_array(ids);
    let mut statement = tx.prepare_cached(RECORDS_BY_ID).map_err(db_error)?;
    let found = statement
        .query_map(params![array, org, module], |row| {
            let stored = StoredRecord {
                owner: UserId::new(row.get::<_, i64>(1)? as u64),
                layout_id: row.get(2)?,
                data: row.get(3)?,
                version: row.get(4)?,
                keys: Vec::new(),
            };
            Ok((RecordId::new(row.get::<_, i64>(0)? as u64), stored))
        })
        .map_err(db_error)?;
    for row in found {
        let (id, stored) = row.map_err(db_error)?;
        records.insert(id, stored);
    }
    let mut statement = tx
        .prepare_cached(
            "SELECT k.record_id, s.field, k.value FROM unique_keys k JOIN key_scopes s ON s.id = k.scope
             WHERE k.record_id IN (SELECT value FROM json_each(?1))",
        )
        .map_err(db_error)?;
    let found = statement
        .query_map([array], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))
        .map_err(db_error)?;
    for row in found {
        let (id, field, value) = row.map_err(db_error)?;
        if let Some(record) = records.get_mut(&RecordId::new(id as u64)) {
            record.keys.push((field, value));
        }
    }
    Ok(records)
}

/// Keys' values grouped by field, for one probe per field (the values travel as one JSON array).
pub(crate) fn values_by_field<'a>(keys: impl IntoIterator<Item = &'a Key>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (field, value) in keys {
        by_field.entry(field.as_str()).or_default().push(value.as_str());
    }
    by_field
}

/// `[1,2,3]`: ids as one JSON array, for `json_each`.
fn id_array(ids: &[RecordId]) -> String {
    let mut text = String::with_capacity(ids.len() * 20 + 2);
    text.push('[');
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&id.get().to_string());
    }
    text.push(']');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_are_read_by_their_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bulkwrite.sqlite");
        drop(crate::SqliteStore::open(&path).await.unwrap());
        let conn = Connection::open(&path).unwrap();
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {RECORDS_BY_ID}")).unwrap();
        let plan: Vec<String> =
            statement.query_map(params!["[]", 1, "Leads"], |row| row.get(3)).unwrap().map(Result::unwrap).collect();
        assert_eq!(plan, ["SCAN j VIRTUAL TABLE INDEX 1:", "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"]);
    }
}
