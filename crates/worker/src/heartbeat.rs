//! Lease renewal beside a running job. A lost lease raises a flag the pipeline checks before
//! every write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bulkwrite_store::{Lease, StoreError};

use crate::WorkerContext;

/// Renews a lease every third of its duration until dropped.
pub(crate) struct Heartbeat {
    lost: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    pub(crate) fn start(ctx: &WorkerContext, lease: &Lease) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let duration = ctx.config.lease_duration;
        let period = (duration / 3).max(Duration::from_millis(50));
        let store = Arc::clone(&ctx.store);
        let lease = lease.clone();
        let flag = Arc::clone(&lost);
        // The heartbeat runs in the job's span, so its lines carry the job's ids.
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            loop {
                tokio::time::sleep(period).await;
                let until =
                    chrono::Utc::now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::seconds(30));
                match store.renew_lease(&lease, until).await {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost) => {
                        tracing::warn!(job = %lease.job, "lease lost; stopping the job");
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(job = %lease.job, error = %error, "renewing the lease failed; retrying")
                    }
                }
            }
        }));
        Heartbeat { lost, task }
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
