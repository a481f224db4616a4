//! Undo on the real binary (issue 19): `POST /bulkwrite/v1/jobs/{id}/undo` deletes what a job
//! added and gives what it updated its previous values back, leaves a record changed since
//! alone with a `CONFLICT` row, refuses what cannot be undone, and finishes exactly once after a
//! SIGKILL mid-way.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::controls::{controls, SWITCH};
use crate::crash::WriteLock;
use crate::harness::Server;

/// `Last_Name,Company,Email` rows `Undo 1` … with unique emails.
pub(crate) fn leads(rows: usize) -> String {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=rows {
        csv.push_str(&format!("Undo {i},Acme,undo{i}@example.com\n"));
    }
    csv
}

pub(crate) async fn run_job(server: &Server, operation: &str, csv: &str) -> Value {
    let file_id = server.upload_csv("leads.csv", csv).await;
    let mut resource = json!({"type": "data", "module": "Leads", "file_id": file_id});
    if operation != "insert" {
        resource["find_by"] = json!("Email");
    }
    let (status, created) = server.create_job(&json!({"operation": operation, "resource": [resource]})).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    job
}

pub(crate) async fn call(server: &Server, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server.auth(server.http.request(method, server.url(path))).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

pub(crate) async fn undo(server: &Server, job: &str) -> (u16, Value) {
    call(server, Method::POST, &format!("/bulkwrite/v1/jobs/{job}/undo"), Value::Null).await
}

/// Queues an undo of `job` and waits until it finished; returns its document.
pub(crate) async fn undo_and_wait(server: &Server, job: &str) -> Value {
    let (status, queued) = undo(server, job).await;
    assert_eq!(status, 201, "{queued}");
    assert_eq!((queued["undo_of"].as_str(), queued["kind"].as_str()), (Some(job), Some("undo")));
    wait_state(server, queued["id"].as_str().unwrap()).await
}

pub(crate) async fn wait_state(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
        assert_eq!(status, 200, "{state}");
        if matches!(state["state"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELLED")) {
            return state;
        }
        assert!(Instant::now() < deadline, "undo {id} never finished: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(RECORD_ID, STATUS, ERRORS)` of an undo's result rows (the header checked).
pub(crate) async fn undo_rows(server: &Server, undo: &Value) -> Vec<(String, String, String)> {
    let (name, rows) = server.result_rows(undo).await;
    assert_eq!(name, "undo-Leads-leads.csv");
    assert_eq!(rows[0], ["RECORD_ID", "STATUS", "ERRORS", "MODULE", "SOURCE_ROW"]);
    rows[1..].iter().map(|row| (row[0].clone(), row[1].clone(), row[2].clone())).collect()
}

fn ids_of(job_rows: &[Vec<String>]) -> Vec<String> {
    job_rows[1..].iter().map(|row| row[4].clone()).collect()
}

#[tokio::test]
async fn an_insert_is_undone_by_deleting_and_an_update_by_restoring() {
    let server = Server::start(&[]).await;
    let inserted = run_job(&server, "insert", &leads(3)).await;
    let (_, rows) = server.result_rows(&inserted).await;
    let ids = ids_of(&rows);
    let undone = undo_and_wait(&server, inserted["id"].as_str().unwrap()).await;
    assert_eq!((undone["state"].as_str(), undone["kind"].as_str()), (Some("SUCCEEDED"), Some("undo")), "{undone}");
    assert_eq!(undone["undo_of"], inserted["id"]);
    assert_eq!(undone["undo"], json!({"deleted": 3, "restored": 0, "conflicts": 0}));
    let seen = undo_rows(&server, &undone).await;
    assert_eq!(seen.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), ids);
    assert!(seen.iter().all(|r| r.1 == "DELETED" && r.2.is_empty()), "{seen:?}");
    assert!(server.all_records("Leads", "Email").await.is_empty(), "the records are gone");
    // Zoho's details path knows no undo job.
    let (status, _) = server.get_json(&format!("/crm/bulk/v2/write/{}", undone["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);

    let base = run_job(&server, "insert", &leads(2)).await;
    let renamed = "Last_Name,Company,Email\nRenamed 1,Initech,undo1@example.com\nRenamed 2,Acme,undo2@example.com\n";
    let updated = run_job(&server, "update", renamed).await;
    assert_eq!(updated["resource"][0]["file"]["updated_count"], 2, "{updated}");
    let undone = undo_and_wait(&server, updated["id"].as_str().unwrap()).await;
    let seen = undo_rows(&server, &undone).await;
    assert_eq!(seen.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["RESTORED", "RESTORED"]);
    let mut records = server.all_records("Leads", "Last_Name,Company").await;
    records.sort_by_key(|r| r["Last_Name"].as_str().unwrap_or("").to_string());
    let names: Vec<(&str, &str)> =
        records.iter().map(|r| (r["Last_Name"].as_str().unwrap(), r["Company"].as_str().unwrap())).collect();
    assert_eq!(names, [("Undo 1", "Acme"), ("Undo 2", "Acme")], "the previous values are back");
    // The insert before: its records were written since (by the update and by its undo), so
    // its own undo leaves them alone.
    let again = undo_and_wait(&server, base["id"].as_str().unwrap()).await;
    assert_eq!(again["undo"], json!({"deleted": 0, "restored": 0, "conflicts": 2}), "{again}");
    assert_eq!(server.all_records("Leads", "Last_Name").await.len(), 2);
}

#[tokio::test]
async fn a_record_changed_after_the_job_is_kept_with_a_conflict_row() {
    let server = Server::start(&[]).await;
    let inserted = run_job(&server, "insert", &leads(2)).await;
    let (_, rows) = server.result_rows(&inserted).await;
    let ids = ids_of(&rows);
    let path = format!("/crm/v2/Leads/{}", ids[1]);
    let (status, answer) = call(&server, Method::PUT, &path, json!({"data": [{"Last_Name": "Edited"}]})).await;
    assert_eq!(status, 200, "{answer}");

    let undone = undo_and_wait(&server, inserted["id"].as_str().unwrap()).await;
    assert_eq!(undone["undo"], json!({"deleted": 1, "restored": 0, "conflicts": 1}), "{undone}");
    let seen = undo_rows(&server, &undone).await;
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), (ids[0].as_str(), "DELETED"));
    assert_eq!((seen[1].0.as_str(), seen[1].1.as_str()), (ids[1].as_str(), "CONFLICT"));
    let reason = &seen[1].2;
    assert!(reason.starts_with(&format!("record {} was changed at ", ids[1])), "{reason}");
    assert!(reason.ends_with("after the job wrote it"), "{reason}");
    let records = server.all_records("Leads", "Last_Name").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Last_Name"], "Edited", "the later value is kept");
}

#[tokio::test]
async fn what_cannot_be_undone_is_refused_in_a_sentence() {
    let server = Server::start(&[SWITCH]).await;
    let inserted = run_job(&server, "insert", &leads(1)).await;
    let id = inserted["id"].as_str().unwrap();
    let undone = undo_and_wait(&server, id).await;
    let undo_id = undone["id"].as_str().unwrap();

    let expect = |(status, body): (u16, Value), words: &str| {
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")), "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{message:?} should say {words:?}");
    };
    expect(undo(&server, undo_id).await, "an undo cannot be undone");
    let (status, body) = undo(&server, id).await;
    assert_eq!(body["details"]["undo_job_id"], undo_id);
    expect((status, body), "is already undone");

    // A dry run wrote nothing.
    let file_id = server.upload_csv("leads.csv", &leads(1)).await;
    let dry = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = call(&server, Method::POST, "/bulkwrite/v1/dry-runs", dry.clone()).await;
    assert_eq!(status, 201, "{created}");
    let dry_id = created["details"]["id"].as_str().unwrap().to_string();
    server.wait_job(&dry_id).await;
    expect(undo(&server, &dry_id).await, "is a dry run");

    // A job still in the queue.
    let client = controls(&server);
    client.pause_queue().await.expect("paused");
    let (status, created) = server.create_job(&dry).await;
    assert_eq!(status, 201);
    let queued = created["details"]["id"].as_str().unwrap().to_string();
    expect(undo(&server, &queued).await, "is still QUEUED");
    client.resume_queue().await.expect("resumed");

    let (status, body) = undo(&server, "5725767000000999999").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")), "{body}");
    // The admin may undo any org's job (here: the queued one, once it finished).
    server.wait_job(&queued).await;
    let response = server
        .http
        .post(server.url(&format!("/bulkwrite/v1/jobs/{queued}/undo")))
        .bearer_auth(server.boot("admin_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let (status, list) = server.get_json("/bulkwrite/v1/jobs?kind=undo").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["jobs"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn an_undo_killed_mid_way_finishes_after_restart_exactly_once() {
    const ROWS: usize = 3000;
    let mut server = Server::start(&[("BULKWRITE_CHUNK_ROWS", "10")]).await;
    let inserted = run_job(&server, "insert", &leads(ROWS)).await;
    let (status, queued) = undo(&server, inserted["id"].as_str().unwrap()).await;
    assert_eq!(status, 201, "{queued}");
    let id = queued["id"].as_str().unwrap().to_string();
    let path = format!("/bulkwrite/v1/jobs/{id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let done_before = loop {
        let (_, state) = server.get_json(&path).await;
        let done = state["resources"][0]["rows_done"].as_u64().unwrap_or(0);
        if done > 0 {
            break done;
        }
        assert!(Instant::now() < deadline, "the undo never settled a chunk: {state}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let lock = WriteLock::take(&server);
    let (_, frozen) = server.get_json(&path).await;
    let at = frozen["resources"][0]["rows_done"].as_u64().unwrap();
    assert_eq!(frozen["state"], "RUNNING", "{frozen}");
    assert!(at >= done_before && at < ROWS as u64, "{at} of {ROWS}");
    server.kill();
    drop(lock);

    let server = server.restart().await;
    let undone = wait_state(&server, &id).await;
    assert_eq!(undone["state"], "SUCCEEDED", "{undone}");
    assert!(undone["attempts"].as_u64().unwrap() >= 2, "{undone}");
    assert_eq!(undone["undo"], json!({"deleted": ROWS, "restored": 0, "conflicts": 0}), "{undone}");
    let seen = undo_rows(&server, &undone).await;
    assert_eq!(seen.len(), ROWS, "one row per record");
    let unique: HashSet<&str> = seen.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(unique.len(), ROWS, "no record settled twice");
    assert!(seen.iter().all(|r| r.1 == "DELETED"), "nothing was seen as changed by the undo itself");
    assert!(server.all_records("Leads", "Email").await.is_empty());
}

#[tokio::test]
async fn the_command_line_undoes_and_waits_and_another_org_sees_no_job() {
    let server = Server::start(&[]).await;
    let inserted = run_job(&server, "insert", &leads(2)).await;
    let id = inserted["id"].as_str().unwrap();
    let (other_org, other_token) = crate::isolation::second_org(&server).await;
    let path = format!("/bulkwrite/v1/jobs/{id}/undo");
    let (status, body) = crate::isolation::send_as(&server, &other_token, Method::POST, &path, Value::Null).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")), "org {other_org}: {body}");

    let workspace = crate::cli::Workspace::new();
    let output = workspace.run(&server, &["jobs", "undo", id, "--wait"]);
    let text = crate::cli::stdout(&output);
    assert_eq!(crate::cli::code(&output), 0, "{text}");
    assert!(text.contains("SUCCEEDED — 2 deleted, 0 restored, 0 left alone"), "{text}");
    assert!(server.all_records("Leads", "Email").await.is_empty());
    let output = workspace.run(&server, &["jobs", "undo", id]);
    assert_ne!(crate::cli::code(&output), 0, "a second undo is refused");
}
