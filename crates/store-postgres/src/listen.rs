//! Wake-ups across nodes: a dedicated connection `LISTEN`s on the job, callback and job-change
//! channels and turns each notification into a `notify_one` (or, for a job change, a ring of
//! the node's [`JobChanges`]). Workers keep a slow poll as a fallback, since a
//! notification sent while the connection is down is lost.

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_store::changes::JobChanges;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use crate::tls::MakeRustls;

use crate::{PgStore, CALLBACKS_CHANNEL, JOBS_CHANNEL, JOB_CHANGES_CHANNEL};

/// The first wait before reconnecting; doubled after each failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// How often the listening connection is checked; a dead peer is noticed within about this long.
const PING_EVERY: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

impl PgStore {
    /// Listens for `bulkwrite_jobs` and `bulkwrite_callbacks` on a connection of its own and
    /// calls `notify_one` on `jobs` or `callbacks` for each notification, and rings `changes`
    /// for each `bulkwrite_job_changes` one; reconnects with backoff when the connection drops,
    /// and wakes all three after every (re)connect, since notifications may have been missed
    /// meanwhile. Runs until the handle is aborted.
    pub fn listen(
        &self,
        jobs: Arc<Notify>,
        callbacks: Arc<Notify>,
        changes: Arc<JobChanges>,
    ) -> tokio::task::JoinHandle<()> {
        let (config, tls) = (self.inner.config.clone(), self.inner.tls.clone());
        tokio::spawn(async move {
            let mut backoff = MIN_BACKOFF;
            loop {
                match listen_once(&config, &tls, &jobs, &callbacks, &changes).await {
                    Ok(()) => {
                        tracing::warn!("the LISTEN connection closed; reconnecting");
                        backoff = MIN_BACKOFF;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, retry_in_ms = backoff.as_millis() as u64, "LISTEN connection failed");
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        })
    }
}

/// One connection's life: returns when it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: &MakeRustls,
    jobs: &Arc<Notify>,
    callbacks: &Arc<Notify>,
    changes: &Arc<JobChanges>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (jobs_waker, callbacks_waker) = (Arc::clone(jobs), Arc::clone(callbacks));
    let changes_waker = Arc::clone(changes);
    // The connection must be polled for the client to work; polling it also yields the
    // notifications.
    let mut driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(note)) if note.channel() == JOBS_CHANNEL => jobs_waker.notify_one(),
                Ok(AsyncMessage::Notification(note)) if note.channel() == CALLBACKS_CHANNEL => {
                    callbacks_waker.notify_one();
                }
                Ok(AsyncMessage::Notification(note)) if note.channel() == JOB_CHANGES_CHANNEL => {
                    crate::changes::ring(&changes_waker, note.payload());
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "LISTEN connection error");
                    break;
                }
            }
        }
    });
    let setup = client
        .batch_execute(&format!("LISTEN {JOBS_CHANNEL}; LISTEN {CALLBACKS_CHANNEL}; LISTEN {JOB_CHANGES_CHANNEL}"))
        .await;
    if let Err(error) = setup {
        driver.abort();
        return Err(error);
    }
    tracing::debug!("listening for job and callback notifications");
    jobs.notify_one();
    callbacks.notify_one();
    changes.any_changed();
    loop {
        tokio::select! {
            _ = &mut driver => return Ok(()),
            () = tokio::time::sleep(PING_EVERY) => {
                match tokio::time::timeout(PING_TIMEOUT, client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        driver.abort();
                        return Err(error);
                    }
                    Err(_) => {
                        tracing::warn!("the LISTEN connection stopped answering");
                        driver.abort();
                        return Ok(());
                    }
                }
            }
        }
    }
}
