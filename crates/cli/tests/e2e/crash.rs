//! Crash safety: a job killed mid-way with SIGKILL completes after a restart, every valid row
//! stored exactly once and one result row per input row; SIGTERM checkpoints and exits cleanly.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;

const ROWS: usize = 20_000;

/// Every 7th row lacks its last name; emails are unique, so a row applied twice would show up
/// as a duplicate.
fn big_csv() -> (String, usize) {
    let mut text = String::from("Last_Name,Company,Email\n");
    let mut valid = 0;
    for i in 1..=ROWS {
        let name = if i % 7 == 0 { String::new() } else { format!("Crash {i}") };
        if !name.is_empty() {
            valid += 1;
        }
        text.push_str(&format!("{name},Acme,crash{i}@example.com\n"));
    }
    (text, valid)
}

fn body(file_id: &str) -> Value {
    json!({
        "operation": "insert",
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]
    })
}

/// Polls until the job has applied some rows but not all of them.
async fn wait_mid_way(server: &Server, id: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = server.job(id).await;
        let total = job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
        assert_ne!(job["status"], "COMPLETED", "the job finished before it could be interrupted");
        if total > 0 {
            return total;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn check_complete(server: &Server, id: &str, valid: usize) {
    let job = server.wait_job(id).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let file = &job["resource"][0]["file"];
    assert_eq!(file["total_count"], ROWS);
    assert_eq!(file["added_count"], valid, "{job}");
    assert_eq!(file["skipped_count"], ROWS - valid);
    let (_, rows) = server.result_rows(&job).await;
    assert_eq!(rows.len(), ROWS + 1);
    let mut ids = HashSet::new();
    for (index, row) in rows[1..].iter().enumerate() {
        let i = index + 1;
        assert_eq!(row[2], format!("crash{i}@example.com"), "result rows are in input order");
        if i % 7 == 0 {
            assert_eq!((row[3].as_str(), row[5].as_str()), ("SKIPPED", "MANDATORY_NOT_FOUND-Last_Name"), "row {i}");
        } else {
            assert_eq!(row[3], "ADDED", "row {i}: {row:?}");
            assert!(ids.insert(row[4].clone()), "record id {} given twice", row[4]);
        }
    }
    let records = server.all_records("Leads", "Email").await;
    assert_eq!(records.len(), valid, "every valid row stored exactly once");
    let emails: HashSet<&str> = records.iter().map(|r| r["Email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), valid);
}

#[tokio::test]
async fn a_job_killed_mid_way_completes_after_restart_exactly_once() {
    let env = [("BULKWRITE_CHUNK_ROWS", "50")];
    let mut server = Server::start(&env).await;
    let (csv, valid) = big_csv();
    let file_id = server.upload_csv("crash.csv", &csv).await;
    let (status, created) = server.create_job(&body(&file_id)).await;
    assert_eq!(status, 201);
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let done_before = wait_mid_way(&server, &id).await;
    server.kill();

    let server = server.restart().await;
    let resumed = server.job(&id).await;
    let checkpoint = resumed["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
    assert!(checkpoint >= done_before, "progress survives the crash: {checkpoint} < {done_before}");
    check_complete(&server, &id, valid).await;
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert!(state["attempts"].as_u64().unwrap() >= 2, "{state}");
}

#[tokio::test]
async fn sigterm_checkpoints_the_job_and_exits_cleanly() {
    let env = [("BULKWRITE_CHUNK_ROWS", "50")];
    let mut server = Server::start(&env).await;
    let (csv, valid) = big_csv();
    let file_id = server.upload_csv("crash.csv", &csv).await;
    let (_, created) = server.create_job(&body(&file_id)).await;
    let id = created["details"]["id"].as_str().unwrap().to_string();
    wait_mid_way(&server, &id).await;
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let server = server.restart().await;
    check_complete(&server, &id, valid).await;
}
