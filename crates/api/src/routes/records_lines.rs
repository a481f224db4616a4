//! Inventory records (Quotes, Sales Orders, Purchase Orders, Invoices) through the records API:
//! a record carries its lines (`Quoted_Items` … in v3+, `Product_Details` with v2's keys in v2)
//! and its record-level taxes (`$line_tax`). The lines are checked and priced by the same rules
//! as bulk write's (`bulkwrite_core::inventory`, with the store facts of
//! `bulkwrite_store::inventory`) before the record is written; a record with a refused line or
//! tax is not written and answers the error with the line's `json_path`. After the write, the
//! lines are stored (an update that gives lines replaces the record's lines: those named by
//! `id` are updated, those without one added, the others deleted) and the record's totals are
//! computed from its stored lines.

use std::collections::HashMap;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::inventory::tax::{read_applied, OrgTax, LINE_TAXES, RECORD_TAXES, V2_LINE_TAXES};
use bulkwrite_core::inventory::{fill_from_stored, line_item_module, lookup_id, price_lines, V2_LINE_ITEMS_FIELD};
use bulkwrite_core::json_record::JsonMapper;
use bulkwrite_core::lookup::{plan_lookups, resolve_lookups, LookupAnswers};
use bulkwrite_core::mapping::{FindKey, RowDraft, UserDirectory};
use bulkwrite_core::result::{ResultRow, RowError, RowErrorCode, RowStatus};
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_core::version::ApiVersion;
use bulkwrite_store::inventory::{changed_totals, line_catalogue};
use bulkwrite_store::RecordWrite;
use bulkwrite_wire::{ErrorCode, Operation};
use serde_json::{json, Map, Value};

use crate::auth::Auth;
use crate::error::ErrorResponse;
use crate::AppState;

/// Most lines one record may carry.
pub const MAX_LINES: usize = 200;

/// v2's line keys and the fields they are.
const V2_KEYS: &[(&str, &str)] = &[
    ("product", "Product_Name"),
    ("quantity", "Quantity"),
    ("list_price", "List_Price"),
    ("book", "Price_Book_Name"),
    ("product_description", "Description"),
    (V2_LINE_TAXES, LINE_TAXES),
];

/// What the inventory module's records of one request carry besides their fields.
pub struct Inventory {
    parent: String,
    lines: Module,
    field: String,
    /// Per record: its priced lines when it gives them (`None`: it gives none).
    given: Vec<Option<Vec<RowDraft>>>,
    /// Per record: the answer that replaces its own (a refused line or tax).
    refused: HashMap<usize, Value>,
}

/// Whom the lines are written as, and in what zone their values are read.
pub struct Writer<'a> {
    pub schema: &'a OrgSchema,
    pub time_zone: chrono_tz::Tz,
    pub users: UserDirectory,
    pub version: ApiVersion,
    pub operation: Operation,
}

fn answer(code: ErrorCode, api_name: &str, path: String) -> Value {
    let message = if code == ErrorCode::InvalidData { "invalid data" } else { code.default_message() };
    json!({"code": code.as_str(), "details": {"api_name": api_name, "json_path": path}, "message": message, "status": "error"})
}

/// The answer for a line's first error.
fn line_answer(error: &RowError, path: &str) -> Value {
    let code = match error.code {
        RowErrorCode::MandatoryNotFound => ErrorCode::MandatoryNotFound,
        _ => ErrorCode::InvalidData,
    };
    answer(code, &error.column, format!("{path}.{}", error.column))
}

/// A line object with v3+ keys (v2's translated).
fn line_object(item: &Value, version: ApiVersion) -> Option<Map<String, Value>> {
    let object = item.as_object()?;
    if version != ApiVersion::V2 {
        return Some(object.clone());
    }
    Some(
        object
            .iter()
            .map(|(key, value)| {
                let name = V2_KEYS.iter().find(|(v2, _)| v2 == key).map_or(key.as_str(), |(_, v3)| v3);
                (name.to_string(), value.clone())
            })
            .collect(),
    )
}

impl Inventory {
    /// Reads the lines and `$line_tax` of each record of `data` (rows are its mapped records),
    /// prices the lines, and refuses (with an error on the row, so the store skips it) a record
    /// whose lines or taxes do not pass. `None` when the module is not an inventory module.
    pub async fn prepare(
        state: &AppState,
        auth: &Auth,
        writer: &Writer<'_>,
        (module, data): (&Module, &[Value]),
        rows: &mut [RowDraft],
    ) -> Result<Option<Inventory>, ErrorResponse> {
        let Some(lines_name) = line_item_module(&module.api_name) else { return Ok(None) };
        let Some(lines) = writer.schema.module(lines_name).cloned() else { return Ok(None) };
        let field = if writer.version == ApiVersion::V2 { V2_LINE_ITEMS_FIELD } else { lines_name };
        let taxes = state.store.org_taxes(auth.0.org).await?;
        let mut inventory = Inventory {
            parent: module.api_name.clone(),
            lines,
            field: field.to_string(),
            given: Vec::with_capacity(rows.len()),
            refused: HashMap::new(),
        };
        for (index, (item, row)) in data.iter().zip(rows.iter_mut()).enumerate() {
            inventory.read_record_taxes(index, item, row, &taxes);
            let given = inventory.read_lines(state, auth, writer, index, item.get(field), row).await?;
            inventory.given.push(given);
        }
        inventory.price(state, auth, writer, rows).await?;
        Ok(Some(inventory))
    }

