//! Jobs a node remembers something about, to write their chunks faster. Two uses:
//! - the jobs whose inserts met keys that already existed. Both backends write an insert chunk
//!   first as if none of its keys existed (no probes) and fall back to probing when one does; a
//!   job that met one probes first from then on;
//! - on PostgreSQL, the jobs whose chunks met another writer: their chunks lock the records they
//!   read from then on, instead of reading them as committed and checking their versions.
//!
//! Hints: losing them (a restart, another node) costs one chunk's undone attempt.

use std::collections::HashSet;
use std::sync::Mutex;

use bulkwrite_core::ids::JobId;

/// Jobs remembered; past this many the memory starts afresh.
const REMEMBERED_JOBS: usize = 1024;

/// See the module's comment.
#[derive(Debug, Default)]
pub struct MarkedJobs {
    jobs: Mutex<HashSet<JobId>>,
}

impl MarkedJobs {
    /// Whether `job` is remembered.
    pub fn is_marked(&self, job: JobId) -> bool {
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&job)
    }

    /// Remembers `job`.
    pub fn mark(&self, job: JobId) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if jobs.len() >= REMEMBERED_JOBS {
            jobs.clear();
        }
        jobs.insert(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_job_is_remembered_and_others_are_not() {
        let marks = MarkedJobs::default();
        let (job, other) = (JobId::new(7), JobId::new(8));
        assert!(!marks.is_marked(job));
        marks.mark(job);
        assert!(marks.is_marked(job));
        assert!(!marks.is_marked(other));
        for n in 0..REMEMBERED_JOBS as u64 {
            marks.mark(JobId::new(100 + n));
        }
        assert!(!marks.is_marked(job), "the memory started afresh past {REMEMBERED_JOBS} jobs");
    }
}
