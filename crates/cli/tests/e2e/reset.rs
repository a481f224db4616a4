//! Reset and snapshots of an org (test controls, issue 19): a reset empties the org's state and
//! keeps its metadata and the caller's token, another org untouched; a snapshot restores
//! records, jobs, results and callbacks exactly; running jobs stop; the CLI. Each case on SQLite
//! and on PostgreSQL.

use reqwest::Method;
use serde_json::{json, Value};

use crate::controls::mint_token;
use crate::fault_rules::{start, Backend};
use crate::harness::{Server, TOKEN};
use crate::inbox::{admin_cli, inbox_url, job_with_callback};
use crate::isolation::{second_org, send_as};

crate::on_both_backends!(
    a_reset_empties_the_org_and_keeps_its_metadata_and_the_callers_token,
    a_restored_snapshot_brings_back_records_jobs_and_results,
    a_reset_stops_a_running_job,
    a_reset_mid_run_leaves_nothing_of_the_job,
    bulkwrite_admin_resets_and_snapshots_an_org,
);

/// Imports `rows` leads named `prefix1…`; returns the finished job's id.
async fn import(server: &Server, prefix: &str, rows: usize) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 1..=rows {
        csv.push_str(&format!("{prefix}{n},Co,{prefix}{n}@reset.example\n"));
    }
    let file_id = server.upload_csv("leads.csv", &csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(server.wait_job(&id).await["status"], "COMPLETED");
    id
}

