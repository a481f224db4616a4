//! The job state machine. Durable state is small (queued, running, succeeded, failed); Zoho's
//! status words are derived from it.

use bulkwrite_wire::status;
use serde::{Deserialize, Serialize};

/// A job's durable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        match text {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "succeeded" => Some(JobState::Succeeded),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }

    /// Zoho's job `status`.
    pub fn zoho_status(self) -> &'static str {
        match self {
            JobState::Queued => status::ADDED,
            JobState::Running => status::IN_PROGRESS,
            JobState::Succeeded => status::COMPLETED,
            JobState::Failed => status::FAILED,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }

    /// Whether the machine allows `self → next`. A running job may go back to queued when its
    /// worker stops gracefully or its lease expires.
    pub fn can_become(self, next: JobState) -> bool {
        matches!(
            (self, next),
            (JobState::Queued, JobState::Running)
                | (JobState::Queued, JobState::Failed)
                | (JobState::Running, JobState::Running)
                | (JobState::Running, JobState::Queued)
                | (JobState::Running, JobState::Succeeded)
                | (JobState::Running, JobState::Failed)
        )
    }
}

/// One resource's progress inside a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceState {
    Pending,
    Running,
    Done,
    Failed,
    /// Not processed because the job failed before reaching it.
    Skipped,
}

impl ResourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::Pending => "pending",
            ResourceState::Running => "running",
            ResourceState::Done => "done",
            ResourceState::Failed => "failed",
            ResourceState::Skipped => "skipped",
        }
    }

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
        for next in [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed] {
            assert!(!JobState::Succeeded.can_become(next));
            assert!(!JobState::Failed.can_become(next));
        }
        assert!(JobState::Queued.can_become(JobState::Running));
        assert!(JobState::Running.can_become(JobState::Queued));
    }

    #[test]
    fn zoho_words() {
        assert_eq!(JobState::Running.zoho_status(), "IN PROGRESS");
        assert_eq!(ResourceState::Running.zoho_code(), "INPROGRESS");
        for state in ["queued", "running", "succeeded", "failed"] {
            assert_eq!(JobState::parse(state).unwrap().as_str(), state);
        }
    }
}
