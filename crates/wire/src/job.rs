//! Bulk write job shapes: the create request, the create answer and the job-details document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `insert`, `update` or `upsert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Update,
    Upsert,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
        }
    }

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
    Name(String),
    Object {
        api_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

impl ModuleRef {
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
    pub url: String,
    pub method: String,
}

/// `default_value` of a field mapping.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DefaultValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// One `field_mappings[]` item of a create request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldMapping {
    pub api_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<DefaultValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_column_index: Option<u32>,
}

/// One `resource[]` item of a create request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub module: ModuleRef,
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_mappings: Option<Vec<FieldMapping>>,
}

/// The body of `POST /crm/bulk/{v}/write`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateJobRequest {
    pub operation: Operation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    pub resource: Vec<ResourceRequest>,
}

/// `{id, name}` of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: String,
    pub name: String,
}

/// `details` of the 201 answer to a create request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedJob {
    pub id: String,
    pub created_by: UserRef,
}

/// `{"status":"success","code":"SUCCESS","message":"success","details":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuccessBody<T> {
    pub status: String,
    pub code: String,
    pub message: String,
    pub details: T,
}

impl<T> SuccessBody<T> {
    pub fn new(code: &str, message: &str, details: T) -> SuccessBody<T> {
        SuccessBody { status: "success".into(), code: code.into(), message: message.into(), details }
    }
}

/// A mapping as job details echo it: every key present, unset ones `null`.
///
/// `parent_column_index` is written from v2.1 on only: `None` leaves it out, `Some(None)` writes `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMappingEcho {
    pub api_name: String,
    pub index: Option<u32>,
    pub format: Option<String>,
    pub find_by: Option<String>,
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_column_index: Option<Option<u32>>,
    pub default_value: Option<DefaultValue>,
}

/// The `file` block of a resource in job details. Counts are absent while the job is `ADDED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStatus {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// One `resource[]` entry of job details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDetails {
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub module: ModuleRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    pub field_mappings: Vec<FieldMappingEcho>,
    pub file: FileStatus,
    /// v2.1 and later only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `result` of job details, present once the job has finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub download_url: String,
}

/// The document of `GET /crm/bulk/{v}/write/{id}`, also the body of the callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetails {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_encoding: Option<String>,
    pub resource: Vec<ResourceDetails>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    pub created_by: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    pub operation: String,
    pub created_time: String,
}

/// Job, resource and file `status` words.
pub mod status {
    pub const ADDED: &str = "ADDED";
    pub const IN_PROGRESS: &str = "IN PROGRESS";
    pub const COMPLETED: &str = "COMPLETED";
    pub const FAILED: &str = "FAILED";
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
