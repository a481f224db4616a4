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
