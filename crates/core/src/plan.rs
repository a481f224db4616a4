//! Decides what a chunk of rows does to the records, given what the database holds: which rows
//! insert, which update which record, which are skipped and why, and which unique keys change.
//!
//! The store fetches the existing state the chunk needs, calls [`plan_chunk`], and writes the
//! plan in one transaction. Every backend therefore shares one implementation of Zoho's rules
//! for insert, update, upsert, `find_by`, duplicates and `ignore_empty`.

use std::collections::HashMap;

use bulkwrite_wire::Operation;
use serde_json::{Map, Value};

use crate::ids::{RecordId, UserId};
use crate::mapping::{FindKey, RowDraft, RowValues};
use crate::result::{errors_cell, ErrorsCell, ResultRow, RowError, RowErrorCode, RowStatus};
use crate::FastHasher;

/// A unique key: `(field, normalised value)`.
pub type Key = (String, String);

/// A record the chunk may update, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingRecord {
    /// The record's id.
    pub id: RecordId,
    /// The record's field values, by API name.
    pub values: Map<String, Value>,
    /// The record's owner.
    pub owner: UserId,
    /// The record's layout, when it has one.
    pub layout_id: Option<String>,
    /// The record's unique keys as stored.
    pub keys: Vec<Key>,
}

/// What the database holds for the keys and ids a chunk names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExistingState {
    /// Owner of each probed key that exists.
    pub keys: HashMap<Key, RecordId>,
    /// Records that rows may update (matched by key or id), with their keys.
    pub records: HashMap<RecordId, ExistingRecord>,
}

/// The keys and ids a chunk needs looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probes {
    /// Unique keys whose owners are needed (to find records and catch duplicates).
    pub keys: Vec<Key>,
    /// Record ids rows name (`find_by: id`).
    pub ids: Vec<RecordId>,
}

/// Lists what [`plan_chunk`] needs to know about `rows`, each key and id once, in order: the
/// rows' keys sorted and deduplicated in place, then copied once each (hashing and copying every
/// key into a set was 4% of the runtime's CPU in a 1,000,000-row upsert).
pub fn probes_for(rows: &[RowDraft]) -> Probes {
    let mut keys: Vec<(&str, &str)> = Vec::with_capacity(rows.len());
    let mut ids = Vec::new();
    for row in rows {
        for key in &row.unique_keys {
            keys.push((&key.field, &key.value));
        }
        match &row.find_key {
            Some(FindKey::Unique { field, value, .. }) => keys.push((field, value)),
            Some(FindKey::Id { id, .. }) => ids.push(*id),
            _ => {}
        }
    }
    keys.sort_unstable();
    keys.dedup();
    ids.sort_unstable();
    ids.dedup();
    let keys = keys.into_iter().map(|(field, value)| (field.to_string(), value.to_string())).collect();
    Probes { keys, ids }
}

/// A chunk's rows, its operation and the defaults of inserted records.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    /// Insert, update or upsert.
    pub operation: Operation,
    /// The chunk's rows, mapped and converted, in input order.
    pub rows: Vec<RowDraft>,
    /// The owner of inserted records whose row names none (the job's creator).
    pub default_owner: UserId,
    /// The layout of inserted records whose row names none.
    pub default_layout: Option<String>,
    /// The module has Zoho's computed `Full_Name` (`First_Name Last_Name`), kept up to date here.
    pub full_name: bool,
}

/// A record as the chunk leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecord {
    /// The record's id (new for an insert).
    pub id: RecordId,
    /// The record's field values after the chunk, by API name.
    pub values: Map<String, Value>,
    /// The record's owner.
    pub owner: UserId,
    /// The record's layout, when it has one.
    pub layout_id: Option<String>,
}

/// What to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkPlan {
    /// Records to create.
    pub inserts: Vec<PlannedRecord>,
    /// Records to write back changed.
    pub updates: Vec<PlannedRecord>,
    /// Keys to remove, then keys to add (with their record).
    pub key_deletes: Vec<Key>,
    /// Unique keys the chunk's records take.
    pub key_inserts: Vec<(Key, RecordId)>,
    /// One result per row, in input order.
    pub results: Vec<ResultRow>,
    /// Rows that created a record.
    pub added: u64,
    /// Rows that updated a record.
    pub updated: u64,
    /// Rows skipped (their errors are in `results`).
    pub skipped: u64,
}