    fn refuse(&mut self, index: usize, row: &mut RowDraft, column: &str, answer: Value) {
        if self.refused.contains_key(&index) || !row.errors.is_empty() {
            return;
        }
        row.errors.push(RowError::new(RowErrorCode::InvalidData, column).because("refused with its lines"));
        self.refused.insert(index, answer);
    }

    fn read_record_taxes(&mut self, index: usize, item: &Value, row: &mut RowDraft, taxes: &[OrgTax]) {
        let Some(given) = item.get(RECORD_TAXES) else { return };
        match read_applied(given, taxes) {
            Ok(applied) => {
                row.values.insert(RECORD_TAXES, Value::Array(applied));
            }
            Err(refusal) => {
                let path = format!("$.data[{index}].{RECORD_TAXES}[{}].{}", refusal.index, refusal.key);
                self.refuse(index, row, RECORD_TAXES, answer(ErrorCode::InvalidData, RECORD_TAXES, path));
            }
        }
    }

    /// The record's lines mapped (not yet priced), or `None` when it gives none.
    async fn read_lines(
        &mut self,
        state: &AppState,
        auth: &Auth,
        writer: &Writer<'_>,
        index: usize,
        given: Option<&Value>,
        row: &mut RowDraft,
    ) -> Result<Option<Vec<RowDraft>>, ErrorResponse> {
        let path = format!("$.data[{index}].{}", self.field);
        let items = match given {
            None | Some(Value::Null) => {
                if writer.operation == Operation::Insert && row.errors.is_empty() {
                    let answer = answer(ErrorCode::MandatoryNotFound, &self.field, path);
                    row.errors.push(RowError::new(RowErrorCode::MandatoryNotFound, self.field.clone()));
                    self.refused.insert(index, answer);
                }
                return Ok(None);
            }
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_LINES => items,
            Some(_) => {
                self.refuse(index, row, &self.field.clone(), answer(ErrorCode::InvalidData, &self.field.clone(), path));
                return Ok(None);
            }
        };
        let record = match &row.find_key {
            Some(FindKey::Id { id, .. }) => Some(*id),
            _ => None,
        };
        let mut drafts = Vec::with_capacity(items.len());
        for (line_index, item) in items.iter().enumerate() {
            let Some(object) = line_object(item, writer.version) else {
                let line_path = format!("{path}[{line_index}]");
                self.refuse(
                    index,
                    row,
                    &self.field.clone(),
                    answer(ErrorCode::InvalidData, &self.field.clone(), line_path),
                );
                return Ok(None);
            };
            let operation = if object.contains_key("id") { Operation::Update } else { Operation::Insert };
            let mapper = JsonMapper::new(
                self.lines.clone(),
                operation,
                writer.time_zone,
                writer.users.clone(),
                Some(Vec::new()),
            );
            let mut draft = mapper.map_record(line_index, &object);
            draft.errors.retain(|error| error.column != "Parent_Id");
            if let Some(taxes) = object.get(LINE_TAXES) {
                draft.values.insert(LINE_TAXES, taxes.clone());
            }
            if let Some(FindKey::Id { id, .. }) = &draft.find_key {
                let stored = state.store.get_record(auth.0.org, &self.lines.api_name, *id).await?;
                let parent = stored.as_ref().and_then(|line| lookup_id(line.values.get("Parent_Id")));
                match stored {
                    Some(line) if record.is_none() || parent == record => fill_from_stored(&mut draft, &line.values),
                    _ => draft.errors.push(RowError::new(RowErrorCode::InvalidData, "id")),
                }
            }
            drafts.push(draft);
        }
        Ok(Some(drafts))
    }

