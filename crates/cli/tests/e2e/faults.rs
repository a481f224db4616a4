//! Surviving faults (issue 15): a callback receiver that hangs or fails delays no other
//! receiver, and retries come at the configured gaps.

use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::harness::{seed_body, Server};

fn seed_csv(user: &str) -> String {
    format!("Last_Name,Owner,Date_3,Mobile,Layout\nA,{user},2024/01/02,555 0100,Standard\n")
}

/// A receiver that accepts connections and never answers; reports each accepted connection.
async fn hanging_receiver() -> (String, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hang", listener.local_addr().unwrap());
    let (sender, accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = sender.send(());
        }
    });
    (url, accepted)
}

async fn job_calling(server: &Server, url: &str) -> String {
    let file_id = server.upload_csv("leads.csv", &seed_csv(&server.user)).await;
    let (status, created) = server.create_job(&seed_body(&file_id, url)).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_hanging_receiver_delays_no_other_and_retries_keep_their_gaps() {
    let server = Server::start(&[
        ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"),
        ("BULKWRITE_CALLBACK_RETRY_MS", "400"),
        ("BULKWRITE_CALLBACK_ATTEMPTS", "4"),
        ("BULKWRITE_CALLBACK_CONCURRENCY", "4"),
    ])
    .await;
    // Three deliveries to a receiver that never answers: two hang (its share of the four slots),
    // the third waits for them and holds no slot.
    let (hang_url, mut accepted) = hanging_receiver().await;
    for _ in 0..3 {
        job_calling(&server, &hang_url).await;
    }
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(30), accepted.recv()).await.expect("the hanging receiver is called");
    }

    let (failing_url, mut failing) = crate::callback::receiver(vec![500]).await;
    let (healthy_url, mut healthy) = crate::callback::receiver(vec![200]).await;
    let failing_job = job_calling(&server, &failing_url).await;
    let healthy_job = job_calling(&server, &healthy_url).await;
    server.wait_job(&healthy_job).await;
    let done = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), healthy.recv())
        .await
        .expect("the healthy receiver is called within 3 s of its job's end, whatever the hanging one does")
        .unwrap();
    assert!(done.elapsed() < Duration::from_secs(3));

    // 400 ms after an attempt ends, then three times longer each time, plus up to 200 ms of jitter.
    server.wait_job(&failing_job).await;
    for attempt in 1..=4 {
        let got = tokio::time::timeout(Duration::from_secs(20), failing.recv()).await;
        got.unwrap_or_else(|_| panic!("attempt {attempt} of the failing receiver")).unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(6), failing.recv()).await.is_err(),
        "four attempts, then the delivery is given up"
    );
    let (_, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{failing_job}/callback")).await;
    assert_eq!(report["state"], "failed", "{report}");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{report}");
    let at = |i: usize| chrono::DateTime::parse_from_rfc3339(attempts[i]["at"].as_str().unwrap()).unwrap();
    for (index, expected_ms) in [400i64, 1200, 3600].into_iter().enumerate() {
        let ended = at(index) + chrono::Duration::milliseconds(attempts[index]["duration_ms"].as_i64().unwrap());
        let gap = (at(index + 1) - ended).num_milliseconds();
        assert!(
            (expected_ms..=expected_ms + 200 + 300).contains(&gap),
            "gap {} was {gap} ms, expected {expected_ms} ms plus jitter: {report}",
            index + 1
        );
    }
}
