//! Error bodies and the retry policy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bulkwrite_client::{ApiVersion, BulkWriteJob, Client, Credentials, Endpoints, Error, UploadSource};
use bulkwrite_wire::ErrorCode;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::support::{fast_retry, job_details, reply, token_client, zoho_error, Counter, Mock, Seen};

#[tokio::test]
async fn zoho_error_bodies_become_api_errors() {
    let mock = Mock::start(|seen: &Seen| match seen.path.as_str() {
        "/crm/bulk/v2/write" => zoho_error(
            400,
            "INVALID_CALLBACK_URL",
            "Invalid URL 'http://requestbin.fullcontact.com' for callback.",
            json!({"reason": "possible ssrf attempt"}),
        ),
        "/crm/v2/upload" => reply(
            403,
            json!({"x-error": "check if headers [feature, X-CRM-ORG] are present and valid", "info": "Forbidden"}),
        ),
        _ => zoho_error(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", json!({})),
    })
    .await;
    let client = token_client(&mock, ApiVersion::V2);
    let job = BulkWriteJob::insert("Leads", "1").callback("http://requestbin.fullcontact.com");
    match client.submit(&job).await.unwrap_err() {
        Error::Api { http_status, code, message, details } => {
            assert_eq!(http_status, 400);
            assert_eq!(code, "INVALID_CALLBACK_URL");
            assert_eq!(message, "Invalid URL 'http://requestbin.fullcontact.com' for callback.");
            assert_eq!(details["reason"], "possible ssrf attempt");
        }
        other => panic!("unexpected {other:?}"),
    }

    let error = client.get_job("404").await.unwrap_err();
    assert_eq!(error.error_code(), Some(ErrorCode::ResourceNotFound));
    assert_eq!(error.http_status(), Some(404));
    assert_eq!(mock.seen_at("/crm/bulk/v2/write/404").len(), 1, "a 404 is not retried");

    let error = client.upload("1", UploadSource::zip_bytes("a.zip", vec![1, 2, 3])).await.unwrap_err();
    match error {
        Error::Api { http_status: 403, code, message, details } => {
            assert_eq!(code, "Forbidden");
            assert!(message.contains("X-CRM-ORG"));
            assert!(details.contains_key("x-error"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_error_body_with_http_200_is_still_an_error() {
    let mock = Mock::start(|_: &Seen| {
        reply(200, json!({"status": "error", "code": "INVALID_FILE_FORMAT", "message": "invalid file format. only zip format is supported", "details": {"created_time": "t"}}))
    })
    .await;
    let error =
        token_client(&mock, ApiVersion::V2).upload("1", UploadSource::zip_bytes("a.zip", vec![0])).await.unwrap_err();
    assert_eq!(error.api_code(), Some("INVALID_FILE_FORMAT"));
    assert_eq!(error.http_status(), Some(200));
}

#[tokio::test]
async fn gets_are_retried_on_503_and_429_then_succeed() {
    for status in [503u16, 429] {
        let calls = Counter::default();
        let c = calls.clone();
        let mock = Mock::start(move |_: &Seen| match c.next() {
            0 | 1 => zoho_error(status, "INTERNAL_ERROR", "busy", json!({})),
            _ => reply(200, job_details("7", "ADDED", None, None)),
        })
        .await;
        let details = token_client(&mock, ApiVersion::V2).get_job("7").await.unwrap();
        assert_eq!(details.id, "7");
        assert_eq!(calls.get(), 3);
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let mock = Mock::start(|_: &Seen| {
        reply(503, json!({"status": "error", "code": "INTERNAL_ERROR", "message": "x", "details": {}}))
    })
    .await;
    let error = token_client(&mock, ApiVersion::V2).get_job("7").await.unwrap_err();
    assert_eq!(error.http_status(), Some(503));
    assert_eq!(error.api_code(), Some("INTERNAL_ERROR"));
    assert_eq!(mock.seen().len(), 3, "first attempt plus max_retries = 2");
}

#[tokio::test]
async fn create_is_not_retried_on_500() {
    let mock = Mock::start(|_: &Seen| zoho_error(500, "INTERNAL_ERROR", "Internal Server Error", json!({}))).await;
    let error = token_client(&mock, ApiVersion::V2).submit(&BulkWriteJob::insert("Leads", "1")).await.unwrap_err();
    assert_eq!(error.http_status(), Some(500));
    assert_eq!(mock.seen().len(), 1, "a POST that may have been applied is never repeated");
}

#[tokio::test]
async fn create_is_retried_on_429_with_retry_after() {
    let calls = Counter::default();
    let c = calls.clone();
    let mock = Mock::start(move |_: &Seen| {
        if c.next() == 0 {
            let mut answer = zoho_error(429, "TOO_MANY_REQUESTS", "too many requests", json!({}));
            answer.headers.push(("retry-after", "0".into()));
            return answer;
        }
        reply(
            201,
            json!({"status": "success", "code": "SUCCESS", "message": "success",
                          "details": {"id": "9", "created_by": {"id": "1", "name": "A"}}}),
        )
    })
    .await;
    let created = token_client(&mock, ApiVersion::V2).submit(&BulkWriteJob::insert("Leads", "1")).await.unwrap();
    assert_eq!(created.id, "9");
    assert_eq!(calls.get(), 2);
    let bodies: Vec<_> = mock.seen().iter().map(Seen::json).collect();
    assert_eq!(bodies[0], bodies[1], "the retry sends the same body");
}

/// A server that reads each request and hangs up without answering.
async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn transport_errors_retry_gets_but_not_posts() {
    let (base, accepted) = hang_up_server().await;
    let client = Client::builder(Endpoints::bulkwrite(&base), Credentials::access_token("t"))
        .version(ApiVersion::V2)
        .retry(fast_retry(2))
        .build()
        .unwrap();
    assert!(matches!(client.get_job("7").await, Err(Error::Transport(_))));
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    accepted.store(0, Ordering::SeqCst);
    assert!(matches!(client.submit(&BulkWriteJob::insert("Leads", "1")).await, Err(Error::Transport(_))));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_posts() {
    // Bind, learn the port, close: nothing listens there any more.
    let base = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = Client::builder(Endpoints::bulkwrite(&base), Credentials::access_token("t"))
        .retry(fast_retry(1))
        .build()
        .unwrap();
    match client.submit(&BulkWriteJob::insert("Leads", "1")).await {
        Err(Error::Transport(error)) => assert!(error.is_connect()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn bad_endpoints_are_refused_at_build_time() {
    let error = Client::new(Endpoints::bulkwrite("not a url"), Credentials::access_token("t")).unwrap_err();
    assert!(matches!(error, Error::Invalid(_)));
    let error = Client::new(Endpoints::bulkwrite("ftp://x"), Credentials::access_token("t")).unwrap_err();
    assert!(matches!(error, Error::Invalid(_)));
}
