//! Retention (issue 14): with retentions of seconds, the real binary expires unused uploads and
//! result files. Before, the file id takes a job and the download link serves the zip; after,
//! the file id answers `FILE_NOT_FOUND`, the link `404 RESOURCE_NOT_FOUND` / `x-info: Link not
//! valid`, and the space is given back: blob files (SQLite) or blob chunks (PostgreSQL) and
//! result rows deleted, SQLite's freed pages reused. The job row stays and says expired. An
//! upload a queued or running job needs is never expired.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;

/// Uploads expire 3 s after upload, results 8 s after their job finished (time enough to read
/// the result before, on a busy machine); sweeps every second.
const RETENTION: [(&str, &str); 2] = [("BULKWRITE_UPLOAD_RETENTION", "3s"), ("BULKWRITE_RESULT_RETENTION", "8s")];

/// `rows` Leads rows that all skip (`MANDATORY_NOT_FOUND-Last_Name`), so a job writes result
/// rows and no records: its space is all result rows, and a second such job needs no more.
fn skipped_rows_csv(rows: usize, tag: &str) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 0..rows {
        csv.push_str(&format!(",Co {n},{tag}{n}@retention.example\n"));
    }
    csv
}

fn insert_body(file_id: &str) -> Value {
    json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]})
}

async fn run_job(server: &Server, file_id: &str) -> (String, Value) {
    let (status, created) = server.create_job(&insert_body(file_id)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let done = server.wait_job(&id).await;
    (id, done)
}

/// Polls `check` every 100 ms until it holds; fails after `seconds`.
async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within {seconds} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn own_view(server: &Server, id: &str) -> Value {
    let (status, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(status, 200, "{view}");
    view
}

async fn wait_result_expired(server: &Server, id: &str) -> Value {
    eventually(30, "the result's expiry", || async { own_view(server, id).await["result_expired"] == true }).await;
    own_view(server, id).await
}

/// The download link of a finished job, fetched raw.
async fn download(server: &Server, job: &Value) -> (u16, Option<String>, Vec<u8>) {
    let url = job["result"]["download_url"].as_str().expect("download_url");
    let response = server.auth(server.http.get(url)).send().await.expect("download");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

/// What a client sees once the result file and the upload have expired.
async fn check_expired_answers(server: &Server, id: &str, done: &Value, file_id: &str) {
    let (status, content_type, body) = download(server, done).await;
    let body: Value = serde_json::from_slice(&body).expect("a JSON error body");
    assert_eq!((status, content_type.as_deref()), (404, Some("application/json")), "{body}");
    assert_eq!(
        body,
        json!({"status": "error", "code": "RESOURCE_NOT_FOUND", "message": "Link not valid", "details": {},
               "x-info": "Link not valid"})
    );
    let details = server.job(id).await;
    assert_eq!(details["status"], "COMPLETED", "Zoho's job details keep working: {details}");
    // Each node hands out links on its own base URL; the link's path stays as it was.
    let path = |job: &Value| {
        job["result"]["download_url"]
            .as_str()
            .and_then(|url| url.split_once("/v2/crm/"))
            .map(|(_, path)| path.to_string())
    };
    assert_eq!(path(&details), path(done), "the link stays as it was: {details}");
    assert!(path(done).is_some());
    assert_eq!(details["resource"][0]["file"], done["resource"][0]["file"], "counts stay");

    let (status, refused) = server.create_job(&insert_body(file_id)).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("FILE_NOT_FOUND")), "{refused}");
    assert_eq!((refused["status"].as_str(), refused["details"].clone()), (Some("error"), json!({})));
    let (status, unknown) = server.create_job(&insert_body("5725767000000999999")).await;
    assert_eq!((status, unknown["code"].as_str()), (400, Some("FILE_NOT_SUPPORTED")), "a never-known id: {unknown}");
}

fn blob_path(server: &Server, kind: &str, id: &str) -> PathBuf {
    server.dir.join("blobs").join(kind).join(&server.org).join(format!("{id}.zip"))
}

/// `(page_count, freelist_count, result rows of job)` of the server's SQLite file, read beside
/// the running server (WAL readers see every commit).
fn sqlite_pages(dir: &Path, job: &str) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(dir.join("bulkwrite.sqlite")).expect("open the database");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let pages = conn.query_row("PRAGMA page_count", [], |row| row.get(0)).unwrap();
    let free = conn.query_row("PRAGMA freelist_count", [], |row| row.get(0)).unwrap();
    let job: i64 = job.parse().unwrap();
    let results =
        conn.query_row("SELECT COUNT(*) FROM job_results WHERE job_id = ?1", [job], |row| row.get(0)).unwrap();
    (pages, free, results)
}

