//! The test controls' time and stepping (issue 19), behind the `--test-controls` switch: the
//! clock's offset and the queue's pause, kept in the store so that every node sharing it (on
//! PostgreSQL) sees one clock and one pause; and the seam through which the API asks the worker
//! to run one chunk ([`QueueDriver`]).
//!
//! Two clocks, on purpose. *Business time* is the system's time plus the persisted offset: token,
//! grant, upload and result expiry, retention, callback backoff, creation and finish times read
//! it ([`LiveControls::clock`]). *Lease time* is the system's time, always: job leases,
//! heartbeats, the transient backoff and callback delivery leases measure whether a process is
//! alive, so a test's jump of seven days expires no lease and no node takes over a job another
//! one is running.
//!
//! Paused, no node claims a job (`Claim::respect_pause`, checked in the claim's own statement, so
//! a pause is atomic with every claim after it), and a running job stops at its next chunk and
//! is *held*: it stays `running` (Zoho: `IN PROGRESS`) with no lease, so any node may take it up
//! again. A step claims one job (held, queued, or the named one) whatever the pause, runs one
//! chunk and holds it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bulkwrite_core::clock::{Clock, OffsetClock};
use bulkwrite_core::ids::{JobId, OrgId};
use tokio::sync::Notify;

use crate::error::StoreResult;
use crate::model::{Claim, Job, Lease, Timestamp};

/// The test controls' shared state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlState {
    /// How far business time runs ahead of the system's time, in seconds (never negative).
    pub clock_offset_seconds: i64,
    /// Whether the queue is paused: no job is claimed and running jobs stop at their next chunk.
    pub queue_paused: bool,
}

/// The queue as the stepping controls show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Jobs waiting for their first claim, or given back (state `queued`).
    pub queued: u64,
    /// Jobs a worker holds a live lease on.
    pub running: u64,
    /// Jobs in progress that no worker holds: stopped by the pause or a step, or whose worker
    /// died (their lease ended); the next step or claim takes them up.
    pub held: u64,
}

/// What a step asks for: the named job or the oldest runnable one, of one org or of any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTarget {
    /// The job to step; `None`: the oldest runnable job.
    pub job: Option<JobId>,
    /// Only this org's jobs (an org token's step); `None`: any org (the admin's).
    pub org: Option<OrgId>,
}

/// What a step's claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum StepClaim {
    /// The job, leased to the claim's owner.
    Claimed(Box<(Job, Lease)>),
    /// No job is runnable (nothing queued or held), or the named job does not exist in scope.
    Nothing,
    /// The named job cannot be stepped: finished, asked to stop, or running under a live lease
    /// (the job as it stands says which).
    Refused(Box<Job>),
}

/// The test controls' state in the store, shared by every node.
#[async_trait]
pub trait ControlStore: Send + Sync {
    /// The stored state (the defaults, offset 0 and not paused, until a control changes it).
    async fn control_state(&self) -> StoreResult<ControlState>;
    /// Moves business time forward by `seconds` (added to the stored offset atomically, so two
    /// nodes advancing at once both count); returns the state after.
    async fn advance_clock(&self, seconds: i64) -> StoreResult<ControlState>;
    /// Sets the offset back to 0 (business time is the system's again); returns the state after.
    async fn reset_clock(&self) -> StoreResult<ControlState>;
    /// Pauses or resumes the queue; returns the state after.
    async fn set_queue_paused(&self, paused: bool) -> StoreResult<ControlState>;
    /// The queue's jobs by where they are, leases judged at `now` (lease time).
    async fn queue_depth(&self, now: Timestamp) -> StoreResult<QueueDepth>;
    /// Takes a job for one step, whatever the pause, the per-org limit or a transient backoff:
    /// the named job if it is queued or held, else the oldest such job (of `target.org` when
    /// given). A job asked to stop is never taken, nor one under a live lease at `claim.now`.
    async fn claim_step(&self, claim: &Claim, target: StepTarget) -> StoreResult<StepClaim>;
    /// Ends the lease on a running job but keeps it `running` (held): no one holds it, and the
    /// next step, or any claim once the queue runs, takes it up at once. A lease that no longer
    /// holds the job changes nothing, and is not an error.
    async fn hold_job(&self, lease: &Lease) -> StoreResult<()>;
}

