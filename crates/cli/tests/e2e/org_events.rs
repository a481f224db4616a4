//! The org's jobs live through the real binary: `GET /bulkwrite/v1/events` sends each job the org
//! queues and its progress to its final state, and never another org's job; on PostgreSQL a
//! node that runs no jobs streams them all, jobs queued through another node included (their
//! creation and chunk commits reach it through LISTEN/NOTIFY).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{zip_of, Server};

/// Only a bound on a broken stream.
const PATIENCE: Duration = Duration::from_secs(90);

/// An open org stream, read one event at a time.
pub(crate) struct OrgStream {
    response: reqwest::Response,
    text: String,
}

impl OrgStream {
    pub(crate) async fn open(server: &Server) -> OrgStream {
        let response = server.auth(server.http.get(server.url("/bulkwrite/v1/events"))).send().await.expect("open");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        OrgStream { response, text: String::new() }
    }

    /// The next event's name and data (keep-alive comments skipped).
    pub(crate) async fn next(&mut self) -> (String, Value) {
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let name = block.lines().find_map(|l| l.strip_prefix("event: ")).map(str::to_string);
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some(name), Some(data)) = (name, data) {
                    return (name, serde_json::from_str(data).expect("JSON data"));
                }
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk()).await.expect("the stream moves");
            match chunk.expect("the stream reads") {
                Some(bytes) => self.text.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => panic!("the org stream closed"),
            }
        }
    }

    /// The next `job` event's data; `resync` events are passed over (one comes when the node's
    /// LISTEN connection is made after the stream opened).
    pub(crate) async fn next_job(&mut self) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "job" {
                return data;
            }
            assert_eq!(name, "resync", "{data}");
        }
    }

    /// Reads `job` events until every job of `ids` has sent a final state; answers each job's
    /// documents in order.
    pub(crate) async fn until_final(&mut self, ids: &[&str]) -> HashMap<String, Vec<Value>> {
        let mut seen: HashMap<String, Vec<Value>> = HashMap::new();
        let is_final = |docs: Option<&Vec<Value>>| {
            docs.and_then(|d| d.last())
                .is_some_and(|d| ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&d["state"].as_str().unwrap()))
        };
        while !ids.iter().all(|id| is_final(seen.get(*id))) {
            let (name, data) = self.next().await;
            if name == "job" {
                seen.entry(data["id"].as_str().unwrap().to_string()).or_default().push(data);
            }
        }
        seen
    }
}

fn leads(rows: usize, tag: &str) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 0..rows {
        csv.push_str(&format!("Lead {n},Co,l{n}@{tag}.example\n"));
    }
    csv
}

async fn queue(server: &Server, csv: &str) -> String {
    let file_id = server.upload_csv("leads.csv", csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}

/// Queues a job of another org on the same server; answers its id and the org's token.
async fn queue_for_another_org(server: &Server) -> (String, String) {
    let (org, token) = crate::isolation::second_org(server).await;
    let part =
        reqwest::multipart::Part::bytes(zip_of(&[("other.csv", leads(5, "other").as_bytes())])).file_name("u.zip");
    let response = server
        .http
        .post(server.url("/crm/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", &org)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let uploaded: Value = response.json().await.unwrap();
    let file_id = uploaded["details"]["file_id"].as_str().expect("the other org's upload").to_string();
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = crate::isolation::send_as(server, &token, Method::POST, "/crm/bulk/v2/write", body).await;
    assert_eq!(status, 201, "{created}");
    (created["details"]["id"].as_str().unwrap().to_string(), token)
}

/// One job's documents: counts that never go back, and a final state whose counts match the
/// job's details.
async fn check_job(server: &Server, id: &str, docs: &[Value], rows: u64) {
    let processed: Vec<u64> = docs.iter().map(|d| d["processed"].as_u64().unwrap()).collect();
    assert!(processed.windows(2).all(|pair| pair[0] <= pair[1]), "counts never go back: {processed:?}");
    let last = docs.last().unwrap();
    assert_eq!((last["state"].as_str(), last["added"].as_u64()), (Some("SUCCEEDED"), Some(rows)), "{last}");
    assert_eq!(last["modules"], json!(["Leads"]));
    let details = server.job(id).await;
    assert_eq!(details["resource"][0]["file"]["added_count"].as_u64(), Some(rows), "{details}");
}

#[tokio::test]
async fn the_org_stream_follows_every_job_of_the_org_on_sqlite() {
    let server = Server::start(&[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    let mut stream = OrgStream::open(&server).await;
    // Another org's job is queued, runs and finishes (ringing the node's changes) while this
    // stream is open; then the org's own jobs.
    let (foreign, other_token) = queue_for_another_org(&server).await;
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (_, other) = server.get_as(&other_token, &format!("/crm/bulk/v2/write/{foreign}")).await;
        if other["status"] == "COMPLETED" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the other org's job never finished: {other}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = queue(&server, &leads(400, "first")).await;
    let second = queue(&server, &leads(120, "second")).await;
    let seen = stream.until_final(&[&first, &second]).await;
    assert!(!seen.contains_key(&foreign), "another org's job is never sent");
    assert_eq!(seen.len(), 2, "{:?}", seen.keys());
    check_job(&server, &first, &seen[&first], 400).await;
    check_job(&server, &second, &seen[&second], 120).await;
    assert!(seen[&first].iter().any(|d| d["state"] == "RUNNING"), "{:?}", seen[&first]);
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_node_that_runs_no_jobs_streams_the_org_jobs_queued_and_run_by_another() {
    let database = crate::multinode::fresh_database().await;
    let front = crate::multinode::node(&database, "api", &[]).await;
    let mut stream = OrgStream::open(&front).await;
    let here = queue(&front, &leads(800, "front")).await;
    let data = stream.next_job().await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(here.as_str()), Some("QUEUED")), "{data}");
    let back = crate::multinode::node(&database, "all", &[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    // Queued through the other node: its creation reaches the front through NOTIFY.
    let there = queue(&back, &leads(300, "back")).await;
    let seen = stream.until_final(&[&here, &there]).await;
    let mut here_docs = vec![data];
    here_docs.extend(seen.get(&here).cloned().unwrap_or_default());
    check_job(&front, &here, &here_docs, 800).await;
    assert!(
        here_docs.iter().any(|d| d["state"] == "RUNNING"),
        "the other node's claim reached the front: {here_docs:?}"
    );
    let progress: Vec<u64> = here_docs.iter().map(|d| d["processed"].as_u64().unwrap()).collect();
    assert!(progress.iter().any(|p| *p > 0 && *p < 800), "chunk commits reached the front: {progress:?}");
    check_job(&front, &there, &seen[&there], 300).await;
    drop(back);
}