/// What each row of a chunk does.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Insert(RecordId),
    Update(RecordId),
    Skip(Vec<RowError>),
}

/// A chunk's decisions, made without touching its rows: what each row does and which keys
/// change. [`Decisions::build`] then moves the rows' values into the records they write, so a
/// store can act on the keys first (an optimistic insert) and decide again if they collide,
/// without keeping a copy of the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    outcomes: Vec<Outcome>,
    /// Records the chunk writes, in first-touch order, and whether each is new.
    order: Vec<(RecordId, bool)>,
    /// Keys to remove, then keys to add (with their record).
    pub key_deletes: Vec<Key>,
    /// Unique keys the chunk's records take.
    pub key_inserts: Vec<(Key, RecordId)>,
    added: u64,
    updated: u64,
    skipped: u64,
}

/// A unique key `(field, value)`, borrowed from a row or a record read.
type KeyRef<'a> = (&'a str, &'a str);

/// A record's unique keys while the chunk is decided, borrowed (from the record as read and the
/// rows): only the keys that change are copied, when the decisions are made.
struct Working<'a> {
    keys: Vec<KeyRef<'a>>,
    original_keys: &'a [Key],
    touched: bool,
}

/// The planner's maps, hashed with [`FastHasher`]: every row looks its keys up and sets them,
/// and SipHash was about 4% of the runtime's CPU in a 1,000,000-row insert (docs/PERFORMANCE.md).
/// They hold one chunk's keys at most.
type FastMap<K, V> = HashMap<K, V, FastHasher>;

struct Planner<'a> {
    operation: Operation,
    /// Current owner of every key the chunk has seen, by field then value.
    owners: FastMap<&'a str, FastMap<&'a str, Option<RecordId>>>,
    records: FastMap<RecordId, Working<'a>>,
    /// How many keys a field's map of owners makes room for at once.
    keys_per_field: usize,
    decisions: Decisions,
}

/// Plans a chunk. `new_ids` yields ids for inserted records (at most one per row is taken).
/// Rows are consumed: their values move into the planned records.
pub fn plan_chunk(input: PlanInput, existing: ExistingState, new_ids: &mut dyn Iterator<Item = RecordId>) -> ChunkPlan {
    decide(&input, &existing, new_ids).build(input, existing)
}

/// Decides what each of the input's rows does against what exists (see [`Decisions`]).
pub fn decide(input: &PlanInput, existing: &ExistingState, new_ids: &mut dyn Iterator<Item = RecordId>) -> Decisions {
    let rows = &input.rows;
    let mut planner = Planner {
        operation: input.operation,
        owners: FastMap::default(),
        records: FastMap::with_capacity_and_hasher(existing.records.len() + rows.len(), FastHasher::default()),
        keys_per_field: existing.keys.len() + rows.len(),
        decisions: Decisions {
            outcomes: Vec::with_capacity(rows.len()),
            order: Vec::with_capacity(rows.len()),
            key_deletes: Vec::new(),
            key_inserts: Vec::new(),
            added: 0,
            updated: 0,
            skipped: 0,
        },
    };
    for ((field, value), id) in &existing.keys {
        planner.set_owner(field, value, Some(*id));
    }
    for record in existing.records.values() {
        planner.load(record);
    }
    for row in rows {
        let outcome = planner.apply_row(row, new_ids);
        match outcome {
            Outcome::Insert(_) => planner.decisions.added += 1,
            Outcome::Update(_) => planner.decisions.updated += 1,
            Outcome::Skip(_) => planner.decisions.skipped += 1,
        }
        planner.decisions.outcomes.push(outcome);
    }
    planner.finish()
}

impl<'a> Planner<'a> {
    fn set_owner(&mut self, field: &'a str, value: &'a str, owner: Option<RecordId>) {
        let room = self.keys_per_field;
        self.owners
            .entry(field)
            .or_insert_with(|| FastMap::with_capacity_and_hasher(room, FastHasher::default()))
            .insert(value, owner);
    }

