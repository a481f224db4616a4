//! Row checks of `lint`: every row goes through the same [`RowMapper`] the worker uses (types,
//! formats, dates, picklists, mandatory fields, owners), and the whole file is checked for
//! values a unique field may hold once, and for records several rows would update.

use std::collections::HashMap;
use std::io::Read;

use bulkwrite_core::csvread::CsvRows;
use bulkwrite_core::mapping::{FindKey, RowMapper};
use bulkwrite_core::result::{RowError, RowErrorCode};
use bulkwrite_wire::Operation;

use super::explain::{row_error_text, Problem};

/// What the row checks found.
#[derive(Debug, Default)]
pub struct RowReport {
    pub rows: u64,
    /// Problems kept for display (the first `keep`).
    pub problems: Vec<Problem>,
    pub errors: u64,
    pub warnings: u64,
    pub rows_with_errors: u64,
    /// Lookup cells, which only the import can match against the org's records.
    pub lookup_cells: u64,
}

impl RowReport {
    fn add(&mut self, problem: Problem, keep: usize) {
        if problem.warning {
            self.warnings += 1;
        } else {
            self.errors += 1;
        }
        if self.problems.len() < keep {
            self.problems.push(problem);
        }
    }
}

/// The first row that claimed a unique value, and the record key it had.
struct Claim {
    row: u64,
    find_key: Option<String>,
}

/// Checks every data row of `rows`.
pub fn check_rows<R: Read>(
    rows: &mut CsvRows<R>,
    mapper: &RowMapper,
    operation: Operation,
    keep: usize,
) -> anyhow::Result<RowReport> {
    let mut report = RowReport::default();
    let mut unique: HashMap<(String, String), Claim> = HashMap::new();
    let mut updated_by: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while rows.read_row(&mut record)? {
        let row = rows.rows_read();
        let draft = mapper.map_row(row, &record);
        let before = report.errors;
        let at = |column: &str, code: &str, message: String, warning: bool| Problem {
            row: Some(row),
            column: Some(column.to_string()),
            code: code.to_string(),
            message,
            warning,
        };
        for error in &draft.errors {
            report.add(at(&error.column, error.code.as_str(), row_error_text(error), false), keep);
        }
        for error in &draft.missing_for_insert {
            let text = format!("{}; it matters only if no record matches and the row inserts", row_error_text(error));
            report.add(at(&error.column, error.code.as_str(), text, true), keep);
        }
        let key = find_key_text(draft.find_key.as_ref());
        if let Some(FindKey::Missing { column }) = &draft.find_key {
            if operation == Operation::Update && !draft.errors.iter().any(|e| e.column == *column) {
                let error = RowError::new(RowErrorCode::MandatoryNotFound, column.clone())
                    .because("the find_by cell is empty, so the row cannot find the record to update");
                report.add(at(column, error.code.as_str(), row_error_text(&error), false), keep);
            }
        }
        if operation != Operation::Insert {
            if let Some(key) = &key {
                if let Some(first) = updated_by.insert(key.clone(), row) {
                    let column = find_column(draft.find_key.as_ref());
                    let text = format!("row {first} names the same record; both apply, in order, so this row wins");
                    report.add(at(&column, "SAME_RECORD", text, true), keep);
                }
            }
        }
        for claim in &draft.unique_keys {
            let slot = (claim.field.clone(), claim.value.clone());
            match unique.get(&slot) {
                Some(first) if key.is_some() && first.find_key == key => {}
                Some(first) => {
                    let text = format!(
                        "{} must be unique, and row {} already has the value '{}'; this row would be skipped",
                        claim.field, first.row, claim.value
                    );
                    report.add(at(&claim.column, RowErrorCode::DuplicateData.as_str(), text, false), keep);
                }
                None => {
                    unique.insert(slot, Claim { row, find_key: key.clone() });
                }
            }
        }
        report.lookup_cells += draft.lookups.len() as u64;
        if report.errors > before {
            report.rows_with_errors += 1;
        }
    }
    report.rows = rows.rows_read();
    Ok(report)
}

fn find_key_text(key: Option<&FindKey>) -> Option<String> {
    match key? {
        FindKey::Id { id, .. } => Some(format!("id:{id}")),
        FindKey::Unique { field, value, .. } => Some(format!("{field}:{value}")),
        FindKey::Missing { .. } | FindKey::Invalid { .. } => None,
    }
}

fn find_column(key: Option<&FindKey>) -> String {
    match key {
        Some(FindKey::Id { column, .. } | FindKey::Unique { column, .. }) => column.clone(),
        Some(FindKey::Missing { column } | FindKey::Invalid { column }) => column.clone(),
        None => String::new(),
    }
}
