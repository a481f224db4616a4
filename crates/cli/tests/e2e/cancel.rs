//! Cancel (issue 14) through the real binary: a running job stops within about a second keeping
//! the rows it committed, the rest listed `UNPROCESSED`; a queued job is cancelled at once even
//! while its org's only slot is busy, and its callback fires; a finished job, an unknown job and
//! another org's job are refused; a restart resumes nothing; across two PostgreSQL nodes the node
//! running the job notices a cancel made through the other, and cancels a queued job; a job that
//! fails mid-file lists the rows it never reached.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

/// Enough rows, in small chunks, that a job is still running when the test cancels it.
const ROWS: usize = 30_000;
const SLOW: [(&str, &str); 2] = [("BULKWRITE_CHUNK_ROWS", "20"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];

fn many_rows(rows: usize) -> String {
    let mut text = String::from("Last_Name,Company,Email\n");
    for i in 1..=rows {
        text.push_str(&format!("Cancel {i},Acme,cancel{i}@example.com\n"));
    }
    text
}

pub(crate) async fn cancel(server: &Server, id: &str) -> (u16, Value) {
    let response = server.auth(server.http.post(server.url(&format!("/bulkwrite/v1/jobs/{id}/cancel")))).send().await;
    let response = response.expect("cancel");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// Cancels a job and polls until it is cancelled: the answer is 200 once it stopped, or 202
/// when it had not stopped within the answer's wait (a loaded machine); either way it ends
/// `CANCELLED`. Returns the job's document then.
pub(crate) async fn cancel_and_wait(server: &Server, id: &str) -> Value {
    let (status, document) = cancel(server, id).await;
    assert!(status == 200 || status == 202, "{status}: {document}");
    wait_cancelled(server, id).await
}

pub(crate) async fn wait_cancelled(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, document) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
        if document["state"] == "CANCELLED" {
            return document;
        }
        assert!(Instant::now() < deadline, "never cancelled: {document}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until the job has committed some rows.
pub(crate) async fn wait_running(server: &Server, id: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = server.job(id).await;
        let total = job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
        assert_ne!(job["status"], "COMPLETED", "the job finished before it could be cancelled; make it larger");
        if total > 0 {
            return total;
        }
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn count_leads(server: &Server) -> u64 {
    let (status, body) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().unwrap()
}

/// The result of a job cancelled after `committed` rows: those rows `ADDED` in input order, then
/// one `UNPROCESSED` row for every other input row, echoing its cells, with no id and no errors.
pub(crate) fn check_partial_result(rows: &[Vec<String>], committed: u64, total: usize) {
    assert_eq!(rows[0], ["Last_Name", "Company", "Email", "STATUS", "RECORD_ID", "ERRORS"]);
    assert_eq!(rows.len(), total + 1, "one result row per input row");
    for (index, row) in rows[1..].iter().enumerate() {
        let i = index + 1;
        let echo = [format!("Cancel {i}"), "Acme".to_string(), format!("cancel{i}@example.com")];
        assert_eq!(row[..3], echo, "row {i} echoes its cells in input order");
        if (i as u64) <= committed {
            assert_eq!(row[3], "ADDED", "row {i}: {row:?}");
            assert_eq!(row[4].len(), 19, "row {i} has its record id");
        } else {
            assert_eq!(row[3..], ["UNPROCESSED", "", ""], "row {i}");
        }
    }
}

#[tokio::test]
async fn a_running_job_stops_within_a_second_keeping_its_committed_rows() {
    let server = Server::start(&SLOW).await;
    let id = server.insert_job_named("cancel.csv", &many_rows(ROWS), None).await;
    wait_running(&server, &id).await;

    let asked = Instant::now();
    let (status, document) = cancel(&server, &id).await;
    let took = asked.elapsed();
    assert_eq!(status, 200, "the answer waits for the job to stop: {document}");
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    assert_eq!(document["state"], "CANCELLED", "{document}");
    assert_eq!(document["status"], "FAILED");
    let error = document["error"].as_str().unwrap();
    assert!(error.starts_with(&format!("cancelled by {} at 20", server.user_name)), "{error}");
    assert_eq!(document["cancel"]["requested_by"], json!(server.user));

    let zoho = server.job(&id).await;
    assert_eq!(zoho["status"], "FAILED", "SDKs polling for COMPLETED/FAILED stop: {zoho}");
    let file = &zoho["resource"][0]["file"];
    let committed = file["added_count"].as_u64().unwrap();
    assert!(committed > 0 && committed < ROWS as u64, "stopped mid-file after {committed} rows");
    assert_eq!(file["total_count"].as_u64(), Some(committed), "counts stay consistent");
    assert_eq!(count_leads(&server).await, committed, "committed rows stay committed, nothing more");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(
        (state["state"].as_str(), state["resources"][0]["rows_done"].as_u64()),
        (Some("CANCELLED"), Some(committed))
    );

    let (name, rows) = server.result_rows(&zoho).await;
    assert_eq!(name, "Leads-cancel.csv");
    check_partial_result(&rows, committed, ROWS);
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once_while_its_org_is_busy_and_its_callback_fires() {
    let (callback_url, mut received) = crate::callback::receiver(vec![200]).await;
    let env = [SLOW[0], SLOW[1], ("BULKWRITE_MAX_RUNNING_PER_ORG", "1"), ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1")];
    let server = Server::start(&env).await;
    // The file's most rows: the busy job must outlast everything below, cancels noticed within
    // `CANCEL_POLL` included (30,000 rows took 0.8 s on a fast machine).
    let busy = server.insert_job(&many_rows(100_000), None).await;
    wait_running(&server, &busy).await;
    let waiting = server.insert_job(&many_rows(5), Some(&callback_url)).await;
    assert_eq!(server.job(&waiting).await["status"], "ADDED", "the org's one slot is taken");

    let document = cancel_and_wait(&server, &waiting).await;
    assert_eq!(document["state"], "CANCELLED");
    let zoho = server.job(&waiting).await;
    assert_eq!(zoho["status"], "FAILED");
    let (_, rows) = server.result_rows(&zoho).await;
    check_partial_result(&rows, 0, 5);
    assert_eq!(server.job(&busy).await["status"], "IN PROGRESS", "the running job goes on");

    let posted = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("a callback").unwrap();
    let posted: Value = serde_json::from_slice(&posted.body).expect("JSON callback body");
    assert_eq!(
        (posted["id"].as_str(), posted["status"].as_str()),
        (Some(waiting.as_str()), Some("FAILED")),
        "{posted}"
    );
    assert!(posted["result"]["download_url"].as_str().is_some(), "{posted}");

    cancel_and_wait(&server, &busy).await;
}

#[tokio::test]
async fn cancelling_a_finished_unknown_or_foreign_job_is_refused() {
    let server = Server::start(&[]).await;
    let id = server.insert_job(&many_rows(3), None).await;
    assert_eq!(server.wait_job(&id).await["status"], "COMPLETED");
    let (status, body) = cancel(&server, &id).await;
    assert_eq!(
        (status, body["status"].as_str(), body["code"].as_str()),
        (400, Some("error"), Some("INVALID_REQUEST")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("already finished") && message.contains("COMPLETED"), "{message}");
    assert_eq!(body["details"], json!({"id": id, "status": "COMPLETED", "state": "SUCCEEDED"}));
    assert_eq!(count_leads(&server).await, 3, "a refused cancel changes nothing");

    let unknown = "5725767000000999999";
    let (status, body) = cancel(&server, unknown).await;
    let (get_status, get_body) = server.get_json(&format!("/bulkwrite/v1/jobs/{unknown}")).await;
    assert_eq!((status, &body), (get_status, &get_body), "the same 404 as GET");
    assert_eq!((status, body["code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")));
    let (status, _) = cancel(&server, "not-a-number").await;
    assert_eq!(status, 404);

    let (_, other) = crate::isolation::second_org(&server).await;
    let path = format!("/bulkwrite/v1/jobs/{id}/cancel");
    let (status, body) = crate::isolation::send_as(&server, &other, Method::POST, &path, Value::Null).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")), "another org's job: {body}");
}

#[tokio::test]
async fn a_cancelled_job_is_refused_a_second_cancel_and_never_resumed_after_a_restart() {
    let server = Server::start(&SLOW).await;
    let id = server.insert_job(&many_rows(ROWS), None).await;
    wait_running(&server, &id).await;
    cancel_and_wait(&server, &id).await;
    let (status, body) = cancel(&server, &id).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
    assert!(body["message"].as_str().unwrap().contains("cancelled"), "{body}");
    let committed = count_leads(&server).await;
    let (_, before) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;

    let server = server.restart().await;
    // A job queued after the restart runs to its end; the worker claims oldest first, so had the
    // cancelled job been requeued it would have run before this one.
    let later = server.insert_job("Last_Name,Company,Email\nLater,Acme,later@example.com\n", None).await;
    assert_eq!(server.wait_job(&later).await["status"], "COMPLETED");
    let (_, after) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(after["state"], "CANCELLED");
    assert_eq!(after["attempts"], before["attempts"], "never claimed again");
    assert_eq!(after["resources"], before["resources"]);
    assert_eq!(count_leads(&server).await, committed + 1, "no row of the cancelled job was applied after it");
    assert_eq!(server.job(&id).await["status"], "FAILED");
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_cancel_through_one_postgres_node_stops_the_job_running_on_another() {
    let database = crate::multinode::fresh_database().await;
    let front = crate::multinode::node(&database, "api", &[]).await;
    let back =
        crate::multinode::node(&database, "all", &[SLOW[0], SLOW[1], ("BULKWRITE_MAX_RUNNING_PER_ORG", "1")]).await;
    let id = front.insert_job(&many_rows(ROWS), None).await;
    wait_running(&front, &id).await;

    // A job queued behind it is cancelled by the other node's finaliser, slot or no slot.
    let queued = front.insert_job(&many_rows(5), None).await;
    assert_eq!(front.job(&queued).await["status"], "ADDED");
    let document = cancel_and_wait(&front, &queued).await;
    assert_eq!(document["status"], "FAILED");
    let (_, rows) = back.result_rows(&back.job(&queued).await).await;
    check_partial_result(&rows, 0, 5);
    assert_eq!(front.job(&id).await["status"], "IN PROGRESS");

    let asked = Instant::now();
    let (status, document) = cancel(&front, &id).await;
    let took = asked.elapsed();
    assert_eq!(status, 200, "{document}");
    assert!(took < Duration::from_secs(3), "the other node noticed after {took:?}");
    assert_eq!(document["state"], "CANCELLED");
    let zoho = back.job(&id).await;
    assert_eq!(zoho["status"], "FAILED");
    let committed = zoho["resource"][0]["file"]["added_count"].as_u64().unwrap();
    assert!(committed > 0 && committed < ROWS as u64, "{zoho}");
    assert_eq!(count_leads(&front).await, committed);
    let (_, rows) = back.result_rows(&zoho).await;
    check_partial_result(&rows, committed, ROWS);
}

/// A zip whose deflated CSV breaks two thirds of the way in: the job reads the rows before the
/// break and then fails with the file unreadable.
fn zip_broken_mid_file(rows: usize) -> Vec<u8> {
    use std::io::Write;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=rows {
        csv.push_str(&format!("Cancel {i},Acme,cancel{i}@example.com\n"));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("broken.csv", options).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let field = |at: usize, len: usize| bytes[at..at + len].iter().rev().fold(0usize, |n, b| n * 256 + *b as usize);
    let start = 30 + field(26, 2) + field(28, 2);
    let middle = start + field(18, 4) * 2 / 3;
    bytes[middle..middle + 64].fill(0xFF);
    bytes
}

#[tokio::test]
async fn a_job_that_fails_mid_file_lists_the_rows_it_never_reached_as_unprocessed() {
    fails_mid_file(&[("BULKWRITE_CHUNK_ROWS", "500")]).await;
}

/// The same with SQLite committing 16 chunks a transaction: the chunks still open when the
/// reader fails are committed before the result file is read, so none of their rows is listed
/// as never reached (they were, once, all `UNPROCESSED`).
#[tokio::test]
async fn a_job_failing_mid_file_with_chunks_committed_together_lists_every_applied_row() {
    fails_mid_file(&[
        ("BULKWRITE_CHUNK_ROWS", "500"),
        ("BULKWRITE_SQLITE_COMMIT_CHUNKS", "16"),
        ("BULKWRITE_SQLITE_BATCH_AFTER_ROWS", "0"),
    ])
    .await;
}

async fn fails_mid_file(env: &[(&str, &str)]) {
    let server = Server::start(env).await;
    let (status, uploaded) = server.upload_raw(zip_broken_mid_file(6000), "broken.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap();
    let job = server.wait_job(id).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(state["state"], "FAILED");
    assert!(state["error"].as_str().unwrap().contains("cannot be read"), "{state}");
    // The broken stretch decodes to a few garbage rows (skipped) before the reader fails.
    let file = &job["resource"][0]["file"];
    let processed = file["total_count"].as_u64().unwrap();
    assert!(processed > 0 && processed % 500 == 0, "whole chunks before the break: {job}");
    let (_, rows) = server.result_rows(&job).await;
    let read = rows.len() - 1;
    assert!(read as u64 > processed && read < 6000, "rows read before the break: {read}, processed {processed}");
    for (index, row) in rows[1..].iter().enumerate() {
        let i = index as u64 + 1;
        if i <= processed {
            assert!(row[3] == "ADDED" || row[3] == "SKIPPED", "row {i}: {row:?}");
        } else {
            assert_eq!(row[3..], ["UNPROCESSED", "", ""], "row {i}");
        }
    }
    assert_eq!(rows[1][..3], ["Cancel 1", "Acme", "cancel1@example.com"]);
    assert_eq!(count_leads(&server).await, file["added_count"].as_u64().unwrap());
}
