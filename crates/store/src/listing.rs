//! Cancel requests and the job list: what `POST /bulkwrite/v1/jobs/{id}/cancel` records and what
//! `GET /bulkwrite/v1/jobs` asks of the store.

use bulkwrite_core::ids::UserId;
use bulkwrite_core::state::JobState;
use bulkwrite_wire::Operation;

use crate::model::{Job, Timestamp};
use crate::read::JobKind;

/// Who asked a job to stop, and when. The first request is kept; the worker holding the job
/// notices it at its next chunk (or lease check) and cancels the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelRequest {
    /// The user who asked.
    pub by: UserId,
    /// When they asked.
    pub at: Timestamp,
}

/// Most jobs one page of the job list holds (as Zoho's records API).
pub const MAX_JOBS_PER_PAGE: u32 = 200;

/// A page of an org's jobs, newest first, with optional filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobListQuery {
    /// Only jobs in one of these states (empty: every state).
    pub states: Vec<JobState>,
    /// Only jobs of this module (its canonical API name): a write job's resource or the module
    /// a read job exports.
    pub module: Option<String>,
    /// Only write jobs of this operation (read jobs have none of the write operations).
    pub operation: Option<Operation>,
    /// Only jobs of this kind (Bulk Write or Bulk Read).
    pub kind: Option<JobKind>,
    /// 1-based page.
    pub page: u32,
    /// Jobs per page, 1 to [`MAX_JOBS_PER_PAGE`].
    pub per_page: u32,
}

impl JobListQuery {
    /// Every job, first page of the largest size.
    pub fn all() -> JobListQuery {
        JobListQuery {
            states: Vec::new(),
            module: None,
            operation: None,
            kind: None,
            page: 1,
            per_page: MAX_JOBS_PER_PAGE,
        }
    }

    /// Jobs skipped before this page.
    pub fn skip(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }

    /// The states filter as stored words, or `None` when every state goes.
    pub fn state_words(&self) -> Option<Vec<&'static str>> {
        (!self.states.is_empty()).then(|| self.states.iter().map(|state| state.as_str()).collect())
    }
}

/// One page of jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    /// The page's jobs, newest first.
    pub jobs: Vec<Job>,
    /// Whether a later page has jobs.
    pub more_records: bool,
}
