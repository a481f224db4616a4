//! Plain-words explanations of what would go wrong: a job-level refusal (the create call would
//! answer with an error) or a row-level problem (the row would be skipped).

use bulkwrite_core::result::{RowError, RowErrorCode};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Serialize;
use serde_json::Value;

/// One problem `lint` found.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// 1-based data row: row 1 is the first row after the header (blank lines are not
    /// counted); `None` for the whole file or job.
    pub row: Option<u64>,
    /// The CSV column (header text) at fault.
    pub column: Option<String>,
    /// The Zoho code the server would give (`INVALID_DATA`, `MANDATORY_FIELDS_NOT_MAPPED`, …), or
    /// `SAME_RECORD` / `LIMIT_EXCEEDED` / `FILE_TOO_LARGE` for lint's own notes.
    pub code: String,
    pub message: String,
    /// A warning does not stop rows from being applied.
    pub warning: bool,
}

impl Problem {
    /// A problem of the whole file or job.
    pub fn file(code: &str, message: String, warning: bool) -> Problem {
        Problem { row: None, column: None, code: code.to_string(), message, warning }
    }
}

/// Why the row would be skipped.
pub fn row_error_text(error: &RowError) -> String {
    if !error.reason.is_empty() {
        return error.reason.clone();
    }
    match error.code {
        RowErrorCode::MandatoryNotFound => "the cell is empty, but the field is mandatory".into(),
        RowErrorCode::InvalidData => "the value is not valid for the field".into(),
        RowErrorCode::DuplicateData => "another record already has this unique value".into(),
        RowErrorCode::ResourceNotFound => "no record matches".into(),
        RowErrorCode::LimitExceeded => "the row is beyond a limit".into(),
        other => format!("the row cannot be applied ({})", other.as_str()),
    }
}

fn detail<'a>(error: &'a ApiError, key: &str) -> Option<&'a str> {
    error.details.get(key).and_then(Value::as_str)
}

/// What a refusal of the create call means, in the terms of the command line.
pub fn api_error_text(error: &ApiError, module: &str, auto_mapped: bool, columns: usize) -> String {
    let api_name = detail(error, "api_name").unwrap_or_default();
    match error.code {
        ErrorCode::ModuleNotAvailable | ErrorCode::InvalidModule => {
            format!("the org has no module '{module}' that takes bulk writes (module names are API names, e.g. Leads)")
        }
        ErrorCode::InvalidField if error.message.contains("read only") => {
            format!("{api_name} is a read-only field of {module}; remove it from the file or the mappings")
        }
        ErrorCode::InvalidField if auto_mapped => format!(
            "the header names '{api_name}', which is not a field API name of {module}; rename the column or give --map"
        ),
        ErrorCode::InvalidField => format!("--map names '{api_name}', which is not a field API name of {module}"),
        ErrorCode::MandatoryFieldsNotMapped => {
            let names: Vec<&str> =
                error.details.get("api_names").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            format!("{module} requires {}, but no column is mapped to {}", names.join(", "), if names.len() == 1 { "it" } else { "them" })
        }
        ErrorCode::ColumnIndexNotFound => {
            format!("the mapping of {api_name} names a column the file does not have (it has {columns} columns, numbered from 0)")
        }
        ErrorCode::InvalidFormat => format!("{}: date formats are Java patterns such as yyyy-MM-dd or MM/dd/yyyy", error.message),
        ErrorCode::MandatoryNotFound if api_name == "find_by" && detail(error, "json_path").is_some_and(|p| p.contains("field_mappings")) => {
            "a lookup column needs to say how it finds the related record: a header like Account_Name.id, or --map Field=column@find_by".into()
        }
        ErrorCode::MandatoryNotFound if api_name == "find_by" => {
            "update and upsert need --find-by (a unique field, or id) to find existing records".into()
        }
        ErrorCode::HeaderLimitExceeded => {
            let limit = error.details.get("maximum_length").map(Value::to_string).unwrap_or_default();
            format!("too many columns or mappings: at most {limit} are allowed")
        }
        ErrorCode::FileNotSupported => "the file cannot be read as a CSV".into(),
        _ => {
            let path = detail(error, "json_path").map(|p| format!(" (at {p})")).unwrap_or_default();
            format!("{}{path}", error.message)
        }
    }
}
