//! Dry runs on the store side: what a dry-run chunk keeps instead of records, and how its
//! planning sees what the run's earlier chunks would have written.
//!
//! A dry-run chunk is planned with core's rules, like a real one, against the stored records and
//! unique keys overlaid by the run's *scratch state*: the keys and records its earlier chunks
//! would have written. It writes that scratch state (per job, in the chunk's own transaction,
//! with its result rows and checkpoint), never the records. So duplicates inside the file are
//! caught, an update sees what an earlier row of the file made of its record, and a resumed dry
//! run, which continues after its last checkpoint like any job, sees exactly the state the
//! committed chunks left and gives the same answer. Backends delete a job's scratch state when
//! the job reaches its final state.
//!
//! A record the run would create gets a *provisional* id from a range real ids never reach,
//! derived from its resource and its chunk's checkpoint (so a resumed run hands out the same
//! ids). Provisional ids link rows inside the run (an update of a record the file adds, a child
//! row to its parent) and are never shown: no real id can be known before the real job runs.
//!
//! Lookups of a dry run (a child row's parent, a lookup cell) see the run's records too
//! ([`overlay_lookup`]); they read every record the run wrote in the looked-up module, which
//! costs as much as the real lookup by a non-unique value already does (a scan of the module).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::lookup::{normalize_value, LookupBy, LookupHit, LookupQuery};
use bulkwrite_core::plan::{ChunkPlan, ExistingRecord, ExistingState, Key, Probes};
use serde_json::{Map, Value};

/// The first provisional id (real ids are reserved upwards from the 57… range and never get here).
pub const PROVISIONAL_BASE: u64 = 9_100_000_000_000_000_000;
/// Provisional ids each resource of a dry run may use (far more than a file's rows).
const PER_RESOURCE: u64 = 1_000_000_000_000;

/// Provisional ids for the records a dry-run chunk of `resource` creates, the chunk following
/// checkpoint `rows_done_before` (it takes at most one per row, so chunks never share one).
pub fn provisional_ids(resource: usize, rows_done_before: u64) -> impl Iterator<Item = RecordId> {
    let start = PROVISIONAL_BASE + (resource as u64).saturating_mul(PER_RESOURCE) + rows_done_before;
    (start..).map(RecordId::new)
}

/// Whether `id` is a provisional id of a dry run (shown to no one).
pub fn is_provisional(id: RecordId) -> bool {
    id.get() >= PROVISIONAL_BASE
}

/// A record as a dry run's earlier chunks left it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScratchRecord {
    /// The record's id: a stored record's, or a provisional one.
    pub id: RecordId,
    /// Its field values by API name.
    pub values: Map<String, Value>,
    /// Its owner.
    pub owner: UserId,
    /// Its layout, if it has one.
    pub layout_id: Option<String>,
    /// Every unique key it holds, sorted.
    pub keys: Vec<Key>,
}

/// What a dry-run chunk writes to its job's scratch state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScratchWrite {
    /// Each key the chunk changes, once: the record now holding it, or `None` when the chunk
    /// took it from its record (a stored key the real job would delete).
    pub keys: BTreeMap<Key, Option<RecordId>>,
    /// Every record the chunk creates or changes, as it leaves them.
    pub records: Vec<ScratchRecord>,
}

/// Lays the scratch state of the chunk's probed keys over what the stored keys said: a key the
/// run moved points where the run left it, a key it took away is gone.
pub fn overlay_keys(existing: &mut ExistingState, scratch_keys: impl IntoIterator<Item = (Key, Option<RecordId>)>) {
    for (key, record) in scratch_keys {
        match record {
            Some(id) => existing.keys.insert(key, id),
            None => existing.keys.remove(&key),
        };
    }
}

/// The records an update or upsert chunk may touch once the keys are overlaid: the ids its rows
/// name and the ids its keys found, sorted, each once.
pub fn wanted_records(probes: &Probes, existing: &ExistingState) -> Vec<RecordId> {
    let mut wanted: Vec<RecordId> = probes.ids.clone();
    wanted.extend(existing.keys.values().copied());
    wanted.sort();
    wanted.dedup();
    wanted
}

