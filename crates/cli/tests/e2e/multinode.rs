//! Several nodes on one PostgreSQL database (issue 6): a job created through one node is
//! visible, downloadable and called back through another; a node killed mid-job is replaced by
//! another that finishes the job after the lease expires, every row applied exactly once.
//! Runs when BULKWRITE_TEST_DATABASE_URL names a PostgreSQL server (CI gives the local one); each
//! test creates a fresh database on it. Without it at build time these tests are ignored
//! (build.rs sets `pg_tests`), so nextest reports them as skipped.

use std::time::{Duration, Instant};

use bulkwrite_store_postgres::scratch;
use serde_json::{json, Value};

use crate::harness::{zip_of, Server};

/// The test server's URL. The tests that call this are ignored unless the build saw
/// `BULKWRITE_TEST_DATABASE_URL`; one run anyway without it fails rather than passing untested.
pub fn database_url() -> String {
    std::env::var("BULKWRITE_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("this test needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")
}

/// A fresh database on the test server.
pub async fn fresh_database() -> String {
    // `bw_<unix seconds>_…`: the store tests drop such databases once they are an hour old.
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let name = format!("bw_{seconds}_nodes{}_{}", std::process::id(), rand_suffix());
    scratch::create(&database_url(), &name).await.expect("create database")
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}

pub async fn node(database: &str, role: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![("BULKWRITE_DATABASE_URL", database), ("BULKWRITE_ROLE", role)];
    env.extend_from_slice(extra);
    Server::start(&env).await
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_job_created_through_one_node_is_run_shown_and_served_by_another() {
    let database = fresh_database().await;
    let (callback_url, mut received) = crate::callback::receiver(vec![200]).await;
    let allow = [("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1")];
    let front = node(&database, "api", &allow).await;
    let back = node(&database, "all", &allow).await;
    assert_eq!(front.org, back.org, "nodes on one database share the org");
    assert_eq!(front.bootstrap["access_token"], back.bootstrap["access_token"]);
    let file_id = front.upload_csv("leads.csv", "Last_Name,Company,Email\nA,Co,a@nodes.example\nB,Co,bad\n").await;
    let body = json!({
        "operation": "insert",
        "callback": {"url": callback_url, "method": "post"},
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]
    });
    let (status, created) = front.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap();
    let done = back.wait_job(id).await;
    assert_eq!(done["status"], "COMPLETED");
    let (_, rows) = back.result_rows(&done).await;
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[1][3].as_str(), rows[2][3].as_str()), ("ADDED", "SKIPPED"));
    let through_front = front.job(id).await;
    assert_eq!(through_front["status"], "COMPLETED");
    let (_, same_rows) = front.result_rows(&through_front).await;
    assert_eq!(same_rows, rows, "the result is readable through either node");
    let posted = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("a callback").unwrap();
    let posted: serde_json::Value = serde_json::from_slice(&posted.body).expect("JSON callback body");
    assert_eq!(posted["id"], json!(id));
    let (status, health) = front.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    let scratch = tempfile::tempdir().unwrap();
    let admin = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["admin", "orgs", "--database-url", &database, "--data-dir"])
        .arg(scratch.path())
        .output()
        .unwrap();
    assert!(admin.status.success(), "{}", String::from_utf8_lossy(&admin.stderr));
    let orgs = String::from_utf8_lossy(&admin.stdout);
    assert!(orgs.contains(&front.org), "`bulkwrite admin` works on the shared database: {orgs}");
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_node_killed_mid_job_is_replaced_and_every_row_lands_once_in_order() {
    let database = fresh_database().await;
    const ROWS: usize = 100_000;
    const BROKEN: usize = 100;
    let settings =
        [("BULKWRITE_LEASE_SECONDS", "2"), ("BULKWRITE_CHUNK_ROWS", "200"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];
    let mut holder = node(&database, "all", &settings).await;

    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        let email = if i % (ROWS / BROKEN) == 0 { "broken".to_string() } else { format!("row{i}@kill.example") };
        csv.push_str(&format!("Row {i},Co,{email}\n"));
    }
    let (status, uploaded) = holder.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = holder.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let processed = |job: &serde_json::Value| job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);

    // The only node running jobs holds this one; then the second node joins.
    let deadline = Instant::now() + Duration::from_secs(60);
    while processed(&holder.job(&id).await) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = node(&database, "all", &settings).await;
    let before_kill = processed(&other.job(&id).await);
    assert!(before_kill < ROWS as u64, "the job finished before the kill; make it larger");
    holder.kill();

    let done = other.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (_, state) = other.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(state["attempts"], 2, "claimed by the killed node, then taken over: {state}");
    let file = &done["resource"][0]["file"];
    let counts = (file["total_count"].as_u64(), file["added_count"].as_u64(), file["skipped_count"].as_u64());
    assert_eq!(counts, (Some(ROWS as u64), Some((ROWS - BROKEN) as u64), Some(BROKEN as u64)));
    let (_, rows) = other.result_rows(&done).await;
    assert_eq!(rows.len(), ROWS + 1);
    let mut ids = std::collections::HashSet::new();
    for (index, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], format!("Row {}", index + 1), "result rows stay in input order");
        let expected = if (index + 1) % (ROWS / BROKEN) == 0 { "SKIPPED" } else { "ADDED" };
        assert_eq!(row[3], expected, "row {}: {row:?}", index + 1);
        if expected == "ADDED" {
            assert!(ids.insert(row[4].clone()), "record id {} given twice", row[4]);
        }
    }
    let (_, count) = other.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], json!(ROWS - BROKEN), "every valid row stored exactly once (killed at {before_kill})");
}