#[tokio::test]
async fn files_expire_and_their_space_is_reused_on_sqlite() {
    // Chunks of 2,000 rows: the second job's one chunk of result rows fits the pages the first
    // job's three freed.
    let server = Server::start(&[RETENTION[0], RETENTION[1], ("BULKWRITE_CHUNK_ROWS", "2000")]).await;
    let file_id = server.upload_csv("leads.csv", &skipped_rows_csv(6000, "a")).await;
    let upload_blob = blob_path(&server, "uploads", &file_id);
    assert!(upload_blob.exists(), "{}", upload_blob.display());
    let (id, done) = run_job(&server, &file_id).await;
    let result_blob = blob_path(&server, "results", &id);

    // Before: the link serves the zip, and our view says when it will expire.
    let (status, content_type, zip) = download(&server, &done).await;
    assert_eq!((status, content_type.as_deref()), (200, Some("application/zip")));
    assert!(zip.starts_with(b"PK"));
    assert!(result_blob.exists());
    let view = own_view(&server, &id).await;
    assert_eq!((view["result_expired"].clone(), view["result_expired_at"].clone()), (json!(false), Value::Null));
    assert!(view["result_expires_at"].is_string(), "{view}");
    assert_eq!(sqlite_pages(&server.dir, &id).2, 3, "6,000 rows in three 2,000-row chunks");

    // After: the job row stays, marked; the files and rows are gone.
    let view = wait_result_expired(&server, &id).await;
    assert!(view["result_expired_at"].is_string(), "{view}");
    assert_eq!((view["state"].as_str(), view["resources"][0]["skipped"].as_u64()), (Some("SUCCEEDED"), Some(6000)));
    eventually(30, "deleting the blob files", || async { !upload_blob.exists() && !result_blob.exists() }).await;
    check_expired_answers(&server, &id, &done, &file_id).await;
    let (pages, free, results) = sqlite_pages(&server.dir, &id);
    assert_eq!(results, 0, "the result rows are deleted");
    assert!(free > 20, "the deleted rows' pages are free: {free} of {pages}");

    // A second, smaller job writes its result rows into those pages: the file does not grow.
    let second_file = server.upload_csv("leads.csv", &skipped_rows_csv(2000, "b")).await;
    let (second, second_done) = run_job(&server, &second_file).await;
    assert_eq!(second_done["resource"][0]["file"]["skipped_count"], 2000);
    let (pages_after, free_after, second_results) = sqlite_pages(&server.dir, &second);
    assert_eq!(second_results, 1);
    assert_eq!(pages_after, pages, "no new pages: freed ones were reused ({free} free before, {free_after} after)");
    assert!(free_after < free, "pages came off the freelist: {free} → {free_after}");
}

