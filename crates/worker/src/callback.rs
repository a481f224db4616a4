//! Callback delivery from the outbox: `POST` of the job details at completion, retried with
//! backoff on network errors, 429 and 5xx, every attempt recorded. Addresses are checked again
//! at delivery (DNS can change), redirects are not followed, and no proxy is used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_store::{CallbackAttempt, CallbackDelivery, DeliveryOutcome, StoreError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::watch;

use crate::WorkerContext;

/// Deliveries claimed at once.
const BATCH: u32 = 16;

/// Delivers queued callbacks.
pub struct CallbackDispatcher {
    ctx: WorkerContext,
    client: reqwest::Client,
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
    pub fn new(ctx: WorkerContext) -> Result<CallbackDispatcher, reqwest::Error> {
        let resolver = Arc::new(GuardedResolver { policy: ctx.config.callbacks.policy.clone() });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ctx.config.callbacks.timeout)
            .dns_resolver(resolver)
            .user_agent(concat!("bulkwrite/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(CallbackDispatcher { ctx, client })
    }

    /// Delivers what is due now; returns how many deliveries were attempted.
    pub async fn run_once(&self) -> usize {
        let owner = format!("{}-callbacks", self.ctx.config.node_id);
        let lease_for =
            chrono::Duration::from_std(self.ctx.config.callbacks.timeout * 3).unwrap_or(chrono::Duration::seconds(60));
        let due = match self.ctx.store.claim_due_callbacks(&owner, chrono::Utc::now(), lease_for, BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(error = %error, "claiming callbacks failed");
                return 0;
            }
        };
        for delivery in &due {
            let span = tracing::error_span!("callback", job = %delivery.job, org = %delivery.org);
            tracing::Instrument::instrument(self.deliver(delivery), span).await;
        }
        due.len()
    }

    /// Delivers until `shutdown` turns true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.run_once().await > 0 {
                continue;
            }
            tokio::select! {
                _ = self.ctx.wakeup.callbacks.notified() => {}
                _ = tokio::time::sleep(self.ctx.config.idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn deliver(&self, delivery: &CallbackDelivery) {
        let attempt_no = delivery.attempts + 1;
        let started = Instant::now();
        let at = chrono::Utc::now();
        let (status, error, outcome) = match self.body(delivery).await {
            Ok(body) => self.post(delivery, body, attempt_no).await,
            Err(error) => {
                (None, Some(format!("the job cannot be rendered: {error}")), self.retry_or_give_up(attempt_no))
            }
        };
        let attempt = CallbackAttempt {
            attempt: attempt_no,
            at,
            status,
            error,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(attempt = attempt_no, status = ?attempt.status, error = ?attempt.error, ?outcome, "callback attempt");
        crate::observe::record_callback_attempt(&outcome);
        if let Err(error) = self.ctx.store.record_callback_attempt(delivery, attempt, outcome).await {
            tracing::warn!(error = %error, "recording a callback attempt failed");
        }
    }

    async fn post(
        &self,
        delivery: &CallbackDelivery,
        body: Vec<u8>,
        attempt_no: u32,
    ) -> (Option<u16>, Option<String>, DeliveryOutcome) {
        let policy = &self.ctx.config.callbacks.policy;
        let target = match policy.check_url(&delivery.url) {
            Ok(target) => target,
            Err(error) => return (None, Some(error.message), DeliveryOutcome::GaveUp),
        };
        if let Some(address) = target.literal {
            if !policy.address_allowed(&target, address) {
                return (None, Some("possible ssrf attempt".to_string()), DeliveryOutcome::GaveUp);
            }
        }
        let sent = self
            .client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let outcome = if status.is_success() {
                    DeliveryOutcome::Delivered
                } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    self.retry_or_give_up(attempt_no)
                } else {
                    DeliveryOutcome::GaveUp
                };
                let error = (!status.is_success()).then(|| format!("the receiver answered {status}"));
                (Some(status.as_u16()), error, outcome)
            }
            Err(error) => (None, Some(describe(&error)), self.retry_or_give_up(attempt_no)),
        }
    }

    fn retry_or_give_up(&self, attempt_no: u32) -> DeliveryOutcome {
        let config = &self.ctx.config.callbacks;
        if attempt_no >= config.max_attempts {
            return DeliveryOutcome::GaveUp;
        }
        let factor = 3u32.saturating_pow(attempt_no.saturating_sub(1));
        let delay = config.retry_base.saturating_mul(factor);
        let jitter = Duration::from_millis(rand::random::<u64>() % (config.retry_base.as_millis() as u64 / 2 + 1));
        let at =
            chrono::Utc::now() + chrono::Duration::from_std(delay + jitter).unwrap_or(chrono::Duration::minutes(10));
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
        let details = job.details(&org, creator, &self.ctx.config.public_url, job.api_version());
        serde_json::to_vec(&details).map_err(|e| StoreError::Corrupt(e.to_string()))
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
