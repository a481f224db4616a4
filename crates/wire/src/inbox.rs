//! Shapes of bulkwrite's test controls for callbacks and org state (issue 19; Zoho has none):
//! a job's callback attempts (`GET /bulkwrite/v1/jobs/{id}/callback`), the built-in receiver
//! (`/bulkwrite/v1/inbox/{name}`), reset and snapshots (`/bulkwrite/v1/orgs/{org}/…`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A job's callback: where it goes, its state and every attempt, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackReport {
    /// The callback URL.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<CallbackAttempt>,
    /// In the answer to a replay: the number the replayed attempt will be recorded with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_attempt: Option<u32>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAttempt {
    /// 1 for the first.
    pub attempt: u32,
    /// When it was made (RFC 3339).
    pub at: String,
    /// The HTTP status of the answer, if one came.
    pub status: Option<u16>,
    /// Why it failed (timeout, connection refused, the status, a fault rule), when it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// What was sent (absent for attempts made before requests were kept).
    #[serde(default)]
    pub request: Option<CallbackRequest>,
    /// What the receiver answered (`null`: no answer).
    #[serde(default)]
    pub response: Option<CallbackResponse>,
}

/// The request of an attempt, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackRequest {
    /// The URL posted to.
    pub url: String,
    /// `POST`.
    pub method: String,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body: the job's details document.
    pub body: String,
    /// When it was sent (RFC 3339).
    pub time: String,
    /// Whether a replay asked for it.
    pub replay: bool,
}

/// The receiver's answer to an attempt; the body is cut at 64 KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackResponse {
    /// Its HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// Whether the body was cut.
    pub truncated: bool,
    /// When it came (RFC 3339).
    pub time: String,
}

/// `GET /bulkwrite/v1/inbox/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// What arrived, oldest first.
    pub deliveries: Vec<InboxDelivery>,
}

/// One request the built-in receiver stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxDelivery {
    /// When it arrived (Zoho's time format, UTC).
    pub received_time: String,
    /// Header names (lower case) and values (`authorization` and `cookie` are not kept).
    pub headers: BTreeMap<String, String>,
    /// A JSON body as JSON, a form body as an object of its fields, anything else as a string.
    pub body: Value,
    /// The job whose callback it was (delivered by the server itself), else `null`.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The org it belongs to (`null`: posted without a token).
    #[serde(default)]
    pub org_id: Option<String>,
}

/// What a `DELETE` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// How many.
    pub removed: u64,
}

/// `POST /bulkwrite/v1/orgs/{org}/reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetSummary {
    /// The org reset.
    pub org_id: String,
    /// Records deleted.
    pub records: u64,
    /// Jobs deleted (write, read and dry run).
    pub jobs: u64,
    /// Rows deleted across every state table.
    pub rows: u64,
}

/// A snapshot of an org's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Its name.
    pub name: String,
    /// When it was taken (RFC 3339).
    pub created_time: String,
    /// Records it holds.
    pub records: u64,
    /// Jobs it holds.
    pub jobs: u64,
    /// Rows it holds across every state table.
    pub rows: u64,
}

/// `GET /bulkwrite/v1/orgs/{org}/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotList {
    /// Oldest first.
    pub snapshots: Vec<Snapshot>,
}

/// `POST /bulkwrite/v1/orgs/{org}/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSnapshot {
    /// 1 to 100 letters, digits, `-`, `_` or `.`; unique in the org.
    pub name: String,
}