    fn load(&mut self, record: &'a ExistingRecord) {
        for (field, value) in &record.keys {
            self.set_owner(field, value, Some(record.id));
        }
        let keys = record.keys.iter().map(|(field, value)| (field.as_str(), value.as_str())).collect();
        let working = Working { keys, original_keys: &record.keys, touched: false };
        self.records.insert(record.id, working);
    }

    fn owner_of(&self, field: &str, value: &str) -> Option<RecordId> {
        self.owners.get(field).and_then(|values| values.get(value)).copied().flatten()
    }

    /// The record the row's `find_by` names, if it exists.
    fn matched(&self, row: &RowDraft) -> Option<RecordId> {
        match &row.find_key {
            Some(FindKey::Id { id, .. }) => self.records.contains_key(id).then_some(*id),
            Some(FindKey::Unique { field, value, .. }) => self.owner_of(field, value),
            _ => None,
        }
    }

    fn apply_row(&mut self, row: &'a RowDraft, new_ids: &mut dyn Iterator<Item = RecordId>) -> Outcome {
        let matched = self.matched(row);
        match (self.operation, matched) {
            (Operation::Insert, Some(_)) if row.find_key.is_some() => {
                let mut errors = row.errors.clone();
                errors.push(find_error(row, RowErrorCode::DuplicateData));
                Outcome::Skip(errors)
            }
            (Operation::Insert, _) => self.insert(row, &[], new_ids),
            (Operation::Update, None) => {
                let code = match row.find_key {
                    Some(FindKey::Missing { .. }) => Some(RowErrorCode::MandatoryNotFound),
                    // The unusable key cell is already reported.
                    Some(FindKey::Invalid { .. }) => None,
                    _ => Some(RowErrorCode::ResourceNotFound),
                };
                let mut errors = row.errors.clone();
                if let Some(code) = code {
                    errors.push(find_error(row, code));
                }
                Outcome::Skip(errors)
            }
            (Operation::Upsert, None) => self.insert(row, &row.missing_for_insert, new_ids),
            (Operation::Update | Operation::Upsert, Some(id)) => self.update(row, id),
        }
    }

    fn duplicate_errors(&self, row: &RowDraft, own: Option<RecordId>) -> Vec<RowError> {
        let mut errors = Vec::new();
        for key in &row.unique_keys {
            let owner = self.owner_of(&key.field, &key.value);
            if owner.is_some() && owner != own {
                errors.push(
                    RowError::new(RowErrorCode::DuplicateData, key.column.clone()).on(key.field.clone(), String::new()),
                );
            }
        }
        errors
    }

    /// `also` are errors that count only because the row inserts (an upsert's missing mandatory
    /// fields).
    fn insert(&mut self, row: &'a RowDraft, also: &[RowError], new_ids: &mut dyn Iterator<Item = RecordId>) -> Outcome {
        let duplicates = self.duplicate_errors(row, None);
        if !row.errors.is_empty() || !also.is_empty() || !duplicates.is_empty() {
            let mut errors = row.errors.clone();
            errors.extend_from_slice(also);
            errors.extend(duplicates);
            return Outcome::Skip(errors);
        }
        let Some(id) = new_ids.next() else {
            return Outcome::Skip(vec![RowError::new(RowErrorCode::CannotProcess, find_column(row))]);
        };
        let mut keys = Vec::with_capacity(row.unique_keys.len());
        for key in &row.unique_keys {
            self.set_owner(&key.field, &key.value, Some(id));
            keys.push((key.field.as_str(), key.value.as_str()));
        }
        self.records.insert(id, Working { keys, original_keys: &[], touched: true });
        self.decisions.order.push((id, true));
        Outcome::Insert(id)
    }

    fn update(&mut self, row: &'a RowDraft, id: RecordId) -> Outcome {
        let duplicates = self.duplicate_errors(row, Some(id));
        if !row.errors.is_empty() || !duplicates.is_empty() {
            let mut errors = row.errors.clone();
            errors.extend(duplicates);
            return Outcome::Skip(errors);
        }
        let Some(working) = self.records.get_mut(&id) else {
            return Outcome::Skip(vec![find_error(row, RowErrorCode::ResourceNotFound)]);
        };
        let mut released: Vec<KeyRef<'a>> = Vec::new();
        for (field, value) in &row.values {
            if value.is_null() {
                released.extend(working.keys.iter().filter(|k| k.0 == field));
                working.keys.retain(|k| k.0 != field);
            }
        }
        for key in &row.unique_keys {
            released.extend(working.keys.iter().filter(|k| k.0 == key.field && k.1 != key.value));
            working.keys.retain(|k| k.0 != key.field);
            working.keys.push((key.field.as_str(), key.value.as_str()));
        }
        if !working.touched {
            working.touched = true;
            self.decisions.order.push((id, false));
        }
        for (field, value) in released {
            if let Some(values) = self.owners.get_mut(field) {
                if let Some(owner) = values.get_mut(value) {
                    *owner = None;
                }
            }
        }
        for key in &row.unique_keys {
            self.set_owner(&key.field, &key.value, Some(id));
        }
        Outcome::Update(id)
    }

