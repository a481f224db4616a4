//! The chunks being committed while the next one starts: at most as many chunks of a resource
//! in flight as the store takes (`JobStore::chunks_in_flight`: two, three for a PostgreSQL
//! insert), in order (see `JobStore::apply_chunk_in_order`). Whatever happens, the run settles
//! its chunks before it gives up the lease.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bulkwrite_store::{ChunkOrder, ChunkOutcome, ChunkWrite, Lease, Store, StoreError, StoreResult};
use tokio::task::JoinHandle;

use crate::announce::Announcer;

/// Picklist values a chunk's rows use that their fields do not list yet, by field.
pub(crate) type NewValues = BTreeMap<String, Vec<String>>;

/// A chunk that has committed: what it did, and the picklist values it used.
pub(crate) struct Settled {
    pub outcome: ChunkOutcome,
    pub new_values: NewValues,
}

type Pending = (JoinHandle<StoreResult<ChunkOutcome>>, NewValues);

pub(crate) struct InFlight {
    store: Arc<dyn Store>,
    lease: Lease,
    /// Told of each chunk that commits, so that the job's followers see its counts move.
    announcer: Announcer,
    /// The order of the next chunk to start.
    order: ChunkOrder,
    /// The chunks in flight, oldest first.
    pending: VecDeque<Pending>,
    /// How many may be in flight at once (at least one).
    depth: usize,
}

impl InFlight {
    pub(crate) fn new(announcer: Announcer, store: Arc<dyn Store>, lease: Lease, depth: usize) -> InFlight {
        let depth = depth.max(1);
        InFlight { store, lease, announcer, order: ChunkOrder::first(), pending: VecDeque::new(), depth }
    }

    /// Starts applying `chunk` beside the chunks in flight; once as many are in flight as may be,
    /// waits for the oldest to settle.
    pub(crate) async fn start(&mut self, chunk: ChunkWrite, new_values: NewValues) -> StoreResult<Option<Settled>> {
        let order = self.order.advance();
        let (store, lease, announcer) = (Arc::clone(&self.store), self.lease.clone(), self.announcer.clone());
        let task = tokio::spawn(async move {
            let applied = store.apply_chunk_in_order(&lease, chunk, order).await;
            if applied.is_ok() {
                announcer.job_changed(lease.job).await;
            }
            applied
        });
        self.pending.push_back((task, new_values));
        if self.pending.len() < self.depth {
            return Ok(None);
        }
        settle(self.pending.pop_front()).await
    }

    /// Waits for every chunk still in flight, oldest first: what each did, or the first failure
    /// (the chunks after a failed one are settled all the same, and refused by their store).
    pub(crate) async fn settle_all(&mut self) -> StoreResult<Vec<Settled>> {
        let mut settled = Vec::with_capacity(self.pending.len());
        let mut failure = None;
        while let Some(pending) = self.pending.pop_front() {
            match settle(Some(pending)).await {
                Ok(done) => settled.extend(done),
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        failure.map_or(Ok(settled), Err)
    }
}

async fn settle(pending: Option<Pending>) -> StoreResult<Option<Settled>> {
    let Some((task, new_values)) = pending else {
        return Ok(None);
    };
    match task.await {
        Ok(applied) => applied.map(|outcome| Some(Settled { outcome, new_values })),
        Err(failed) => Err(StoreError::Backend(format!("applying a chunk stopped: {failed}").into())),
    }
}