#[tokio::test]
async fn an_upload_a_queued_or_running_job_needs_is_kept() {
    // First start: two jobs on one org that runs one job at a time, killed before they finish.
    let one_at_a_time = ("BULKWRITE_MAX_RUNNING_PER_ORG", "1");
    let server = Server::start(&[one_at_a_time]).await;
    let mut long = String::from("Last_Name,Company,Email\n");
    for n in 0..25_000 {
        long.push_str(&format!("L{n},Co,l{n}@kept.example\n"));
    }
    let long_file = server.upload_csv("long.csv", &long).await;
    let short_file = server.upload_csv("short.csv", "Last_Name,Company,Email\nS,Co,s@kept.example\n").await;
    let (_, first) = server.create_job(&insert_body(&long_file)).await;
    let (_, second) = server.create_job(&insert_body(&short_file)).await;
    let (first, second) = (first["details"]["id"].as_str().unwrap(), second["details"]["id"].as_str().unwrap());
    let dir = server.into_dir();
    // While the server is down, both uploads are made an hour old (rather than waiting).
    let conn = rusqlite::Connection::open(dir.join("bulkwrite.sqlite")).expect("open the database");
    assert_eq!(conn.execute("UPDATE uploads SET created_at = created_at - 3600000", []).unwrap(), 2);
    drop(conn);

    // Restarted with uploads kept for one second: both uploads are older than that when the
    // first sweep runs, one job running and one queued behind it. Neither upload may go.
    let env = vec![
        (one_at_a_time.0.to_string(), one_at_a_time.1.to_string()),
        ("BULKWRITE_UPLOAD_RETENTION".to_string(), "1s".to_string()),
    ];
    let server = Server::start_in(dir, env).await;
    let short_blob = blob_path(&server, "uploads", &short_file);
    let queued = server.job(second).await;
    assert_eq!(queued["status"], "ADDED", "the short job waits behind the long one: {queued}");
    assert!(short_blob.exists(), "a queued job's upload is kept");
    let long_done = server.wait_job(first).await;
    assert_eq!(long_done["status"], "COMPLETED", "{long_done}");
    assert_eq!(long_done["resource"][0]["file"]["added_count"], 25_000);
    let short_done = server.wait_job(second).await;
    assert_eq!(short_done["status"], "COMPLETED", "the queued job still found its file: {short_done}");
    assert_eq!(short_done["resource"][0]["file"]["added_count"], 1);
    // Once no job needs them, both uploads expire.
    let long_blob = blob_path(&server, "uploads", &long_file);
    eventually(30, "expiring the uploads once unused", || async { !short_blob.exists() && !long_blob.exists() }).await;
    let (status, refused) = server.create_job(&insert_body(&short_file)).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("FILE_NOT_FOUND")), "{refused}");
}

/// A fresh database on the test server.
async fn fresh_database() -> String {
    let url = crate::multinode::database_url();
    // `bw_<unix seconds>_…`: the store tests drop such databases once they are an hour old.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let name = format!("bw_{}_retention{}_{}", now.as_secs(), std::process::id(), now.subsec_nanos());
    bulkwrite_store_postgres::scratch::create(&url, &name).await.expect("create database")
}

async fn count(client: &tokio_postgres::Client, sql: &str, key: &str) -> i64 {
    client.query_one(sql, &[&key]).await.expect(sql).get(0)
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn files_expire_on_postgres_with_two_nodes_sweeping() {
    let database = fresh_database().await;
    let mut env = vec![("BULKWRITE_DATABASE_URL", database.as_str())];
    env.extend_from_slice(&RETENTION);
    let first = Server::start(&env).await;
    let second = Server::start(&env).await;
    let client = bulkwrite_store_postgres::scratch::client(&database).await.expect("connect");
    let file_id = first.upload_csv("leads.csv", &skipped_rows_csv(3000, "p")).await;
    let upload_key = format!("uploads/{}/{file_id}.zip", first.org);
    let chunks = "SELECT COUNT(*) FROM blobs WHERE key = $1";
    assert_eq!(count(&client, chunks, &upload_key).await, 1, "the upload is one chunk in the database");
    let (id, done) = run_job(&first, &file_id).await;
    let result_key = format!("results/{}/{id}.zip", first.org);
    assert_eq!(count(&client, chunks, &result_key).await, 1);
    let (status, _, zip) = download(&second, &done).await;
    assert_eq!(status, 200, "served by the other node");
    assert!(zip.starts_with(b"PK"));

    let view = wait_result_expired(&second, &id).await;
    assert!(view["result_expired_at"].is_string(), "{view}");
    eventually(30, "deleting the blob chunks", || async {
        count(&client, chunks, &upload_key).await == 0 && count(&client, chunks, &result_key).await == 0
    })
    .await;
    for server in [&first, &second] {
        check_expired_answers(server, &id, &done, &file_id).await;
    }
    let results = "SELECT COUNT(*) FROM job_results WHERE job_id::text = $1";
    assert_eq!(count(&client, results, &id).await, 0, "the result rows are deleted");
    let queued = "SELECT COUNT(*) FROM expired_blobs WHERE key <> $1";
    eventually(30, "emptying the deletion queue", || async { count(&client, queued, "").await == 0 }).await;
    let expired = "SELECT COUNT(*) FROM uploads WHERE expired_at IS NOT NULL AND file_id::text = $1";
    assert_eq!(count(&client, expired, &file_id).await, 1, "the upload row stays, marked");
}