    fn finish(mut self) -> Decisions {
        // A record has a key per unique field of its module, a handful: compared in place, not
        // through two hash sets per record (with those, and every key copied as it was loaded,
        // deciding a 2,000-row upsert chunk took 6.8 ms on SQLite's writer; now 4.0 ms).
        for (id, _) in &self.decisions.order {
            let Some(working) = self.records.get(id) else { continue };
            let kept = |(field, value): &Key| working.keys.iter().any(|key| key.0 == field && key.1 == value);
            for key in working.original_keys.iter().filter(|key| !kept(key)) {
                self.decisions.key_deletes.push(key.clone());
            }
            for &(field, value) in &working.keys {
                if !working.original_keys.iter().any(|key| key.0 == field && key.1 == value) {
                    self.decisions.key_inserts.push(((field.to_string(), value.to_string()), *id));
                }
            }
        }
        self.decisions
    }
}

impl Decisions {
    /// Writes the decisions out: moves the rows' values into the records they insert or update
    /// (on top of the existing records the decisions were made against) and their cells into the
    /// result rows.
    pub fn build(mut self, input: PlanInput, existing: ExistingState) -> ChunkPlan {
        let mut records: HashMap<RecordId, PlannedRecord> = existing
            .records
            .into_values()
            .map(|record| {
                let planned = PlannedRecord {
                    id: record.id,
                    values: record.values,
                    owner: record.owner,
                    layout_id: record.layout_id,
                };
                (record.id, planned)
            })
            .collect();
        records.reserve(self.order.len());
        let mut results = Vec::with_capacity(input.rows.len());
        let outcomes = std::mem::take(&mut self.outcomes);
        for (mut row, outcome) in input.rows.into_iter().zip(outcomes) {
            results.push(result_row(row.row_no, std::mem::take(&mut row.echo), &outcome));
            match outcome {
                Outcome::Insert(id) => {
                    let mut values = row.values;
                    values.retain(|_, v| !v.is_null());
                    let values = values.into_map();
                    let owner = row.owner.unwrap_or(input.default_owner);
                    let layout_id = row.layout_id.or_else(|| input.default_layout.clone());
                    records.insert(id, PlannedRecord { id, values, owner, layout_id });
                }
                Outcome::Update(id) => {
                    if let Some(record) = records.get_mut(&id) {
                        for (field, value) in row.values {
                            if value.is_null() {
                                record.values.remove(&*field);
                            } else {
                                record.values.insert(field.to_string(), value);
                            }
                        }
                        if let Some(owner) = row.owner {
                            record.owner = owner;
                        }
                        if let Some(layout) = row.layout_id {
                            record.layout_id = Some(layout);
                        }
                    }
                }
                Outcome::Skip(_) => {}
            }
        }
        let order = std::mem::take(&mut self.order);
        let mut plan = self.into_plan(results);
        plan.inserts.reserve(plan.added as usize);
        for (id, is_new) in order {
            let Some(mut record) = records.remove(&id) else { continue };
            if input.full_name {
                set_full_name(&mut record.values);
            }
            if is_new {
                plan.inserts.push(record);
            } else {
                plan.updates.push(record);
            }
        }
        plan
    }

    /// The plan of a store that wrote the new records from the rows in place (see
    /// [`Decisions::inserted`]): its result rows, counts and keys, and no records. The rows'
    /// echo cells move into the result rows; the rest of the rows is left to the caller to
    /// drop. Building the records only to drop them was a tenth of an insert's CPU.
    pub fn into_results(self, rows: &mut [RowDraft]) -> ChunkPlan {
        let mut results = Vec::with_capacity(rows.len());
        for (row, outcome) in rows.iter_mut().zip(&self.outcomes) {
            results.push(result_row(row.row_no, std::mem::take(&mut row.echo), outcome));
        }
        self.into_plan(results)
    }

