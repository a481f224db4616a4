//! Plain-words explanations of a job-level refusal (the create call would answer with an error),
//! in the terms of the command line; row-level problems are explained by core's lint.

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

fn detail<'a>(error: &'a ApiError, key: &str) -> Option<&'a str> {
    error.details.get(key).and_then(Value::as_str)
}

/// What a refusal of the create call means, in the terms of the command line: core's words,
/// with the command line's remedy where the mapping or `--find-by` is at fault.
pub fn api_error_text(error: &ApiError, module: &str, auto_mapped: bool, columns: usize) -> String {
    let api_name = detail(error, "api_name").unwrap_or_default();
    match error.code {
        ErrorCode::InvalidField if !error.message.contains("read only") && auto_mapped => format!(
            "the header names '{api_name}', which is not a field API name of {module}; rename the column or give --map"
        ),
        ErrorCode::InvalidField if !error.message.contains("read only") => {
            format!("--map names '{api_name}', which is not a field API name of {module}")
        }
        ErrorCode::MandatoryNotFound if api_name == "find_by" && detail(error, "json_path").is_some_and(|p| p.contains("field_mappings")) => {
            "a lookup column needs to say how it finds the related record: a header like Account_Name.id, or --map Field=column@find_by".into()
        }
        ErrorCode::MandatoryNotFound if api_name == "find_by" => {
            "update and upsert need --find-by (a unique field, or id) to find existing records".into()
        }
        ErrorCode::ModuleNotAvailable | ErrorCode::InvalidModule => {
            format!("the org has no module '{module}' that takes bulk writes (module names are API names, e.g. Leads)")
        }
        ErrorCode::FileNotSupported => "the file cannot be read as a CSV".into(),
        _ => bulkwrite_core::lint::explain_refusal(error, module, columns, auto_mapped),
    }
}
