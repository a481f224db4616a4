//! Bulk write job shapes: the create request, the create answer and the job-details document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `insert`, `update` or `upsert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Creates records; a row whose unique key exists already is skipped.
    Insert,
    /// Updates records found by the resource's `find_by`; a row that finds none is skipped.
    Update,
    /// Updates the record `find_by` finds, or creates one when it finds none.
    Upsert,
}

impl Operation {
    /// The word as Zoho writes it: `insert`, `update` or `upsert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
        }
    }

    /// The operation a word names (lowercase only), or `None` for anything else.
    pub fn parse(text: &str) -> Option<Operation> {
        match text {
            "insert" => Some(Operation::Insert),
            "update" => Some(Operation::Update),
            "upsert" => Some(Operation::Upsert),
            _ => None,
        }
    }
}

/// A module as v2 writes it (a string) or as v2.1 and later write it (an object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModuleRef {
    /// v2's shape: the module's API name as a string.
    Name(String),
    /// v2.1 and later: `{"api_name": …, "id": …}`.
    Object {
        /// The module's API name (`Leads`).
        api_name: String,
        /// The module's id; requests may leave it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

impl ModuleRef {
    /// The module's API name, whichever shape carried it.
    pub fn api_name(&self) -> &str {
        match self {
            ModuleRef::Name(name) => name,
            ModuleRef::Object { api_name, .. } => api_name,
        }
    }
}

/// `callback` of a create request and of job details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    /// Where the job's details are sent when it finishes.
    pub url: String,
    /// The HTTP method; Zoho accepts only `post`.
    pub method: String,
}

/// `default_value` of a field mapping.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DefaultValue {
    /// The value written when the cell is empty, or for every row when the mapping has no `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// A name the official SDKs may send with the value (echoed back as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A module the official SDKs may send with the value (echoed back as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// One `field_mappings[]` item of a create request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldMapping {
    /// The field the column is written to, by API name.
    pub api_name: String,
    /// The zero-based CSV column; absent only for a mapping that writes `default_value` to every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The Java date pattern (`yyyy/MM/dd`) of a date or date-time column not in Zoho's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// How a lookup cell is resolved: `id`, a unique field or the related module's display field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    /// The related module of a lookup mapping (echoed as `null` when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// What to write when the cell is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<DefaultValue>,
    /// In a child resource: the parent CSV's column whose value this column must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_column_index: Option<u32>,
}

/// One `resource[]` item of a create request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequest {
    /// Always `data`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The module the rows are written to.
    pub module: ModuleRef,
    /// The upload (`file_id` of the upload answer) holding the CSV.
    pub file_id: String,
    /// Which CSV(s) of the upload the resource reads, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_names: Option<Vec<String>>,
    /// The field that finds the record to update (update and upsert only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    /// Whether empty cells leave the record's value alone (instead of clearing it), for this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    /// The column-to-field mappings; without them the header row names the fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_mappings: Option<Vec<FieldMapping>>,
}

/// The body of `POST /crm/bulk/{v}/write`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateJobRequest {
    /// What the job does with each row.
    pub operation: Operation,
    /// Whether empty cells leave the record's value alone, for every resource without its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    /// The CSV's encoding when it is not UTF-8 (`ISO-8859-1`, `Shift_JIS`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_encoding: Option<String>,
    /// Where the job's details are sent when it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    /// What to import, one entry per module (a parent and its children for subforms).
    pub resource: Vec<ResourceRequest>,
}

/// `{id, name}` of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRef {
    /// The user's id, a 19-digit string.
    pub id: String,
    /// The user's full name.
    pub name: String,
}

/// `details` of the 201 answer to a create request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedJob {
    /// The new job's id, a 19-digit string.
    pub id: String,
    /// The user whose token created the job.
    pub created_by: UserRef,
}

/// `{"status":"success","code":"SUCCESS","message":"success","details":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuccessBody<T> {
    /// Always `success`.
    pub status: String,
    /// The success code, `SUCCESS` for a created job.
    pub code: String,
    /// The success message, `success` for a created job.
    pub message: String,
    /// What was created.
    pub details: T,
}

impl<T> SuccessBody<T> {
    /// A success envelope around `details`.
    pub fn new(code: &str, message: &str, details: T) -> SuccessBody<T> {
        SuccessBody { status: "success".into(), code: code.into(), message: message.into(), details }
    }
}

