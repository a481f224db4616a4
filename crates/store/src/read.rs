//! Bulk Read jobs in the one queue: a read job is a row of `jobs` of kind `read`, claimed,
//! leased, fenced, cancelled and retried like a write job. What differs is its progress: the
//! export writes its CSV in parts, each part a blob committed with its checkpoint (its last
//! record id) in one fenced transaction, so a job taken over by another node continues after
//! the last committed part and never repeats or loses a record.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::readspec::ReadSpec;
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::model::{Lease, Timestamp};

/// What a job of the queue does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Bulk Write: an upload applied to records.
    Write,
    /// Bulk Read: records exported to a CSV (or ICS) file.
    Read,
    /// An undo of a write job (see [`crate::undo`]).
    Undo,
}

impl JobKind {
    /// The word stored in the `jobs.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Write => "write",
            JobKind::Read => "read",
            JobKind::Undo => "undo",
        }
    }
}

/// A read job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReadJob {
    /// The job's id.
    pub id: JobId,
    /// The org whose records are exported.
    pub org: OrgId,
    /// The user creating the job.
    pub created_by: UserId,
    /// The path version the job was created through; decides the callback's shapes.
    pub api_version: String,
    /// The validated request.
    pub spec: ReadSpec,
    /// When the job was created.
    pub created_at: Timestamp,
}

impl NewReadJob {
    /// The write-job spec stored beside the read request: no resources, only the callback, so
    /// the queue's outbox, cancel and retention treat the job like any other.
    pub fn outbox_spec(&self) -> bulkwrite_core::jobspec::JobSpec {
        bulkwrite_core::jobspec::JobSpec {
            operation: bulkwrite_wire::Operation::Insert,
            ignore_empty: None,
            character_encoding: None,
            callback: self.spec.callback.clone(),
            resources: Vec::new(),
            dry_run: false,
        }
    }

    /// The stored request (no outcome yet).
    pub fn read_job(&self) -> ReadJob {
        ReadJob { spec: self.spec.clone(), outcome: None }
    }
}

/// What a finished export found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOutcome {
    /// Records in the file.
    pub count: u64,
    /// Whether records follow this page.
    pub more_records: bool,
    /// Where the next page starts, when there is one.
    pub next_page_token: Option<String>,
}

/// A read job's request and, once it completed, its outcome (stored together, as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadJob {
    /// The validated request.
    pub spec: ReadSpec,
    /// What the export found; `None` until the job completes.
    #[serde(default)]
    pub outcome: Option<ReadOutcome>,
}

/// One committed part of an export: a blob of CSV rows (no header), in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPart {
    /// 0-based; parts commit in order, each after the one before.
    pub part_no: u32,
    /// The key of the part's blob in the blob store.
    pub blob_key: String,
    /// Records in the part.
    pub rows: u64,
    /// The id of its last record: the next part starts after it.
    pub last_id: u64,
}

/// The sentence of Bulk Read's `INTERNAL_ERROR` in the SDKs' error model.
pub const INTERNAL_FAILURE: &str = "Internal server error occurred.";

/// How a read job's failure is kept in the job's `error`: `CODE: message`, so its details can
/// show Zoho's code and sentence in `result.error_message`.
pub fn read_failure(error: &bulkwrite_wire::ApiError) -> String {
    format!("{}: {}", error.code.as_str(), error.message)
}

/// [`read_failure`] of an export whose module was removed after the job was created: Bulk
/// Read's `MODULE_NOT_AVAILABLE` sentence.
pub fn module_gone(module: &str) -> String {
    let error = bulkwrite_wire::ApiError::with_message(
        bulkwrite_wire::ErrorCode::ModuleNotAvailable,
        format!("Requested module '{module}' is not available."),
    );
    read_failure(&error)
}

/// Zoho's limit on Bulk Read downloads: how many one user may start in a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadWindow {
    /// Downloads a user may start within `length`.
    pub limit: u32,
    /// The window's length.
    pub length: chrono::Duration,
}

/// Whether a download may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadVerdict {
    /// Counted: the download may start.
    Allowed,
    /// The user started `limit` downloads within the window; another is allowed from `retry_at`
    /// (when the oldest of them leaves the window). Not counted.
    Refused {
        /// When the oldest counted download leaves the window.
        retry_at: Timestamp,
    },
}

