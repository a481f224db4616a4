//! Bulk Read (export) shapes (spec §11): the create request, the `ADDED_SUCCESSFULLY` answer and
//! the job-details document with its `result`. Both the server and the Rust client use them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::job::{Callback, ModuleRef, UserRef};

/// Bulk Read's `operation` word.
pub const READ_OPERATION: &str = "read";

/// Records a page of a Bulk Read holds (Zoho: 200,000).
pub const RECORDS_PER_PAGE: u32 = 200_000;

/// Zoho's words for a read job's `state`.
pub mod read_state {
    pub const ADDED: &str = "ADDED";
    pub const QUEUED: &str = "QUEUED";
    pub const IN_PROGRESS: &str = "IN PROGRESS";
    pub const COMPLETED: &str = "COMPLETED";
    pub const FAILURE: &str = "FAILURE";

    /// Whether a job in `state` will change no more.
    pub fn is_final(state: &str) -> bool {
        state == COMPLETED || state == FAILURE
    }
}

/// `query` of a create request, as a client sends it. The server reads bodies leniently
/// (`bulkwrite_core::readspec`); this is the shape the Rust client writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<ModuleRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// The body of `POST /crm/bulk/{v}/read`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateReadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    pub query: ReadQuery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
}

/// `details` of the create answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedRead {
    pub id: String,
    pub operation: String,
    pub state: String,
    pub created_by: UserRef,
    pub created_time: String,
}

/// One item of the create answer's `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadAction {
    pub status: String,
    pub code: String,
    pub message: String,
    pub details: CreatedRead,
}

/// The create answer: `{"data":[{…}],"info":{}}` (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadCreatedBody {
    pub data: Vec<ReadAction>,
    #[serde(default)]
    pub info: Map<String, Value>,
}

impl ReadCreatedBody {
    pub fn new(details: CreatedRead) -> ReadCreatedBody {
        ReadCreatedBody {
            data: vec![ReadAction {
                status: "success".to_string(),
                code: "ADDED_SUCCESSFULLY".to_string(),
                message: "Added successfully.".to_string(),
                details,
            }],
            info: Map::new(),
        }
    }
}

/// `result` of a read job's details: the page written, or why the job failed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadResultBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_records: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// A failed job's reason: `{"code","message"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Value>,
}

/// One read job as its details show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadJobDetails {
    pub id: String,
    pub operation: String,
    pub state: String,
    pub query: Value,
    pub created_by: UserRef,
    pub created_time: String,
    pub file_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReadResultBody>,
}

/// `{"data":[…]}` of `GET /crm/bulk/{v}/read/{id}`, and the callback's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadDetailsBody {
    pub data: Vec<ReadJobDetails>,
}

/// One custom view of `GET /crm/{v}/settings/custom_views?module=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomView {
    pub id: String,
    pub name: String,
    pub display_value: String,
    pub system_name: String,
    pub system_defined: bool,
    pub default: bool,
    pub module: ModuleRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_answer_is_wrapped_in_data_as_the_sdks_insist() {
        let body = ReadCreatedBody::new(CreatedRead {
            id: "1".into(),
            operation: READ_OPERATION.into(),
            state: read_state::ADDED.into(),
            created_by: UserRef { id: "2".into(), name: "A B".into() },
            created_time: "2026-01-01T00:00:00+00:00".into(),
        });
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(
            text,
            r#"{"data":[{"status":"success","code":"ADDED_SUCCESSFULLY","message":"Added successfully.","details":{"id":"1","operation":"read","state":"ADDED","created_by":{"id":"2","name":"A B"},"created_time":"2026-01-01T00:00:00+00:00"}}],"info":{}}"#
        );
    }

    #[test]
    fn a_running_job_has_no_result_and_a_done_one_has_typed_counts() {
        let result = ReadResultBody {
            page: Some(1),
            per_page: Some(RECORDS_PER_PAGE),
            count: Some(3),
            download_url: Some("/crm/bulk/v2/read/1/result".into()),
            more_records: Some(false),
            ..ReadResultBody::default()
        };
        let text = serde_json::to_value(&result).unwrap();
        assert_eq!(text["more_records"], Value::Bool(false));
        assert_eq!(text["count"], Value::from(3));
        assert!(text.get("next_page_token").is_none());
    }
}