/// Lays the run's records over the stored ones (a record the run changed is seen as it left it).
pub fn overlay_records(existing: &mut ExistingState, records: Vec<ScratchRecord>) {
    for record in records {
        let id = record.id;
        let existing_record = ExistingRecord {
            id,
            values: record.values,
            owner: record.owner,
            layout_id: record.layout_id,
            keys: record.keys,
        };
        existing.records.insert(id, existing_record);
    }
}

/// The keys of every record the chunk may touch, taken before planning consumes them.
pub fn keys_before(existing: &ExistingState) -> HashMap<RecordId, Vec<Key>> {
    existing.records.iter().map(|(id, record)| (*id, record.keys.clone())).collect()
}

/// What a planned dry-run chunk leaves in the scratch state: the keys it changes and the records
/// it writes, each with the keys it holds afterwards.
pub fn scratch_write<S: std::hash::BuildHasher>(
    plan: &ChunkPlan,
    mut keys_before: HashMap<RecordId, Vec<Key>, S>,
) -> ScratchWrite {
    let mut keys: BTreeMap<Key, Option<RecordId>> = BTreeMap::new();
    for key in &plan.key_deletes {
        keys.insert(key.clone(), None);
    }
    for (key, id) in &plan.key_inserts {
        keys.insert(key.clone(), Some(*id));
    }
    let deleted: BTreeSet<&Key> = plan.key_deletes.iter().collect();
    let mut records = Vec::with_capacity(plan.inserts.len() + plan.updates.len());
    for record in plan.inserts.iter().chain(&plan.updates) {
        let mut held: Vec<Key> = keys_before.remove(&record.id).unwrap_or_default();
        held.retain(|key| !deleted.contains(key));
        held.extend(plan.key_inserts.iter().filter(|(_, id)| *id == record.id).map(|(key, _)| key.clone()));
        held.sort();
        held.dedup();
        records.push(ScratchRecord {
            id: record.id,
            values: record.values.clone(),
            owner: record.owner,
            layout_id: record.layout_id.clone(),
            keys: held,
        });
    }
    ScratchWrite { keys, records }
}

/// The answers of a lookup in a dry run: the stored records' answers, except records the run
/// has written, which answer as the run left them, with the records the run would create.
/// `scratch` is every record of `query.module` the run has written.
pub fn overlay_lookup(
    query: &LookupQuery,
    stored: Vec<(String, LookupHit)>,
    scratch: &[ScratchRecord],
) -> Vec<(String, LookupHit)> {
    let written: HashSet<RecordId> = scratch.iter().map(|record| record.id).collect();
    let mut hits: Vec<(String, LookupHit)> = stored.into_iter().filter(|(_, hit)| !written.contains(&hit.id)).collect();
    let wanted: HashSet<&str> = query.values.iter().map(String::as_str).collect();
    let display = if query.display_field.is_empty() { "id" } else { query.display_field.as_str() };
    for record in scratch {
        let name = record.values.get(display).and_then(text_of);
        let matched: Vec<String> = match query.by {
            LookupBy::Id => vec![record.id.to_string()],
            LookupBy::UniqueKey => {
                record.keys.iter().filter(|(field, _)| *field == query.field).map(|(_, value)| value.clone()).collect()
            }
            LookupBy::Value => record
                .values
                .get(&query.field)
                .and_then(text_of)
                .map(|text| normalize_value(&text))
                .into_iter()
                .collect(),
        };
        for value in matched.into_iter().filter(|value| wanted.contains(value.as_str())) {
            hits.push((value, LookupHit { id: record.id, name: name.clone() }));
        }
    }
    hits
}

