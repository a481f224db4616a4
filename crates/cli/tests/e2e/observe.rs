//! Observability through the real binary (issue 14): `/metrics` moves as a job runs, JSON log
//! lines about a job carry its ids, `/readyz` follows the database, every refusal of the HTTP
//! stack is Zoho-shaped, and a storage failure is 500 `INTERNAL_ERROR` without internals, with a
//! request id that names its one log line.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{zip_of, Server};

/// The value of the first series of `name` whose labels include `labels` (0 when absent).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        if labels.iter().all(|(key, wanted)| series_labels.split(',').any(|pair| pair == format!("{key}=\"{wanted}\"")))
        {
            return value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        }
    }
    0.0
}

async fn scrape(server: &Server) -> String {
    let response = server.http.get(server.url("/metrics")).send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.unwrap()
}

/// Uploads three good rows and creates a job on them (with a callback when given); returns the
/// job id and the zip's size.
async fn create_three_row_job(server: &Server, callback: Option<&str>) -> (String, usize) {
    let csv = "Last_Name,Company,Email\nA,Co,a@metrics.example\nB,Co,b@metrics.example\nC,Co,c@metrics.example\n";
    let zip = zip_of(&[("leads.csv", csv.as_bytes())]);
    let size = zip.len();
    let (status, uploaded) = server.upload_raw(zip, "leads.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let file_id = uploaded["details"]["file_id"].as_str().unwrap();
    let mut body =
        json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    if let Some(url) = callback {
        body["callback"] = json!({"url": url, "method": "post"});
    }
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    (created["details"]["id"].as_str().unwrap().to_string(), size)
}

/// [`create_three_row_job`] without a callback, waited for until it completes.
async fn run_three_row_job(server: &Server) -> (String, usize) {
    let (id, size) = create_three_row_job(server, None).await;
    assert_eq!(server.wait_job(&id).await["status"], "COMPLETED");
    (id, size)
}

/// Scrapes until `done` holds for the page, or fails after 20 s.
async fn scrape_until(server: &Server, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(server).await;
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "{what} never showed in /metrics:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_move_as_a_job_runs() {
    let server = Server::start(&[]).await;
    let create_route = [("route", "/crm/bulk/{version}/write"), ("method", "POST"), ("status", "201")];
    let before = scrape(&server).await;
    assert_eq!(metric(&before, "bulkwrite_database_up", &[]), 1.0);
    assert_eq!(metric(&before, "bulkwrite_queue_jobs", &[("state", "queued")]), 0.0);

    let (_, zip_size) = run_three_row_job(&server).await;

    // The worker counts a job once its final state is committed, just after pollers can see it.
    let after = scrape_until(&server, "the finished job", |text| {
        metric(text, "bulkwrite_jobs_finished_total", &[("state", "COMPLETED")]) >= 1.0
    })
    .await;
    let moved = |name: &str, labels: &[(&str, &str)]| metric(&after, name, labels) - metric(&before, name, labels);
    assert_eq!(moved("bulkwrite_jobs_finished_total", &[("state", "COMPLETED")]), 1.0);
    assert_eq!(moved("bulkwrite_jobs_finished_total", &[("state", "FAILED")]), 0.0);
    assert_eq!(moved("bulkwrite_jobs_created_total", &[]), 1.0);
    assert_eq!(moved("bulkwrite_rows_total", &[("status", "ADDED")]), 3.0);
    assert_eq!(moved("bulkwrite_rows_total", &[("status", "SKIPPED")]), 0.0);
    assert_eq!(moved("bulkwrite_upload_bytes_total", &[]), zip_size as f64);
    assert_eq!(moved("bulkwrite_uploads_total", &[]), 1.0);
    assert_eq!(moved("bulkwrite_http_requests_total", &create_route), 1.0);
    assert!(moved("bulkwrite_http_requests_total", &[("route", "/crm/bulk/{version}/write/{job_id}")]) >= 1.0);
    assert_eq!(moved("bulkwrite_job_duration_seconds_count", &[("state", "COMPLETED")]), 1.0);
    assert!(!after.contains("route=\"/crm/bulk/v2/write"), "routes are templates, never raw paths");
    assert_eq!(metric(&after, "bulkwrite_queue_jobs", &[("state", "queued")]), 0.0);
    assert_eq!(metric(&after, "bulkwrite_queue_oldest_age_seconds", &[]), 0.0);
}

#[tokio::test]
async fn queue_depth_and_age_are_read_from_the_database() {
    // An API-only node runs no jobs, so what it queues stays queued.
    let server = Server::start(&[("BULKWRITE_ROLE", "api")]).await;
    create_three_row_job(&server, None).await;
    create_three_row_job(&server, None).await;
    let text = scrape_until(&server, "a waiting job's age", |text| {
        metric(text, "bulkwrite_queue_oldest_age_seconds", &[]) > 0.0
    })
    .await;
    assert_eq!(metric(&text, "bulkwrite_queue_jobs", &[("state", "queued")]), 2.0);
    assert_eq!(metric(&text, "bulkwrite_queue_jobs", &[("state", "running")]), 0.0);
    assert_eq!(metric(&text, "bulkwrite_jobs_created_total", &[]), 2.0);
}

#[tokio::test]
async fn callback_attempts_are_counted_and_their_lines_name_the_job() {
    let (callback_url, _received) = crate::callback::receiver(vec![503, 200]).await;
    let server = Server::start_capturing_stderr(&[
        ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1"),
        ("BULKWRITE_CALLBACK_RETRY_MS", "50"),
        ("BULKWRITE_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ])
    .await;
    let (id, _) = create_three_row_job(&server, Some(&callback_url)).await;
    assert_eq!(server.wait_job(&id).await["status"], "COMPLETED");
    let text = scrape_until(&server, "the delivered callback", |text| {
        metric(text, "bulkwrite_callback_attempts_total", &[("outcome", "delivered")]) >= 1.0
    })
    .await;
    assert_eq!(metric(&text, "bulkwrite_callback_attempts_total", &[("outcome", "retry")]), 1.0, "the 503");
    assert_eq!(metric(&text, "bulkwrite_callback_attempts_total", &[("outcome", "delivered")]), 1.0);
    assert_eq!(metric(&text, "bulkwrite_callback_attempts_total", &[("outcome", "gave_up")]), 0.0);
    // The lines reach the test through a reader thread: wait for both.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> =
            server.stderr.lock().unwrap().iter().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
        let attempts: Vec<&Value> = lines.iter().filter(|line| line["message"] == "callback attempt").collect();
        if attempts.len() == 2 {
            for line in attempts {
                assert_eq!(line["span"], json!({"name": "callback", "job": id, "org": server.org}), "{line}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "two callback attempt lines expected: {lines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn json_log_lines_about_a_job_carry_its_job_and_org() {
    let server = Server::start_capturing_stderr(&[("BULKWRITE_LOG_FORMAT", "json"), ("RUST_LOG", "info")]).await;
    let (id, _) = run_three_row_job(&server).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<Value> =
            server.stderr.lock().unwrap().iter().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
        let about_job: Vec<&Value> = lines.iter().filter(|line| line["span"]["job"] == json!(id)).collect();
        let ended = about_job.iter().any(|line| line["message"] == "job run ended");
        if ended {
            assert!(about_job.iter().any(|line| line["message"] == "job claimed"));
            for line in &about_job {
                assert_eq!(line["span"]["org"], json!(server.org), "{line}");
                assert_eq!(line["span"]["name"], "job", "{line}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "no JSON line about job {id} in {lines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz(server: &Server) -> (u16, Value) {
    let response = server.http.get(server.url("/readyz")).send().await.expect("readyz");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn readyz_follows_the_sqlite_file() {
    let server = Server::start(&[]).await;
    assert_eq!(readyz(&server).await, (200, json!({"status": "ready"})));
    let file = server.dir.join("bulkwrite.sqlite");
    let aside = server.dir.join("moved-away.sqlite");
    std::fs::rename(&file, &aside).unwrap();
    assert_eq!(readyz(&server).await, (503, json!({"status": "unavailable"})));
    let (status, _) = server.get_json("/healthz").await;
    assert_eq!(status, 200, "liveness does not follow the file (the open connections still work)");
    std::fs::rename(&aside, &file).unwrap();
    assert_eq!(readyz(&server).await, (200, json!({"status": "ready"})));
}

#[tokio::test]
async fn a_worker_node_serves_readyz_and_metrics_too() {
    let server = Server::start(&[("BULKWRITE_ROLE", "worker")]).await;
    assert_eq!(readyz(&server).await, (200, json!({"status": "ready"})));
    let text = scrape(&server).await;
    assert_eq!(metric(&text, "bulkwrite_database_up", &[]), 1.0);
    let (status, body) = server.get_json("/crm/bulk/v2/write/5725767000000999999").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("INVALID_URL_PATTERN")), "{body}");
    let response = server.http.post(server.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_REQUEST_METHOD");
}

/// Sends `request` as raw bytes; returns the status, the head and the body.
async fn raw(server: &Server, request: &[u8]) -> (u16, String, Value) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.expect("answered").unwrap();
    let text = String::from_utf8(answer).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text:?}")))
}

fn assert_zoho(body: &Value, code: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["details"].is_object(), "{body}");
}

#[tokio::test]
async fn every_refusal_of_the_http_stack_is_zoho_shaped() {
    let server = Server::start(&[]).await;
    let refused_by_hyper: Vec<(&str, Vec<u8>)> = vec![
        ("a raw < in the query", b"GET /crm/v2/Leads?fields=<b> HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("a malformed header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_vec()),
        ("a malformed method", b"G<T /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "a bad content-length",
            b"POST /crm/bulk/v2/write HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n".to_vec(),
        ),
        ("too many headers", {
            let headers: String = (0..150).map(|i| format!("X-Header-{i}: v\r\n")).collect();
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n").into_bytes()
        }),
        ("a URI over hyper's limit", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes()),
    ];
    for (what, request) in refused_by_hyper {
        let (status, head, body) = raw(&server, &request).await;
        assert_eq!(status, 400, "{what}: {head}");
        assert!(head.contains("content-type: application/json"), "{what}: {head}");
        assert!(head.contains("x-request-id: "), "{what}: {head}");
        assert_zoho(&body, "INVALID_REQUEST");
        assert_eq!(body["details"], json!({}), "{what}");
    }

    let malformed_json = server.auth(server.http.post(server.url("/crm/bulk/v2/write"))).body("{\"operation\":");
    let response = malformed_json.send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_zoho(&response.json().await.unwrap(), "REQUEST_BODY_NOT_SUPPORTED");

    let (status, body) = server.get_json("/crm/bulk/v99/write/1").await;
    assert_eq!(status, 404);
    assert_zoho(&body, "INVALID_URL_PATTERN");
    let (status, body) = server.get_json("/crm/v2/Leads?page=abc").await;
    assert_eq!(status, 400);
    assert_zoho(&body, "INVALID_DATA");
    let response = server.auth(server.http.patch(server.url("/crm/bulk/v2/write"))).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_zoho(&response.json().await.unwrap(), "INVALID_REQUEST_METHOD");

    // axum's own body limit (2 MB) on the admin API answered plain text before. The answer comes
    // before the body is read, so the connection is not reused (a client of its own).
    let big = json!({"company_name": "x".repeat(3 * 1024 * 1024), "admin": {"last_name": "A", "email": "a@b.example"}});
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(server.url("/bulkwrite/v1/admin/orgs"))
        .bearer_auth(server.boot("admin_key"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_zoho(&response.json().await.unwrap(), "FILE_TOO_LARGE");

    let text = scrape(&server).await;
    assert_eq!(metric(&text, "bulkwrite_http_refusals_total", &[("status", "400")]), 4.0, "{text}");
    assert_eq!(metric(&text, "bulkwrite_http_refusals_total", &[("status", "431")]), 1.0, "{text}");
    assert_eq!(metric(&text, "bulkwrite_http_refusals_total", &[("status", "414")]), 1.0, "{text}");
}

const INTERNAL_ERROR_BODY: &str =
    r#"{"status":"error","code":"INTERNAL_ERROR","message":"Internal Server Error","details":{}}"#;

#[tokio::test]
async fn a_storage_failure_is_500_internal_error_logged_once_with_its_request_id() {
    let server = Server::start_capturing_stderr(&[]).await;
    // Stored data the store cannot read back: the org's schema.
    let database = rusqlite::Connection::open(server.dir.join("bulkwrite.sqlite")).unwrap();
    database.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = database
        .execute("UPDATE orgs SET schema_json = '{not json' WHERE zgid = ?1", [server.org.parse::<i64>().unwrap()])
        .unwrap();
    assert_eq!(changed, 1);

    let response = server
        .http
        .post(server.url(&format!("/bulkwrite/v1/admin/orgs/{}/fields", server.org)))
        .bearer_auth(server.boot("admin_key"))
        .header("X-Request-Id", "e2e-storage-1")
        .json(&json!({"module": "Leads", "api_name": "Some_Field", "data_type": "text"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-request-id"], "e2e-storage-1");
    assert_eq!(response.text().await.unwrap(), INTERNAL_ERROR_BODY, "no internal text");

    // A Zoho path reading the same data, with a request id the server makes.
    let response =
        server.auth(server.http.get(server.url("/crm/v2/settings/fields?module=Leads"))).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let made = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(response.text().await.unwrap(), INTERNAL_ERROR_BODY);

    // The second request's line comes after every line of the first: once it is read, both
    // requests' lines are all in.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr.lock().unwrap().iter().any(|line| line.contains(&made)) {
        assert!(Instant::now() < deadline, "no log line names request {made}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in ["e2e-storage-1", made.as_str()] {
        let lines: Vec<String> =
            server.stderr.lock().unwrap().iter().filter(|line| line.contains(id)).cloned().collect();
        assert_eq!(lines.len(), 1, "logged once: {lines:?}");
        assert!(lines[0].contains("storage failed"), "{lines:?}");
        assert!(lines[0].contains("corrupt"), "the cause is in the log: {lines:?}");
    }
}

/// PostgreSQL: a node whose database is dropped answers `/readyz` 503 and a storage failure on
/// the admin API as 500 `INTERNAL_ERROR` (an unreachable database is a storage failure too).
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn readyz_and_the_admin_api_when_the_postgresql_database_is_gone() {
    let url = crate::multinode::database_url();
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let name = format!("bw_{seconds}_observe{}", std::process::id());
    let database = bulkwrite_store_postgres::scratch::create(&url, &name).await.expect("create database");
    let server = Server::start(&[("BULKWRITE_DATABASE_URL", database.as_str())]).await;
    assert_eq!(readyz(&server).await, (200, json!({"status": "ready"})));

    bulkwrite_store_postgres::scratch::drop(&url, &name).await.expect("drop database");
    assert_eq!(readyz(&server).await, (503, json!({"status": "unavailable"})));
    let response = server
        .http
        .get(server.url("/bulkwrite/v1/admin/orgs"))
        .bearer_auth(server.boot("admin_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.text().await.unwrap(), INTERNAL_ERROR_BODY);
    let text = scrape(&server).await;
    assert_eq!(metric(&text, "bulkwrite_database_up", &[]), 0.0);
}

/// `bulkwrite_token_lookups_total` of `source` on a scraped page.
fn token_lookups(text: &str, source: &str) -> f64 {
    metric(text, "bulkwrite_token_lookups_total", &[("source", source)])
}

/// Polls `count` times with the bootstrap token; returns how many of the token lookups the
/// node's cache and the store answered.
async fn poll_and_count_lookups(server: &Server, count: usize) -> (f64, f64) {
    let before = scrape(server).await;
    for _ in 0..count {
        assert_eq!(server.get_as(&server.boot("access_token"), "/crm/bulk/v2/write/1").await.0, 404);
    }
    let after = scrape(server).await;
    let moved = |source| token_lookups(&after, source) - token_lookups(&before, source);
    (moved("cache"), moved("store"))
}

#[tokio::test]
async fn a_polling_client_reads_its_token_from_the_cache_until_a_change_empties_it() {
    // A long lifetime, so that the counts do not depend on the machine's speed.
    let server = Server::start(&[("BULKWRITE_TOKEN_CACHE_MS", "600000")]).await;
    assert_eq!(poll_and_count_lookups(&server, 3).await, (2.0, 1.0), "the first poll reads the store");
    assert_eq!(poll_and_count_lookups(&server, 2).await, (2.0, 0.0));
    // Any call that may change what a token means empties the cache (here, a new token).
    let (status, _) = server
        .admin(reqwest::Method::POST, &format!("/orgs/{}/tokens", server.org), json!({"scopes": "ZohoCRM.bulk.ALL"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(poll_and_count_lookups(&server, 2).await, (1.0, 1.0), "read again after the change");
}

#[tokio::test]
async fn with_the_token_cache_off_every_call_reads_the_store() {
    let server = Server::start(&[("BULKWRITE_TOKEN_CACHE_MS", "0")]).await;
    assert_eq!(poll_and_count_lookups(&server, 3).await, (0.0, 3.0));
}
