//! Fault rules of the test controls (issue 19), job and callback faults: a job failed at row N
//! (`FAILED`, the rows after it `UNPROCESSED`), a chunk failed once (the job still finishes,
//! every row applied once), a job slowed down, a callback delivery answered 500 or timing out
//! (retried by the callback policy). Every case on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fault_rules::{add_rule, rules, start, Backend};
use crate::harness::Server;

crate::on_both_backends!(
    a_job_fails_at_row_three_and_lists_the_rest_unprocessed,
    a_chunk_that_fails_once_leaves_the_job_to_finish_exactly_once,
    a_slow_job_fault_holds_each_chunk_back,
    a_callback_answered_500_twice_is_delivered_on_the_third_attempt,
    a_callback_attempt_that_times_out_is_retried,
);

/// Small chunks, so a fault lands mid-job; quick transient retries.
const JOB_ENV: &[(&str, &str)] = &[("BULKWRITE_CHUNK_ROWS", "2"), ("BULKWRITE_TRANSIENT_RETRY_MS", "50")];

fn leads(prefix: &str, rows: usize) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 1..=rows {
        csv.push_str(&format!("{prefix}{n},Co,{prefix}{n}@faults.example\n"));
    }
    csv
}

/// Leads whose email ends with `@faults.example` and starts with `prefix`.
async fn stored_leads(server: &Server, prefix: &str) -> Vec<Value> {
    let records = server.all_records("Leads", "Last_Name,Email").await;
    records
        .into_iter()
        .filter(|r| r["Email"].as_str().is_some_and(|e| e.starts_with(prefix) && e.ends_with("@faults.example")))
        .collect()
}

async fn a_job_fails_at_row_three_and_lists_the_rest_unprocessed(backend: Backend) {
    let (server, _) = start(backend, JOB_ENV).await;
    add_rule(&server, json!({"job": {"fail_at_row": 3}, "times": 1})).await;
    let id = server.insert_job(&leads("row", 6), None).await;
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let (_, rows) = server.result_rows(&done).await;
    let statuses: Vec<&str> = rows[1..].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(statuses, ["ADDED", "ADDED", "ADDED", "UNPROCESSED", "UNPROCESSED", "UNPROCESSED"]);
    assert!(rows[4..].iter().all(|r| r[4].is_empty() && r[5].is_empty()), "UNPROCESSED rows have no id, no errors");
    assert_eq!(stored_leads(&server, "row").await.len(), 3, "rows 1 to 3 were applied, the rest never");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert!(state["error"].as_str().unwrap().contains("fails at row 3"), "{state}");

    let next = server.insert_job(&leads("next", 4), None).await;
    assert_eq!(server.wait_job(&next).await["status"], "COMPLETED", "times 1: the next job is not hit");
    let listed = rules(&server).await;
    assert_eq!((&listed[0]["fired"], &listed[0]["matched"]), (&json!(1), &json!(1)));
}

async fn a_chunk_that_fails_once_leaves_the_job_to_finish_exactly_once(backend: Backend) {
    let (server, _) = start(backend, JOB_ENV).await;
    add_rule(&server, json!({"job": {"fail_chunk_once": true}})).await;
    let id = server.insert_job(&leads("once", 7), None).await;
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["resource"][0]["file"]["added_count"], 7);
    assert_eq!(done["resource"][0]["file"]["total_count"], 7);
    let (_, rows) = server.result_rows(&done).await;
    assert_eq!(rows.len(), 8, "one result row per input row");
    let ids: BTreeSet<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
    assert!(rows[1..].iter().all(|r| r[3] == "ADDED"), "{rows:?}");
    assert_eq!(ids.len(), 7, "seven distinct records");
    let stored = stored_leads(&server, "once").await;
    assert_eq!(stored.len(), 7, "no row applied twice");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(state["attempts"], 2, "the job was given back once and claimed again: {state}");
    assert_eq!(state["state"], "SUCCEEDED", "{state}");
    assert_eq!(rules(&server).await[0]["fired"], 1, "one job hit");
}

async fn a_slow_job_fault_holds_each_chunk_back(backend: Backend) {
    let (server, _) = start(backend, JOB_ENV).await;
    add_rule(&server, json!({"job": {"slow_ms": 150}, "times": 1})).await;
    let started = Instant::now();
    let id = server.insert_job(&leads("slow", 4), None).await;
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert!(started.elapsed() >= Duration::from_millis(300), "two chunks, 150 ms each: {:?}", started.elapsed());
    assert_eq!(stored_leads(&server, "slow").await.len(), 4);
    assert_eq!(rules(&server).await[0]["fired"], 1);
}

/// The job's callback report once its delivery is settled (delivered or failed).
async fn settled_callback(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // 404 until the job ends and queues its delivery.
        let (status, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}/callback")).await;
        assert!(status == 200 || status == 404, "{report}");
        if report["state"] == "delivered" || report["state"] == "failed" {
            return report;
        }
        assert!(Instant::now() < deadline, "the callback never settled: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const CALLBACK_ENV: &[(&str, &str)] = &[
    ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"),
    ("BULKWRITE_CALLBACK_RETRY_MS", "50"),
    ("BULKWRITE_CALLBACK_ATTEMPTS", "3"),
    ("BULKWRITE_CALLBACK_TIMEOUT_MS", "300"),
];

async fn a_callback_answered_500_twice_is_delivered_on_the_third_attempt(backend: Backend) {
    let (server, _) = start(backend, CALLBACK_ENV).await;
    add_rule(&server, json!({"callback": {"status": 500}, "times": 2})).await;
    let (url, mut received) = crate::callback::receiver(vec![200]).await;
    let id = server.insert_job(&leads("cb", 1), Some(&url)).await;
    let report = settled_callback(&server, &id).await;
    assert_eq!(report["state"], "delivered", "{report}");
    let attempts = report["attempts"].as_array().unwrap();
    let statuses: Vec<&Value> = attempts.iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"), "{report}");
    let delivered = received.recv().await.expect("the third attempt reached the receiver");
    let body: Value = serde_json::from_slice(&delivered.body).unwrap();
    assert_eq!(body["id"], json!(id));
    assert!(received.try_recv().is_err(), "the faulted attempts never reached the receiver");
    assert_eq!(rules(&server).await[0]["fired"], 2);
}

async fn a_callback_attempt_that_times_out_is_retried(backend: Backend) {
    let (server, _) = start(backend, CALLBACK_ENV).await;
    add_rule(&server, json!({"callback": {"timeout": true}, "times": 1})).await;
    let (url, mut received) = crate::callback::receiver(vec![200]).await;
    let id = server.insert_job(&leads("late", 1), Some(&url)).await;
    let report = settled_callback(&server, &id).await;
    assert_eq!(report["state"], "delivered", "{report}");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{report}");
    assert!(attempts[0]["status"].is_null(), "{report}");
    assert!(attempts[0]["error"].as_str().unwrap().contains("timed out"), "{report}");
    assert!(attempts[0]["duration_ms"].as_u64().unwrap() >= 300, "it waited the callback timeout: {report}");
    assert_eq!(attempts[1]["status"], 200);
    received.recv().await.expect("the retry reached the receiver");
}
