//! Announcing a job's changes to whoever follows it (the events stream): the node's own
//! [`JobChanges`] at once, and the other nodes through the store (a `NOTIFY` on PostgreSQL,
//! nothing on a single-node backend). A failed announcement is logged and otherwise ignored:
//! followers fall back to a slow poll.

use std::sync::Arc;

use bulkwrite_core::ids::JobId;
use bulkwrite_store::changes::JobChanges;
use bulkwrite_store::Store;

/// Where a job's changes are announced; cheap to clone.
#[derive(Clone)]
pub(crate) struct Announcer {
    store: Arc<dyn Store>,
    changes: Arc<JobChanges>,
}

impl Announcer {
    pub(crate) fn new(store: Arc<dyn Store>, changes: Arc<JobChanges>) -> Announcer {
        Announcer { store, changes }
    }

    /// Says that `job`'s state or counts changed (after the change committed).
    pub(crate) async fn job_changed(&self, job: JobId) {
        self.changes.job_changed(job);
        if let Err(error) = self.store.announce_job_change(job).await {
            tracing::debug!(job = %job, error = %error.with_causes(), "announcing a job change to other nodes failed");
        }
    }
}

impl crate::WorkerContext {
    /// The announcer of this worker's job changes.
    pub(crate) fn announcer(&self) -> Announcer {
        Announcer::new(Arc::clone(&self.store), Arc::clone(&self.wakeup.changes))
    }
}
