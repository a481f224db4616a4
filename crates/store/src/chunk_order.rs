//! Two chunks of one job in flight at once, in order (see `JobStore::apply_chunk_in_order`).
//!
//! Each chunk holds a [`ChunkOrder`]: it tells the chunk after it how far it has gone, and waits
//! on the chunk before it. A chunk whose order is dropped (committed, failed or abandoned) counts
//! as settled, so a chunk never waits forever on one that went away.

use tokio::sync::watch;

/// How far a chunk has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Started,
    /// Its unique keys are written and final: it takes no other key lock before it settles.
    KeysWritten,
}

/// A chunk's place in its resource's run of chunks.
#[derive(Debug)]
pub struct ChunkOrder {
    previous: Option<watch::Receiver<Stage>>,
    this: watch::Sender<Stage>,
}

impl ChunkOrder {
    /// A chunk with none before it in flight.
    pub fn first() -> ChunkOrder {
        ChunkOrder { previous: None, this: watch::channel(Stage::Started).0 }
    }

    /// The order of the chunk after this one.
    pub fn next(&self) -> ChunkOrder {
        ChunkOrder { previous: Some(self.this.subscribe()), this: watch::channel(Stage::Started).0 }
    }

    /// Hands out this order, to the chunk starting now, and becomes the order of the chunk after.
    pub fn advance(&mut self) -> ChunkOrder {
        let next = self.next();
        std::mem::replace(self, next)
    }

    /// Waits until the chunk before has written its unique keys (or settled). Keys written after
    /// that may wait on the chunk before (a value both hold) but never it on them, so the two
    /// cannot deadlock while the chunk before waits for its own predecessor.
    pub async fn previous_keys_written(&mut self) {
        self.wait_for(Stage::KeysWritten).await;
    }

    /// Waits until the chunk before has committed or failed. Reads that must see its records,
    /// and the checkpoint, come after this.
    pub async fn previous_settled(&mut self) {
        if let Some(previous) = &mut self.previous {
            // The sender is dropped once the chunk settles; `wait_for` then returns an error.
            let _ = previous.wait_for(|_| false).await;
        }
        self.previous = None;
    }

    /// Tells the chunk after that this one's unique keys are written and final.
    pub fn keys_written(&self) {
        self.this.send_replace(Stage::KeysWritten);
    }

    async fn wait_for(&mut self, stage: Stage) {
        if let Some(previous) = &mut self.previous {
            let _ = previous.wait_for(|reached| *reached >= stage).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn finishes<F: std::future::Future>(future: F) -> bool {
        tokio::time::timeout(Duration::from_millis(50), future).await.is_ok()
    }

    #[tokio::test]
    async fn a_chunk_waits_for_the_one_before_it() {
        let first = ChunkOrder::first();
        let mut second = first.next();
        assert!(!finishes(second.previous_keys_written()).await, "the first has written nothing");
        first.keys_written();
        assert!(finishes(second.previous_keys_written()).await);
        assert!(!finishes(second.previous_settled()).await, "the first has not settled");
        drop(first);
        assert!(finishes(second.previous_settled()).await);
        assert!(finishes(second.previous_keys_written()).await, "a settled chunk has written");
    }

    #[tokio::test]
    async fn the_first_chunk_and_a_dropped_predecessor_never_block() {
        let mut first = ChunkOrder::first();
        assert!(finishes(first.previous_settled()).await);
        let mut second = first.next();
        drop(first);
        assert!(finishes(second.previous_keys_written()).await, "dropped before writing: settled");
    }
}
