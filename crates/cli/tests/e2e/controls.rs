//! The test controls' switch and clock on the real binary (issue 19): without the switch every
//! time and stepping path answers as an unknown URL; with it a token needs `bulkwrite.test`.
//! Moving the clock (through the Rust client, with the admin key) expires a token, then a
//! result link and an unused upload at once, and lets a callback retry fall due, without
//! waiting: the callback is retried an hour later in business time.

use std::time::{Duration, Instant};

use bulkwrite_client::{Client, Credentials, Endpoints};
use serde_json::{json, Value};

use crate::harness::Server;

/// Every time and stepping control: method and path.
pub const CONTROLS: [(&str, &str); 6] = [
    ("GET", "/bulkwrite/v1/clock"),
    ("POST", "/bulkwrite/v1/clock"),
    ("GET", "/bulkwrite/v1/queue"),
    ("POST", "/bulkwrite/v1/queue/pause"),
    ("POST", "/bulkwrite/v1/queue/resume"),
    ("POST", "/bulkwrite/v1/queue/step"),
];

pub const SWITCH: (&str, &str) = ("BULKWRITE_TEST_CONTROLS", "1");

/// The Rust client with the server's admin key, for the controls.
pub fn controls(server: &Server) -> Client {
    Client::builder(Endpoints::bulkwrite(&server.base), Credentials::admin_key(server.boot("admin_key")))
        .build()
        .expect("a client")
}

