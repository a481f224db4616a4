//! What a node keeps in memory to write chunks faster: record ids reserved ahead in blocks, the
//! jobs whose inserts met existing keys (see `chunk`), and what each chunk in flight writes (see
//! `chunk_read`). All are hints: losing them (a restart) only costs unused ids or one more careful
//! chunk.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Mutex;

use bulkwrite_core::ids::JobId;

use crate::chunk_read::Touched;

/// Ids reserved from the shared counter at a time. A node that stops leaves the rest unused.
pub(crate) const ID_BLOCK: u64 = 10_000;

/// Jobs remembered as meeting existing keys; past this many the memory starts afresh.
const REMEMBERED_JOBS: usize = 1024;

/// Chunks whose writes are remembered for the chunk after them; past this many the memory
/// starts afresh (each is taken by the chunk after it, so only abandoned runs leave any).
const REMEMBERED_CHUNKS: usize = 256;

/// A chunk by its job, resource and the checkpoint it moves to (which the chunk after it follows).
pub(crate) type ChunkAt = (JobId, usize, u64);

#[derive(Default)]
pub(crate) struct WriteHints {
    /// Reserved record ids not handed out yet.
    ids: Mutex<Range<u64>>,
    /// Jobs whose inserts met keys that already existed: their chunks probe first.
    conflicted: Mutex<HashSet<JobId>>,
    /// What chunks in flight write, for the chunk after each.
    touched: Mutex<HashMap<ChunkAt, Touched>>,
    /// The checkpoint each job's resource last committed on this node.
    committed: Mutex<HashMap<(JobId, usize), u64>>,
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

    /// Whether `job`'s inserts may skip the key probes.
    pub(crate) fn expects_new_keys(&self, job: JobId) -> bool {
        !self.conflicted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&job)
    }

    /// Remembers that `job` inserts keys that already exist.
    pub(crate) fn note_conflict(&self, job: JobId) {
        let mut conflicted = self.conflicted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if conflicted.len() >= REMEMBERED_JOBS {
            conflicted.clear();
        }
        conflicted.insert(job);
    }

    /// Remembers what the chunk that moves its resource's checkpoint to `at` writes.
    pub(crate) fn publish_touched(&self, at: ChunkAt, written: Touched) {
        let mut touched = self.touched.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if touched.len() >= REMEMBERED_CHUNKS {
            touched.clear();
        }
        touched.insert(at, written);
    }

    /// Remembers that a chunk of `job`'s resource committed, moving its checkpoint to `rows_done`.
    pub(crate) fn note_committed(&self, job: JobId, resource: usize, rows_done: u64) {
        let mut committed = self.committed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if committed.len() >= REMEMBERED_JOBS {
            committed.clear();
        }
        committed.insert((job, resource), rows_done);
    }

    /// Forgets what `job`'s resource committed (one of its chunks failed).
    pub(crate) fn forget_committed(&self, job: JobId, resource: usize) {
        self.committed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(job, resource));
    }

    /// The checkpoint `job`'s resource last committed on this node, if known.
    pub(crate) fn committed(&self, job: JobId, resource: usize) -> Option<u64> {
        self.committed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&(job, resource)).copied()
    }

    /// What the chunk that moved (or moves) its resource's checkpoint to `at` writes, if known.
    pub(crate) fn take_touched(&self, at: ChunkAt) -> Option<Touched> {
        self.touched.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&at)
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

    #[test]
    fn conflicts_are_remembered_per_job() {
        let hints = WriteHints::default();
        let (first, second) = (JobId::new(1), JobId::new(2));
        assert!(hints.expects_new_keys(first));
        hints.note_conflict(first);
        assert!(!hints.expects_new_keys(first));
        assert!(hints.expects_new_keys(second));
    }
}
