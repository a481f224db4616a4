//! Lease renewal beside a running job. A lost lease raises a flag the pipeline checks before
//! every write; a cancel request (recorded by any node, looked for when one is announced and
//! every [`CANCEL_POLL`] besides) raises another, checked at each chunk;
//! and the run's limit (the test controls' pause, or a step's one chunk) is asked before each.
//! Leases are renewed on the system's time, never the test controls' clock.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkwrite_core::ids::JobId;
use bulkwrite_store::changes::{JobChange, JobChanges};
use bulkwrite_store::{Lease, LiveControls, Store, StoreError};
use tokio::sync::broadcast::{error::RecvError, Receiver};

use crate::{RunLimit, WorkerContext};

/// How often the job's cancel request is looked for when none is announced (the default of
/// `WorkerConfig::cancel_poll`): a request whose announcement was lost (a node's listening
/// connection down) is still noticed within this long, plus the chunk in hand.
pub const CANCEL_POLL: Duration = Duration::from_millis(400);

/// Renews a lease every third of its duration, and polls for a cancel request, until dropped.
pub(crate) struct Heartbeat {
    lost: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    controls: Arc<LiveControls>,
    /// Chunks a step may still start; `None`: as many as the pause allows.
    budget: Option<AtomicU32>,
}

/// What the heartbeat's task shares with the run.
struct Beat {
    store: Arc<dyn Store>,
    lease: Lease,
    duration: Duration,
    cancel_poll: Duration,
    requests: CancelRequests,
    lost: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
}

impl Heartbeat {
    pub(crate) fn start(ctx: &WorkerContext, lease: &Lease, limit: RunLimit) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::new(AtomicBool::new(false));
        let beat = Beat {
            store: Arc::clone(&ctx.store),
            lease: lease.clone(),
            duration: ctx.config.lease_duration,
            cancel_poll: ctx.config.cancel_poll,
            requests: CancelRequests::new(&ctx.wakeup.changes, Some(lease.job)),
            lost: Arc::clone(&lost),
            cancelled: Arc::clone(&cancelled),
        };
        // The heartbeat runs in the job's span, so its lines carry the job's ids.
        let task = tokio::spawn(tracing::Instrument::in_current_span(beat.run()));
        let budget = match limit {
            RunLimit::Free => None,
            RunLimit::Chunks(chunks) => Some(AtomicU32::new(chunks)),
        };
        Heartbeat { lost, cancelled, task, controls: Arc::clone(&ctx.controls), budget }
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Whether someone asked the job to stop.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Whether the run may start another chunk (and counts it against a step's budget); false:
    /// stop before it and hold the job.
    pub(crate) fn may_start_chunk(&self) -> bool {
        match &self.budget {
            None => !self.controls.is_paused(),
            Some(left) => left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok(),
        }
    }

    /// Whether the run must stop before it starts more work (asks without counting).
    pub(crate) fn is_held(&self) -> bool {
        match &self.budget {
            None => self.controls.is_paused(),
            Some(left) => left.load(Ordering::SeqCst) == 0,
        }
    }
}

impl Beat {
    async fn run(mut self) {
        let period = (self.duration / 3).max(Duration::from_millis(50));
        let tick = period.min(self.cancel_poll.max(Duration::from_millis(1)));
        let mut renewed = Instant::now();
        let mut next_tick = tokio::time::Instant::now() + tick;
        loop {
            // An announced request is looked for at once; the ticks keep their pace meanwhile.
            let announced = tokio::select! {
                () = tokio::time::sleep_until(next_tick) => false,
                () = self.requests.next() => true,
            };
            if !announced {
                next_tick = tokio::time::Instant::now() + tick;
                if renewed.elapsed() + tick / 2 >= period {
                    if !self.renew().await {
                        return;
                    }
                    renewed = Instant::now();
                }
            }
            if !self.cancelled.load(Ordering::SeqCst) {
                match self.store.cancel_requested(&self.lease).await {
                    Ok(true) => {
                        tracing::info!(job = %self.lease.job, "cancel requested; stopping the job");
                        self.cancelled.store(true, Ordering::SeqCst);
                    }
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(job = %self.lease.job, error = %error.with_causes(), "reading the cancel flag failed");
                    }
                }
            }
        }
    }

    /// Renews the lease; false once it is lost.
    async fn renew(&self) -> bool {
        let until =
            chrono::Utc::now() + chrono::Duration::from_std(self.duration).unwrap_or(chrono::Duration::seconds(30));
        match self.store.renew_lease(&self.lease, until).await {
            Ok(()) => true,
            Err(StoreError::LeaseLost) => {
                tracing::warn!(job = %self.lease.job, "lease lost; stopping the job");
                self.lost.store(true, Ordering::SeqCst);
                false
            }
            Err(error) => {
                tracing::warn!(job = %self.lease.job, error = %error.with_causes(), "renewing the lease failed; retrying");
                true
            }
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Cancel requests announced on the node's job changes ([`JobChange::Cancel`]): of one job, or
/// of any (`None`). A reconnect or a lag, after which announcements may have been missed, counts
/// as one: the caller then looks in the store, which alone says whether a job is asked to stop.
pub(crate) struct CancelRequests {
    changes: Option<Receiver<JobChange>>,
    job: Option<JobId>,
}

impl CancelRequests {
    pub(crate) fn new(changes: &JobChanges, job: Option<JobId>) -> CancelRequests {
        CancelRequests { changes: Some(changes.subscribe()), job }
    }

    /// Resolves at the next announcement that may concern the job; never once the node's
    /// changes are gone (the caller's poll is left).
    pub(crate) async fn next(&mut self) {
        loop {
            let Some(changes) = self.changes.as_mut() else { return std::future::pending().await };
            match changes.recv().await {
                Ok(JobChange::Cancel(job)) if self.job.is_none_or(|wanted| wanted == job) => return,
                Ok(JobChange::Any) | Err(RecvError::Lagged(_)) => return,
                Ok(JobChange::Job(_) | JobChange::Cancel(_)) => {}
                Err(RecvError::Closed) => self.changes = None,
            }
        }
    }
}