/// A mapping as job details echo it: every key present, unset ones `null`.
///
/// `parent_column_index` is written from v2.1 on only: `None` leaves it out, `Some(None)` writes `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMappingEcho {
    /// The field, by API name.
    pub api_name: String,
    /// The CSV column, `null` for a constant mapping.
    pub index: Option<u32>,
    /// The date pattern given, or `null`.
    pub format: Option<String>,
    /// The lookup key given, or `null`.
    pub find_by: Option<String>,
    /// The related module given, or `null`.
    pub module: Option<String>,
    /// `Some(index)` or `Some(None)` from v2.1 on (see the type's doc); `None` before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_column_index: Option<Option<u32>>,
    /// The default value given, or `null`.
    pub default_value: Option<DefaultValue>,
}

/// The `file` block of a resource in job details. Counts are absent while the job is `ADDED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStatus {
    /// `ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED` or `SKIPPED`.
    pub status: String,
    /// The CSV's name inside the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rows that created a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_count: Option<u64>,
    /// Rows that were skipped (each with its errors in the result file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_count: Option<u64>,
    /// Rows that updated a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_count: Option<u64>,
    /// Rows done so far: added, updated and skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// One `resource[]` entry of job details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDetails {
    /// `ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED` or `SKIPPED`.
    pub status: String,
    /// Always `data`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The module, in the shape of the path's version.
    pub module: ModuleRef,
    /// The `find_by` the request gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    /// The CSV names the request gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_names: Option<Vec<String>>,
    /// The resource's `ignore_empty`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    /// The mappings, echoed with every key.
    pub field_mappings: Vec<FieldMappingEcho>,
    /// Progress of the resource's file.
    pub file: FileStatus,
    /// v2.1 and later only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `result` of job details, present once the job has finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Where the result zip can be downloaded (an absolute URL, with the same org's token).
    pub download_url: String,
}

/// The document of `GET /crm/bulk/{v}/write/{id}`, also the body of the callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetails {
    /// `ADDED`, `IN PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// The encoding the job read its file with, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_encoding: Option<String>,
    /// One entry per resource of the request.
    pub resource: Vec<ResourceDetails>,
    /// The job's id.
    pub id: String,
    /// The callback the request gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    /// The result file, once the job has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// The user whose token created the job.
    pub created_by: UserRef,
    /// The job-level `ignore_empty`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    /// `insert`, `update` or `upsert`.
    pub operation: String,
    /// When the job was created, ISO 8601 in the org's zone.
    pub created_time: String,
}

/// Job, resource and file `status` words.
pub mod status {
    /// Queued, not yet started.
    pub const ADDED: &str = "ADDED";
    /// Running.
    pub const IN_PROGRESS: &str = "IN PROGRESS";
    /// Finished: every row has its result (skipped rows included).
    pub const COMPLETED: &str = "COMPLETED";
    /// The job could not run to its end (unreadable file, internal error, cancelled).
    pub const FAILED: &str = "FAILED";
    /// A resource or file that was not processed.
    pub const SKIPPED: &str = "SKIPPED";
    /// Resource `code` while running (v2.1 and later), spelled as Zoho's samples spell it.
    pub const INPROGRESS_CODE: &str = "INPROGRESS";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ref_reads_both_shapes() {
        let v2: ModuleRef = serde_json::from_str(r#""Leads""#).unwrap();
        let v21: ModuleRef = serde_json::from_str(r#"{"api_name":"Leads"}"#).unwrap();
        assert_eq!(v2.api_name(), "Leads");
        assert_eq!(v21.api_name(), "Leads");
    }

    #[test]
    fn mapping_echo_writes_nulls_and_version_specific_keys() {
        let mut echo = FieldMappingEcho {
            api_name: "Last_Name".into(),
            index: Some(0),
            format: None,
            find_by: None,
            module: None,
            parent_column_index: None,
            default_value: None,
        };
        assert_eq!(
            serde_json::to_string(&echo).unwrap(),
            r#"{"api_name":"Last_Name","index":0,"format":null,"find_by":null,"module":null,"default_value":null}"#
        );
        echo.parent_column_index = Some(None);
        assert!(serde_json::to_string(&echo).unwrap().contains(r#""parent_column_index":null"#));
    }
}
