//! The jobs whose inserts met keys that already existed. Both backends write an insert chunk
//! first as if none of its keys existed (no probes) and fall back to probing when one does; a
//! job that met one probes first from then on. A hint: losing it (a restart) costs one chunk's
//! undone attempt.

use std::collections::HashSet;
use std::sync::Mutex;

use bulkwrite_core::ids::JobId;

/// Jobs remembered as meeting existing keys; past this many the memory starts afresh.
const REMEMBERED_JOBS: usize = 1024;

/// See the module's comment.
#[derive(Debug, Default)]
pub struct ConflictedJobs {
    jobs: Mutex<HashSet<JobId>>,
}

impl ConflictedJobs {
    /// Whether `job`'s inserts may skip the key probes.
    pub fn expects_new_keys(&self, job: JobId) -> bool {
        !self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&job)
    }

    /// Remembers that `job` inserts keys that already exist.
    pub fn note_conflict(&self, job: JobId) {
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
    fn a_job_that_met_existing_keys_probes_first_and_others_do_not() {
        let hints = ConflictedJobs::default();
        let (job, other) = (JobId::new(7), JobId::new(8));
        assert!(hints.expects_new_keys(job));
        hints.note_conflict(job);
        assert!(!hints.expects_new_keys(job));
        assert!(hints.expects_new_keys(other));
        for n in 0..REMEMBERED_JOBS as u64 {
            hints.note_conflict(JobId::new(100 + n));
        }
        assert!(hints.expects_new_keys(job), "the memory started afresh past {REMEMBERED_JOBS} jobs");
    }
}
