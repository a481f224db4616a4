//! The chunk being committed while the next one starts: at most two chunks of a resource are in
//! flight, in order (see `JobStore::apply_chunk_in_order`). Whatever happens, the run settles
//! its chunks before it gives up the lease.

use std::collections::BTreeMap;
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
    pending: Option<Pending>,
}

impl InFlight {
    pub(crate) fn new(announcer: Announcer, store: Arc<dyn Store>, lease: Lease) -> InFlight {
        InFlight { store, lease, announcer, order: ChunkOrder::first(), pending: None }
    }

    /// Starts applying `chunk` beside the chunk in flight, then waits for that one to settle.
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
        settle(self.pending.replace((task, new_values))).await
    }

    /// Waits for the chunk still in flight, if any.
    pub(crate) async fn settle(&mut self) -> StoreResult<Option<Settled>> {
        settle(self.pending.take()).await
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
