//! `GET /bulkwrite/v1/jobs/{job_id}/events`: a job's progress as Server-Sent Events.
//!
//! The first event is the job as it stands; then one `progress` event each time its state or
//! counts change (a chunk committed), and an `end` event with the final state, after which the
//! stream closes. Every event's data is the same JSON document ([`event_document`]). The stream
//! re-reads the job only when the node's job changes name it (this node's worker, or on
//! PostgreSQL any node's, through LISTEN/NOTIFY), or after a slow fallback interval, never in a
//! busy loop. Streams open at once are capped (429 `TOO_MANY_REQUESTS` past the cap); an idle
//! stream sends a keep-alive comment; a stream ends when its client goes away or the node stops.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::changes::JobChange;
use bulkwrite_store::{Job, Store};
use bulkwrite_wire::{ApiError, ErrorCode};
use futures_util::stream::{self, Stream};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit};

use super::extensions::{not_found, readable_job};
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::AppState;

/// The name of every event before the last.
pub const PROGRESS_EVENT: &str = "progress";
/// The name of the last event, which carries the final state.
pub const END_EVENT: &str = "end";

/// `GET /bulkwrite/v1/jobs/{job_id}/events`, with the auth and org scoping of
/// `GET /bulkwrite/v1/jobs/{job_id}`.
pub async fn job_events(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let id = readable_job(&auth, &job_id)?;
    let org = auth.0.org;
    // Subscribe before the first read, so that no change between the two is missed.
    let changes = state.events.changes.subscribe();
    let closing = state.events.changes.closing();
    let job = state.store.get_job(org, id).await?.ok_or_else(not_found)?;
    let slot = state.events.open_slot().ok_or_else(|| {
        ErrorResponse(ApiError::with_message(
            ErrorCode::TooManyRequests,
            "too many event streams are open; poll GET /bulkwrite/v1/jobs/{id} or try again later",
        ))
    })?;
    let follow = Follow {
        store: state.store.clone(),
        org,
        id,
        changes,
        closing,
        fallback_poll: state.events.fallback_poll,
        first: Some(job),
        last: None,
        ended: false,
        _slot: slot,
    };
    let keep_alive = KeepAlive::new().interval(state.events.keep_alive).text("keep-alive");
    Ok(Sse::new(events(follow)).keep_alive(keep_alive).into_response())
}

/// The JSON of every event: the job's id, state (our word and Zoho's status), its error, the
/// totals over its resources (`processed` = `added` + `updated` + `skipped`; rows that failed
/// are counted as skipped, as Zoho counts them) and each resource's progress.
pub fn event_document(job: &Job) -> Value {
    let resources: Vec<Value> = job
        .resources
        .iter()
        .map(|r| {
            json!({"state": r.state.as_str(), "processed": r.total(), "rows_done": r.rows_done,
                   "added": r.added, "updated": r.updated, "skipped": r.skipped})
        })
        .collect();
    let sum = |count: fn(&bulkwrite_store::ResourceProgress) -> u64| job.resources.iter().map(count).sum::<u64>();
    json!({
        "id": job.id.to_string(),
        "state": job.state.view_word(),
        "status": job.state.zoho_status(),
        "processed": sum(bulkwrite_store::ResourceProgress::total),
        "added": sum(|r| r.added),
        "updated": sum(|r| r.updated),
        "skipped": sum(|r| r.skipped),
        "error": job.error,
        "finished_at": job.finished_at.map(|t| t.to_rfc3339()),
        "resources": resources,
    })
}

/// One stream's follow of one job.
struct Follow {
    store: std::sync::Arc<dyn Store>,
    org: OrgId,
    id: JobId,
    changes: broadcast::Receiver<JobChange>,
    closing: watch::Receiver<bool>,
    fallback_poll: std::time::Duration,
    /// The job as read when the stream opened: the first event.
    first: Option<Job>,
    /// The document of the last event sent; an unchanged read sends nothing.
    last: Option<Value>,
    ended: bool,
    /// Held while the stream is open: dropping the stream frees it.
    _slot: OwnedSemaphorePermit,
}

fn events(follow: Follow) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(follow, |mut follow| async move {
        let event = follow.next_event().await?;
        Some((Ok(event), follow))
    })
}

impl Follow {
    /// The next event, or `None` when the stream is over.
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            let job = match self.first.take() {
                Some(job) => Some(job),
                None => self.read().await?,
            };
            if let Some(job) = job {
                let document = event_document(&job);
                if job.state.is_final() {
                    self.ended = true;
                    return Some(Event::default().event(END_EVENT).data(document.to_string()));
                }
                if self.last.as_ref() != Some(&document) {
                    let event = Event::default().event(PROGRESS_EVENT).data(document.to_string());
                    self.last = Some(document);
                    return Some(event);
                }
            }
            if !self.wait().await {
                return None;
            }
        }
    }

    /// The job as it now stands: `Some(None)` after a storage failure (the next wake-up reads
    /// again), `None` when the job is gone.
    async fn read(&self) -> Option<Option<Job>> {
        match self.store.get_job(self.org, self.id).await {
            Ok(Some(job)) => Some(Some(job)),
            Ok(None) => None,
            Err(error) => {
                crate::error::log_store_failure(&error);
                Some(None)
            }
        }
    }

    /// Waits until the job may have changed (a wake-up naming it, a missed one, or the fallback
    /// interval); `false` when the node is stopping.
    async fn wait(&mut self) -> bool {
        let (changes, id) = (&mut self.changes, self.id);
        let woken = async {
            loop {
                match changes.recv().await {
                    Ok(change) if change.concerns(id) => break,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    // The node's hub is gone: only the fallback interval is left.
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
            // Wake-ups that came meanwhile are answered by the same read.
            while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = changes.try_recv() {}
        };
        let closing = self.closing.wait_for(|closing| *closing);
        tokio::select! {
            () = woken => true,
            () = tokio::time::sleep(self.fallback_poll) => true,
            _ = closing => false,
        }
    }
}
