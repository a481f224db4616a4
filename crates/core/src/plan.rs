//! Decides what a chunk of rows does to the records, given what the database holds: which rows
//! insert, which update which record, which are skipped and why, and which unique keys change.
//!
//! The store fetches the existing state the chunk needs, calls [`plan_chunk`], and writes the
//! plan in one transaction. Every backend therefore shares one implementation of Zoho's rules
//! for insert, update, upsert, `find_by`, duplicates and `ignore_empty`.

use std::collections::{HashMap, HashSet};

use bulkwrite_wire::Operation;
use serde_json::{Map, Value};

use crate::ids::{RecordId, UserId};
use crate::mapping::{FindKey, RowDraft};
use crate::result::{format_errors, ResultRow, RowError, RowErrorCode, RowStatus};

/// A unique key: `(field, normalised value)`.
pub type Key = (String, String);

/// A record the chunk may update, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingRecord {
    pub id: RecordId,
    pub values: Map<String, Value>,
    pub owner: UserId,
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
    pub keys: Vec<Key>,
    pub ids: Vec<RecordId>,
}

/// Lists what [`plan_chunk`] needs to know about `rows`.
pub fn probes_for(rows: &[RowDraft]) -> Probes {
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    for row in rows {
        for key in &row.unique_keys {
            keys.insert((key.field.clone(), key.value.clone()));
        }
        match &row.find_key {
            Some(FindKey::Unique { field, value, .. }) => {
                keys.insert((field.clone(), value.clone()));
            }
            Some(FindKey::Id { id, .. }) => {
                ids.insert(*id);
            }
            _ => {}
        }
    }
    let mut probes = Probes { keys: keys.into_iter().collect(), ids: ids.into_iter().collect() };
    probes.keys.sort();
    probes.ids.sort();
    probes
}

/// A chunk's rows, its operation and the defaults of inserted records.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    pub operation: Operation,
    pub rows: Vec<RowDraft>,
    pub default_owner: UserId,
    pub default_layout: Option<String>,
    /// The module has Zoho's computed `Full_Name` (`First_Name Last_Name`), kept up to date here.
    pub full_name: bool,
}

/// A record as the chunk leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecord {
    pub id: RecordId,
    pub values: Map<String, Value>,
    pub owner: UserId,
    pub layout_id: Option<String>,
}

/// What to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkPlan {
    pub inserts: Vec<PlannedRecord>,
    pub updates: Vec<PlannedRecord>,
    /// Keys to remove, then keys to add (with their record).
    pub key_deletes: Vec<Key>,
    pub key_inserts: Vec<(Key, RecordId)>,
    pub results: Vec<ResultRow>,
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
}

struct Working {
    record: PlannedRecord,
    keys: Vec<Key>,
    original_keys: Vec<Key>,
    is_new: bool,
    touched: bool,
}

struct Planner {
    operation: Operation,
    full_name: bool,
    default_owner: UserId,
    default_layout: Option<String>,
    /// Current owner of every key the chunk has seen, by field then value.
    owners: HashMap<String, HashMap<String, Option<RecordId>>>,
    records: HashMap<RecordId, Working>,
    order: Vec<RecordId>,
    plan: ChunkPlan,
}

/// Plans a chunk. `new_ids` yields ids for inserted records (at most one per row is taken).
/// Rows are consumed: their values move into the planned records.
pub fn plan_chunk(input: PlanInput, existing: ExistingState, new_ids: &mut dyn Iterator<Item = RecordId>) -> ChunkPlan {
    let rows = input.rows;
    let mut planner = Planner {
        operation: input.operation,
        full_name: input.full_name,
        default_owner: input.default_owner,
        default_layout: input.default_layout,
        owners: HashMap::new(),
        records: HashMap::with_capacity(existing.records.len() + rows.len()),
        order: Vec::with_capacity(rows.len()),
        plan: ChunkPlan { results: Vec::with_capacity(rows.len()), ..ChunkPlan::default() },
    };
    for (key, id) in existing.keys {
        planner.set_owner(key, Some(id));
    }
    for record in existing.records.into_values() {
        planner.load(record);
    }
    for row in rows {
        planner.apply_row(row, new_ids);
    }
    planner.finish()
}

impl Planner {
    fn set_owner(&mut self, (field, value): Key, owner: Option<RecordId>) {
        self.owners.entry(field).or_default().insert(value, owner);
    }

