//! Reset and snapshots of an org (test controls, issue 19).
//!
//! An org's *state* is everything its use creates: records and their keys, jobs of every kind
//! with their resources, results, row reasons, read parts and dry-run scratch, uploads, callbacks
//! with their attempts, the inbox, the org's fault rules, API credits used, Bulk Read download
//! counts, grant codes, refresh and access tokens. Its metadata (modules, fields, layouts, users,
//! profiles, the org's settings, OAuth clients, its API-credits setting) is not state and is
//! never touched. Each backend lists its state tables in one place, so a new table is added once.
//!
//! Reset deletes the state in one transaction (a running job's lease is gone with its row, so
//! its worker's next write fails and it stops) and queues the blobs of deleted uploads and
//! result files for deletion, unless a snapshot still names them. A snapshot copies the state
//! inside the database; restoring one is a reset and the copy back, in one transaction.

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;

use crate::error::StoreResult;
use crate::model::Timestamp;

/// What a reset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ResetSummary {
    /// Records deleted.
    pub records: u64,
    /// Jobs deleted (write, read and dry run).
    pub jobs: u64,
    /// Rows deleted across every state table.
    pub rows: u64,
}

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotInfo {
    /// Its name, unique in the org.
    pub name: String,
    /// When it was taken.
    pub created_time: Timestamp,
    /// Records it holds.
    pub records: u64,
    /// Jobs it holds.
    pub jobs: u64,
    /// Rows it holds across every state table.
    pub rows: u64,
}

/// Keeps the caller's credential through a reset or restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keep {
    /// The hash of the access token that asked (it and the refresh token it was minted from
    /// survive); `None`: no token is kept (the admin credential asked).
    pub token_hash: Option<String>,
}

/// Reset and snapshots.
#[async_trait]
pub trait OrgStateStore: Send + Sync {
    /// Deletes the org's state (see the module's doc), keeping `keep`'s token.
    async fn reset_org(&self, org: OrgId, keep: &Keep) -> StoreResult<ResetSummary>;
    /// Copies the org's state into snapshot `name`; [`crate::StoreError::Conflict`] when the
    /// org has a snapshot of that name.
    async fn create_snapshot(&self, org: OrgId, name: &str, now: Timestamp) -> StoreResult<SnapshotInfo>;
    /// The org's snapshots, oldest first.
    async fn snapshots(&self, org: OrgId) -> StoreResult<Vec<SnapshotInfo>>;
    /// Resets the org and copies snapshot `name` back, in one transaction (the snapshot stays);
    /// `None` when the org has no such snapshot (nothing changes).
    async fn restore_snapshot(&self, org: OrgId, name: &str, keep: &Keep) -> StoreResult<Option<SnapshotInfo>>;
    /// Deletes snapshot `name`, queueing blobs only it still named; whether it existed.
    async fn delete_snapshot(&self, org: OrgId, name: &str) -> StoreResult<bool>;
}
