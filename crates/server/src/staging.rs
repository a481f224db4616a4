//! Cleans the staging directory of the blob store: at startup every leftover (a killed process's
//! half-written uploads and results), then periodically the files unmodified for the grace period
//! that this process does not hold open.

use std::path::PathBuf;
use std::time::Duration;

use bulkwrite_store::staging::{sweep, SweepScope};
use tokio::sync::watch;

/// Removes every file of `dir`: at startup, under the data directory's lock, none is in use.
pub async fn sweep_at_startup(dir: PathBuf) {
    run(dir, SweepScope::Everything).await;
}

/// Every `grace / 2` (at least 1 s, at most 10 min), removes the files unmodified for `grace`.
pub fn spawn_periodic(
    dir: PathBuf,
    grace: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let every = (grace / 2).clamp(Duration::from_secs(1), Duration::from_secs(600));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            run(dir.clone(), SweepScope::UnmodifiedFor(grace)).await;
        }
    })
}

async fn run(dir: PathBuf, scope: SweepScope) {
    let shown = dir.display().to_string();
    match tokio::task::spawn_blocking(move || sweep(&dir, scope)).await {
        Ok(Ok(swept)) if swept.files > 0 => {
            tracing::info!(dir = %shown, files = swept.files, bytes = swept.bytes, "unfinished staged files removed");
        }
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::warn!(dir = %shown, error = %error, "sweeping the staging directory failed"),
        Err(error) => tracing::warn!(dir = %shown, error = %error, "sweeping the staging directory failed"),
    }
}
