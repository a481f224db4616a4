//! Callback delivery from the outbox: `POST` of the job details at completion, retried with
//! backoff on network errors, 429 and 5xx, every attempt recorded. Addresses are checked again
//! at delivery (DNS can change), redirects are not followed, and no proxy is used. Deliveries run
//! concurrently (bounded, and at most [`PER_RECEIVER`] to one receiver), and the dispatcher wakes
//! for the retries it schedules, so the gaps between attempts are the configured ones. Backoff
//! runs on business time: when the test controls move the clock, retries that fell due go at once.
//! Each attempt's request and the receiver's answer (its body up to 64 KiB) are recorded with it;
//! with the test controls on, a callback to the server's own inbox is stored without a connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod send;

use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_store::{CallbackAttempt, CallbackDelivery, DeliveryOutcome, StoreError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::WorkerContext;

/// Deliveries to one receiver (scheme, host and port) in flight at once, at most: a receiver that
/// hangs holds this many of the dispatcher's slots and no more.
pub const PER_RECEIVER: usize = 2;

/// Delivers queued callbacks: up to `concurrency` at once, each in its own task, at most
/// [`PER_RECEIVER`] to one receiver, so a slow or dead receiver never delays another's.
pub struct CallbackDispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: WorkerContext,
    client: reqwest::Client,
    owner: String,
}

