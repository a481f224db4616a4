//! A Bulk Read request (spec §11) read and checked against the org's schema: the module (a
//! string in v2, `{"api_name"}` from v2.1, either accepted everywhere), `fields` (with dot
//! notation through lookups), `criteria` (kept as sent; the export turns it into a filter),
//! `cvid`, `page`/`page_token` and `file_type`. The result, [`ReadSpec`], is what a read job
//! stores and what its details echo.

mod columns;
mod criteria;
mod parse;
#[cfg(test)]
mod tests;
mod token;

use bulkwrite_wire::{Callback, ModuleRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::ApiVersion;

pub use columns::{plan_columns, Column, ColumnSource, USER_ATTRIBUTES};
pub use criteria::{criteria_filter, MAX_COMPARISONS, MAX_DEPTH};
pub use parse::{parse_read_body, validate_read, ReadContext};
pub use token::PageToken;

/// The modules whose records export as calendar entries (`file_type: ics`).
pub const ICS_MODULES: &[&str] = &["Events", "Meetings"];

/// What the result file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// A zipped CSV file, one record a row.
    Csv,
    /// A zipped iCalendar file, one event a record.
    Ics,
}

impl FileType {
    /// The `file_type` word: `csv` or `ics`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Csv => "csv",
            FileType::Ics => "ics",
        }
    }
}

/// A validated Bulk Read request, as a read job stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadSpec {
    /// The module's canonical API name and id.
    pub module: String,
    /// The module's id.
    pub module_id: String,
    /// The fields asked for, canonical names (dot notation kept); empty: every field.
    pub fields: Vec<String>,
    /// `criteria` as sent (checked against the schema at creation).
    pub criteria: Option<Value>,
    /// The custom view, as sent (a string or a number).
    pub cvid: Option<Value>,
    /// 1-based page of `per_page` records.
    pub page: u32,
    /// Records a page holds.
    pub per_page: u32,
    /// The token the request continued from, echoed.
    pub page_token: Option<String>,
    /// Export records after this id (from `page_token`); `None`: skip `(page - 1) * per_page`.
    pub start_after: Option<u64>,
    /// What the result file holds.
    pub file_type: FileType,
    /// Where to POST the job's details when it ends.
    pub callback: Option<Callback>,
}

impl ReadSpec {
    /// Records skipped before this page when no token names where it starts.
    pub fn skip(&self) -> u64 {
        if self.start_after.is_some() {
            return 0;
        }
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }

    /// `query` as job details echo it, in `version`'s shape.
    pub fn query_echo(&self, version: ApiVersion) -> Value {
        let mut query = serde_json::Map::new();
        let module = if version.writes_module_objects() {
            ModuleRef::Object { api_name: self.module.clone(), id: Some(self.module_id.clone()) }
        } else {
            ModuleRef::Name(self.module.clone())
        };
        query.insert("module".into(), serde_json::to_value(module).unwrap_or(Value::Null));
        if let Some(cvid) = &self.cvid {
            query.insert("cvid".into(), cvid_echo(cvid, version));
        }
        if !self.fields.is_empty() {
            query.insert("fields".into(), Value::from(self.fields.clone()));
        }
        if let Some(criteria) = &self.criteria {
            query.insert("criteria".into(), criteria.clone());
        }
        query.insert("page".into(), Value::from(self.page));
        if let Some(token) = &self.page_token {
            query.insert("page_token".into(), Value::from(token.clone()));
        }
        Value::Object(query)
    }
}

/// v2 writes a cvid as a string, later versions as a number (the SDKs' models, spec note §2.3).
fn cvid_echo(cvid: &Value, version: ApiVersion) -> Value {
    let text = match cvid {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match (version.writes_module_objects(), text.parse::<u64>()) {
        (true, Ok(number)) => Value::from(number),
        _ => Value::String(text),
    }
}

/// The id of a module's "All" view (`cvid`): the module id with the view's suffix, so every
/// module has exactly one, stable across restarts.
pub fn all_view_id(module_id: &str) -> String {
    let base: u64 = module_id.parse().unwrap_or(0);
    (base + 87_501).to_string()
}
