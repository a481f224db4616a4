//! Live progress through the real binary: `GET /bulkwrite/v1/jobs/{id}/events` follows a job
//! to its end on SQLite, a node that does not run the job streams it on PostgreSQL (the
//! running node's chunk commits reach it through LISTEN/NOTIFY), and `bulkwrite jobs wait` and
//! `bulkwrite import` follow the stream rather than polling.

use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::Workspace;
use crate::harness::Server;

/// Only a bound on a broken stream.
const PATIENCE: Duration = Duration::from_secs(60);

/// The events of a stream in order, read until it closes: `(name, data)`.
async fn read_stream(server: &Server, id: &str) -> Vec<(String, Value)> {
    let response = open(server, id).await;
    collect(response).await
}

async fn open(server: &Server, id: &str) -> reqwest::Response {
    let url = server.url(&format!("/bulkwrite/v1/jobs/{id}/events"));
    let response = server.auth(server.http.get(url)).send().await.expect("open the stream");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response
}

async fn collect(mut response: reqwest::Response) -> Vec<(String, Value)> {
    let (mut text, mut events) = (String::new(), Vec::new());
    loop {
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let name = block.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_string);
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(name), Some(data)) = (name, data) {
                events.push((name, serde_json::from_str(data).expect("JSON data")));
            }
        }
        let chunk = tokio::time::timeout(PATIENCE, response.chunk()).await.expect("the stream moves");
        match chunk.expect("the stream reads") {
            Some(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
            None => return events,
        }
    }
}

fn leads(rows: usize, tag: &str) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 0..rows {
        // Every tenth row has a bad email and is skipped.
        let email = if n % 10 == 9 { "bad".to_string() } else { format!("l{n}@{tag}.example") };
        csv.push_str(&format!("Lead {n},Co,{email}\n"));
    }
    csv
}

async fn create(server: &Server, csv: &str) -> String {
    let file_id = server.upload_csv("leads.csv", csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}

/// Checks a whole stream: progress events whose counts never go back, then one `end` event with
/// the final counts, which match the job's details.
async fn check_stream(server: &Server, id: &str, events: &[(String, Value)], rows: u64) {
    let (last, progress) = events.split_last().expect("at least the end event");
    assert_eq!(last.0, "end", "{events:?}");
    assert!(progress.iter().all(|(name, _)| name == "progress"), "{events:?}");
    let processed: Vec<u64> = events.iter().map(|(_, data)| data["processed"].as_u64().unwrap()).collect();
    assert!(processed.windows(2).all(|pair| pair[0] <= pair[1]), "counts never go back: {processed:?}");
    let end = &last.1;
    assert_eq!(
        (end["id"].as_str(), end["state"].as_str(), end["status"].as_str()),
        (Some(id), Some("SUCCEEDED"), Some("COMPLETED"))
    );
    assert_eq!(end["processed"].as_u64(), Some(rows));
    assert_eq!(end["skipped"].as_u64(), Some(rows / 10));
    assert_eq!(end["added"].as_u64(), Some(rows - rows / 10));
    let details = server.job(id).await;
    let file = &details["result"]["resource"][0]["file"];
    let file = if file.is_null() { &details["resource"][0]["file"] } else { file };
    assert_eq!(file["added_count"].as_u64(), end["added"].as_u64(), "{details}");
    assert_eq!(file["skipped_count"].as_u64(), end["skipped"].as_u64(), "{details}");
}

#[tokio::test]
async fn a_job_is_streamed_to_its_end_on_sqlite() {
    let server = Server::start(&[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    let id = create(&server, &leads(600, "sqlite")).await;
    let events = read_stream(&server, &id).await;
    check_stream(&server, &id, &events, 600).await;
    // A late subscriber sees where the job is: its end, at once.
    let again = read_stream(&server, &id).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0], events.last().unwrap().clone());
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_node_that_does_not_run_the_job_streams_its_progress() {
    let database = crate::multinode::fresh_database().await;
    // The API node runs no jobs, and no other node exists yet: the job stays queued.
    let front = crate::multinode::node(&database, "api", &[]).await;
    let id = create(&front, &leads(2000, "nodes")).await;
    let response = open(&front, &id).await;
    let stream = tokio::spawn(collect(response));
    let back = crate::multinode::node(&database, "worker", &[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    let events = stream.await.unwrap();
    assert_eq!(events[0].1["state"], "QUEUED", "the first event is the job as it stood: {:?}", events[0]);
    // The worker node's claim reaches the front at once (NOTIFY), not after a fallback poll.
    assert!(events.iter().any(|(_, data)| data["state"] == "RUNNING"), "{events:?}");
    check_stream(&front, &id, &events, 2000).await;
    drop(back);
}

fn events_requests(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("bulkwrite_http_requests_total{"))
        .filter(|line| line.contains("route=\"/bulkwrite/v1/jobs/{job_id}/events\"") && line.contains("status=\"200\""))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

async fn metrics(server: &Server) -> String {
    server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn jobs_wait_and_import_follow_the_events_stream() {
    let server = Server::start(&[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    let work = Workspace::new();
    work.write("leads.csv", &leads(300, "cli"));
    let (status, summary) = work.json(&server, &["import", "leads.csv", "--module", "Leads"]);
    assert_eq!(status, 2, "skipped rows: exit 2: {summary}");
    assert_eq!((summary["added"].as_u64(), summary["skipped"].as_u64()), (Some(270), Some(30)), "{summary}");
    assert_eq!(events_requests(&metrics(&server).await), 1, "import followed the stream");

    let job = summary["jobs"][0].as_str().unwrap().to_string();
    let (status, details) = work.json(&server, &["jobs", "wait", &job]);
    assert_eq!(status, 2, "{details}");
    assert_eq!(details["status"], "COMPLETED");
    assert_eq!(events_requests(&metrics(&server).await), 2, "jobs wait followed the stream");
}
