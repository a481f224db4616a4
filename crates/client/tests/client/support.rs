//! A tiny scripted HTTP server: every request is recorded and answered by the test's closure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use bulkwrite_client::{ApiVersion, Client, Credentials, Endpoints, RetryPolicy};
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON request body")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply { status, headers: vec![("content-type", "application/json".into())], body: body.to_string().into_bytes() }
}

pub fn reply_bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Reply { status, headers: vec![("content-type", content_type.to_string())], body }
}

pub fn zoho_error(status: u16, code: &str, message: &str, details: Value) -> Reply {
    reply(status, json!({"status": "error", "code": code, "message": message, "details": details}))
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running scripted server.
pub struct Mock {
    pub base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Mock {
        let handler: Arc<Handler> = Arc::new(handler);
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let app_log = log.clone();
        let app = Router::new().fallback(move |request: Request| {
            let handler = handler.clone();
            let log = app_log.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.expect("request body").to_vec();
                let seen = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    headers: parts.headers,
                    body,
                };
                let answer = handler(&seen);
                log.lock().unwrap().push(seen);
                let mut response = Response::new(Body::from(answer.body));
                *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
                for (name, value) in answer.headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { base, log }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn seen_at(&self, prefix: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.starts_with(prefix)).collect()
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints::bulkwrite(&self.base)
    }
}

/// Fast retries for tests.
pub fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy { max_retries, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) }
}

pub fn token_client(mock: &Mock, version: ApiVersion) -> Client {
    Client::builder(mock.endpoints(), Credentials::access_token("fixed"))
        .version(version)
        .retry(fast_retry(2))
        .build()
        .unwrap()
}

pub fn refresh_client(mock: &Mock) -> Client {
    Client::builder(mock.endpoints(), Credentials::refresh_token("1000.client", "secret", "1000.refresh"))
        .version(ApiVersion::V8)
        .retry(fast_retry(2))
        .build()
        .unwrap()
}

/// A counter the handler closures share with the test.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Increments and returns the value before.
    pub fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A job-details document.
pub fn job_details(id: &str, status: &str, counts: Option<(u64, u64, u64)>, download_url: Option<&str>) -> Value {
    let mut file = json!({"status": status});
    if let Some((added, updated, skipped)) = counts {
        file = json!({"status": status, "name": "leads.csv", "added_count": added, "skipped_count": skipped,
                      "updated_count": updated, "total_count": added + updated + skipped});
    }
    let mut details = json!({
        "status": status,
        "resource": [{"status": status, "type": "data", "module": {"api_name": "Leads", "id": "1"},
                      "field_mappings": [{"api_name": "Last_Name", "index": 0, "format": null, "find_by": null,
                                          "module": null, "default_value": null}],
                      "file": file, "code": "ADDED"}],
        "id": id,
        "created_by": {"id": "5725767000000100001", "name": "Admin User"},
        "operation": "insert",
        "created_time": "2026-11-28T15:30:58+05:30"
    });
    if let Some(url) = download_url {
        details["result"] = json!({"download_url": url});
    }
    details
}

/// Builds a zip with the given entries.
pub fn make_zip(entries: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The parts of a multipart body: (headers text, content).
pub fn multipart_parts(seen: &Seen) -> Vec<(String, Vec<u8>)> {
    let content_type = seen.header("content-type").expect("content-type");
    let boundary = content_type.split("boundary=").nth(1).expect("boundary").trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &seen.body;
    let mut positions = Vec::new();
    let mut start = 0;
    while let Some(found) = find(&body[start..], delimiter.as_bytes()) {
        positions.push(start + found);
        start += found + delimiter.len();
    }
    let mut parts = Vec::new();
    for pair in positions.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = find(part, b"\r\n\r\n").expect("part headers");
        parts.push((String::from_utf8_lossy(&part[..split]).into_owned(), part[split + 4..].to_vec()));
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
