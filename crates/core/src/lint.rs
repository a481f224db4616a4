//! Checking a file before it is imported, with the rules a job runs: which field each header
//! names ([`match_columns`]), and every row through the worker's own [`crate::mapping::RowMapper`]
//! plus the file's own duplicates ([`check_rows`]). The server's `POST /bulkwrite/v1/lint` (which
//! the dashboard calls) and the CLI's `bulkwrite lint` both run these; what needs the org's stored
//! records (lookups, clashes with existing records) is left to a dry run.

mod rows;

use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Serialize;
use serde_json::Value;

use crate::result::{RowError, RowErrorCode};
use crate::schema::Module;

pub use rows::{check_rows, RowReport};

/// One problem lint found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based data row: row 1 is the first row after the header (blank lines are not
    /// counted); `None` for the whole file or job.
    pub row: Option<u64>,
    /// The CSV column (header text) at fault.
    pub column: Option<String>,
    /// The Zoho code the server would give (`INVALID_DATA`, `MANDATORY_FIELDS_NOT_MAPPED`, …), or
    /// `SAME_RECORD` / `LIMIT_EXCEEDED` / `FILE_TOO_LARGE` / `NO_ROWS` for lint's own notes.
    pub code: String,
    /// What is wrong, in words.
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

/// Why the row would be skipped, in words: the reason the mapping gave, or the code's meaning.
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

/// What a refusal of the create call means, in words: `module` as the request named it, the
/// header's `columns`, and whether the request left the mapping to the header (`auto_mapped`).
pub fn explain_refusal(error: &ApiError, module: &str, columns: usize, auto_mapped: bool) -> String {
    let detail = |key: &str| error.details.get(key).and_then(Value::as_str).unwrap_or_default();
    let api_name = detail("api_name");
    match error.code {
        ErrorCode::ModuleNotAvailable | ErrorCode::InvalidModule => {
            format!("the org has no module '{module}' that takes bulk writes")
        }
        ErrorCode::InvalidField if error.message.contains("read only") => {
            format!("{api_name} is a read-only field of {module}; no column can be imported into it")
        }
        ErrorCode::InvalidField if auto_mapped => {
            format!("the header '{api_name}' is not a field API name of {module}; map the column to a field or leave it out")
        }
        ErrorCode::InvalidField => format!("'{api_name}' is not a field of {module}"),
        ErrorCode::MandatoryFieldsNotMapped => {
            let names: Vec<&str> =
                error.details.get("api_names").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            let them = if names.len() == 1 { "it" } else { "them" };
            format!("{module} requires {}, but no column is mapped to {them}", names.join(", "))
        }
        ErrorCode::ColumnIndexNotFound => {
            format!("the mapping of {api_name} names a column the file does not have (it has {columns} columns, numbered from 0)")
        }
        ErrorCode::InvalidFormat => {
            format!("{}: date formats are Java patterns such as yyyy-MM-dd or MM/dd/yyyy", error.message)
        }
        ErrorCode::MandatoryNotFound if api_name == "find_by" && detail("json_path").contains("field_mappings") => {
            "a lookup column needs to say how it finds the related record (find_by: id, or a field of the related module)".into()
        }
        ErrorCode::MandatoryNotFound if api_name == "find_by" => {
            "update and upsert need find_by (a unique field, or id) to find existing records".into()
        }
        ErrorCode::HeaderLimitExceeded => {
            let limit = error.details.get("maximum_length").map(Value::to_string).unwrap_or_default();
            format!("too many columns or mappings: at most {limit} are allowed")
        }
        ErrorCode::FileNotSupported => "the upload holds no CSV this resource can read".into(),
        ErrorCode::FileNotFound => "the upload has expired; upload the file again".into(),
        _ => {
            let path = error.details.get("json_path").and_then(Value::as_str);
            format!("{}{}", error.message, path.map(|p| format!(" (at {p})")).unwrap_or_default())
        }
    }
}

/// How a header was matched to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The header is the field's API name (`Field`, or `Lookup.find_by`): what a job without
    /// `field_mappings` maps it to.
    ApiName,
    /// The header is the field's label or API name once case and everything but letters and
    /// digits are ignored: a suggestion only; a job maps it only when `field_mappings` say so.
    Label,
}

/// The field one CSV column most likely fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMatch {
    /// The column, from 0.
    pub index: usize,
    /// Its header.
    pub header: String,
    /// The field's API name, or `None` when the header names no writable field.
    pub field: Option<String>,
    /// For a lookup header `Field.sub`: how the related record is found (`id`, `email`, …).
    pub find_by: Option<String>,
    /// How the field was matched.
    pub matched_by: Option<MatchedBy>,
}

/// The field each header names in `module`: by API name first (the rule of a job without
/// `field_mappings`, `Lookup.find_by` included), else by label; read-only fields never match.
pub fn match_columns(header: &[String], module: &Module) -> Vec<ColumnMatch> {
    let loose =
        |text: &str| text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    header
        .iter()
        .enumerate()
        .map(|(index, cell)| {
            let (name, find_by) = match cell.split_once('.') {
                Some((name, sub)) => (name, Some(sub.to_string())),
                None => (cell.as_str(), None),
            };
            let exact = module.field(name.trim()).filter(|f| f.is_writable());
            let matched = match exact {
                Some(field) => Some((field, MatchedBy::ApiName)),
                None => {
                    let key = loose(cell);
                    module
                        .fields
                        .iter()
                        .filter(|f| f.is_writable())
                        .find(|f| !key.is_empty() && (loose(&f.api_name) == key || loose(&f.field_label) == key))
                        .map(|field| (field, MatchedBy::Label))
                }
            };
            ColumnMatch {
                index,
                header: cell.clone(),
                field: matched.map(|(field, _)| field.api_name.clone()),
                find_by: find_by.filter(|_| matches!(matched, Some((_, MatchedBy::ApiName)))),
                matched_by: matched.map(|(_, by)| by),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
