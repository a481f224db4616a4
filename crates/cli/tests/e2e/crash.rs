//! Crash safety: a job killed mid-way with SIGKILL completes after a restart, every valid row
//! stored exactly once and one result row per input row; SIGTERM checkpoints and exits cleanly.
//! The signal is sent while the test holds the SQLite write lock, so no chunk commits between
//! the look that finds the job mid-way and the signal: the kill point is certain.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;

pub(crate) const ROWS: usize = 20_000;

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

/// The database's write lock, held by the test: while it lives the server commits nothing
/// (its writers wait, their busy timeout being 30 s), so the job cannot move.
pub(crate) struct WriteLock(rusqlite::Connection);

impl WriteLock {
    pub(crate) fn take(server: &Server) -> WriteLock {
        let conn = rusqlite::Connection::open(server.dir.join("bulkwrite.sqlite")).expect("open the database");
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
        WriteLock(conn)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// Waits until the job has applied its first rows, then takes the write lock and looks again:
/// the job is then some rows in, not finished, and stays so until the lock is dropped. Returns
/// the lock and the rows applied.
pub(crate) async fn freeze_mid_way(server: &Server, id: &str) -> (WriteLock, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.job(id).await["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the job never applied a row");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lock = WriteLock::take(server);
    // Readers are not blocked (WAL): the API shows the job as the lock froze it.
    let job = server.job(id).await;
    let total = job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
    assert_eq!(job["status"], "IN PROGRESS", "{job}");
    assert!(total > 0 && total < ROWS as u64, "{total} of {ROWS} rows applied: {job}");
    (lock, total)
}

/// Makes each chunk of the next job wait `ms` (a fault rule, kept when the job resumes), so that
/// its 20,000 rows take two seconds at least and [`freeze_mid_way`] finds it mid-way on any
/// machine: unpaced, a fast write path can end the job between the first rows seen and the lock.
async fn pace(server: &Server, ms: u64) {
    crate::fault_rules::add_rule(server, json!({"job": {"slow_ms": ms}, "times": 1})).await;
}

/// Uploads [`big_csv`] and starts its insert job: the job's id and the file's valid rows.
async fn start_big_job(server: &Server) -> (String, usize) {
    let (csv, valid) = big_csv();
    let file_id = server.upload_csv("crash.csv", &csv).await;
    let (status, created) = server.create_job(&body(&file_id)).await;
    assert_eq!(status, 201, "{created}");
    (created["details"]["id"].as_str().unwrap().to_string(), valid)
}

/// The job's committed checkpoint, whatever its state: Zoho's job details show no counts while
/// the restarted job waits in the queue to be claimed again.
async fn committed_rows(server: &Server, id: &str) -> u64 {
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    state["resources"][0]["rows_done"].as_u64().unwrap_or_else(|| panic!("no checkpoint: {state}"))
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

/// Chunks of 10 rows, batched from the 100th row, 16 chunks a commit: a kill past row 500 finds
/// chunks in the SQLite writer's open transaction.
const BATCHED: [(&str, &str); 4] = [
    ("BULKWRITE_CHUNK_ROWS", "10"),
    ("BULKWRITE_SQLITE_COMMIT_CHUNKS", "16"),
    ("BULKWRITE_SQLITE_BATCH_AFTER_ROWS", "100"),
    ("BULKWRITE_TEST_CONTROLS", "1"),
];

/// Waits until job `id` has applied 500 rows or more, still in progress; returns how many.
async fn past_row_500(server: &Server, id: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = server.job(id).await;
        let total = job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
        if total >= 500 {
            assert_eq!(job["status"], "IN PROGRESS", "the job ran through before the kill: {job}");
            return total;
        }
        assert!(Instant::now() < deadline, "the job never passed row 500: {job}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_job_killed_mid_way_completes_after_restart_exactly_once() {
    let env = [("BULKWRITE_CHUNK_ROWS", "10"), ("BULKWRITE_TEST_CONTROLS", "1")];
    let mut server = Server::start(&env).await;
    pace(&server, 1).await;
    let (id, valid) = start_big_job(&server).await;
    let (lock, done_before) = freeze_mid_way(&server, &id).await;
    server.kill();
    drop(lock);

    let server = server.restart().await;
    let checkpoint = committed_rows(&server, &id).await;
    assert!(checkpoint >= done_before, "progress survives the crash: {checkpoint} < {done_before}");
    check_complete(&server, &id, valid).await;
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert!(state["attempts"].as_u64().unwrap() >= 2, "{state}");
}

/// Killed while the SQLite writer holds several chunks in one open transaction (batching from
/// the 100th row, 16 chunks a commit): the chunks in it are lost with their checkpoint and
/// applied again on resume, each row once.
#[tokio::test]
async fn a_job_killed_with_chunks_in_an_open_transaction_completes_after_restart_exactly_once() {
    let mut server = Server::start(&BATCHED).await;
    pace(&server, 1).await;
    let (id, valid) = start_big_job(&server).await;
    let done_before = past_row_500(&server, &id).await;
    server.kill();

    let server = server.restart().await;
    let checkpoint = committed_rows(&server, &id).await;
    assert!(checkpoint >= done_before, "committed progress survives the crash: {checkpoint} < {done_before}");
    check_complete(&server, &id, valid).await;
}

/// An upsert by Email over the records [`big_csv`] made, killed while the SQLite writer holds
/// several of its chunks in one open transaction (each read on the writer, planned off it, then
/// written: see `store-sqlite/src/chunk/ahead.rs`): after the restart every row is applied once.
/// The rows the insert skipped are added now, the others update their record, and a chunk
/// applied twice would have turned some of those added rows into updated ones.
#[tokio::test]
async fn an_upsert_killed_with_chunks_in_an_open_transaction_completes_after_restart_exactly_once() {
    let mut server = Server::start(&BATCHED).await;
    let (inserted, valid) = start_big_job(&server).await;
    assert_eq!(server.wait_job(&inserted).await["status"], "COMPLETED");
    let before: std::collections::HashMap<String, String> = server
        .all_records("Leads", "Email")
        .await
        .iter()
        .map(|record| (record["Email"].as_str().unwrap().to_string(), record["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(before.len(), valid);

    pace(&server, 1).await;
    let csv: String = std::iter::once("Last_Name,Company,Email\n".to_string())
        .chain((1..=ROWS).map(|i| format!("Again {i},Acme 2,crash{i}@example.com\n")))
        .collect();
    let file_id = server.upload_csv("again.csv", &csv).await;
    let body = json!({
        "operation": "upsert",
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id, "find_by": "Email"}]
    });
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let done_before = past_row_500(&server, &id).await;
    server.kill();

    let server = server.restart().await;
    let checkpoint = committed_rows(&server, &id).await;
    assert!(checkpoint >= done_before, "committed progress survives the crash: {checkpoint} < {done_before}");
    let job = server.wait_job(&id).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let file = &job["resource"][0]["file"];
    assert_eq!(
        (file["total_count"].as_u64(), file["added_count"].as_u64()),
        (Some(ROWS as u64), Some((ROWS - valid) as u64))
    );
    assert_eq!(file["updated_count"], valid, "{job}");
    let (_, rows) = server.result_rows(&job).await;
    assert_eq!(rows.len(), ROWS + 1);
    for (index, row) in rows[1..].iter().enumerate() {
        let i = index + 1;
        let email = format!("crash{i}@example.com");
        assert_eq!(row[2], email, "result rows are in input order");
        match before.get(&email) {
            Some(id) => assert_eq!((row[3].as_str(), &row[4]), ("UPDATED", id), "row {i}"),
            None => assert_eq!(row[3], "ADDED", "row {i}: {row:?}"),
        }
    }
    let records = server.all_records("Leads", "Email,Last_Name,Company").await;
    assert_eq!(records.len(), ROWS, "every row's record once");
    for record in &records {
        let email = record["Email"].as_str().unwrap();
        let i = email.trim_start_matches("crash").trim_end_matches("@example.com");
        assert_eq!(
            (record["Last_Name"].as_str(), record["Company"].as_str()),
            (Some(&*format!("Again {i}")), Some("Acme 2"))
        );
    }
}

#[tokio::test]
async fn sigterm_checkpoints_the_job_and_exits_cleanly() {
    let env = [("BULKWRITE_CHUNK_ROWS", "50"), ("BULKWRITE_TEST_CONTROLS", "1")];
    let mut server = Server::start(&env).await;
    pace(&server, 5).await;
    let (id, valid) = start_big_job(&server).await;
    let (lock, _) = freeze_mid_way(&server, &id).await;
    let started = Instant::now();
    server.signal("TERM");
    drop(lock);
    let status = server.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let server = server.restart().await;
    check_complete(&server, &id, valid).await;
}