/// `method path` with `Authorization: <scheme> <credential>`.
async fn call(server: &Server, method: &str, path: &str, authorization: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let request = server.http.request(method, server.url(path)).header("Authorization", authorization).json(&json!({}));
    let response = request.send().await.expect("an answer");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// A fresh access token of the org with `scopes`, minted through the admin API.
pub async fn mint_token(server: &Server, scopes: &str) -> String {
    let (status, minted) =
        server.admin(reqwest::Method::POST, &format!("/orgs/{}/tokens", server.org), json!({"scopes": scopes})).await;
    assert_eq!(status, 201, "{minted}");
    minted["access_token"].as_str().expect("an access token").to_string()
}

/// Whether `token` is accepted (an unknown job is 404 to a valid token; 401 INVALID_TOKEN else).
pub async fn token_works(server: &Server, token: &str) -> bool {
    let (status, body) = server.get_as(token, "/crm/bulk/v2/write/1").await;
    match status {
        404 => true,
        401 => {
            assert_eq!(body["code"], "INVALID_TOKEN", "{body}");
            false
        }
        other => panic!("unexpected {other}: {body}"),
    }
}

#[tokio::test]
async fn the_controls_are_unknown_urls_without_the_switch_and_need_the_test_scope_with_it() {
    let off = Server::start(&[]).await;
    let (_, unknown) =
        call(&off, "GET", "/bulkwrite/v1/no-such-path", &format!("Zoho-oauthtoken {}", off.boot("access_token"))).await;
    for (method, path) in CONTROLS {
        for authorization in
            [format!("Zoho-oauthtoken {}", off.boot("access_token")), format!("Bearer {}", off.boot("admin_key"))]
        {
            let (status, body) = call(&off, method, path, &authorization).await;
            assert_eq!((status, body["code"].as_str()), (404, Some("INVALID_URL_PATTERN")), "{method} {path}: {body}");
            assert_eq!(body, unknown, "{method} {path} answers as any unknown URL");
        }
    }

    let on = Server::start(&[SWITCH]).await;
    let without_scope = mint_token(&on, "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL").await;
    assert!(token_works(&on, &without_scope).await);
    for (method, path) in CONTROLS {
        let (status, body) = call(&on, method, path, &format!("Zoho-oauthtoken {without_scope}")).await;
        assert_eq!(
            (status, body),
            (
                401,
                json!({"status": "error", "code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope to access this URL", "details": {}})
            ),
            "{method} {path}"
        );
    }
    let with_scope = mint_token(&on, "bulkwrite.test").await;
    let (status, clock) = call(&on, "GET", "/bulkwrite/v1/clock", &format!("Zoho-oauthtoken {with_scope}")).await;
    assert_eq!((status, clock["offset_seconds"].as_i64()), (200, Some(0)), "{clock}");
}

#[tokio::test]
async fn moving_the_clock_expires_a_token_then_a_result_link_and_an_upload_at_once() {
    let server = Server::start(&[SWITCH]).await;
    let client = controls(&server);
    let hour_token = mint_token(&server, "ZohoCRM.bulk.ALL").await;
    let unused = server.upload_csv("leads.csv", "Last_Name,Company\nUnused,Co\n").await;
    let used = server.upload_csv("leads.csv", "Last_Name,Company\nKept,Co\n").await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": used}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let done = server.wait_job(&id).await;
    let link = done["result"]["download_url"].as_str().expect("a link").to_string();
    let fetch = || async { server.auth(server.http.get(&link)).send().await.expect("download") };
    assert_eq!(fetch().await.status(), 200);

    let before = chrono::Utc::now();
    let moved = client.advance_clock("2h").await.expect("the clock moves");
    assert_eq!(moved.offset_seconds, 7200);
    let now = chrono::DateTime::parse_from_rfc3339(&moved.now).unwrap();
    assert!(now >= before + chrono::Duration::hours(2), "{now} is two hours on from {before}");
    assert!(!token_works(&server, &hour_token).await, "an hour's token expired");
    assert!(token_works(&server, &server.boot("access_token")).await, "the bootstrap token never expires");
    assert_eq!(fetch().await.status(), 200, "the link lasts seven days");

    let moved = client.advance_clock("8d").await.expect("the clock moves");
    assert_eq!(moved.offset_seconds, 7200 + 8 * 86_400);
    // The move swept before it answered: no waiting for the sweeper.
    let expired = fetch().await;
    assert_eq!(expired.status(), 404);
    let expired: Value = expired.json().await.unwrap();
    assert_eq!(
        (expired["code"].as_str(), expired["x-info"].as_str()),
        (Some("RESOURCE_NOT_FOUND"), Some("Link not valid"))
    );
    let (_, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(view["result_expired"], true, "{view}");
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": unused}]});
    let (status, refused) = server.create_job(&body).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("FILE_NOT_FOUND")), "the upload expired: {refused}");

    assert_eq!(client.clock().await.unwrap().offset_seconds, moved.offset_seconds, "GET answers the same clock");
    assert_eq!(client.reset_clock().await.unwrap().offset_seconds, 0);
    assert!(token_works(&server, &hour_token).await, "at the real time the token is valid again");
    match client.advance_clock("-1d").await {
        Err(bulkwrite_client::Error::Api { code, message, .. }) => {
            assert_eq!(code, "INVALID_DATA");
            assert!(message.contains("negative"), "{message}");
        }
        other => panic!("a negative move is refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_callback_retry_waits_on_the_clock_not_on_the_wall() {
    let (callback_url, mut received) = crate::callback::receiver(vec![503, 200]).await;
    // Retries an hour apart (and a half at most of jitter): the test moves the clock instead.
    let env = [SWITCH, ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1"), ("BULKWRITE_CALLBACK_RETRY_MS", "3600000")];
    let server = Server::start(&env).await;
    let client = controls(&server);
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company\nCalled,Back\n").await;
    let body = json!({"operation": "insert", "callback": {"url": callback_url, "method": "post"},
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("a first attempt").unwrap();
    let report =
        callback_report(&server, &id, |report| report["attempts"].as_array().is_some_and(|a| a.len() == 1)).await;
    assert_eq!(report["state"], "pending", "the 503 is retried later: {report}");

    client.advance_clock("2h").await.expect("the clock moves");
    let second =
        tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("the retry, once due").unwrap();
    let posted: Value = serde_json::from_slice(&second.body).expect("the job details");
    assert_eq!(posted["id"], json!(id));
    let report = callback_report(&server, &id, |report| report["state"] == "delivered").await;
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.iter().map(|a| a["status"].as_u64()).collect::<Vec<_>>(), [Some(503), Some(200)]);
    let at = |n: usize| chrono::DateTime::parse_from_rfc3339(attempts[n]["at"].as_str().unwrap()).unwrap();
    assert!(at(1) - at(0) >= chrono::Duration::hours(1), "an hour apart in business time: {report}");
}

/// Polls the job's callback report until `ready` holds.
async fn callback_report(server: &Server, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}/callback")).await;
        if status == 200 && ready(&report) {
            return report;
        }
        assert!(Instant::now() < deadline, "the callback report never got there: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