/// A field value as text, as the stores compare it (strings and numbers; nothing else names).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulkwrite_core::plan::PlannedRecord;

    fn key(value: &str) -> Key {
        ("Email".to_string(), value.to_string())
    }

    #[test]
    fn provisional_ids_differ_by_resource_and_checkpoint_and_are_never_real() {
        let first: Vec<RecordId> = provisional_ids(0, 0).take(2).collect();
        assert_eq!(first[1].get(), first[0].get() + 1);
        assert_ne!(provisional_ids(1, 0).next(), provisional_ids(0, 0).next());
        assert_eq!(provisional_ids(0, 500).next().unwrap().get(), PROVISIONAL_BASE + 500);
        assert!(is_provisional(first[0]));
        assert!(!is_provisional(RecordId::new(5_725_767_000_000_001_001)));
        // Still a 19-digit id that fits a signed 64-bit column.
        assert!(provisional_ids(64, 10_000_000).next().unwrap().get() < i64::MAX as u64);
    }

    #[test]
    fn an_updated_record_keeps_its_other_keys_and_takes_its_new_ones() {
        let id = RecordId::new(5_725_767_000_000_001_001);
        let plan = ChunkPlan {
            updates: vec![PlannedRecord { id, values: Map::new(), owner: UserId::new(1), layout_id: None }],
            key_deletes: vec![key("old@x.co")],
            key_inserts: vec![(key("new@x.co"), id)],
            ..ChunkPlan::default()
        };
        let before = HashMap::from([(id, vec![key("old@x.co"), ("Phone".into(), "1".into())])]);
        let write = scratch_write(&plan, before);
        assert_eq!(write.keys.get(&key("old@x.co")), Some(&None));
        assert_eq!(write.keys.get(&key("new@x.co")), Some(&Some(id)));
        assert_eq!(write.records[0].keys, vec![key("new@x.co"), ("Phone".into(), "1".into())]);
    }

    #[test]
    fn overlaid_keys_move_and_disappear() {
        let (stored, moved) = (RecordId::new(1), RecordId::new(2));
        let mut existing = ExistingState::default();
        existing.keys.insert(key("a@x.co"), stored);
        existing.keys.insert(key("b@x.co"), stored);
        overlay_keys(&mut existing, [(key("a@x.co"), None), (key("b@x.co"), Some(moved))]);
        assert_eq!(existing.keys.get(&key("a@x.co")), None);
        assert_eq!(existing.keys.get(&key("b@x.co")), Some(&moved));
    }

    #[test]
    fn lookups_see_records_the_run_wrote_and_not_what_it_changed() {
        let (stored, created) = (RecordId::new(5_725_767_000_000_001_001), provisional_ids(0, 0).next().unwrap());
        let record = |id, name: &str| ScratchRecord {
            id,
            values: serde_json::json!({"Account_Name": name}).as_object().cloned().unwrap(),
            owner: UserId::new(1),
            layout_id: None,
            keys: vec![("Account_Name".into(), name.to_lowercase())],
        };
        let scratch = [record(stored, "Renamed"), record(created, "Zylker")];
        let query = |by, values: &[&str]| LookupQuery {
            module: "Accounts".into(),
            field: "Account_Name".into(),
            by,
            values: values.iter().map(|v| v.to_string()).collect(),
            display_field: "Account_Name".into(),
        };
        let old_name = vec![("old".to_string(), LookupHit { id: stored, name: Some("Old".into()) })];
        let hits = overlay_lookup(&query(LookupBy::Value, &["old", "zylker", "renamed"]), old_name, &scratch);
        let found: Vec<(&str, RecordId)> = hits.iter().map(|(value, hit)| (value.as_str(), hit.id)).collect();
        assert_eq!(found, [("renamed", stored), ("zylker", created)]);
        let by_id = overlay_lookup(&query(LookupBy::Id, &[&created.to_string()]), Vec::new(), &scratch);
        assert_eq!(by_id[0].1.name.as_deref(), Some("Zylker"));
        assert_eq!(overlay_lookup(&query(LookupBy::UniqueKey, &["zylker"]), Vec::new(), &scratch).len(), 1);
    }
}
