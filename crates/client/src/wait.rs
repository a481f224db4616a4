//! Waiting for a job to finish: following its events stream where the server offers one (a
//! bulkwrite server), polling its details otherwise (Zoho) or when the stream drops.

use std::fmt;
use std::time::{Duration, Instant};

use bulkwrite_wire::{status, JobDetails};

use crate::client::Client;
use crate::error::{Error, Result};

/// A snapshot of a running job, handed to [`WaitOptions::on_progress`] after every poll or
/// event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The job status (`ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED`).
    pub status: String,
    /// Records created so far (summed over resources).
    pub added: u64,
    /// Records updated so far.
    pub updated: u64,
    /// Rows skipped so far.
    pub skipped: u64,
    /// Rows processed so far (added + updated + skipped).
    pub total: u64,
    /// Polls made (or events read), this one included.
    pub polls: u32,
    /// Time since waiting started.
    pub elapsed: Duration,
}

impl Progress {
    /// Reads the counts of job details (absent counts are 0).
    pub fn of(details: &JobDetails, polls: u32, elapsed: Duration) -> Progress {
        let sum = |pick: fn(&bulkwrite_wire::FileStatus) -> Option<u64>| {
            details.resource.iter().filter_map(|r| pick(&r.file)).sum::<u64>()
        };
        Progress {
            status: details.status.clone(),
            added: sum(|f| f.added_count),
            updated: sum(|f| f.updated_count),
            skipped: sum(|f| f.skipped_count),
            total: sum(|f| f.total_count),
            polls,
            elapsed,
        }
    }
}

/// Whether a job status is final (`COMPLETED` or `FAILED`).
pub fn is_finished(job_status: &str) -> bool {
    let word = job_status.trim();
    word.eq_ignore_ascii_case(status::COMPLETED) || word.eq_ignore_ascii_case(status::FAILED)
}

/// A progress callback.
pub type ProgressFn = Box<dyn FnMut(&Progress) + Send>;

/// How [`Client::wait_for_job`] polls.
pub struct WaitOptions {
    /// The delay before the second poll (the first is immediate); doubles after each poll.
    pub initial_delay: Duration,
    /// The longest delay between polls.
    pub max_delay: Duration,
    /// Give up with [`Error::Timeout`] after this long.
    pub timeout: Duration,
    /// Called after every poll or event.
    pub on_progress: Option<ProgressFn>,
    /// Follow the job's events stream when the server has one (`true` by default); polling is
    /// the fallback.
    pub events: bool,
}

impl Default for WaitOptions {
    /// 1 s doubling up to 30 s, for at most an hour, no callback.
    fn default() -> WaitOptions {
        WaitOptions {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(3600),
            on_progress: None,
            events: true,
        }
    }
}

impl WaitOptions {
    /// Sets the progress callback.
    pub fn on_progress(mut self, callback: impl FnMut(&Progress) + Send + 'static) -> WaitOptions {
        self.on_progress = Some(Box::new(callback));
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> WaitOptions {
        self.timeout = timeout;
        self
    }

    /// Whether to follow the job's events stream where the server offers one.
    pub fn events(mut self, events: bool) -> WaitOptions {
        self.events = events;
        self
    }

    /// Sets the first and the longest delay between polls.
    pub fn delays(mut self, initial: Duration, max: Duration) -> WaitOptions {
        self.initial_delay = initial;
        self.max_delay = max.max(initial);
        self
    }
}

impl fmt::Debug for WaitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOptions")
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("timeout", &self.timeout)
            .field("on_progress", &self.on_progress.as_ref().map(|_| "FnMut(&Progress)"))
            .field("events", &self.events)
            .finish()
    }
}

