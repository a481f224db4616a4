//! Row checks of lint: every row goes through the same [`RowMapper`] the worker uses (types,
//! formats, dates, picklists, mandatory fields, owners), and the whole file is checked for
//! values a unique field may hold once, and for records several rows would update.

use std::collections::HashMap;
use std::io::Read;

use bulkwrite_wire::Operation;
use serde::Serialize;

use super::{row_error_text, Problem};
use crate::csvread::CsvRows;
use crate::mapping::{FindKey, RowMapper};
use crate::result::{RowError, RowErrorCode};

/// What the row checks found.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// Data rows read.
    pub rows: u64,
    /// Problems kept for display (the first `keep`).
    pub problems: Vec<Problem>,
    /// Problems that skip a row (all counted, kept or not).
    pub errors: u64,
    /// Problems that do not stop a row.
    pub warnings: u64,
    /// Rows with at least one error.
    pub rows_with_errors: u64,
    /// Lookup cells, which only the import can match against the org's records.
    pub lookup_cells: u64,
    /// The read stopped after `max_rows` rows with more to come.
    pub truncated: bool,
    /// The file could not be read past `rows` (a malformed record, a bound reached): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
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

/// Checks the data rows of `rows`, at most `max_rows` of them, keeping the first `keep` problems.
/// A file that cannot be read on stops the check there, with `read_error` saying why.
pub fn check_rows<R: Read>(
    rows: &mut CsvRows<R>,
    mapper: &RowMapper,
    operation: Operation,
    keep: usize,
    max_rows: u64,
) -> RowReport {
    let mut report = RowReport::default();
    let mut unique: HashMap<(String, String), Claim> = HashMap::new();
    let mut updated_by: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rows.read_row(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                report.read_error = Some(error.to_string());
                break;
            }
        }
        let row = rows.rows_read();
        if row > max_rows {
            report.truncated = true;
            report.rows = max_rows;
            return report;
        }
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
    report
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
