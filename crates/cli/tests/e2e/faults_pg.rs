//! Surviving faults on PostgreSQL (issue 15): a node paused mid-job (idle in a transaction or
//! mid-`COPY`) is taken over within the lease and a second, and fenced when it resumes; a node
//! whose sessions the database ends goes on within seconds, not a lease later. Run when
//! BULKWRITE_TEST_DATABASE_URL names a PostgreSQL server.

use std::time::{Duration, Instant};

use crate::faults::queue_view;
use crate::harness::zip_of;

#[tokio::test]
async fn a_paused_node_is_taken_over_within_the_bound_and_fenced_when_it_resumes() {
    let Some(database) = crate::multinode::fresh_database().await else { return };
    // The session bounds, tightened through the URL's options as an operator may: a paused
    // node's transaction is ended 1 s idle, or 2 s into a statement (a COPY it stopped feeding).
    let separator = if database.contains('?') { '&' } else { '?' };
    let url = format!(
        "{database}{separator}options=-c%20idle_in_transaction_session_timeout%3D1000%20-c%20statement_timeout%3D2000"
    );
    const ROWS: usize = 100_000;
    const BROKEN: usize = 100;
    let settings =
        [("BULKWRITE_LEASE_SECONDS", "2"), ("BULKWRITE_CHUNK_ROWS", "200"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];
    let holder = crate::multinode::node(&url, "all", &settings).await;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        let email = if i % (ROWS / BROKEN) == 0 { "broken".to_string() } else { format!("row{i}@pause.example") };
        csv.push_str(&format!("Row {i},Co,{email}\n"));
    }
    let (status, uploaded) = holder.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = holder.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let processed = |job: &serde_json::Value| job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while processed(&holder.job(&id).await) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = crate::multinode::node(&url, "all", &settings).await;

    holder.signal("STOP");
    let paused = Instant::now();
    let before = processed(&other.job(&id).await);
    assert!(before < ROWS as u64, "the job finished before the pause; make it larger");
    // Lease 2 s, a 1 s poll, then the other node ends the paused node's transactions (idle in
    // one, or in a COPY it stopped feeding) and claims the job; 3 s of slack.
    let bound = Duration::from_secs(2 + 1 + 3);
    loop {
        let view = queue_view(&other, &id).await;
        if view["attempts"].as_u64() >= Some(2) {
            break;
        }
        assert!(paused.elapsed() < bound, "not taken over {:?} after the pause: {view}", paused.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took_over = paused.elapsed();
    holder.signal("CONT");

    let done = other.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let view = queue_view(&other, &id).await;
    assert_eq!(view["attempts"], 2, "the resumed node was fenced and claimed nothing again: {view}");
    let file = &done["resource"][0]["file"];
    let counts = (file["total_count"].as_u64(), file["added_count"].as_u64(), file["skipped_count"].as_u64());
    assert_eq!(counts, (Some(ROWS as u64), Some((ROWS - BROKEN) as u64), Some(BROKEN as u64)));
    let (_, count) = other.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(
        count["count"],
        serde_json::json!(ROWS - BROKEN),
        "every valid row stored exactly once (paused at {before}, taken over after {took_over:?})"
    );
    let (_, rows) = other.result_rows(&done).await;
    assert_eq!(rows.len(), ROWS + 1);
    drop(holder);
}

#[tokio::test]
async fn a_job_whose_sessions_are_terminated_resumes_in_seconds_not_a_lease_later() {
    let Some(database) = crate::multinode::fresh_database().await else { return };
    const ROWS: usize = 60_000;
    // A 20 s lease: resuming within a few seconds shows the job was given back, not left to expire.
    let settings =
        [("BULKWRITE_LEASE_SECONDS", "20"), ("BULKWRITE_CHUNK_ROWS", "200"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];
    let server = crate::multinode::node(&database, "all", &settings).await;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        csv.push_str(&format!("Row {i},Co,row{i}@terminate.example\n"));
    }
    let (status, uploaded) = server.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (_, created) = server.create_job(&body).await;
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let rows_done = |view: &serde_json::Value| view["resources"][0]["rows_done"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows_done(&queue_view(&server, &id).await) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let admin = std::env::var("BULKWRITE_TEST_DATABASE_URL").unwrap();
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = database.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let ended = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'bulkwrite-%'",
            &[&name],
        )
        .await
        .unwrap();
    assert!(!ended.is_empty(), "the node's sessions were ended");
    let terminated = Instant::now();
    // A request that meets one of the ended connections answers 500 INTERNAL_ERROR (the pool
    // then drops it); the next one gets a fresh connection.
    let view_now = || async {
        loop {
            let (status, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
            if status == 200 {
                return view;
            }
            assert_eq!(view["code"], "INTERNAL_ERROR", "{view}");
        }
    };
    let at_termination = rows_done(&view_now().await);
    let view = loop {
        let view = view_now().await;
        // Five more chunks committed: the job went on (on fresh connections, or given back
        // and claimed again), not a lease later.
        if rows_done(&view) >= at_termination + 1000 {
            break view;
        }
        assert!(terminated.elapsed() < Duration::from_secs(8), "not resumed {:?} after: {view}", terminated.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view["error"], serde_json::Value::Null, "{view}");
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], serde_json::json!(ROWS), "every row stored exactly once");
}
