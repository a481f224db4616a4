//! One attempt on the wire: the request as sent and the answer as received (bounded), a fault
//! rule's answer instead, or the server's own inbox stored directly.

use std::collections::BTreeMap;

use bulkwrite_core::callback_url::{own_inbox, INBOX_ANSWER};
use bulkwrite_core::faults::CallbackFault;
use bulkwrite_store::{
    CallbackDelivery, CallbackRequest, CallbackResponse, DeliveryOutcome, InboxDelivery, CALLBACK_RESPONSE_BODY_LIMIT,
};

use super::{describe, Inner};

/// What one attempt came to.
pub(super) struct Attempted {
    pub(super) status: Option<u16>,
    pub(super) error: Option<String>,
    pub(super) outcome: DeliveryOutcome,
    pub(super) request: Option<CallbackRequest>,
    pub(super) response: Option<CallbackResponse>,
}

impl Attempted {
    /// An attempt that got no answer.
    pub(super) fn unsent(error: String, outcome: DeliveryOutcome, request: Option<CallbackRequest>) -> Attempted {
        Attempted { status: None, error: Some(error), outcome, request, response: None }
    }
}

impl Inner {
    pub(super) async fn post(&self, delivery: &CallbackDelivery, body: Vec<u8>, attempt_no: u32) -> Attempted {
        let request = self.request_of(delivery, &body);
        let config = &self.ctx.config;
        let inbox = if config.test_controls { own_inbox(&delivery.url, &config.public_url) } else { None };
        if inbox.is_none() {
            let policy = &config.callbacks.policy;
            let target = match policy.check_url(&delivery.url) {
                Ok(target) => target,
                Err(error) => return Attempted::unsent(error.message, DeliveryOutcome::GaveUp, Some(request)),
            };
            if let Some(address) = target.literal {
                if !policy.address_allowed(&target, address) {
                    let error = "possible ssrf attempt".to_string();
                    return Attempted::unsent(error, DeliveryOutcome::GaveUp, Some(request));
                }
            }
        }
        if let Some((fault, kind)) = crate::faults::callback_fault(&self.ctx, delivery.org).await {
            return self.faulted(delivery, fault, kind, attempt_no, request).await;
        }
        if let Some(name) = inbox {
            return self.to_inbox(delivery, name, attempt_no, request).await;
        }
        let built = self
            .client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .build();
        let sent = match built {
            Ok(built) => self.client.execute(built).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(response) => {
                let status = response.status();
                let error = (!status.is_success()).then(|| format!("the receiver answered {status}"));
                let answer = self.answer_of(response).await;
                Attempted {
                    status: Some(status.as_u16()),
                    error,
                    outcome: self.outcome_of(delivery, status, attempt_no),
                    request: Some(request),
                    response: Some(answer),
                }
            }
            Err(error) => {
                Attempted::unsent(describe(&error), self.retry_or_give_up(delivery, attempt_no), Some(request))
            }
        }
    }

    /// The request as it goes out: the headers this client sets, and the body.
    fn request_of(&self, delivery: &CallbackDelivery, body: &[u8]) -> CallbackRequest {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_string(), "application/json".to_string());
        headers.insert("content-length".to_string(), body.len().to_string());
        headers.insert("user-agent".to_string(), concat!("bulkwrite/", env!("CARGO_PKG_VERSION")).to_string());
        CallbackRequest {
            url: delivery.url.clone(),
            method: "POST".to_string(),
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
            time: self.ctx.now(),
            replay: delivery.replay_from > 0,
        }
    }

    /// The receiver's answer: status, headers and up to [`CALLBACK_RESPONSE_BODY_LIMIT`] bytes of
    /// its body (an answer cut short by the timeout keeps what came).
    async fn answer_of(&self, mut response: reqwest::Response) -> CallbackResponse {
        let status = response.status().as_u16();
        let headers = header_map(response.headers());
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = CALLBACK_RESPONSE_BODY_LIMIT - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    truncated = true;
                    break;
                }
            }
        }
        CallbackResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            truncated,
            time: self.ctx.now(),
        }
    }

    /// A callback to the server's own inbox: stored under the job's org, answered as the
    /// inbox's route answers.
    async fn to_inbox(
        &self,
        delivery: &CallbackDelivery,
        name: String,
        attempt_no: u32,
        request: CallbackRequest,
    ) -> Attempted {
        let stored = InboxDelivery {
            name,
            org: Some(delivery.org),
            job: Some(delivery.job),
            received_at: self.ctx.now(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        if let Err(error) = self.ctx.store.add_inbox_delivery(stored).await {
            let error = format!("the inbox could not store the delivery: {error}");
            return Attempted::unsent(error, self.retry_or_give_up(delivery, attempt_no), Some(request));
        }
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_string(), "application/json".to_string());
        let answer = CallbackResponse {
            status: 200,
            headers,
            body: INBOX_ANSWER.to_string(),
            truncated: false,
            time: self.ctx.now(),
        };
        Attempted {
            status: Some(200),
            error: None,
            outcome: DeliveryOutcome::Delivered,
            request: Some(request),
            response: Some(answer),
        }
    }

    /// What an answer with `status` makes of the delivery: delivered, retried (429 and 5xx) or
    /// given up.
    fn outcome_of(&self, delivery: &CallbackDelivery, status: reqwest::StatusCode, attempt_no: u32) -> DeliveryOutcome {
        if status.is_success() {
            DeliveryOutcome::Delivered
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            self.retry_or_give_up(delivery, attempt_no)
        } else {
            DeliveryOutcome::GaveUp
        }
    }

    /// An attempt a callback fault rule answers (test controls): the rule's status, as if the
    /// receiver had answered it (with no headers and an empty body), or a timeout after the
    /// callback timeout; the receiver is not called. What follows is what would follow the real
    /// answer.
    async fn faulted(
        &self,
        delivery: &CallbackDelivery,
        fault: u64,
        kind: CallbackFault,
        attempt_no: u32,
        request: CallbackRequest,
    ) -> Attempted {
        tracing::info!(fault, ?kind, "fault rule answers the callback attempt");
        match kind {
            CallbackFault::Status(code) => {
                let status = reqwest::StatusCode::from_u16(code).unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
                let error = (!status.is_success()).then(|| format!("the receiver answered {status} (fault {fault})"));
                let answer = CallbackResponse {
                    status: code,
                    headers: BTreeMap::new(),
                    body: String::new(),
                    truncated: false,
                    time: self.ctx.now(),
                };
                Attempted {
                    status: Some(code),
                    error,
                    outcome: self.outcome_of(delivery, status, attempt_no),
                    request: Some(request),
                    response: Some(answer),
                }
            }
            CallbackFault::Timeout => {
                let timeout = self.ctx.config.callbacks.timeout;
                tokio::time::sleep(timeout).await;
                let error = format!("operation timed out after {} ms (fault {fault})", timeout.as_millis());
                Attempted::unsent(error, self.retry_or_give_up(delivery, attempt_no), Some(request))
            }
        }
    }
}

/// Header names (lower case) and values; a repeated header's values joined with `, `.
fn header_map(headers: &reqwest::header::HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_string())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    map
}
