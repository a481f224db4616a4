//! Sending: the `Authorization` header, the token cache, renewal on 401 and the retry policy.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::auth::{read_token_answer, CachedToken, Credentials};
use crate::clock::Clock;
use crate::endpoints::Endpoints;
use crate::error::{error_from_body, error_from_object, is_stale_token, Error, Result};

/// When and how often a request is tried again.
///
/// A request is retried when it is idempotent (GET, token refresh) and the transport failed or
/// the answer was 5xx, and for every request (POST included) when the answer was 429 — a
/// throttled request was not applied — or the connection could not be opened. A POST answered
/// 5xx or cut off mid-way is never retried: it may have been applied. Delays grow exponentially from `base_delay` up to `max_delay`, with
/// jitter (each delay is drawn between half and all of the nominal one); a `Retry-After` header
/// in seconds is honoured up to `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The nominal delay before the first retry.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, 500 ms doubling up to 10 s.
    fn default() -> RetryPolicy {
        RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// The delay before retry number `retry` (0-based), given a `Retry-After` hint.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(hint) = retry_after {
            return hint.min(self.max_delay);
        }
        let nominal = self.base_delay.saturating_mul(1u32 << retry.min(20)).min(self.max_delay);
        let factor: f64 = rand::random_range(0.5..=1.0);
        nominal.mul_f64(factor)
    }
}

/// Whether a request may be repeated after a failure that may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// GETs and token refreshes: retried on transport errors, 429 and 5xx.
    Idempotent,
    /// POSTs that change data: retried on 429 only.
    Unsafe,
}

/// The body of an error answer is read up to this size.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// What a [`crate::Client`] shares between its clones.
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) token_margin: Duration,
    pub(crate) max_download_bytes: u64,
    /// The cached access token; the lock also makes refreshes one at a time.
    pub(crate) token: Mutex<Option<CachedToken>>,
    /// What the token cache reads the time from.
    pub(crate) clock: Arc<dyn Clock>,
}

type BoxedFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl Inner {
    /// The current access token, refreshing it first if it is missing or about to expire.
    ///
    /// Boxed: the refresh goes through [`Inner::send`], which itself asks for tokens, so the
    /// future types would otherwise be recursive.
    pub(crate) fn access_token(&self) -> BoxedFuture<'_, Result<String>> {
        Box::pin(async move {
            let (client_id, client_secret, refresh_token) = match &self.credentials {
                Credentials::AccessToken(token) | Credentials::AdminKey(token) => return Ok(token.clone()),
                Credentials::RefreshToken { client_id, client_secret, refresh_token } => {
                    (client_id, client_secret, refresh_token)
                }
            };
            // Held across the refresh: one refresh at a time, and waiters reuse its token.
            let mut cached = self.token.lock().await;
            if let Some(token) = cached.as_ref().filter(|t| t.is_fresh(self.clock.now())) {
                return Ok(token.token.clone());
            }
            let url = format!("{}/oauth/v2/token", self.endpoints.accounts);
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.as_str()),
                ("refresh_token", refresh_token.as_str()),
            ];
            let build = |http: &reqwest::Client| Ok(http.post(&url).form(&form));
            let response = self.send(Safety::Idempotent, false, build).await?;
            let status = response.status().as_u16();
            let body = read_limited(response, MAX_ERROR_BODY).await?;
            let fresh = read_token_answer(status, &body, self.token_margin, self.clock.now())?;
            let token = fresh.token.clone();
            *cached = Some(fresh);
            Ok(token)
        })
    }

    /// Forgets `stale` so that the next [`Inner::access_token`] mints a new one (unless another
    /// task already did).
    async fn forget_token(&self, stale: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.token == stale) {
            *cached = None;
        }
    }

    /// Sends the request `build` makes (called again for each attempt), with the access token
    /// when `auth` is set, renewing the token once on 401 `INVALID_TOKEN` and retrying as
    /// [`RetryPolicy`] says. Returns the final answer whatever its status, except a 401 that
    /// could not be cured, which is returned as [`Error::Api`].
    pub(crate) async fn send<F>(&self, safety: Safety, auth: bool, build: F) -> Result<Response>
    where
        F: Fn(&reqwest::Client) -> Result<RequestBuilder> + Send + Sync,
    {
        let mut retries = 0u32;
        let mut renewed = false;
        loop {
            let token = if auth { Some(self.access_token().await?) } else { None };
            let mut request = build(&self.http)?;
            if let Some(token) = &token {
                request = request.header(AUTHORIZATION, format!("{} {token}", self.credentials.scheme()));
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    // A refused connection never reached the server, so any request may be retried.
                    let retryable = error.is_connect()
                        || (safety == Safety::Idempotent && !error.is_builder() && !error.is_redirect());
                    if retryable && retries < self.retry.max_retries {
                        tokio::time::sleep(self.retry.delay(retries, None)).await;
                        retries += 1;
                        continue;
                    }
                    return Err(Error::Transport(error));
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && auth {
                let body = read_limited(response, MAX_ERROR_BODY).await?;
                if !renewed && self.credentials.can_refresh() && is_stale_token(&body) {
                    renewed = true;
                    if let Some(token) = &token {
                        self.forget_token(token).await;
                    }
                    continue;
                }
                return Err(error_from_body(status.as_u16(), &body));
            }
            let retryable =
                status == StatusCode::TOO_MANY_REQUESTS || (status.is_server_error() && safety == Safety::Idempotent);
            if retryable && retries < self.retry.max_retries {
                let hint = retry_after(response.headers());
                drop(response);
                tokio::time::sleep(self.retry.delay(retries, hint)).await;
                retries += 1;
                continue;
            }
            return Ok(response);
        }
    }

    /// An absolute URL on the API host.
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!("{}{}", self.endpoints.api, path)
    }
}

/// Reads a body up to `limit` bytes; a longer body is [`Error::Decode`].
pub(crate) async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(Error::Decode(format!("answer larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Largest JSON answer read.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

/// Reads a JSON answer: a 2xx body that is not an error shape is decoded as `T`; anything else
/// becomes an error. `None` for an empty 204.
pub(crate) async fn read_json<T: DeserializeOwned>(response: Response) -> Result<Option<T>> {
    let status = response.status();
    let body = read_limited(response, MAX_JSON_BODY).await?;
    if !status.is_success() {
        return Err(error_from_body(status.as_u16(), &body));
    }
    if status == StatusCode::NO_CONTENT || body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| Error::Decode(format!("HTTP {status} answer is not JSON: {e}")))?;
    if let Value::Object(object) = &value {
        if let Some(error) = error_from_object(status.as_u16(), object) {
            return Err(error);
        }
    }
    serde_json::from_value(value).map(Some).map_err(|e| Error::Decode(format!("unexpected answer shape: {e}")))
}

/// [`read_json`] for answers that must have a body.
pub(crate) async fn read_json_required<T: DeserializeOwned>(response: Response) -> Result<T> {
    let status = response.status();
    read_json(response).await?.ok_or_else(|| Error::Decode(format!("HTTP {status} answer has no body")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let policy =
            RetryPolicy { max_retries: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for retry in 0..10 {
            let delay = policy.delay(retry, None);
            let nominal = Duration::from_millis(100 * (1 << retry.min(10))).min(Duration::from_secs(1));
            assert!(delay >= nominal / 2 && delay <= nominal, "retry {retry}: {delay:?}");
        }
        assert_eq!(policy.delay(0, Some(Duration::from_secs(30))), Duration::from_secs(1));
    }
}
