//! `GET /bulkwrite/v1/events`: the jobs of the caller's org as Server-Sent Events, so that a
//! jobs list stays live without polling.
//!
//! The stream opens with one `job` event per unfinished job of the org (newest first, at most one
//! page), then sends a `job` event each time one of the org's jobs is queued, changes state or
//! commits a chunk, whichever node did it: it wakes on the node's job changes like the per-job
//! stream (`routes::events`; on PostgreSQL any node's, through LISTEN/NOTIFY), reads only the
//! jobs a wake-up names, and remembers the jobs of other orgs so that it never reads them twice.
//! A `resync` event says that changes may have been missed (the stream fell behind, or the
//! node's LISTEN connection was re-made): a client re-reads its list then. Every `job` event's
//! data is the per-job event document plus the job's `operation`, `modules`, `dry_run` and
//! `created_at`. The stream shares the per-job streams' cap, keep-alive and slow fallback read
//! (of the org's unfinished jobs), and ends when its client goes away or the node stops.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_core::state::JobState;
use bulkwrite_store::changes::JobChange;
use bulkwrite_store::{Job, JobListQuery, Store, StoreResult};
use bulkwrite_wire::{ApiError, ErrorCode};
use futures_util::stream::{self, Stream};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit};

use super::events::event_document;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::AppState;

/// The name of an event that carries one job.
pub const JOB_EVENT: &str = "job";
/// The name of an event that says changes may have been missed.
pub const RESYNC_EVENT: &str = "resync";

/// Jobs of other orgs remembered as such; past it the memory starts again (a job forgotten is
/// only read once more).
const FOREIGN_CAP: usize = 4096;
/// Finished jobs remembered as sent; past it the memory starts again (a finished job forgotten
/// is sent once more if it wakes the stream again).
const FINISHED_CAP: usize = 4096;

/// `GET /bulkwrite/v1/events`, with the auth of `GET /bulkwrite/v1/jobs`.
pub async fn org_events(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    // Subscribe before the first read, so that no change between the two is missed.
    let changes = state.events.changes.subscribe();
    let closing = state.events.changes.closing();
    let slot = state.events.open_slot().ok_or_else(|| {
        ErrorResponse(ApiError::with_message(
            ErrorCode::TooManyRequests,
            "too many event streams are open; poll GET /bulkwrite/v1/jobs or try again later",
        ))
    })?;
    let mut follow = OrgFollow {
        store: Arc::clone(&state.store),
        org: auth.0.org,
        changes,
        closing,
        fallback_poll: state.events.fallback_poll,
        sent: HashMap::new(),
        finished: HashSet::new(),
        foreign: HashSet::new(),
        queue: VecDeque::new(),
        _slot: slot,
    };
    follow.read_unfinished().await?;
    let keep_alive = KeepAlive::new().interval(state.events.keep_alive).text("keep-alive");
    Ok(Sse::new(events(follow)).keep_alive(keep_alive).into_response())
}

/// A `job` event's data: the per-job event document and what a jobs list shows besides.
pub fn org_event_document(job: &Job) -> Value {
    let mut document = event_document(job);
    let modules: Vec<&str> = job.spec.resources.iter().map(|resource| resource.module.as_str()).collect();
    if let Some(fields) = document.as_object_mut() {
        fields.insert("operation".into(), json!(job.spec.operation.as_str()));
        fields.insert("modules".into(), json!(modules));
        fields.insert("dry_run".into(), json!(job.spec.dry_run));
        fields.insert("created_at".into(), json!(job.created_at.to_rfc3339()));
    }
    document
}

/// What woke the stream.
enum Wake {
    /// These jobs changed.
    Jobs(HashSet<JobId>),
    /// Wake-ups were lost (lagged, or any job may have changed).
    Resync,
    /// Nothing woke it for the fallback interval.
    Fallback,
    /// The node is stopping.
    Closing,
}

