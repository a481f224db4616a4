//! What a node keeps in memory to write chunks faster: record ids reserved ahead in blocks, the
//! jobs whose inserts met existing keys, and the jobs whose chunks failed as retryable (see
//! `chunk`). All are hints: losing them (a restart) only costs unused ids or one more careful
//! chunk.

use std::ops::Range;
use std::sync::Mutex;

use bulkwrite_store::MarkedJobs;

/// Ids reserved from the shared counter at a time. A node that stops leaves the rest unused.
pub(crate) const ID_BLOCK: u64 = 10_000;

#[derive(Default)]
pub(crate) struct WriteHints {
    /// Reserved record ids not handed out yet.
    ids: Mutex<Range<u64>>,
    /// Jobs whose inserts met keys that already existed: their chunks probe first.
    pub(crate) conflicts: MarkedJobs,
    /// Jobs with a chunk that failed as retryable, most often because of another writer (a
    /// record changed since it was read, a key taken meanwhile, a deadlock), else a lost
    /// connection or the like: their chunks lock what they read.
    pub(crate) contended: MarkedJobs,
}

impl WriteHints {
    /// `count` consecutive ids from the current block, if it has that many; returns the first.
    pub(crate) fn take_ids(&self, count: u64) -> Option<u64> {
        let mut ids = self.ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if ids.end - ids.start < count {
            return None;
        }
        let first = ids.start;
        ids.start += count;
        Some(first)
    }

    /// Makes `block` (just reserved) the current block, taking `count` ids from its start.
    pub(crate) fn refill(&self, block: Range<u64>, count: u64) -> u64 {
        let mut ids = self.ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *ids = block.start + count..block.end;
        block.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_block_until_it_runs_out() {
        let hints = WriteHints::default();
        assert_eq!(hints.take_ids(1), None, "no block yet");
        assert_eq!(hints.refill(100..110, 4), 100);
        assert_eq!(hints.take_ids(5), Some(104));
        assert_eq!(hints.take_ids(1), Some(109));
        assert_eq!(hints.take_ids(1), None);
    }
}
