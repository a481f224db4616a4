//! The job state machine. Durable state is small (queued, running, succeeded, failed,
//! cancelled); Zoho's status words are derived from it (a cancelled job is `FAILED` to Zoho).

use bulkwrite_wire::status;
use serde::{Deserialize, Serialize};

/// A job's durable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Created, waiting for a worker.
    Queued,
    /// Leased to a worker, which is writing its rows.
    Running,
    /// Every row has its result and the result file is written; `COMPLETED` in Zoho's view.
    Succeeded,
    /// The job could not run to its end (unreadable file, internal error); `FAILED` in Zoho's view.
    Failed,
    /// Stopped on request (`POST /bulkwrite/v1/jobs/{id}/cancel`); `FAILED` in Zoho's view.
    Cancelled,
}

impl JobState {
    /// Every state, in the machine's order.
    pub const ALL: [JobState; 5] =
        [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled];

    /// The state as stored (`queued`, `running`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// The word our own views (`/bulkwrite/v1/jobs…`) write: `QUEUED`, `RUNNING`, `SUCCEEDED`,
    /// `FAILED`, `CANCELLED`.
    pub fn view_word(self) -> &'static str {
        match self {
            JobState::Queued => "QUEUED",
            JobState::Running => "RUNNING",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
        }
    }

    /// The states whose Zoho `status` is `word` (`ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED`).
    pub fn with_zoho_status(word: &str) -> Vec<JobState> {
        JobState::ALL.into_iter().filter(|state| state.zoho_status() == word).collect()
    }

    /// The state a stored word names, or `None`.
    pub fn parse(text: &str) -> Option<JobState> {
        match text {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "succeeded" => Some(JobState::Succeeded),
            "failed" => Some(JobState::Failed),
            "cancelled" => Some(JobState::Cancelled),
            _ => None,
        }
    }

    /// Zoho's job `status`.
    pub fn zoho_status(self) -> &'static str {
        match self {
            JobState::Queued => status::ADDED,
            JobState::Running => status::IN_PROGRESS,
            JobState::Succeeded => status::COMPLETED,
            JobState::Failed | JobState::Cancelled => status::FAILED,
        }
    }

    /// Whether the job has finished (succeeded, failed or cancelled); a final state never changes.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }

    /// Whether the machine allows `self → next`. A running job may go back to queued when its
    /// worker stops gracefully or its lease expires.
    #[allow(clippy::unnested_or_patterns)] // one allowed transition a line reads as a table
    pub fn can_become(self, next: JobState) -> bool {
        matches!(
            (self, next),
            (JobState::Queued, JobState::Running)
                | (JobState::Queued, JobState::Failed)
                | (JobState::Running, JobState::Running)
                | (JobState::Running, JobState::Queued)
                | (JobState::Running, JobState::Succeeded)
                | (JobState::Running, JobState::Failed)
                | (JobState::Queued, JobState::Cancelled)
                | (JobState::Running, JobState::Cancelled)
        )
    }
}

/// One resource's progress inside a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceState {
    /// Not started yet.
    Pending,
    /// Its rows are being written.
    Running,
    /// Every row of its file has its result.
    Done,
    /// Stopped part-way because the job failed.
    Failed,
    /// Not processed because the job failed before reaching it.
    Skipped,
}

impl ResourceState {
    /// The state as stored (`pending`, `running`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::Pending => "pending",
            ResourceState::Running => "running",
            ResourceState::Done => "done",
            ResourceState::Failed => "failed",
            ResourceState::Skipped => "skipped",
        }
    }

    /// The state a stored word names, or `None`.
    pub fn parse(text: &str) -> Option<ResourceState> {
        match text {
            "pending" => Some(ResourceState::Pending),
            "running" => Some(ResourceState::Running),
            "done" => Some(ResourceState::Done),
            "failed" => Some(ResourceState::Failed),
            "skipped" => Some(ResourceState::Skipped),
            _ => None,
        }
    }

    /// Zoho's resource and file `status`.
    pub fn zoho_status(self) -> &'static str {
        match self {
            ResourceState::Pending => status::ADDED,
            ResourceState::Running => status::IN_PROGRESS,
            ResourceState::Done => status::COMPLETED,
            ResourceState::Failed => status::FAILED,
            ResourceState::Skipped => status::SKIPPED,
        }
    }

    /// Zoho's resource `code` (v2.1 and later).
    pub fn zoho_code(self) -> &'static str {
        match self {
            ResourceState::Pending => status::ADDED,
            ResourceState::Running => status::INPROGRESS_CODE,
            ResourceState::Done => status::COMPLETED,
            ResourceState::Failed => status::FAILED,
            ResourceState::Skipped => status::SKIPPED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_do_not_move() {
        for next in JobState::ALL {
            assert!(!JobState::Succeeded.can_become(next));
            assert!(!JobState::Failed.can_become(next));
            assert!(!JobState::Cancelled.can_become(next));
        }
        assert!(JobState::Queued.can_become(JobState::Cancelled));
        assert!(JobState::Running.can_become(JobState::Cancelled));
        assert!(JobState::Queued.can_become(JobState::Running));
        assert!(JobState::Running.can_become(JobState::Queued));
    }

    #[test]
    fn zoho_words() {
        assert_eq!(JobState::Running.zoho_status(), "IN PROGRESS");
        assert_eq!(ResourceState::Running.zoho_code(), "INPROGRESS");
        for state in ["queued", "running", "succeeded", "failed", "cancelled"] {
            assert_eq!(JobState::parse(state).unwrap().as_str(), state);
        }
        assert_eq!(JobState::Cancelled.zoho_status(), "FAILED");
        assert_eq!(JobState::Cancelled.view_word(), "CANCELLED");
        assert_eq!(JobState::with_zoho_status("FAILED"), [JobState::Failed, JobState::Cancelled]);
        assert_eq!(JobState::with_zoho_status("IN PROGRESS"), [JobState::Running]);
        assert!(JobState::with_zoho_status("DONE").is_empty());
    }
}