/// What a finished delivery task reports to the dispatcher loop.
struct Finished {
    receiver: String,
    retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Resolves host names and keeps only the addresses the policy allows.
struct GuardedResolver {
    policy: CallbackPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|address| policy.allows(&host, address.ip())).collect();
            if allowed.is_empty() {
                let message = format!("possible ssrf attempt: {host} resolves to no address callbacks may reach");
                return Err(message.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

impl CallbackDispatcher {
    /// A dispatcher on `ctx`, whose HTTP client resolves hosts through the callback policy;
    /// fails only when the HTTP client cannot be built.
    pub fn new(ctx: WorkerContext) -> Result<CallbackDispatcher, reqwest::Error> {
        let resolver = Arc::new(GuardedResolver { policy: ctx.config.callbacks.policy.clone() });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ctx.config.callbacks.timeout)
            .dns_resolver(resolver)
            .user_agent(concat!("bulkwrite/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let owner = format!("{}-callbacks", ctx.config.node_id);
        Ok(CallbackDispatcher { inner: Arc::new(Inner { ctx, client, owner }) })
    }

    /// Delivers until `shutdown` turns true, then waits for the deliveries in flight (each ends
    /// within the callback timeout) so that none is sent twice.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let inner = &self.inner;
        let config = &inner.ctx.config;
        let concurrency = config.callbacks.concurrency.max(1);
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut busy: HashMap<String, usize> = HashMap::new();
        // The earliest retry this node scheduled: the loop wakes for it rather than a poll later.
        let mut next_retry: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = concurrency.saturating_sub(tasks.len());
            let mut claimed = 0;
            if free > 0 {
                let due = inner.claim(free).await;
                claimed = due.len();
                for delivery in due {
                    let receiver = receiver_of(&delivery.url);
                    let in_flight = busy.entry(receiver.clone()).or_default();
                    if *in_flight >= PER_RECEIVER.min(concurrency) {
                        inner.defer(&delivery).await;
                        continue;
                    }
                    *in_flight += 1;
                    let task = Arc::clone(inner);
                    tasks.spawn(async move {
                        let span = tracing::error_span!("callback", job = %delivery.job, org = %delivery.org);
                        let retry_at = tracing::Instrument::instrument(task.deliver(&delivery), span).await;
                        Finished { receiver, retry_at }
                    });
                }
            }
            if claimed == free && free > 0 {
                // More may be due; claim again once this batch is under way.
                tokio::task::yield_now().await;
                continue;
            }
            let now = Instant::now();
            let mut wait = config.idle_poll;
            if let Some(at) = next_retry {
                wait = wait.min(at.saturating_duration_since(now));
            }
            tokio::select! {
                Some(finished) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(finished) = finished {
                        inner.settle(&mut busy, &mut next_retry, finished);
                    }
                }
                () = inner.ctx.wakeup.callbacks.notified() => {}
                () = tokio::time::sleep(wait) => {
                    if next_retry.is_some_and(|at| at <= Instant::now()) {
                        next_retry = None;
                    }
                }
                _ = shutdown.changed() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

impl Inner {
    /// Leases up to `limit` due deliveries.
    async fn claim(&self, limit: usize) -> Vec<CallbackDelivery> {
        let lease_for =
            chrono::Duration::from_std(self.ctx.config.callbacks.timeout * 3).unwrap_or(chrono::Duration::seconds(60));
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        // Due by business time (the test controls' clock moves backoffs along); leased by the
        // system's time, so a jump of that clock does not free a delivery in flight.
        let claim = bulkwrite_store::CallbackClaim {
            owner: self.owner.clone(),
            due_at: self.ctx.now(),
            now: chrono::Utc::now(),
            lease_for,
            limit,
        };
        match self.ctx.store.claim_callbacks(&claim).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(error = %error.with_causes(), "claiming callbacks failed");
                Vec::new()
            }
        }
    }

    /// Hands back a delivery whose receiver already has its share of deliveries in flight.
    async fn defer(&self, delivery: &CallbackDelivery) {
        let wait = chrono::Duration::from_std(self.ctx.config.idle_poll).unwrap_or(chrono::Duration::seconds(1));
        if let Err(error) = self.ctx.store.defer_callback(delivery, &self.owner, self.ctx.now() + wait).await {
            tracing::warn!(error = %error.with_causes(), job = %delivery.job, "deferring a callback failed; its lease will expire");
        }
    }

    /// Frees the receiver's slot and remembers when a retry falls due.
    fn settle(&self, busy: &mut HashMap<String, usize>, next_retry: &mut Option<Instant>, finished: Finished) {
        if let Some(count) = busy.get_mut(&finished.receiver) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                busy.remove(&finished.receiver);
            }
        }
        if let Some(at) = finished.retry_at {
            // A few milliseconds late, so that the store's clock finds the delivery due.
            let wait = (at - self.ctx.now()).to_std().unwrap_or_default() + Duration::from_millis(5);
            let at = Instant::now() + wait;
            *next_retry = Some(next_retry.map_or(at, |earlier| earlier.min(at)));
        }
    }

    /// One attempt, recorded; returns when the next one is due, if there is one.
    async fn deliver(&self, delivery: &CallbackDelivery) -> Option<chrono::DateTime<chrono::Utc>> {
        let attempt_no = delivery.attempts + 1;
        let started = Instant::now();
        let at = self.ctx.now();
        let attempted = match self.body(delivery).await {
            Ok(body) => self.post(delivery, body, attempt_no).await,
            Err(error) => send::Attempted::unsent(
                format!("the job cannot be rendered: {error}"),
                self.retry_or_give_up(delivery, attempt_no),
                None,
            ),
        };
        let outcome = attempted.outcome;
        let attempt = CallbackAttempt {
            attempt: attempt_no,
            at,
            status: attempted.status,
            error: attempted.error,
            duration_ms: started.elapsed().as_millis() as u64,
            request: attempted.request,
            response: attempted.response,
        };
        tracing::info!(attempt = attempt_no, status = ?attempt.status, error = ?attempt.error, ?outcome, "callback attempt");
        crate::observe::record_callback_attempt(&outcome);
        let retry_at = match outcome {
            DeliveryOutcome::RetryAt(at) => Some(at),
            _ => None,
        };
        if let Err(error) = self.ctx.store.record_callback_attempt(delivery, attempt, outcome).await {
            tracing::warn!(error = %error.with_causes(), "recording a callback attempt failed");
        }
        retry_at
    }

    /// Retried after the backoff, or given up once the attempts since the last replay reach
    /// the budget.
    fn retry_or_give_up(&self, delivery: &CallbackDelivery, attempt_no: u32) -> DeliveryOutcome {
        let config = &self.ctx.config.callbacks;
        let attempt_no = attempt_no.saturating_sub(delivery.replay_from);
        if attempt_no >= config.max_attempts {
            return DeliveryOutcome::GaveUp;
        }
        let factor = 3u32.saturating_pow(attempt_no.saturating_sub(1));
        let delay = config.retry_base.saturating_mul(factor);
        let jitter = Duration::from_millis(rand::random::<u64>() % (config.retry_base.as_millis() as u64 / 2 + 1));
        let at = self.ctx.now() + chrono::Duration::from_std(delay + jitter).unwrap_or(chrono::Duration::minutes(10));
        DeliveryOutcome::RetryAt(at)
    }

    /// The job-details document of the delivery's job, in the shape of the version it was created through.
    async fn body(&self, delivery: &CallbackDelivery) -> Result<Vec<u8>, StoreError> {
        let store = &self.ctx.store;
        let job = store
            .get_job(delivery.org, delivery.job)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {}", delivery.job)))?;
        let org =
            store.get_org(delivery.org).await?.ok_or_else(|| StoreError::NotFound(format!("org {}", delivery.org)))?;
        let creator = store.get_user(job.org, job.created_by).await?.map(|u| u.full_name()).unwrap_or_default();
        // A read job posts its own details document (Bulk Read's shape).
        if let Some(details) = job.read_details(&org, creator.clone(), job.api_version()) {
            return serde_json::to_vec(&details).map_err(|e| StoreError::Corrupt(e.to_string()));
        }
        let details = job.details(&org, creator, &self.ctx.config.public_url, job.api_version());
        serde_json::to_vec(&details).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Who receives a callback URL: its scheme, host and port (the URL itself when it does not parse).
fn receiver_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => url.to_string(),
    }
}

/// The error and its causes in one line (reqwest hides the useful part in the source chain).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
