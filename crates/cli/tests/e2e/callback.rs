//! Callbacks: delivered to a loopback receiver the test configuration allows, retried on 5xx
//! with every attempt recorded; private addresses refused with the seed's error.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::harness::{seed_body, Server};

/// One request the receiver got.
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

/// A tiny HTTP receiver answering with the given statuses in turn (the last one repeats).
pub async fn receiver(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bulk-write-callback", listener.local_addr().unwrap());
    let (sender, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut served = 0;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body_start) = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::from_utf8_lossy(&buffer).to_string(), buffer.len());
                }
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (String::from_utf8_lossy(&buffer[..end]).to_string(), end + 4);
                }
            };
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buffer.len() < body_start + length {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let status = statuses[served.min(statuses.len() - 1)];
            served += 1;
            let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = sender.send(Received { head, body: buffer[body_start..].to_vec() });
        }
    });
    (url, received)
}

fn seed_csv(user: &str) -> String {
    format!("Last_Name,Owner,Date_3,Mobile,Layout\nA,{user},2024/01/02,555 0100,Standard\nB,{user},2024/13/02,555 0101,Standard\n")
}

#[tokio::test]
async fn the_callback_reaches_an_allowed_loopback_receiver_after_a_retry() {
    let server =
        Server::start(&[("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"), ("BULKWRITE_CALLBACK_RETRY_MS", "100")]).await;
    let (url, mut received) = receiver(vec![503, 200]).await;
    let file_id = server.upload_csv("leads.csv", &seed_csv(&server.user)).await;
    let (status, created) = server.create_job(&seed_body(&file_id, &url)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap();

    let first = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("first attempt").unwrap();
    let second = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("retry").unwrap();
    assert!(first.head.starts_with("POST /bulk-write-callback HTTP/1.1"), "{}", first.head);
    assert!(first.head.to_ascii_lowercase().contains("content-type: application/json"), "{}", first.head);
    let delivered: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(delivered, server.job(id).await, "the callback body is the job-details document");
    assert_eq!(delivered["status"], "COMPLETED");
    assert_eq!(delivered["resource"][0]["file"]["added_count"], 1);
    assert_eq!(delivered["resource"][0]["file"]["skipped_count"], 1);

    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let (status, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}/callback")).await;
        assert_eq!(status, 200);
        if report["state"] == "delivered" || Instant::now() > deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["state"], "delivered", "{report}");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.iter().map(|a| a["status"].clone()).collect::<Vec<_>>(), [json!(503), json!(200)]);
    assert_eq!(attempts[0]["attempt"], 1);
    assert!(attempts[0]["error"].as_str().unwrap().contains("503"));
}

#[tokio::test]
async fn private_callbacks_are_refused_with_the_seed_error() {
    let server = Server::start(&[]).await;
    let (url, _received) = receiver(vec![200]).await;
    let file_id = server.upload_csv("leads.csv", &seed_csv(&server.user)).await;
    for callback in [
        url.as_str(),
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://localhost/x",
        "http://hooks.example.com/x",
    ] {
        let (status, body) = server.create_job(&seed_body(&file_id, callback)).await;
        assert_eq!(status, 400, "{callback}");
        let expected = json!({
            "status": "error",
            "code": "INVALID_CALLBACK_URL",
            "message": format!("Invalid URL '{callback}' for callback."),
            "details": {"reason": "possible ssrf attempt"}
        });
        assert_eq!(serde_json::to_string(&body).unwrap(), serde_json::to_string(&expected).unwrap());
    }
}

#[tokio::test]
async fn an_unreachable_callback_never_changes_the_job() {
    let server = Server::start(&[
        ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"),
        ("BULKWRITE_CALLBACK_RETRY_MS", "50"),
        ("BULKWRITE_CALLBACK_ATTEMPTS", "2"),
    ])
    .await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let file_id = server.upload_csv("leads.csv", &seed_csv(&server.user)).await;
    let (_, created) = server.create_job(&seed_body(&file_id, &format!("http://{closed}/cb"))).await;
    let id = created["details"]["id"].as_str().unwrap();
    assert_eq!(server.wait_job(id).await["status"], "COMPLETED");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}/callback")).await;
        if report["state"] == "failed" {
            assert_eq!(report["attempts"].as_array().unwrap().len(), 2);
            assert!(report["attempts"][0]["status"].is_null());
            break;
        }
        assert!(Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.job(id).await["status"], "COMPLETED");
}
