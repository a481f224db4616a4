//! Wake-ups for whoever follows a job's progress (the events stream) or runs it: a node-local
//! broadcast of "this job changed" that the worker rings after each state change and chunk
//! commit, and the API when a job is asked to stop; a backend shared by several nodes
//! (PostgreSQL) also rings it when another node announces a change
//! (`JobStore::announce_job_change`, `JobStore::announce_cancel_request`). A wake-up carries no
//! data: a follower re-reads the job, so a lost or coalesced wake-up only delays it until the
//! next one or its slow poll.

use bulkwrite_core::ids::JobId;
use tokio::sync::{broadcast, watch};

/// Wake-ups kept for a slow follower before it is told it lagged (it then re-reads its job).
const BACKLOG: usize = 1024;

/// One wake-up: a job changed, or (after a reconnect, when announcements may have been lost)
/// any job may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobChange {
    /// This job's state or counts changed.
    Job(JobId),
    /// This job was asked to stop: a change of it too, and the node running it stops it at
    /// once instead of at its next look for a request.
    Cancel(JobId),
    /// Any job may have changed.
    Any,
}

impl JobChange {
    /// Whether a follower of `job` should re-read it.
    pub fn concerns(self, job: JobId) -> bool {
        match self {
            JobChange::Job(changed) | JobChange::Cancel(changed) => changed == job,
            JobChange::Any => true,
        }
    }
}

/// The node's broadcast of job changes.
#[derive(Debug)]
pub struct JobChanges {
    sender: broadcast::Sender<JobChange>,
    /// Set once the node stops: followers end their streams so that shutdown is not held up.
    closing: watch::Sender<bool>,
}

impl Default for JobChanges {
    fn default() -> JobChanges {
        JobChanges { sender: broadcast::channel(BACKLOG).0, closing: watch::channel(false).0 }
    }
}

impl JobChanges {
    /// A receiver of every change rung from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobChange> {
        self.sender.subscribe()
    }

    /// Tells this node's followers that `job` changed.
    pub fn job_changed(&self, job: JobId) {
        // No follower is not an error.
        let _ = self.sender.send(JobChange::Job(job));
    }

    /// Tells this node's followers, and the run of `job` if this node has it, that `job` was
    /// asked to stop.
    pub fn cancel_requested(&self, job: JobId) {
        let _ = self.sender.send(JobChange::Cancel(job));
    }

    /// Tells this node's followers that any job may have changed.
    pub fn any_changed(&self) {
        let _ = self.sender.send(JobChange::Any);
    }

    /// Tells every follower that the node is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A receiver that sees `true` once the node is stopping.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}
