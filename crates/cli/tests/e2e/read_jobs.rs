//! Bulk Read jobs in our own views and limits across nodes: `/bulkwrite/v1/jobs` lists them as
//! reads (filtered by kind), `/bulkwrite/v1/jobs/{id}` shows them as reads; a cancelled export is
//! `FAILURE` in Zoho's view with its `error_message`, and the sweeper deletes the parts it left;
//! on PostgreSQL, Zoho's ten downloads a minute per user hold across two nodes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bulk_read::{create_read, download, import_leads, wait_read};
use crate::harness::Server;

/// Files under `dir` (recursively); none when it does not exist.
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|entry| if entry.path().is_dir() { files_under(&entry.path()) } else { 1 }).sum()
}

async fn ids_listed(server: &Server, query: &str) -> Vec<String> {
    let (status, body) = server.get_json(&format!("/bulkwrite/v1/jobs{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["jobs"].as_array().unwrap().iter().map(|job| job["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn read_jobs_are_listed_as_reads_and_a_cancelled_exports_parts_are_swept() {
    // Small parts so the export is still running when it is cancelled; a short upload retention
    // so the sweeper passes every two seconds.
    let env = [("BULKWRITE_READ_PART_RECORDS", "20"), ("BULKWRITE_UPLOAD_RETENTION", "20s")];
    let server = Server::start(&env).await;
    import_leads(&server, 20_000).await;
    let writes = ids_listed(&server, "?kind=write").await;
    assert_eq!(writes.len(), 1, "the import");

    let query = json!({"query": {"module": {"api_name": "Leads"}, "fields": ["Email"]}});
    let (status, created) = create_read(&server, "v8", &query).await;
    assert_eq!(status, 201, "{created}");
    let running = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let parts = server.dir.join("blobs/reads").join(&server.org).join(&running);
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_under(&parts) < 2 {
        assert!(Instant::now() < deadline, "the export never wrote its parts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cancelled = crate::cancel::cancel_and_wait(&server, &running).await;
    assert_eq!(
        (&cancelled["kind"], &cancelled["operation"], &cancelled["status"]),
        (&json!("read"), &json!("read"), &json!("FAILURE")),
        "{cancelled}"
    );
    assert_eq!(cancelled["read"]["module"], json!("Leads"));
    let zoho = wait_read(&server, "v8", &running).await;
    assert_eq!(zoho["state"], "FAILURE");
    let message = &zoho["result"]["error_message"];
    assert_eq!(message["code"], "CANCELLED", "{zoho}");
    assert!(message["message"].as_str().unwrap().starts_with("cancelled by "), "{zoho}");
    // The parts the export committed are deleted by the sweeper.
    let deadline = Instant::now() + Duration::from_secs(30);
    while files_under(&parts) > 0 {
        assert!(Instant::now() < deadline, "the cancelled export's parts were never swept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let small = json!({"query": {"module": "Leads", "fields": ["Last_Name"],
        "criteria": {"api_name": "Last_Name", "comparator": "equal", "value": "Read 00001"}}});
    let (_, created) = create_read(&server, "v2", &small).await;
    let done = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(wait_read(&server, "v2", &done).await["state"], "COMPLETED");
    let (status, list) = server.get_json("/bulkwrite/v1/jobs?kind=read").await;
    assert_eq!(status, 200, "{list}");
    let jobs = list["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{list}");
    let newest = &jobs[0];
    assert_eq!(
        (&newest["id"], &newest["kind"], &newest["operation"], &newest["status"], &newest["modules"]),
        (&json!(done), &json!("read"), &json!("read"), &json!("COMPLETED"), &json!(["Leads"]))
    );
    assert_eq!(newest["counts"]["total"], json!(1), "the records it exported");
    assert_eq!(jobs[1]["status"], json!("FAILURE"));
    assert_eq!(ids_listed(&server, "?operation=read").await, [done.clone(), running.clone()]);
    assert_eq!(ids_listed(&server, "?kind=write").await, writes, "a read job is no write job");
    assert_eq!(ids_listed(&server, "?operation=insert").await, writes, "nor an insert");
    assert_eq!(ids_listed(&server, "?kind=read&status=FAILURE").await, [running]);
    assert_eq!(ids_listed(&server, "?module=Leads").await.len(), 3, "a read job is of the module it exports");
    let (status, refused) = server.get_json("/bulkwrite/v1/jobs?kind=export").await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_DATA")), "{refused}");
    let (_, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{done}")).await;
    assert_eq!(
        (&view["kind"], &view["operation"], &view["read"]["count"], &view["read"]["more_records"]),
        (&json!("read"), &json!("read"), &json!(1), &json!(false)),
        "{view}"
    );
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn on_postgresql_ten_downloads_a_minute_hold_across_two_nodes() {
    let database = crate::multinode::fresh_database().await;
    let first = crate::multinode::node(&database, "all", &[]).await;
    let second = crate::multinode::node(&database, "all", &[]).await;
    import_leads(&first, 3).await;
    let (status, created) = create_read(&first, "v8", &json!({"query": {"module": {"api_name": "Leads"}}})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(wait_read(&first, "v8", &id).await["state"], "COMPLETED");
    // Five through each node: ten in all for this user.
    for node in [&first, &second, &first, &second, &first, &second, &first, &second, &first, &second] {
        assert_eq!(download(node, "v8", &id).await.len(), 4, "header and three records");
    }
    for node in [&first, &second] {
        let response =
            node.auth(node.http.get(node.url(&format!("/crm/bulk/v8/read/{id}/result")))).send().await.unwrap();
        assert_eq!(response.status(), 429, "the eleventh, whichever node serves it");
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    }
}
