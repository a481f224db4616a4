//! The retention sweeper: expires unused uploads and old result files, then deletes their blobs.
//!
//! It runs on every node that runs jobs. Each pass takes `now` once from business time (the test
//! controls' clock, which also wakes it when it moves) and hands it to the store, which decides what expires in short transactions that are safe with other
//! nodes sweeping at once (see `RetentionStore`). Blobs are deleted only after the transaction
//! that expired them committed, so no job can still be given one; a blob deleted twice (two
//! nodes, or a pass repeated after a crash) is no error.

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_core::clock::{Clock, SystemClock};
use bulkwrite_store::{BlobStore, Expiry, LiveControls, Store, StoreError, Timestamp};
use tokio::sync::watch;

/// Files one store call expires, or blobs one pass deletes before asking for more.
const BATCH: u32 = 100;

/// The 7 days of Zoho's result link, used for both kinds of file unless configured.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Sweep intervals stay within these bounds, whatever the retention.
const FASTEST_SWEEP: Duration = Duration::from_secs(1);
const SLOWEST_SWEEP: Duration = Duration::from_secs(60);

/// How long files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// An upload no unfinished job names expires this long after it was uploaded.
    pub uploads: Duration,
    /// A job's result file (and result rows) expire this long after the job finished.
    pub results: Duration,
}

impl Default for RetentionConfig {
    fn default() -> RetentionConfig {
        RetentionConfig { uploads: DEFAULT_RETENTION, results: DEFAULT_RETENTION }
    }
}

impl RetentionConfig {
    /// How often the sweeper looks: a tenth of the shorter retention, at least every minute and
    /// at most every second. A file so outlives its time by at most a tenth of it (or a minute).
    pub fn sweep_interval(&self) -> Duration {
        let shorter = self.uploads.min(self.results);
        (shorter / 10).clamp(FASTEST_SWEEP, SLOWEST_SWEEP)
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Uploads expired.
    pub uploads_expired: u64,
    /// Jobs whose result files expired.
    pub results_expired: u64,
    /// Blobs deleted from the blob store.
    pub blobs_deleted: u64,
}

/// Expires files and frees their space.
pub struct Sweeper {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    config: RetentionConfig,
    clock: Arc<dyn Clock>,
    controls: Option<Arc<LiveControls>>,
}

impl Sweeper {
    /// A sweeper over `store` and `blobs`, keeping files as long as `config` says, on the
    /// system's clock.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, config: RetentionConfig) -> Sweeper {
        Sweeper { store, blobs, config, clock: Arc::new(SystemClock), controls: None }
    }

    /// The same sweeper on the node's business time, sweeping again at once whenever the test
    /// controls move it.
    pub fn with_controls(mut self, controls: Arc<LiveControls>) -> Sweeper {
        self.clock = controls.clock();
        self.controls = Some(controls);
        self
    }

    /// One pass at the sweeper's own `now`.
    pub async fn sweep_now(&self) -> Result<SweepReport, StoreError> {
        self.sweep_once(self.clock.now()).await
    }

    /// One pass at `now`: expires what is due, then deletes every blob queued for deletion
    /// (this pass's and any a crashed pass left).
    pub async fn sweep_once(&self, now: Timestamp) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        if let Some(expiry) = expiry(now, self.config.uploads) {
            report.uploads_expired = drain(|| self.store.expire_uploads(&expiry)).await?;
        }
        if let Some(expiry) = expiry(now, self.config.results) {
            report.results_expired = drain(|| self.store.expire_results(&expiry)).await?;
        }
        report.blobs_deleted = self.delete_expired_blobs().await?;
        Ok(report)
    }

    /// Sweeps every interval until `shutdown` turns true. A failed pass is logged and retried
    /// at the next interval.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let interval = self.config.sweep_interval();
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.sweep_now().await {
                Ok(report) if report != SweepReport::default() => {
                    tracing::info!(
                        uploads = report.uploads_expired,
                        results = report.results_expired,
                        blobs = report.blobs_deleted,
                        "retention: files expired and space freed"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error.with_causes(), "retention sweep failed");
                }
            }
            let moved = async {
                match &self.controls {
                    Some(controls) => controls.clock_moved().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = moved => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Deletes queued blobs, then forgets them. A blob that cannot be deleted stays queued for
    /// the next pass; the others go on.
    async fn delete_expired_blobs(&self) -> Result<u64, StoreError> {
        let mut deleted: u64 = 0;
        loop {
            let keys = self.store.expired_blobs(BATCH).await?;
            let mut done = Vec::with_capacity(keys.len());
            for key in &keys {
                match self.blobs.delete(key).await {
                    Ok(()) => done.push(key.clone()),
                    Err(error) => {
                        tracing::warn!(key = %key, error = %error.with_causes(), "retention: deleting a blob failed; retried later");
                    }
                }
            }
            self.store.forget_expired_blobs(&done).await?;
            deleted += done.len() as u64;
            // Stop when the queue is drained, or when nothing of a batch could be deleted (the
            // same keys would come back at once).
            if keys.len() < BATCH as usize || done.is_empty() {
                return Ok(deleted);
            }
        }
    }
}

/// The expiry of files older than `retention` at `now`; `None` when that reaches before any
/// representable time (nothing can be that old).
fn expiry(now: Timestamp, retention: Duration) -> Option<Expiry> {
    let retention = chrono::Duration::from_std(retention).ok()?;
    let older_than = now.checked_sub_signed(retention)?;
    Some(Expiry { now, older_than, limit: BATCH })
}

/// Calls `expire` until a call expires less than a full batch; returns the total.
async fn drain<F, Fut>(mut expire: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total: u64 = 0;
    loop {
        let expired = expire().await?;
        total += expired;
        if expired < u64::from(BATCH) {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_interval_follows_the_shorter_retention_within_bounds() {
        let config = |uploads: u64, results: u64| RetentionConfig {
            uploads: Duration::from_secs(uploads),
            results: Duration::from_secs(results),
        };
        assert_eq!(RetentionConfig::default().sweep_interval(), Duration::from_secs(60));
        assert_eq!(config(300, 7 * 24 * 3600).sweep_interval(), Duration::from_secs(30));
        assert_eq!(config(86_400, 5).sweep_interval(), Duration::from_secs(1));
    }

    #[test]
    fn a_retention_beyond_the_calendar_expires_nothing() {
        let now = chrono::Utc::now();
        assert!(expiry(now, Duration::from_secs(u64::MAX / 4)).is_none());
        let week = expiry(now, DEFAULT_RETENTION).unwrap();
        assert_eq!(now - week.older_than, chrono::Duration::days(7));
    }
}