async fn leads(server: &Server, token: &str) -> Vec<String> {
    let (status, page) = send_as(server, token, Method::GET, "/crm/v2/Leads?fields=Last_Name", Value::Null).await;
    if status == 204 {
        return Vec::new();
    }
    assert_eq!(status, 200, "{page}");
    let mut names: Vec<String> =
        page["data"].as_array().unwrap().iter().map(|r| r["Last_Name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

fn post(path: String) -> (Method, String) {
    (Method::POST, path)
}

async fn call(server: &Server, token: &str, (method, path): (Method, String), body: Value) -> (u16, Value) {
    send_as(server, token, method, &path, body).await
}

async fn a_reset_empties_the_org_and_keeps_its_metadata_and_the_callers_token(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    let job = import(&server, "gone", 3).await;
    let callback_job = job_with_callback(&server, Some(&inbox_url(&server, "r"))).await;
    server.wait_job(&callback_job).await;
    let other_token = mint_token(&server, "ZohoCRM.bulk.ALL").await;
    let (other_org, their_token) = second_org(&server).await;
    let (status, summary) =
        call(&server, TOKEN, post(format!("/bulkwrite/v1/orgs/{}/reset", server.org)), Value::Null).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!((&summary["records"], &summary["jobs"]), (&json!(4), &json!(2)), "{summary}");
    assert_eq!(summary["org_id"], json!(server.org));

    assert!(leads(&server, TOKEN).await.is_empty(), "records are gone");
    let (status, _) = server.get_json(&format!("/crm/bulk/v2/write/{job}")).await;
    assert_eq!(status, 404, "jobs are gone");
    let (status, _) = server.get_json(&format!("/bulkwrite/v1/jobs/{callback_job}/callback")).await;
    assert_eq!(status, 404, "callbacks are gone");
    let (status, inbox) = server.get_json("/bulkwrite/v1/inbox/r").await;
    assert_eq!((status, inbox), (200, json!({"deliveries": []})), "the inbox is empty");
    let (status, _) = server.get_as(&other_token, "/bulkwrite/v1/jobs").await;
    assert_eq!(status, 401, "other tokens are gone");
    let (status, modules) = server.get_json("/crm/v2/settings/modules").await;
    assert_eq!(status, 200, "the caller's token works: {modules}");
    assert!(modules["modules"].as_array().unwrap().iter().any(|m| m["api_name"] == "Leads"), "metadata stays");

    // The other org is untouched; another org's token cannot reset this one.
    let (status, _) = server.get_as(&their_token, "/bulkwrite/v1/jobs").await;
    assert_eq!(status, 200, "another org's token stays");
    let (status, refused) =
        call(&server, &their_token, post(format!("/bulkwrite/v1/orgs/{}/reset", server.org)), Value::Null).await;
    assert_eq!(status, 401, "no bulkwrite.test scope: {refused}");
    let (status, refused) =
        call(&server, TOKEN, post(format!("/bulkwrite/v1/orgs/{other_org}/reset")), Value::Null).await;
    assert_eq!((status, &refused["code"]), (404, &json!("RESOURCE_NOT_FOUND")), "{refused}");

    // The org works as new: the same unique keys can be imported again.
    import(&server, "gone", 3).await;
    assert_eq!(leads(&server, TOKEN).await.len(), 3);
}

async fn a_restored_snapshot_brings_back_records_jobs_and_results(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    let kept = import(&server, "kept", 3).await;
    let details = server.job(&kept).await;
    let (_, rows) = server.result_rows(&details).await;
    let snapshots = format!("/bulkwrite/v1/orgs/{}/snapshots", server.org);
    let (status, snapshot) = call(&server, TOKEN, post(snapshots.clone()), json!({"name": "clean"})).await;
    assert_eq!(status, 201, "{snapshot}");
    assert_eq!((&snapshot["name"], &snapshot["records"], &snapshot["jobs"]), (&json!("clean"), &json!(3), &json!(1)));
    let (status, taken) = call(&server, TOKEN, post(snapshots.clone()), json!({"name": "clean"})).await;
    assert_eq!((status, &taken["code"]), (400, &json!("DUPLICATE_DATA")), "{taken}");
    let (status, bad) = call(&server, TOKEN, post(snapshots.clone()), json!({"name": "no spaces"})).await;
    assert_eq!((status, &bad["code"]), (400, &json!("INVALID_DATA")), "{bad}");

    let later = import(&server, "later", 2).await;
    call(&server, TOKEN, post(format!("/bulkwrite/v1/orgs/{}/reset", server.org)), Value::Null).await;
    import(&server, "after", 1).await;
    let (status, restored) = call(&server, TOKEN, post(format!("{snapshots}/clean/restore")), Value::Null).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(leads(&server, TOKEN).await, ["kept1", "kept2", "kept3"]);
    assert_eq!(server.job(&kept).await, details, "the job reads as it did");
    let (_, rows_again) = server.result_rows(&details).await;
    assert_eq!(rows_again, rows, "its result file still downloads");
    let (status, _) = server.get_json(&format!("/crm/bulk/v2/write/{later}")).await;
    assert_eq!(status, 404, "a job after the snapshot is gone");
    // Restoring again gives the same state; the snapshot stays until deleted.
    import(&server, "more", 1).await;
    call(&server, TOKEN, post(format!("{snapshots}/clean/restore")), Value::Null).await;
    assert_eq!(leads(&server, TOKEN).await.len(), 3);

    let (status, list) = server.get_json(&snapshots).await;
    assert_eq!(status, 200);
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 1, "{list}");
    let (status, removed) = call(&server, TOKEN, (Method::DELETE, format!("{snapshots}/clean")), Value::Null).await;
    assert_eq!((status, removed), (200, json!({"removed": 1})));
    let (status, missing) = call(&server, TOKEN, post(format!("{snapshots}/clean/restore")), Value::Null).await;
    assert_eq!((status, &missing["code"]), (404, &json!("RESOURCE_NOT_FOUND")), "{missing}");
}

async fn a_reset_stops_a_running_job(backend: Backend) {
    let (server, _) = start(backend, &[("BULKWRITE_CHUNK_ROWS", "2")]).await;
    let (status, _) = call(&server, TOKEN, post("/bulkwrite/v1/queue/pause".into()), Value::Null).await;
    assert_eq!(status, 200);
    let mut csv = String::from("Last_Name,Company\n");
    for n in 1..=6 {
        csv.push_str(&format!("run{n},Co\n"));
    }
    let file_id = server.upload_csv("leads.csv", &csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (_, created) = server.create_job(&body).await;
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let (status, stepped) = call(&server, TOKEN, post("/bulkwrite/v1/queue/step".into()), json!({"job_id": id})).await;
    assert_eq!(status, 200, "{stepped}");
    assert_eq!(leads(&server, TOKEN).await.len(), 2, "one chunk applied, the job held mid-way");

    let (status, summary) =
        call(&server, TOKEN, post(format!("/bulkwrite/v1/orgs/{}/reset", server.org)), Value::Null).await;
    assert_eq!((status, &summary["jobs"]), (200, &json!(1)), "{summary}");
    call(&server, TOKEN, post("/bulkwrite/v1/queue/resume".into()), Value::Null).await;
    let (status, _) = server.get_json(&format!("/crm/bulk/v2/write/{id}")).await;
    assert_eq!(status, 404);
    // The queue runs on: a new job completes, and nothing of the reset job comes back.
    import(&server, "new", 2).await;
    assert_eq!(leads(&server, TOKEN).await, ["new1", "new2"]);
}

async fn a_reset_mid_run_leaves_nothing_of_the_job(backend: Backend) {
    let (server, _) = start(backend, &[("BULKWRITE_CHUNK_ROWS", "2")]).await;
    crate::fault_rules::add_rule(&server, json!({"job": {"slow_ms": 100}, "times": 1})).await;
    let mut csv = String::from("Last_Name,Company\n");
    // 30 chunks of 100 ms: seconds to see it part-way, however loaded the machine.
    for n in 1..=60 {
        csv.push_str(&format!("slow{n},Co\n"));
    }
    let file_id = server.upload_csv("leads.csv", &csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (_, created) = server.create_job(&body).await;
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let job = server.job(&id).await;
        let added = job["resource"][0]["file"]["added_count"].as_u64().unwrap_or(0);
        if job["status"] == "IN PROGRESS" && added > 0 {
            break;
        }
        assert_ne!(job["status"], "COMPLETED", "the slow job finished before the reset: {job}");
        assert!(std::time::Instant::now() < deadline, "the job never ran: {job}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, summary) =
        call(&server, TOKEN, post(format!("/bulkwrite/v1/orgs/{}/reset", server.org)), Value::Null).await;
    assert_eq!((status, &summary["jobs"]), (200, &json!(1)), "{summary}");
    // Its worker's next write finds no lease: whenever it comes, nothing of the job is written.
    import(&server, "next", 2).await;
    assert_eq!(leads(&server, TOKEN).await, ["next1", "next2"]);
    let (status, _) = server.get_json(&format!("/crm/bulk/v2/write/{id}")).await;
    assert_eq!(status, 404);
}

async fn bulkwrite_admin_resets_and_snapshots_an_org(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    import(&server, "cli", 2).await;
    let created: Value = serde_json::from_str(&admin_cli(&server, &["snapshot", "create", "base"])).unwrap();
    assert_eq!(created["records"], 2, "{created}");
    let listed: Value = serde_json::from_str(&admin_cli(&server, &["snapshot", "list"])).unwrap();
    assert_eq!(listed["snapshots"][0]["name"], "base", "{listed}");
    let reset: Value = serde_json::from_str(&admin_cli(&server, &["reset"])).unwrap();
    assert_eq!(reset["records"], 2, "{reset}");
    // The admin key resets every token of the org, the bootstrap token too; a restore brings it back.
    let restored: Value = serde_json::from_str(&admin_cli(&server, &["snapshot", "restore", "base"])).unwrap();
    assert_eq!(restored["name"], "base");
    assert_eq!(leads(&server, TOKEN).await, ["cli1", "cli2"]);
    let deleted: Value = serde_json::from_str(&admin_cli(&server, &["snapshot", "delete", "base"])).unwrap();
    assert_eq!(deleted, json!({"removed": 1}));
    let other = format!("--org={}", server.org);
    let listed: Value = serde_json::from_str(&admin_cli(&server, &["snapshot", "list", &other])).unwrap();
    assert_eq!(listed, json!({"snapshots": []}));
}

#[tokio::test]
async fn without_the_switch_reset_and_snapshots_are_unknown_urls() {
    let server = Server::start(&[]).await;
    let org = &server.org;
    for (method, path) in [
        (Method::POST, format!("/bulkwrite/v1/orgs/{org}/reset")),
        (Method::POST, format!("/bulkwrite/v1/orgs/{org}/snapshots")),
        (Method::GET, format!("/bulkwrite/v1/orgs/{org}/snapshots")),
        (Method::POST, format!("/bulkwrite/v1/orgs/{org}/snapshots/a/restore")),
        (Method::DELETE, format!("/bulkwrite/v1/orgs/{org}/snapshots/a")),
    ] {
        let (status, body) = send_as(&server, TOKEN, method.clone(), &path, json!({"name": "a"})).await;
        assert_eq!((status, &body["code"]), (404, &json!("INVALID_URL_PATTERN")), "{method} {path}: {body}");
    }
}