    fn load(&mut self, record: ExistingRecord) {
        for key in &record.keys {
            self.set_owner(key.clone(), Some(record.id));
        }
        let working = Working {
            record: PlannedRecord {
                id: record.id,
                values: record.values,
                owner: record.owner,
                layout_id: record.layout_id,
            },
            original_keys: record.keys.clone(),
            keys: record.keys,
            is_new: false,
            touched: false,
        };
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

    fn apply_row(&mut self, mut row: RowDraft, new_ids: &mut dyn Iterator<Item = RecordId>) {
        let matched = self.matched(&row);
        match (self.operation, matched) {
            (Operation::Insert, Some(_)) if row.find_key.is_some() => {
                let column = find_column(&row);
                let mut errors = std::mem::take(&mut row.errors);
                errors.push(RowError::new(RowErrorCode::DuplicateData, column));
                self.skip(row, errors);
            }
            (Operation::Insert, _) => self.insert(row, new_ids),
            (Operation::Update, None) => {
                let code = match row.find_key {
                    Some(FindKey::Missing { .. }) => Some(RowErrorCode::MandatoryNotFound),
                    // The unusable key cell is already reported.
                    Some(FindKey::Invalid { .. }) => None,
                    _ => Some(RowErrorCode::ResourceNotFound),
                };
                let column = find_column(&row);
                let mut errors = std::mem::take(&mut row.errors);
                if let Some(code) = code {
                    errors.push(RowError::new(code, column));
                }
                self.skip(row, errors);
            }
            (Operation::Upsert, None) => {
                let missing = std::mem::take(&mut row.missing_for_insert);
                row.errors.extend(missing);
                self.insert(row, new_ids);
            }
            (Operation::Update | Operation::Upsert, Some(id)) => self.update(row, id),
        }
    }

    fn duplicate_errors(&self, row: &RowDraft, own: Option<RecordId>) -> Vec<RowError> {
        let mut errors = Vec::new();
        for key in &row.unique_keys {
            let owner = self.owner_of(&key.field, &key.value);
            if owner.is_some() && owner != own {
                errors.push(RowError::new(RowErrorCode::DuplicateData, key.column.clone()));
            }
        }
        errors
    }

    fn insert(&mut self, mut row: RowDraft, new_ids: &mut dyn Iterator<Item = RecordId>) {
        let duplicates = self.duplicate_errors(&row, None);
        let mut errors = std::mem::take(&mut row.errors);
        errors.extend(duplicates);
        if !errors.is_empty() {
            self.skip(row, errors);
            return;
        }
        let Some(id) = new_ids.next() else {
            let column = find_column(&row);
            self.skip(row, vec![RowError::new(RowErrorCode::CannotProcess, column)]);
            return;
        };
        let mut values = std::mem::take(&mut row.values);
        values.retain(|_, v| !v.is_null());
        if self.full_name {
            set_full_name(&mut values);
        }
        let keys: Vec<Key> = row.unique_keys.drain(..).map(|k| (k.field, k.value)).collect();
        for key in &keys {
            self.set_owner(key.clone(), Some(id));
        }
        let record = PlannedRecord {
            id,
            values,
            owner: row.owner.unwrap_or(self.default_owner),
            layout_id: row.layout_id.take().or_else(|| self.default_layout.clone()),
        };
        self.records.insert(id, Working { record, keys, original_keys: Vec::new(), is_new: true, touched: true });
        self.order.push(id);
        self.plan.added += 1;
        self.result(row, RowStatus::Added, Some(id), &[]);
    }

    fn update(&mut self, mut row: RowDraft, id: RecordId) {
        let duplicates = self.duplicate_errors(&row, Some(id));
        let mut errors = std::mem::take(&mut row.errors);
        errors.extend(duplicates);
        if !errors.is_empty() {
            self.skip(row, errors);
            return;
        }
        let Some(working) = self.records.get_mut(&id) else {
            let column = find_column(&row);
            self.skip(row, vec![RowError::new(RowErrorCode::ResourceNotFound, column)]);
            return;
        };
        let mut released = Vec::new();
        for (field, value) in std::mem::take(&mut row.values) {
            if value.is_null() {
                released.extend(working.keys.iter().filter(|k| k.0 == field).cloned());
                working.keys.retain(|k| k.0 != field);
                working.record.values.remove(&field);
            } else {
                working.record.values.insert(field, value);
            }
        }
        if self.full_name {
            set_full_name(&mut working.record.values);
        }
        if let Some(owner) = row.owner {
            working.record.owner = owner;
        }
        if let Some(layout) = row.layout_id.take() {
            working.record.layout_id = Some(layout);
        }
        for key in &row.unique_keys {
            released.extend(working.keys.iter().filter(|k| k.0 == key.field && k.1 != key.value).cloned());
            working.keys.retain(|k| k.0 != key.field);
            working.keys.push((key.field.clone(), key.value.clone()));
        }
        let new_keys: Vec<Key> = working.keys.clone();
        if !working.touched {
            working.touched = true;
            self.order.push(id);
        }
        for key in released {
            self.set_owner(key, None);
        }
        for key in new_keys {
            self.set_owner(key, Some(id));
        }
        self.plan.updated += 1;
        self.result(row, RowStatus::Updated, Some(id), &[]);
    }

    fn skip(&mut self, row: RowDraft, errors: Vec<RowError>) {
        self.plan.skipped += 1;
        self.result(row, RowStatus::Skipped, None, &errors);
    }

    fn result(&mut self, row: RowDraft, status: RowStatus, record_id: Option<RecordId>, errors: &[RowError]) {
        self.plan.results.push(ResultRow {
            row_no: row.row_no,
            echo: row.echo,
            status,
            record_id,
            errors: format_errors(errors),
        });
    }

    fn finish(mut self) -> ChunkPlan {
        for id in &self.order {
            let Some(working) = self.records.remove(id) else { continue };
            let original: HashSet<&Key> = working.original_keys.iter().collect();
            let current: HashSet<&Key> = working.keys.iter().collect();
            for key in working.original_keys.iter().filter(|k| !current.contains(k)) {
                self.plan.key_deletes.push(key.clone());
            }
            for key in working.keys.iter().filter(|k| !original.contains(k)) {
                self.plan.key_inserts.push((key.clone(), working.record.id));
            }
            if working.is_new {
                self.plan.inserts.push(working.record);
            } else {
                self.plan.updates.push(working.record);
            }
        }
        self.plan
    }
}

/// `Full_Name` is `First_Name Last_Name`, as Zoho computes it for Leads and Contacts.
fn set_full_name(values: &mut Map<String, Value>) {
    let part = |name: &str| values.get(name).and_then(Value::as_str).map(str::trim).unwrap_or("").to_string();
    let parts = [part("First_Name"), part("Last_Name")];
    let joined: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
    if joined.is_empty() {
        values.remove("Full_Name");
    } else {
        values.insert("Full_Name".to_string(), Value::String(joined.join(" ")));
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
