//! The callback inbox of the test controls (issue 19): what the built-in receiver
//! (`/bulkwrite/v1/inbox/{name}`) was sent, and replays of a job's callback.
//!
//! Deliveries are kept per org: a callback the dispatcher delivers to the server's own inbox
//! belongs to its job's org, a request posted with a token to the token's org, and an anonymous
//! request to no org (every caller of that inbox sees it). An inbox keeps its newest
//! [`INBOX_KEEP`] deliveries per org.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};

use crate::error::StoreResult;
use crate::model::Timestamp;

/// Deliveries an inbox keeps per org (older ones are dropped as new ones arrive).
pub const INBOX_KEEP: u32 = 1000;

/// Longest inbox name (letters, digits, `-`, `_`, `.`).
pub const INBOX_NAME_MAX: usize = 100;

/// Whether `name` may name an inbox or a snapshot: 1 to 100 letters, digits, `-`, `_` or `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= INBOX_NAME_MAX
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// One request the built-in receiver stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxDelivery {
    /// The inbox.
    pub name: String,
    /// Whose it is: the job's org (a callback), the token's (a request with one), or none.
    pub org: Option<OrgId>,
    /// The job whose callback it was, when the dispatcher delivered it.
    pub job: Option<JobId>,
    /// When it arrived (business time).
    pub received_at: Timestamp,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

/// The request of a callback attempt, as sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallbackRequest {
    /// The URL posted to.
    pub url: String,
    /// Always `POST`.
    pub method: String,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body (the job's details document).
    pub body: String,
    /// When it was sent (business time).
    pub time: Timestamp,
    /// Whether the attempt was asked for by a replay.
    pub replay: bool,
}

/// The receiver's answer to a callback attempt; the body is kept up to
/// [`CALLBACK_RESPONSE_BODY_LIMIT`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallbackResponse {
    /// Its HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body, as text (invalid UTF-8 replaced), cut at the limit.
    pub body: String,
    /// Whether the body was longer than the limit.
    pub truncated: bool,
    /// When it came (business time).
    pub time: Timestamp,
}

/// Bytes of a receiver's answer kept with its attempt.
pub const CALLBACK_RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// The request and answer of an attempt, as one stored document.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallbackExchange {
    /// What was sent.
    pub request: Option<CallbackRequest>,
    /// What came back.
    pub response: Option<CallbackResponse>,
}

impl CallbackExchange {
    /// The stored form of an attempt's request and answer (`None` when it has neither).
    pub fn encode(attempt: &crate::model::CallbackAttempt) -> Option<String> {
        if attempt.request.is_none() && attempt.response.is_none() {
            return None;
        }
        let exchange = CallbackExchange { request: attempt.request.clone(), response: attempt.response.clone() };
        serde_json::to_string(&exchange).ok()
    }

    /// Reads a stored exchange; `None` or an unreadable one is empty.
    pub fn decode(stored: Option<&str>) -> CallbackExchange {
        stored.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
    }
}

/// What asking for a replay of a job's callback found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The org has no such job.
    NoJob,
    /// The job has not finished, so it has no callback to send yet.
    Unfinished,
    /// The job finished but asked for no callback.
    NoCallback,
    /// The callback is queued; its next attempt will be recorded with this number.
    Queued {
        /// The number the replayed attempt gets.
        attempt: u32,
    },
}

/// The built-in receiver's deliveries and callback replays.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Stores a delivery, dropping the inbox's oldest beyond [`INBOX_KEEP`] for its org.
    async fn add_inbox_delivery(&self, delivery: InboxDelivery) -> StoreResult<()>;
    /// The deliveries of inbox `name`, oldest first: with `org`, that org's and the anonymous
    /// ones; without, every org's.
    async fn inbox_deliveries(&self, name: &str, org: Option<OrgId>) -> StoreResult<Vec<InboxDelivery>>;
    /// Empties inbox `name` as [`InboxStore::inbox_deliveries`] sees it; returns how many
    /// deliveries went.
    async fn clear_inbox(&self, name: &str, org: Option<OrgId>) -> StoreResult<u64>;
    /// Queues the org's job's callback again, due at `now`: a delivered or failed callback
    /// becomes pending with a fresh retry budget, a pending one is made due at once. The
    /// dispatcher records the next attempt as usual (marked as a replay).
    async fn replay_callback(&self, org: OrgId, job: JobId, now: Timestamp) -> StoreResult<ReplayOutcome>;
}
