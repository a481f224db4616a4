//! Stepping the queue on the real binary (issue 19): paused, a job waits; each step runs exactly
//! one chunk and answers once it committed, so Zoho's details path shows `IN PROGRESS` with
//! exact partial counts; a pause stops a running job before its next chunk; resumed, the job
//! finishes with every row applied once. Driven by the Rust client and by `bulkwrite admin`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::controls::{controls, SWITCH};
use crate::harness::Server;

/// `rows` leads named `Row 1` … with unique emails.
pub fn leads(rows: usize) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 1..=rows {
        csv.push_str(&format!("Row {n},Co,row{n}@step.example\n"));
    }
    csv
}

/// Zoho's status of the job and its file's `(added_count, total_count)` (absent: `None`).
pub fn zoho_counts(details: &Value) -> (String, Option<u64>, Option<u64>) {
    let file = &details["resource"][0]["file"];
    (
        details["status"].as_str().unwrap_or_default().to_string(),
        file["added_count"].as_u64(),
        file["total_count"].as_u64(),
    )
}

fn progress(job: &bulkwrite_client::JobState) -> (String, u64) {
    (job.state.clone(), job.rest["resources"][0]["rows_done"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn a_paused_queue_is_stepped_one_chunk_at_a_time_with_exact_counts() {
    let server = Server::start(&[SWITCH, ("BULKWRITE_CHUNK_ROWS", "2")]).await;
    let client = controls(&server);
    let paused = client.pause_queue().await.expect("paused");
    assert_eq!((paused.paused, paused.running), (true, 0));
    let id = server.insert_job(&leads(5), None).await;
    assert_eq!(zoho_counts(&server.job(&id).await), ("ADDED".into(), None, None));
    let queue = client.queue().await.unwrap();
    assert_eq!((queue.paused, queue.queued, queue.running, queue.held), (true, 1, 0, 0));

    let first = client.step_queue(None).await.expect("one chunk");
    assert_eq!((first.id.as_str(), first.status.as_str()), (id.as_str(), "IN PROGRESS"));
    assert_eq!(progress(&first), ("RUNNING".into(), 2));
    assert_eq!(zoho_counts(&server.job(&id).await), ("IN PROGRESS".into(), Some(2), Some(2)), "Zoho's path agrees");
    assert_eq!(client.queue().await.unwrap().held, 1, "held between steps");

    let second = client.step_queue(Some(&id)).await.expect("the named job");
    assert_eq!(progress(&second), ("RUNNING".into(), 4));
    assert_eq!(zoho_counts(&server.job(&id).await), ("IN PROGRESS".into(), Some(4), Some(4)));
    let last = client.step_queue(Some(&id)).await.expect("the last chunk");
    assert_eq!((last.state.as_str(), last.status.as_str()), ("SUCCEEDED", "COMPLETED"));
    assert_eq!(zoho_counts(&server.job(&id).await), ("COMPLETED".into(), Some(5), Some(5)));

    match client.step_queue(Some(&id)).await {
        Err(bulkwrite_client::Error::Api { code, message, .. }) => {
            assert_eq!(code, "INVALID_REQUEST");
            assert_eq!(message, "the job already finished with status COMPLETED");
        }
        other => panic!("a finished job is not stepped: {other:?}"),
    }
    match client.step_queue(None).await {
        Err(bulkwrite_client::Error::Api { code, .. }) => assert_eq!(code, "INVALID_REQUEST", "nothing waits"),
        other => panic!("nothing to step: {other:?}"),
    }
    let resumed = client.resume_queue().await.unwrap();
    assert_eq!((resumed.paused, resumed.queued, resumed.held), (false, 0, 0));
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], 5, "every row once");
}

#[tokio::test]
async fn a_pause_stops_a_running_job_before_its_next_chunk_and_a_resume_finishes_it() {
    const ROWS: u64 = 20_000;
    let server = Server::start(&[SWITCH, ("BULKWRITE_CHUNK_ROWS", "200")]).await;
    let client = controls(&server);
    // Each of the 100 chunks is held back 20 ms, so the job cannot finish before the pause.
    crate::fault_rules::add_rule(&server, json!({"job": {"slow_ms": 20}, "times": 1})).await;
    let id = server.insert_job(&leads(ROWS as usize), None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while zoho_counts(&server.job(&id).await).2.unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let paused = client.pause_queue().await.expect("paused");
    assert_eq!((paused.running, paused.queued), (0, 0), "the pause answers once the job stopped: {paused:?}");
    let details = server.job(&id).await;
    let (status, added, total) = zoho_counts(&details);
    if status == "COMPLETED" {
        panic!("the job finished before the pause; make it larger: {details}");
    }
    assert_eq!((status.as_str(), added), ("IN PROGRESS", total), "held part-way: {details}");
    assert_eq!(paused.held, 1);
    let at_pause = total.unwrap();
    assert_eq!(at_pause % 200, 0, "stopped between chunks: {at_pause}");

    let stepped = client.step_queue(Some(&id)).await.expect("one chunk");
    assert_eq!(progress(&stepped), ("RUNNING".into(), at_pause + 200), "exactly one chunk more");
    assert_eq!(zoho_counts(&server.job(&id).await).2, Some(at_pause + 200));

    client.resume_queue().await.expect("resumed");
    let done = server.wait_job(&id).await;
    assert_eq!(zoho_counts(&done), ("COMPLETED".into(), Some(ROWS), Some(ROWS)), "{done}");
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], ROWS, "every row applied once across the pause and the step");
}

/// `bulkwrite admin … --data-dir DIR`: its stdout as JSON.
fn admin(server: &Server, args: &[&str]) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(&server.dir)
        .output()
        .expect("bulkwrite admin runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{args:?}: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed {stdout}: {e}"))
}

#[tokio::test]
async fn bulkwrite_admin_moves_the_clock_and_steps_the_queue_of_the_running_server() {
    let server = Server::start(&[SWITCH, ("BULKWRITE_CHUNK_ROWS", "2")]).await;
    assert_eq!(admin(&server, &["clock", "show"])["offset_seconds"], 0);
    assert_eq!(admin(&server, &["clock", "advance", "7d"])["offset_seconds"], 7 * 86_400);
    assert_eq!(admin(&server, &["clock", "reset"])["offset_seconds"], 0);
    assert_eq!(admin(&server, &["queue", "pause"])["paused"], true);
    let id = server.insert_job(&leads(3), None).await;
    assert_eq!(admin(&server, &["queue", "show"]), json!({"paused": true, "queued": 1, "running": 0, "held": 0}));
    let stepped = admin(&server, &["queue", "step", "--job", &id]);
    assert_eq!(
        (stepped["job"]["id"].as_str(), stepped["job"]["status"].as_str()),
        (Some(id.as_str()), Some("IN PROGRESS"))
    );
    assert_eq!(stepped["job"]["resources"][0]["added"], 2);
    assert_eq!(zoho_counts(&server.job(&id).await), ("IN PROGRESS".into(), Some(2), Some(2)));
    assert_eq!(admin(&server, &["queue", "resume"])["paused"], false);
    assert_eq!(zoho_counts(&server.wait_job(&id).await), ("COMPLETED".into(), Some(3), Some(3)));

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["admin", "clock", "advance", "-1h", "--data-dir"])
        .arg(&server.dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("INVALID_DATA") && stderr.contains("negative"), "{stderr}");
}