impl Client {
    /// Waits until the job is `COMPLETED` or `FAILED` and returns its last details
    /// (`GET /crm/bulk/{v}/write/{id}`; a `FAILED` job is returned, not an error: look at
    /// `status`). With `options.events`, follows the job's events stream
    /// ([`Client::job_events`]) when the server offers one; otherwise, or once the stream drops,
    /// polls the details, backing off exponentially from `initial_delay` to `max_delay`; each
    /// poll's own transient failures are retried by the client's [`crate::RetryPolicy`].
    pub async fn wait_for_job(&self, job_id: &str, mut options: WaitOptions) -> Result<JobDetails> {
        let started = Instant::now();
        if options.events {
            if let Some(details) = self.follow_events(job_id, &mut options, started).await? {
                return Ok(details);
            }
        }
        let mut delay = options.initial_delay;
        let mut polls = 0u32;
        loop {
            let details = self.get_job(job_id).await?;
            polls += 1;
            let elapsed = started.elapsed();
            if let Some(callback) = options.on_progress.as_mut() {
                callback(&Progress::of(&details, polls, elapsed));
            }
            if is_finished(&details.status) {
                return Ok(details);
            }
            if elapsed >= options.timeout {
                return Err(Error::Timeout {
                    job_id: job_id.to_string(),
                    waited: elapsed,
                    last_status: details.status,
                });
            }
            tokio::time::sleep(delay.min(options.timeout - elapsed)).await;
            delay = delay.saturating_mul(2).min(options.max_delay.max(options.initial_delay));
        }
    }
}

impl Client {
    /// Follows the job's events stream to its end and returns the final details; `None` when
    /// the server offers no stream or it dropped before the end (the caller polls).
    async fn follow_events(
        &self,
        job_id: &str,
        options: &mut WaitOptions,
        started: Instant,
    ) -> Result<Option<JobDetails>> {
        let Ok(Some(mut events)) = self.job_events(job_id, options.timeout).await else {
            return Ok(None);
        };
        let mut seen = 0u32;
        let mut last_status = String::new();
        loop {
            let left = options.timeout.saturating_sub(started.elapsed());
            let Ok(next) = tokio::time::timeout(left, events.next()).await else {
                let waited = started.elapsed();
                return Err(Error::Timeout { job_id: job_id.to_string(), waited, last_status });
            };
            let Ok(Some(event)) = next else {
                return Ok(None);
            };
            seen += 1;
            let progress = &event.progress;
            last_status.clone_from(&progress.status);
            if let Some(callback) = options.on_progress.as_mut() {
                callback(&Progress {
                    status: progress.status.clone(),
                    added: progress.added,
                    updated: progress.updated,
                    skipped: progress.skipped,
                    total: progress.processed,
                    polls: seen,
                    elapsed: started.elapsed(),
                });
            }
            if event.end {
                return self.get_job(job_id).await.map(Some);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_words() {
        assert!(is_finished("COMPLETED"));
        assert!(is_finished("FAILED"));
        assert!(!is_finished("IN PROGRESS"));
        assert!(!is_finished("INPROGRESS"));
        assert!(!is_finished("ADDED"));
    }

    #[test]
    fn progress_sums_resources() {
        let details: JobDetails = serde_json::from_value(serde_json::json!({
            "status": "IN PROGRESS", "id": "1", "operation": "insert", "created_time": "t",
            "created_by": {"id": "2", "name": "A"},
            "resource": [
                {"status": "IN PROGRESS", "type": "data", "module": "Leads", "field_mappings": [],
                 "file": {"status": "IN PROGRESS", "added_count": 3, "skipped_count": 1, "updated_count": 0, "total_count": 4}},
                {"status": "ADDED", "type": "data", "module": {"api_name": "Lead_Phones"}, "field_mappings": [],
                 "file": {"status": "ADDED"}}
            ]
        }))
        .unwrap();
        let progress = Progress::of(&details, 2, Duration::from_secs(1));
        assert_eq!((progress.added, progress.updated, progress.skipped, progress.total), (3, 0, 1, 4));
        assert_eq!(progress.status, "IN PROGRESS");
    }
}
