//! What the events streams of a node share: the node's job changes, the cap on streams open
//! at once, and their timing (see `routes::events`).

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_core::ids::JobId;
use bulkwrite_store::changes::JobChanges;
use bulkwrite_store::Store;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Streams open at once on a node unless configured otherwise.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 256;
/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream re-reads its job when no change woke it (a lost notification).
const FALLBACK_POLL: Duration = Duration::from_secs(10);

/// The events streams of a node.
#[derive(Debug, Clone)]
pub struct EventStreams {
    /// Rung when a job changes (by this node's worker, or on PostgreSQL by any node's).
    pub changes: Arc<JobChanges>,
    slots: Arc<Semaphore>,
    /// The keep-alive comment's interval.
    pub keep_alive: Duration,
    /// The fallback re-read's interval.
    pub fallback_poll: Duration,
}

impl EventStreams {
    /// Streams following `changes`, at most `max_streams` open at once.
    pub fn new(changes: Arc<JobChanges>, max_streams: usize) -> EventStreams {
        EventStreams {
            changes,
            slots: Arc::new(Semaphore::new(max_streams)),
            keep_alive: KEEP_ALIVE,
            fallback_poll: FALLBACK_POLL,
        }
    }

    /// Tells the streams of this node, and through the store those of the other nodes, that
    /// `job` changed here (it was queued). A failed announcement is logged:
    /// the other nodes' streams then see the change at their next wake-up or fallback read.
    pub(crate) async fn announce(&self, store: &dyn Store, job: JobId) {
        self.changes.job_changed(job);
        if let Err(error) = store.announce_job_change(job).await {
            tracing::debug!(job = %job, error = %error.with_causes(), "announcing a job change to other nodes failed");
        }
    }

    /// Tells this node, and through the store the other nodes, that `job` was asked to stop:
    /// the node running it stops it at once, and the streams re-read it. A failed announcement
    /// is logged: the node running the job then sees the request at its next look for one.
    pub(crate) async fn announce_cancel(&self, store: &dyn Store, job: JobId) {
        self.changes.cancel_requested(job);
        if let Err(error) = store.announce_cancel_request(job).await {
            tracing::debug!(job = %job, error = %error.with_causes(), "announcing a cancel request to other nodes failed");
        }
    }

    /// A slot for one more stream, held while it is open; `None` when all are taken.
    pub(crate) fn open_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).try_acquire_owned().ok()
    }
}

impl Default for EventStreams {
    fn default() -> EventStreams {
        EventStreams::new(Arc::new(JobChanges::default()), DEFAULT_MAX_EVENT_STREAMS)
    }
}