/// One stream's follow of one org's jobs.
struct OrgFollow {
    store: Arc<dyn Store>,
    org: OrgId,
    changes: broadcast::Receiver<JobChange>,
    closing: watch::Receiver<bool>,
    fallback_poll: std::time::Duration,
    /// The document last sent of each unfinished job; an unchanged read sends nothing.
    sent: HashMap<JobId, Value>,
    /// Jobs whose final state was sent: a final state never changes, so they are not read again.
    finished: HashSet<JobId>,
    /// Jobs of other orgs.
    foreign: HashSet<JobId>,
    /// Events to send before waiting again.
    queue: VecDeque<Event>,
    /// Held while the stream is open: dropping the stream frees it.
    _slot: OwnedSemaphorePermit,
}

fn events(follow: OrgFollow) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(follow, |mut follow| async move {
        let event = follow.next_event().await?;
        Some((Ok(event), follow))
    })
}

impl OrgFollow {
    /// The next event, or `None` when the stream is over.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            match self.wait().await {
                Wake::Jobs(ids) => {
                    for id in ids {
                        self.read_one(id).await;
                    }
                }
                Wake::Resync => {
                    self.queue.push_back(Event::default().event(RESYNC_EVENT).data("{}"));
                    self.read_again().await;
                }
                Wake::Fallback => self.read_again().await,
                Wake::Closing => return None,
            }
        }
    }

    /// Queues an event for `job` if it is new or changed since the last one sent.
    fn offer(&mut self, job: &Job) {
        if self.finished.contains(&job.id) {
            return;
        }
        let document = org_event_document(job);
        if self.sent.get(&job.id) == Some(&document) {
            return;
        }
        self.queue.push_back(Event::default().event(JOB_EVENT).data(document.to_string()));
        if job.state.is_final() {
            self.sent.remove(&job.id);
            if self.finished.len() >= FINISHED_CAP {
                self.finished.clear();
            }
            self.finished.insert(job.id);
        } else {
            self.sent.insert(job.id, document);
        }
    }

    /// Reads the org's unfinished jobs (one page, newest first) and offers each.
    async fn read_unfinished(&mut self) -> StoreResult<()> {
        let query = JobListQuery { states: vec![JobState::Queued, JobState::Running], ..JobListQuery::all() };
        let page = self.store.list_jobs(self.org, &query).await?;
        for job in &page.jobs {
            self.offer(job);
        }
        Ok(())
    }

    /// After lost wake-ups or a quiet interval: the org's unfinished jobs, and every job sent
    /// unfinished that is no longer among them (it may have finished meanwhile).
    async fn read_again(&mut self) {
        if let Err(error) = self.read_unfinished().await {
            crate::error::log_store_failure(&error);
            return;
        }
        let open: Vec<JobId> = self.sent.keys().copied().collect();
        for id in open {
            if self.sent.contains_key(&id) {
                self.read_one(id).await;
            }
        }
    }

    /// Reads one job that woke the stream; a job of another org is remembered and never read
    /// again.
    async fn read_one(&mut self, id: JobId) {
        if self.foreign.contains(&id) || self.finished.contains(&id) {
            return;
        }
        match self.store.get_job(self.org, id).await {
            Ok(Some(job)) => self.offer(&job),
            Ok(None) => {
                if self.foreign.len() >= FOREIGN_CAP {
                    self.foreign.clear();
                }
                self.foreign.insert(id);
            }
            // The next wake-up or the fallback read tries again.
            Err(error) => crate::error::log_store_failure(&error),
        }
    }

    /// Waits for a wake-up and gathers the ones that came meanwhile.
    async fn wait(&mut self) -> Wake {
        let changes = &mut self.changes;
        let woken = async {
            let first = match changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(_)) => return Wake::Resync,
                // The node's hub is gone: only the fallback interval is left.
                Err(RecvError::Closed) => std::future::pending().await,
            };
            let mut ids = HashSet::new();
            let mut change = first;
            loop {
                match change {
                    JobChange::Job(id) | JobChange::Cancel(id) => {
                        ids.insert(id);
                    }
                    JobChange::Any => return Wake::Resync,
                }
                change = match changes.try_recv() {
                    Ok(next) => next,
                    Err(TryRecvError::Lagged(_)) => return Wake::Resync,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => return Wake::Jobs(ids),
                };
            }
        };
        let closing = self.closing.wait_for(|closing| *closing);
        tokio::select! {
            wake = woken => wake,
            () = tokio::time::sleep(self.fallback_poll) => Wake::Fallback,
            _ = closing => Wake::Closing,
        }
    }
}