/// This node's view of the test controls: the clock everything reads business time from, and
/// whether the queue is paused. With the switch off it stays at its defaults (the system's time,
/// not paused) whatever the store holds; with it on, the API sets it when it changes a control,
/// and a watcher refreshes it from the store for the changes other nodes make.
#[derive(Debug)]
pub struct LiveControls {
    enabled: bool,
    clock: Arc<OffsetClock>,
    paused: AtomicBool,
    moved: Notify,
}

impl LiveControls {
    /// The controls of a node whose switch is `enabled`, its business time on `base`.
    pub fn new(base: Arc<dyn Clock>, enabled: bool) -> LiveControls {
        LiveControls {
            enabled,
            clock: Arc::new(OffsetClock::new(base)),
            paused: AtomicBool::new(false),
            moved: Notify::new(),
        }
    }

    /// The controls of a node without the switch: the system's time, never paused.
    pub fn off() -> LiveControls {
        LiveControls::new(Arc::new(bulkwrite_core::clock::SystemClock), false)
    }

    /// Whether the switch is on (only then do the pause and the offset apply).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Business time: the clock every reader of the time but leases takes it from.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock) as Arc<dyn Clock>
    }

    /// Business time now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The current offset of business time, in seconds.
    pub fn offset_seconds(&self) -> i64 {
        self.clock.offset_seconds()
    }

    /// Whether the queue is paused (always false with the switch off).
    pub fn is_paused(&self) -> bool {
        self.enabled && self.paused.load(Ordering::SeqCst)
    }

    /// Takes on the stored state (ignored with the switch off); returns whether the clock moved.
    /// A move wakes [`LiveControls::clock_moved`]'s waiter (the retention sweeper), or the next
    /// one if it is busy.
    pub fn apply(&self, state: ControlState) -> bool {
        if !self.enabled {
            return false;
        }
        self.paused.store(state.queue_paused, Ordering::SeqCst);
        let moved = self.clock.set_offset_seconds(state.clock_offset_seconds);
        if moved {
            self.moved.notify_one();
        }
        moved
    }

    /// Resolves the next time the clock moves.
    pub async fn clock_moved(&self) {
        self.moved.notified().await;
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The job ran one chunk (or, with no rows left, finished); here it is as it now stands.
    Stepped(Box<Job>),
    /// See [`StepClaim::Nothing`].
    Nothing,
    /// See [`StepClaim::Refused`].
    Refused(Box<Job>),
}

/// What the test controls ask of a node's worker: the API cannot reach the worker (it talks to
/// the store only), so the server hands it one of these.
#[async_trait]
pub trait QueueDriver: Send + Sync {
    /// Claims one job (see [`ControlStore::claim_step`]), runs exactly one chunk of it (a Bulk
    /// Read job: one part) and holds it again, or completes it when that was its last; returns
    /// once that committed.
    async fn step(&self, target: StepTarget) -> StoreResult<StepOutcome>;
    /// Business time moved on this node: sweeps what retention now expires (before returning)
    /// and wakes the callback dispatcher for retries that fell due.
    async fn clock_moved(&self);
    /// Callbacks were queued outside a job's end (a replay, a restored snapshot): wakes this
    /// node's dispatcher, so it need not wait for its next poll.
    async fn callbacks_queued(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulkwrite_core::clock::ManualClock;

    #[test]
    fn the_switch_off_ignores_the_stored_state() {
        let base: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
        let off = LiveControls::new(Arc::clone(&base), false);
        assert!(!off.apply(ControlState { clock_offset_seconds: 3600, queue_paused: true }));
        assert_eq!((off.offset_seconds(), off.is_paused()), (0, false));
        assert_eq!(off.clock().now(), base.now());
        let on = LiveControls::new(Arc::clone(&base), true);
        assert!(on.apply(ControlState { clock_offset_seconds: 3600, queue_paused: true }));
        assert!(!on.apply(ControlState { clock_offset_seconds: 3600, queue_paused: false }), "the clock stood");
        assert_eq!((on.offset_seconds(), on.is_paused()), (3600, false));
        assert_eq!(on.clock().now(), base.now() + chrono::Duration::hours(1));
    }
}