/// Read jobs' own operations; everything else (claim, renew, release, defer, fail, cancel)
/// is the queue's, shared with write jobs.
#[async_trait]
pub trait ReadStore: Send + Sync {
    /// Queues a read job.
    async fn create_read_job(&self, job: NewReadJob) -> StoreResult<()>;
    /// The committed parts of a job of `org`, in order.
    async fn read_parts(&self, org: OrgId, job: JobId) -> StoreResult<Vec<ReadPart>>;
    /// Commits a part under the lease: refused with a checkpoint error unless `part.part_no` is
    /// the number of parts committed so far (none lost, none twice), and with `LeaseLost` once
    /// another worker holds the job.
    async fn commit_read_part(&self, lease: &Lease, part: &ReadPart) -> StoreResult<()>;
    /// Marks the read job succeeded with its result file and outcome, queues its callback, and
    /// queues its part blobs for the sweeper to delete (nothing reads them any more), in one
    /// transaction.
    async fn complete_read_job(
        &self,
        lease: &Lease,
        result_blob: &str,
        outcome: &ReadOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Counts a download by `user` of `org` at `now`, unless the user already started
    /// `window.limit` downloads in `(now - window.length, now]`. Atomic across every process
    /// and node on the store: two downloads counted at once never both take the last place.
    /// Downloads older than the window are forgotten (of every user) as a side effect.
    async fn count_download(
        &self,
        org: OrgId,
        user: UserId,
        now: Timestamp,
        window: DownloadWindow,
    ) -> StoreResult<DownloadVerdict>;
}

impl crate::model::Job {
    /// A read job's Zoho state word (`ADDED`, `QUEUED`, `IN PROGRESS`, `COMPLETED`, `FAILURE`);
    /// `None` for a write job.
    pub fn read_state(&self) -> Option<&'static str> {
        use bulkwrite_core::state::JobState;
        use bulkwrite_wire::read::read_state;
        self.read.as_ref()?;
        Some(match self.state {
            JobState::Queued if self.attempts == 0 => read_state::ADDED,
            JobState::Queued => read_state::QUEUED,
            JobState::Running => read_state::IN_PROGRESS,
            JobState::Succeeded => read_state::COMPLETED,
            JobState::Failed | JobState::Cancelled => read_state::FAILURE,
        })
    }

    /// The word Zoho's own API shows for the job's state: a read job's `state`, a write job's
    /// `status`.
    pub fn zoho_word(&self) -> &'static str {
        self.read_state().unwrap_or_else(|| self.state.zoho_status())
    }

    /// `result.error_message` of a read job that ended `FAILURE`: `{"code", "message"}`.
    ///
    /// Zoho's pages show a `FAILURE` state but no failed job's `result`, and the SDKs' `Result`
    /// model has no `error_message`: its shape is ours. A failure the export can name (the
    /// module or a field removed since the job was created) keeps Bulk Read's code and sentence
    /// (see [`read_failure`]); any other is `INTERNAL_ERROR` with the SDKs' sentence for it, and no
    /// internals. A cancelled job (our extension: Zoho cannot cancel a Bulk Read job) says
    /// `CANCELLED`, by whom and when.
    pub fn read_error_message(&self) -> serde_json::Value {
        use bulkwrite_core::state::JobState;
        let error = self.error.as_deref().unwrap_or_default();
        if self.state == JobState::Cancelled {
            return serde_json::json!({"code": "CANCELLED", "message": error});
        }
        let named = error.split_once(": ").and_then(|(code, message)| {
            let code = bulkwrite_wire::ErrorCode::parse(code)?;
            (code.http_status() < 500).then(|| (code.as_str(), message))
        });
        let (code, message) = named.unwrap_or(("INTERNAL_ERROR", INTERNAL_FAILURE));
        serde_json::json!({"code": code, "message": message})
    }

    /// A read job's details document (`None` for a write job), in the shape of `version`:
    /// `result` once it completed (the page it wrote) or failed (`error_message`).
    pub fn read_details(
        &self,
        org: &crate::model::Org,
        creator_name: String,
        version: bulkwrite_core::version::ApiVersion,
    ) -> Option<bulkwrite_wire::read::ReadDetailsBody> {
        use bulkwrite_core::state::JobState;
        use bulkwrite_wire::read::{ReadDetailsBody, ReadJobDetails, ReadResultBody, READ_OPERATION};
        let read = self.read.as_ref()?;
        let state = self.read_state()?;
        let result = match (self.state, &read.outcome) {
            (JobState::Succeeded, Some(outcome)) => Some(ReadResultBody {
                page: Some(read.spec.page),
                per_page: Some(read.spec.per_page),
                count: Some(outcome.count),
                download_url: Some(format!("/crm/bulk/{}/read/{}/result", version.as_str(), self.id)),
                more_records: Some(outcome.more_records),
                next_page_token: outcome.next_page_token.clone(),
                error_message: None,
            }),
            (JobState::Failed | JobState::Cancelled, _) => {
                Some(ReadResultBody { error_message: Some(self.read_error_message()), ..ReadResultBody::default() })
            }
            _ => None,
        };
        let zone: chrono_tz::Tz = org.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let details = ReadJobDetails {
            id: self.id.to_string(),
            operation: READ_OPERATION.to_string(),
            state: state.to_string(),
            query: read.spec.query_echo(version),
            created_by: bulkwrite_wire::UserRef { id: self.created_by.to_string(), name: creator_name },
            created_time: bulkwrite_core::job_details::format_time(self.created_at, zone),
            file_type: read.spec.file_type.as_str().to_string(),
            result,
        };
        Some(ReadDetailsBody { data: vec![details] })
    }
}
