//! The worker's side of the test controls' time and stepping (see `bulkwrite_store::control`):
//! a watcher that keeps the node's [`LiveControls`] in step with the store (the changes other
//! nodes make), and the [`ControlDriver`] through which the API steps the queue and tells the
//! node that its clock moved.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bulkwrite_store::{LiveControls, QueueDriver, StepOutcome, StepTarget, Store, StoreResult};
use tokio::sync::watch;

use crate::{Sweeper, Wakeup, Worker, WorkerContext};

/// How often a node reads the controls another node may have changed: a pause, resume or
/// clock move on any node reaches every other within about this long (at once on the node that
/// made it, and on any node asked `GET /bulkwrite/v1/clock` or `/queue`).
pub const CONTROLS_POLL: Duration = Duration::from_millis(250);

/// Keeps `controls` in step with the store until `shutdown` turns true; returns at once when
/// the switch is off. A moved clock wakes the callback dispatcher (and, through `controls`,
/// the sweeper); a resumed queue wakes the worker.
pub async fn watch_controls(
    store: Arc<dyn Store>,
    controls: Arc<LiveControls>,
    wakeup: Arc<Wakeup>,
    mut shutdown: watch::Receiver<bool>,
) {
    if !controls.enabled() {
        return;
    }
    loop {
        if *shutdown.borrow() {
            return;
        }
        match store.control_state().await {
            Ok(state) => apply(&controls, &wakeup, state),
            Err(error) => {
                tracing::warn!(error = %error.with_causes(), "reading the test controls failed; retried shortly");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(CONTROLS_POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Takes on a stored state and wakes what it concerns.
pub fn apply(controls: &LiveControls, wakeup: &Wakeup, state: bulkwrite_store::ControlState) {
    let was_paused = controls.is_paused();
    if controls.apply(state) {
        tracing::info!(offset_seconds = state.clock_offset_seconds, "test controls: the clock moved");
        wakeup.callbacks.notify_one();
    }
    if was_paused && !controls.is_paused() {
        tracing::info!("test controls: the queue runs again");
        wakeup.jobs.notify_one();
    }
}

/// Steps the queue and follows clock moves for the API, on this node. The server builds one
/// whatever the node's role: a step runs its chunk here even on a node that serves only the API.
pub struct ControlDriver {
    worker: Worker,
    sweeper: Sweeper,
    wakeup: Arc<Wakeup>,
    shutdown: watch::Receiver<bool>,
}

impl ControlDriver {
    /// A driver on `ctx`, sweeping with `sweeper` when the clock moves; a step in hand stops at
    /// `shutdown` like any run (the job is released).
    pub fn new(ctx: WorkerContext, sweeper: Sweeper, shutdown: watch::Receiver<bool>) -> ControlDriver {
        let wakeup = Arc::clone(&ctx.wakeup);
        ControlDriver { worker: Worker::new(ctx), sweeper, wakeup, shutdown }
    }
}

#[async_trait]
impl QueueDriver for ControlDriver {
    async fn step(&self, target: StepTarget) -> StoreResult<StepOutcome> {
        self.worker.step(target, &self.shutdown).await
    }

    async fn clock_moved(&self) {
        match self.sweeper.sweep_now().await {
            Ok(report) => tracing::info!(?report, "test controls: swept after the clock moved"),
            Err(error) => {
                tracing::warn!(error = %error.with_causes(), "sweeping after the clock moved failed; the next pass retries");
            }
        }
        self.wakeup.callbacks.notify_one();
    }

    async fn callbacks_queued(&self) {
        self.wakeup.callbacks.notify_one();
    }
}
