//! Several nodes on one PostgreSQL database (issue 6): a job created through one node is
//! visible, downloadable and called back through another; a node killed mid-job is replaced by
//! another that finishes the job after the lease expires, every row applied exactly once.
//! Runs when BULKWRITE_TEST_DATABASE_URL names a PostgreSQL server (CI gives the local one); each
//! test creates a fresh database on it.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{zip_of, Server};

/// A fresh database on the test server, or `None` (test skipped) without one.
async fn fresh_database() -> Option<String> {
    let Ok(url) = std::env::var("BULKWRITE_TEST_DATABASE_URL") else {
        eprintln!("skipped: BULKWRITE_TEST_DATABASE_URL is not set");
        return None;
    };
    let (client, connection) =
        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    let name = format!("bw_nodes_{}_{}", std::process::id(), rand_suffix());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
    Some(format!("{base}/{name}"))
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}

async fn node(database: &str, role: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![("BULKWRITE_DATABASE_URL", database), ("BULKWRITE_ROLE", role)];
    env.extend_from_slice(extra);
    Server::start(&env).await
}

#[tokio::test]
async fn a_job_created_through_one_node_is_run_shown_and_served_by_another() {
    let Some(database) = fresh_database().await else { return };
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
}

#[tokio::test]
async fn a_node_killed_mid_job_is_replaced_and_every_row_lands_once_in_order() {
    let Some(database) = fresh_database().await else { return };
    let lease = [("BULKWRITE_LEASE_SECONDS", "2"), ("BULKWRITE_CHUNK_ROWS", "200")];
    let api = node(&database, "api", &lease).await;
    let mut doomed = node(&database, "worker", &lease).await;
    let (status, health) = doomed.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")), "a worker node serves /healthz");
    let (status, _) = doomed.get_json("/crm/v2/org").await;
    assert_eq!(status, 404, "and nothing else");

    const ROWS: usize = 20_000;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        let email = if i % 1000 == 0 { "broken".to_string() } else { format!("row{i}@kill.example") };
        csv.push_str(&format!("Row {i},Co,{email}\n"));
    }
    let (status, uploaded) = api.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = api.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = api.job(&id).await;
        let processed = job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
        if processed > 0 {
            assert!(processed < ROWS as u64, "the job finished before the kill; make it larger");
            break;
        }
        assert!(Instant::now() < deadline, "the worker never started: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill();
    let _successor = node(&database, "worker", &lease).await;
    let done = api.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let file = &done["resource"][0]["file"];
    assert_eq!((file["total_count"].as_u64(), file["skipped_count"].as_u64()), (Some(ROWS as u64), Some(20)));
    let (_, rows) = api.result_rows(&done).await;
    assert_eq!(rows.len(), ROWS + 1);
    for (index, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], format!("Row {}", index + 1), "result rows stay in input order");
    }
    let records = api.all_records("Leads", "Email").await;
    assert_eq!(records.len(), ROWS - 20, "every valid row stored exactly once");
    let mut emails: Vec<&str> = records.iter().map(|r| r["Email"].as_str().unwrap()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), ROWS - 20);
}