    /// The result rows [`Decisions::into_results`] will give, read from the rows in place
    /// (their echo cells copied), for a store to encode before it writes.
    pub fn results(&self, rows: &[RowDraft]) -> Vec<ResultRow> {
        rows.iter()
            .zip(&self.outcomes)
            .map(|(row, outcome)| result_row(row.row_no, row.echo.clone(), outcome))
            .collect()
    }

    /// A plan of these decisions' keys and counts with `results`, and no records yet.
    fn into_plan(self, results: Vec<ResultRow>) -> ChunkPlan {
        ChunkPlan {
            inserts: Vec::new(),
            updates: Vec::new(),
            key_deletes: self.key_deletes,
            key_inserts: self.key_inserts,
            results,
            added: self.added,
            updated: self.updated,
            skipped: self.skipped,
        }
    }

    /// The records the decisions write, new and existing, in the order first touched.
    pub fn written(&self) -> impl Iterator<Item = RecordId> + '_ {
        self.order.iter().map(|(id, _)| *id)
    }

    /// The records the rows insert, in row order, read from the rows in place: what
    /// [`Decisions::build`] will move into `inserts`, available before it does.
    pub fn inserted<'a>(&'a self, input: &'a PlanInput) -> impl Iterator<Item = NewRecordView<'a>> + 'a {
        self.outcomes.iter().zip(&input.rows).filter_map(move |(outcome, row)| match outcome {
            Outcome::Insert(id) => Some(NewRecordView {
                id: *id,
                owner: row.owner.unwrap_or(input.default_owner),
                layout_id: row.layout_id.as_deref().or(input.default_layout.as_deref()),
                values: NewValues { values: &row.values, full_name: input.full_name },
            }),
            _ => None,
        })
    }
}

/// The result row of a decided row, with its echo cells.
fn result_row(row_no: u64, echo: Vec<String>, outcome: &Outcome) -> ResultRow {
    let (status, record_id, errors, reasons) = match outcome {
        Outcome::Insert(id) => (RowStatus::Added, Some(*id), ErrorsCell::default(), Vec::new()),
        Outcome::Update(id) => (RowStatus::Updated, Some(*id), ErrorsCell::default(), Vec::new()),
        Outcome::Skip(errors) => {
            (RowStatus::Skipped, None, errors_cell(errors), errors.iter().map(RowError::to_report).collect())
        }
    };
    ResultRow { row_no, echo, status, record_id, errors, reasons }
}

/// A record a row inserts, as [`Decisions::build`] will leave it, borrowed from the row.
pub struct NewRecordView<'a> {
    /// The new record's id.
    pub id: RecordId,
    /// The row's owner, or the input's default.
    pub owner: UserId,
    /// The row's layout, or the input's default.
    pub layout_id: Option<&'a str>,
    /// The record's values, read in place.
    pub values: NewValues<'a>,
}

/// The values of the record a row inserts, as [`Decisions::build`] leaves them (nulls dropped,
/// `Full_Name` computed when the module has it), serialised from the row in place. Equal to
/// serialising the built record's values, which a test checks.
pub struct NewValues<'a> {
    values: &'a RowValues,
    /// Whether the module has `Full_Name`: computed as the values are serialised (a view
    /// that is never serialised, a store's second pass over the records for their ids say,
    /// costs nothing).
    full_name: bool,
}

impl NewValues<'_> {
    /// A value of the record, by field (`Parent_Id`, say).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.values.get(field).filter(|value| !value.is_null())
    }

    /// Their JSON text as serialising them writes it, when the values were frozen into it
    /// ([`freeze_for_insert`]) by the same `Full_Name` rule and have not changed since.
    pub fn written(&self) -> Option<&str> {
        self.values.frozen_text(self.full_name)
    }
}