/// Two nodes upsert the same records by Email at once, each job setting a field of its own. A
/// chunk reads its records without locking them; one that meets the other job's write to a record
/// it read is made again, so both jobs complete with every row `UPDATED`, and every record keeps
/// both jobs' fields.
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn two_nodes_upserting_the_same_records_at_once_lose_neither_jobs_writes() {
    let database = fresh_database().await;
    const ROWS: usize = 5_000;
    let settings = [("BULKWRITE_CHUNK_ROWS", "200")];
    let first = node(&database, "all", &settings).await;
    let second = node(&database, "all", &settings).await;
    let file = |column: &str, value: &str| {
        let mut csv = format!("Last_Name,Company,Email{column}\n");
        for i in 1..=ROWS {
            csv.push_str(&format!("Row {i},Co,row{i}@race.example{value}\n"));
        }
        csv
    };
    let seeded = first.wait_job(&first.insert_job(&file("", ""), None).await).await;
    assert_eq!(seeded["resource"][0]["file"]["added_count"], json!(ROWS), "{seeded}");

    let phones = first.upload_csv("phones.csv", &file(",Phone", ",555 0100")).await;
    let notes = second.upload_csv("notes.csv", &file(",Description", ",from the second job")).await;
    let (by_first, by_second) = tokio::join!(upsert_by_email(&first, phones), upsert_by_email(&second, notes));
    let (by_first, by_second) = tokio::join!(first.wait_job(&by_first), second.wait_job(&by_second));
    for done in [&by_first, &by_second] {
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let file = &done["resource"][0]["file"];
        assert_eq!((file["updated_count"].as_u64(), file["added_count"].as_u64()), (Some(ROWS as u64), Some(0)));
    }
    let records = first.all_records("Leads", "Email,Phone,Description").await;
    assert_eq!(records.len(), ROWS);
    let lost: Vec<&Value> = records
        .iter()
        .filter(|record| record["Phone"] != "555 0100" || record["Description"] != "from the second job")
        .collect();
    assert!(lost.is_empty(), "{} records lost a job's write, as {:?}", lost.len(), lost.first());
}

/// Creates an upsert of Leads by Email from the uploaded `file_id`; returns the job's id.
async fn upsert_by_email(server: &Server, file_id: String) -> String {
    let body = json!({"operation": "upsert",
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id, "find_by": "Email"}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}
