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
    /// Just created, not yet picked up.
    pub const ADDED: &str = "ADDED";
    /// Waiting in the queue for a worker.
    pub const QUEUED: &str = "QUEUED";
    /// A worker is writing the page.
    pub const IN_PROGRESS: &str = "IN PROGRESS";
    /// The page is written and can be downloaded.
    pub const COMPLETED: &str = "COMPLETED";
    /// The job stopped; `result.error_message` says why.
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
    /// The module to export, by API name.
    pub module: Option<ModuleRef>,
    /// The custom view whose records are exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// API names of the columns to write; absent means every field.
    pub fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A filter tree (`field`/`comparator`/`value`, or `group` with `group_operator`).
    pub criteria: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Which page to write, from 1.
    pub page: Option<u32>,
    /// The `next_page_token` of an earlier job, to go on past its page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// The body of `POST /crm/bulk/{v}/read`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateReadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Where to POST the job's details when it ends.
    pub callback: Option<Callback>,
    /// What to export.
    pub query: ReadQuery,
    /// `csv` (the default) or `ics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
}

/// `details` of the create answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedRead {
    /// The new job's id.
    pub id: String,
    /// Always `read`.
    pub operation: String,
    /// The job's state; `ADDED` on creation.
    pub state: String,
    /// The user who created the job.
    pub created_by: UserRef,
    /// When the job was created, ISO 8601 with offset.
    pub created_time: String,
}

/// One item of the create answer's `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadAction {
    /// `success`.
    pub status: String,
    /// `ADDED_SUCCESSFULLY`.
    pub code: String,
    /// `Added successfully.`
    pub message: String,
    /// The job just created.
    pub details: CreatedRead,
}

/// The create answer: `{"data":[{…}],"info":{}}` (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadCreatedBody {
    /// One item: the job just created.
    pub data: Vec<ReadAction>,
    /// Always empty.
    #[serde(default)]
    pub info: Map<String, Value>,
}

impl ReadCreatedBody {
    /// The `ADDED_SUCCESSFULLY` answer for the job `details` describes.
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
    /// The page the job wrote, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Records a page holds (Zoho: [`RECORDS_PER_PAGE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Records written to the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Where to download the zipped file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Whether records remain past this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_records: Option<bool>,
    /// The token to pass as `page_token` for the next page, when more records remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// A failed job's reason: `{"code","message"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Value>,
}

/// One read job as its details show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadJobDetails {
    /// The job's id.
    pub id: String,
    /// Always `read`.
    pub operation: String,
    /// One of the `read_state` words.
    pub state: String,
    /// The query as the job runs it.
    pub query: Value,
    /// The user who created the job.
    pub created_by: UserRef,
    /// When the job was created, ISO 8601 with offset.
    pub created_time: String,
    /// `csv` or `ics`.
    pub file_type: String,
    /// The page written or the failure; absent while the job runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReadResultBody>,
}

/// `{"data":[…]}` of `GET /crm/bulk/{v}/read/{id}`, and the callback's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadDetailsBody {
    /// One item: the job asked about.
    pub data: Vec<ReadJobDetails>,
}

/// One custom view of `GET /crm/{v}/settings/custom_views?module=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomView {
    /// The view's id, the `cvid` a read query names.
    pub id: String,
    /// The view's name.
    pub name: String,
    /// The name shown to users.
    pub display_value: String,
    /// The view's built-in name (`ALLVIEWS` for a module's All view).
    pub system_name: String,
    /// Whether Zoho (not a user) defined the view.
    pub system_defined: bool,
    /// Whether this is the module's default view.
    pub default: bool,
    /// The module the view lists.
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