/// Freezes the values of a row an insert will write into the JSON text it stores
/// ([`NewValues`], by the `full_name` rule): a reader calls it as it maps each row of an
/// insert. The values are written while they are warm, on the reader's thread, and freed there
/// at once; the store copies the text a chunk or two later. A 1,000,000-row PostgreSQL insert
/// took 5–7% less time, the server 11–15% less CPU and 13–18 MiB less memory at its peak
/// (docs/PERFORMANCE.md). Reads of the values still answer (see [`RowValues`]).
pub fn freeze_for_insert(values: &mut RowValues, full_name: bool) {
    if let Ok(text) = serde_json::to_string(&NewValues { values, full_name }) {
        values.freeze(full_name, text);
    }
}

impl serde::Serialize for NewValues<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let computed = self.full_name.then(|| FullName::of(|field| self.values.get(field))).flatten();
        let mut full_name_written = false;
        for (field, value) in self.values {
            if value.is_null() {
                continue;
            }
            if self.full_name && field == "Full_Name" {
                // An existing `Full_Name` keeps its place and takes the computed value.
                if let Some(computed) = &computed {
                    map.serialize_entry(field, computed)?;
                }
                full_name_written = true;
            } else {
                map.serialize_entry(field, value)?;
            }
        }
        if let (Some(computed), false) = (&computed, full_name_written) {
            map.serialize_entry("Full_Name", computed)?;
        }
        map.end()
    }
}

/// A computed `Full_Name`: `First_Name Last_Name`, trimmed, borrowed from the two names, and
/// written (as text, or straight into JSON) without a `String` of its own.
struct FullName<'a> {
    first: &'a str,
    last: &'a str,
}

impl<'a> FullName<'a> {
    /// `None` when both names are empty.
    fn from_parts(first: &'a str, last: &'a str) -> Option<FullName<'a>> {
        let (first, last) = (first.trim(), last.trim());
        (!first.is_empty() || !last.is_empty()).then_some(FullName { first, last })
    }

    /// The name of values that `get` reads by field, a record's or a row's (a name that is not a
    /// string is empty).
    fn of(get: impl Fn(&str) -> Option<&'a Value>) -> Option<FullName<'a>> {
        let part = |name: &str| get(name).and_then(Value::as_str).unwrap_or("");
        FullName::from_parts(part("First_Name"), part("Last_Name"))
    }
}

impl std::fmt::Display for FullName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.first.is_empty(), self.last.is_empty()) {
            (false, false) => write!(f, "{} {}", self.first, self.last),
            (true, _) => f.write_str(self.last),
            (false, true) => f.write_str(self.first),
        }
    }
}

impl serde::Serialize for FullName<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `Full_Name` is `First_Name Last_Name`, as Zoho computes it for Leads and Contacts.
fn set_full_name(values: &mut Map<String, Value>) {
    match full_name_of(values) {
        Some(joined) => {
            values.insert("Full_Name".to_string(), Value::String(joined));
        }
        // `shift_remove` keeps the other fields in their order (`remove` would swap the last in).
        None => {
            values.shift_remove("Full_Name");
        }
    }
}

/// `First_Name Last_Name`, trimmed, or `None` when both are empty (a store that merges rows
/// into stored records without building their maps computes `Full_Name` with it).
pub fn full_name_of(values: &Map<String, Value>) -> Option<String> {
    FullName::of(|field| values.get(field)).map(|name| name.to_string())
}

/// [`full_name_of`] from the two names' text.
pub fn full_name_from(first: &str, last: &str) -> Option<String> {
    FullName::from_parts(first, last).map(|name| name.to_string())
}

/// An error about the row's `find_by` key, naming its column and, where the key has one, its
/// field (the full report fills the value in from the row's own cell).
fn find_error(row: &RowDraft, code: RowErrorCode) -> RowError {
    let error = RowError::new(code, find_column(row));
    match &row.find_key {
        Some(FindKey::Unique { field, .. }) => error.on(field.clone(), String::new()),
        Some(FindKey::Id { .. }) => error.on(crate::jobspec::ID_FIELD, String::new()),
        _ => error,
    }
}

fn find_column(row: &RowDraft) -> String {
    match &row.find_key {
        Some(
            FindKey::Id { column, .. }
            | FindKey::Unique { column, .. }
            | FindKey::Missing { column }
            | FindKey::Invalid { column },
        ) => column.clone(),
        None => crate::jobspec::ID_FIELD.to_string(),
    }
}

#[cfg(test)]
mod tests;
