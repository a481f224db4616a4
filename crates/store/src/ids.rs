//! Id allocation: blocks of ids reserved from the database and handed out from memory.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::StoreResult;
use crate::traits::IdStore;

/// How many ids one reservation takes.
const BLOCK: u64 = 1000;

/// Hands out 19-digit ids, reserving them from the store a block at a time.
pub struct IdAllocator {
    store: Arc<dyn IdStore>,
    next: Mutex<(u64, u64)>,
}

impl IdAllocator {
    /// An allocator that reserves blocks of ids from `store` as it runs out.
    pub fn new(store: Arc<dyn IdStore>) -> IdAllocator {
        IdAllocator { store, next: Mutex::new((0, 0)) }
    }

    /// One fresh id.
    pub async fn next_id(&self) -> StoreResult<u64> {
        let mut range = self.next.lock().await;
        if range.0 >= range.1 {
            let first = self.store.reserve_ids(BLOCK).await?;
            *range = (first, first + BLOCK);
        }
        let id = range.0;
        range.0 += 1;
        Ok(id)
    }
}

/// The first id a new database hands out: 19 digits, like Zoho's.
pub const FIRST_ID: u64 = 5_725_767_000_000_100_001;
