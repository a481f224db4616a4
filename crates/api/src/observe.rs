//! What operators see of the API: the request id, the HTTP metrics, and Zoho-shaped bodies for
//! every refusal that did not come from a handler (axum's plain-text rejections, a 405 of the
//! worker node's router).
//!
//! Metrics go through the `metrics` facade; the server installs the Prometheus recorder and
//! hands its renderer in as [`MetricsExporter`]. Without a recorder (unit tests) they cost nothing.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulkwrite_store::HealthStore;
use tracing::Instrument;

use crate::error::ErrorResponse;
use crate::refusal::refusal_for_status;

/// `bulkwrite_http_requests_total{route, method, status}`: answers by matched route template.
pub const HTTP_REQUESTS: &str = "bulkwrite_http_requests_total";
/// `bulkwrite_http_request_duration_seconds{route, method}`: time to the response head.
pub const HTTP_DURATION: &str = "bulkwrite_http_request_duration_seconds";
/// `bulkwrite_http_refusals_total{status}`: requests the HTTP layer could not read (the status
/// is the one hyper chose; the answer is Zoho-shaped).
pub const HTTP_REFUSALS: &str = "bulkwrite_http_refusals_total";
/// `bulkwrite_uploads_total`: files accepted by `POST /crm/{v}/upload`.
pub const UPLOADS: &str = "bulkwrite_uploads_total";
/// `bulkwrite_upload_bytes_total`: bytes of the accepted zips.
pub const UPLOAD_BYTES: &str = "bulkwrite_upload_bytes_total";
/// `bulkwrite_jobs_created_total`: jobs created through this node.
pub const JOBS_CREATED: &str = "bulkwrite_jobs_created_total";
/// `bulkwrite_queue_jobs{state="queued"|"running"}`: the shared queue, read at scrape time.
pub const QUEUE_JOBS: &str = "bulkwrite_queue_jobs";
/// `bulkwrite_queue_oldest_age_seconds`: how long the oldest queued job has waited (0: none).
pub const QUEUE_OLDEST_AGE: &str = "bulkwrite_queue_oldest_age_seconds";
/// `bulkwrite_database_up`: 1 when the last scrape could read the queue, else 0.
pub const DATABASE_UP: &str = "bulkwrite_database_up";
/// `bulkwrite_token_lookups_total{source="cache"|"store"}`: access tokens resolved from the
/// node's token cache or read from the store (`--token-cache-ms`).
pub const TOKEN_LOOKUPS: &str = "bulkwrite_token_lookups_total";

/// The `route` label of requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The request id header, read from the client when usable and always sent back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Renders the process's metrics in the Prometheus text format.
pub trait MetricsExporter: Send + Sync {
    /// Every metric's current value, as the `/metrics` page.
    fn render(&self) -> String;
}

/// Registers the help text of the API's metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP answers by matched route template, method and status.");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its response head, by route template and method."
    );
    metrics::describe_counter!(HTTP_REFUSALS, "Requests refused before routing (malformed request line or headers).");
    metrics::describe_counter!(UPLOADS, "Files accepted by the upload endpoint.");
    metrics::describe_counter!(
        UPLOAD_BYTES,
        metrics::Unit::Bytes,
        "Bytes of the zips accepted by the upload endpoint."
    );
    metrics::describe_counter!(JOBS_CREATED, "Bulk write jobs created through this node.");
    metrics::describe_gauge!(QUEUE_JOBS, "Jobs in the shared queue by state (queued, running), read at scrape time.");
    metrics::describe_gauge!(
        QUEUE_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest queued job at scrape time (0 when none waits)."
    );
    metrics::describe_counter!(
        TOKEN_LOOKUPS,
        "Access tokens resolved from the node's token cache or read from the store."
    );
    metrics::describe_gauge!(DATABASE_UP, "1 when the last scrape could read the queue from the database, else 0.");
}

/// Counts an accepted upload.
pub(crate) fn record_upload(bytes: u64) {
    metrics::counter!(UPLOADS).increment(1);
    metrics::counter!(UPLOAD_BYTES).increment(bytes);
}

/// Counts a created job.
pub(crate) fn record_job_created() {
    metrics::counter!(JOBS_CREATED).increment(1);
}

/// Reads the queue from the store into the gauges; a failure marks the database down.
pub(crate) async fn refresh_queue_gauges(store: &dyn HealthStore, now: chrono::DateTime<chrono::Utc>) {
    match store.queue_stats().await {
        Ok(stats) => {
            metrics::gauge!(QUEUE_JOBS, "state" => "queued").set(stats.queued as f64);
            metrics::gauge!(QUEUE_JOBS, "state" => "running").set(stats.running as f64);
            let age =
                stats.oldest_queued_at.map(|at| (now - at).num_milliseconds().max(0) as f64 / 1000.0).unwrap_or(0.0);
            metrics::gauge!(QUEUE_OLDEST_AGE).set(age);
            metrics::gauge!(DATABASE_UP).set(1.0);
        }
        Err(error) => {
            tracing::warn!(error = %error.with_causes(), "metrics: reading the queue failed");
            metrics::gauge!(DATABASE_UP).set(0.0);
        }
    }
}

/// The request id of a request: the client's `X-Request-Id` when it is 1–128 characters of
/// letters, digits and `-_.:`, else a fresh random one.
pub fn request_id(headers: &HeaderMap) -> String {
    let given = headers.get(REQUEST_ID_HEADER).and_then(|value| value.to_str().ok()).map(str::trim);
    match given {
        Some(id) if usable_request_id(id) => id.to_string(),
        _ => new_request_id(),
    }
}

fn usable_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// 32 random hex digits.
pub fn new_request_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The request id of the request being answered, for handlers that want it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Outermost middleware: gives the request its id, runs it inside a `request` span carrying
/// the id (so every line logged while answering it names it), and echoes the id. The span is
/// at ERROR level so that it is kept whatever `RUST_LOG` lets through: a filtered-out span
/// would leave the error lines without their request id.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let id = request_id(request.headers());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::error_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The `method` label: the standard methods by name, anything else as `OTHER` (bounded labels).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Per-route middleware: counts answers by the matched route template (never the raw path, so
/// ids do not make a label each) and times them.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None => UNMATCHED_ROUTE.to_string(),
    };
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method).record(started.elapsed().as_secs_f64());
    response
}

/// Whether an answer is an error without a JSON body: a rejection axum wrote as plain text or
/// an empty body. HTML (the consent page) and JSON answers are left as they are.
fn needs_zoho_body(response: &Response) -> bool {
    if response.status().as_u16() < 400 {
        return false;
    }
    match response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(content_type) => content_type.trim_start().to_ascii_lowercase().starts_with("text/plain"),
    }
}

/// Replaces an error answer that is not Zoho-shaped with the Zoho body for its status.
pub async fn zoho_shaped_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !needs_zoho_body(&response) {
        return response;
    }
    tracing::debug!(status = response.status().as_u16(), "an error answer without a Zoho body was reshaped");
    ErrorResponse(refusal_for_status(response.status().as_u16())).into_response()
}

#[cfg(test)]
mod tests;