    /// Resolves the lines' lookups and prices them; a record with a refused line is refused.
    async fn price(
        &mut self,
        state: &AppState,
        auth: &Auth,
        writer: &Writer<'_>,
        rows: &mut [RowDraft],
    ) -> Result<(), ErrorResponse> {
        let counts: Vec<usize> = self.given.iter().map(|lines| lines.as_ref().map_or(0, Vec::len)).collect();
        let mut all: Vec<RowDraft> = self.given.iter_mut().flatten().flat_map(std::mem::take).collect();
        let mut answers = LookupAnswers::default();
        for query in plan_lookups(&all, writer.schema) {
            let hits = state.store.find_records(auth.0.org, &query).await?;
            answers.add(&query, hits);
        }
        resolve_lookups(&mut all, writer.schema, &answers);
        let catalogue = line_catalogue(state.store.as_ref(), auth.0.org, &all).await?;
        price_lines(&mut all, &catalogue, &HashMap::<String, String>::new());
        let mut priced = all.into_iter();
        for index in 0..self.given.len() {
            let Some(lines) = self.given[index].as_mut() else { continue };
            lines.extend(priced.by_ref().take(counts[index]));
            let refused = lines.iter().enumerate().find_map(|(j, line)| line.errors.first().map(|e| (j, e.clone())));
            if let Some((j, error)) = refused {
                let path = format!("$.data[{index}].{}[{j}]", self.field);
                let field = self.field.clone();
                self.refuse(index, &mut rows[index], &field, line_answer(&error, &path));
            }
        }
        Ok(())
    }

    /// The answer that replaces record `index`'s, when its lines or taxes were refused.
    pub fn refused(&self, index: usize) -> Option<&Value> {
        self.refused.get(&index)
    }

    /// Stores the lines of each record written and computes its totals.
    pub async fn finish(&mut self, state: &AppState, auth: &Auth, results: &[ResultRow]) -> Result<(), ErrorResponse> {
        for (index, result) in results.iter().enumerate() {
            let Some(id) = result.record_id.filter(|_| result.status != RowStatus::Skipped) else { continue };
            if let Some(lines) = self.given.get_mut(index).and_then(Option::take) {
                self.store_lines(state, auth, id, result.status == RowStatus::Added, lines).await?;
            }
            let parent = (self.parent.as_str(), self.lines.api_name.as_str());
            if let Some(totals) = changed_totals(state.store.as_ref(), auth.0.org, parent, id).await? {
                let mut row = RowDraft::new(1, Vec::new());
                row.values = totals.into();
                row.find_key = Some(FindKey::Id { id, column: "id".into() });
                self.write(state, auth, &self.parent.clone(), Operation::Update, vec![row]).await?;
            }
        }
        Ok(())
    }

    async fn store_lines(
        &self,
        state: &AppState,
        auth: &Auth,
        id: RecordId,
        added: bool,
        lines: Vec<RowDraft>,
    ) -> Result<(), ErrorResponse> {
        let org = auth.0.org;
        let name = state
            .store
            .get_record(org, &self.parent, id)
            .await?
            .and_then(|record| record.values.get("Subject").cloned())
            .unwrap_or(Value::Null);
        let (updates, inserts): (Vec<RowDraft>, Vec<RowDraft>) =
            lines.into_iter().partition(|line| matches!(line.find_key, Some(FindKey::Id { .. })));
        if !added {
            let kept: Vec<RecordId> = updates
                .iter()
                .filter_map(|line| match &line.find_key {
                    Some(FindKey::Id { id, .. }) => Some(*id),
                    _ => None,
                })
                .collect();
            let stored = state.store.child_records(org, &self.lines.api_name, "Parent_Id", id).await?;
            let gone: Vec<RecordId> = stored.iter().map(|line| line.id).filter(|line| !kept.contains(line)).collect();
            if !gone.is_empty() {
                state.store.delete_records(org, &self.lines.api_name, &gone).await?;
            }
        }
        let inserts: Vec<RowDraft> = inserts
            .into_iter()
            .map(|mut line| {
                line.values.insert("Parent_Id", json!({"name": name, "id": id.to_string()}));
                line
            })
            .collect();
        let module = self.lines.api_name.clone();
        if !updates.is_empty() {
            self.write(state, auth, &module, Operation::Update, updates).await?;
        }
        if !inserts.is_empty() {
            self.write(state, auth, &module, Operation::Insert, inserts).await?;
        }
        Ok(())
    }

    async fn write(
        &self,
        state: &AppState,
        auth: &Auth,
        module: &str,
        operation: Operation,
        rows: Vec<RowDraft>,
    ) -> Result<(), ErrorResponse> {
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(index, mut row)| {
                row.row_no = index as u64 + 1;
                row
            })
            .collect();
        let default_layout =
            if module == self.lines.api_name { self.lines.default_layout().map(|l| l.id.clone()) } else { None };
        let write = RecordWrite {
            module: module.to_string(),
            operation,
            rows,
            default_owner: auth.0.user,
            default_layout,
            actor: auth.0.user,
            now: state.clock.now(),
            full_name: false,
        };
        state.store.write_records(auth.0.org, write).await?;
        Ok(())
    }
}
