//! Dry runs end to end: a dry run killed mid-way answers after a restart exactly as the real
//! job then does, in-file duplicates across the kill point included; the same promise on
//! PostgreSQL; `bulkwrite import --dry-run`.

use serde_json::{json, Value};

use crate::cli::Workspace;
use crate::crash::{freeze_mid_way, ROWS};
use crate::harness::Server;

/// Rows past 15,000 repeat the emails of the first 5,000 (duplicates inside the file, chunks
/// apart); every 7th row lacks its last name.
fn csv_with_duplicates() -> String {
    let mut text = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        let name = if i % 7 == 0 { String::new() } else { format!("Dry {i}") };
        text.push_str(&format!("{name},Acme,dry{}@example.com\n", (i - 1) % 15_000));
    }
    text
}

fn body(file_id: &str, operation: &str) -> Value {
    let mut resource = json!({"type": "data", "module": "Leads", "file_id": file_id});
    if operation != "insert" {
        resource["find_by"] = json!("Email");
    }
    json!({"operation": operation, "resource": [resource]})
}

async fn create_dry_run(server: &Server, body: &Value) -> String {
    let url = server.url("/bulkwrite/v1/dry-runs");
    let response = server.auth(server.http.post(url)).json(body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let answer: Value = response.json().await.unwrap();
    answer["details"]["id"].as_str().unwrap().to_string()
}

async fn real_job(server: &Server, body: &Value) -> Vec<Vec<String>> {
    let (status, created) = server.create_job(body).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    server.result_rows(&job).await.1
}

/// `STATUS` and `ERRORS` of every row (and the echoed cells).
fn answers(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter().map(|row| [&row[..row.len() - 2], &row[row.len() - 1..]].concat()).collect()
}

#[tokio::test]
async fn a_dry_run_killed_mid_way_answers_like_the_real_job_after_restart() {
    let env = [("BULKWRITE_CHUNK_ROWS", "50"), ("BULKWRITE_TEST_CONTROLS", "1")];
    let mut server = Server::start(&env).await;
    let file_id = server.upload_csv("dry.csv", &csv_with_duplicates()).await;
    // Each chunk of the dry run waits 5 ms (a fault rule, kept when it resumes): 2 s at least,
    // so it is still mid-way when frozen on any machine; unpaced it once ended first.
    crate::fault_rules::add_rule(&server, serde_json::json!({"job": {"slow_ms": 5}, "times": 1})).await;
    let id = create_dry_run(&server, &body(&file_id, "insert")).await;
    let (lock, _) = freeze_mid_way(&server, &id).await;
    server.kill();
    drop(lock);

    let server = server.restart().await;
    let dry = server.wait_job(&id).await;
    assert_eq!(dry["status"], "COMPLETED", "{dry}");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert!(state["attempts"].as_u64().unwrap() >= 2, "the dry run was resumed: {state}");
    let (_, dry_rows) = server.result_rows(&dry).await;
    assert!(server.all_records("Leads", "Email").await.is_empty(), "a dry run writes no record");
    let duplicates = dry_rows.iter().filter(|row| row[5] == "DUPLICATE_DATA-Email").count();
    assert!(duplicates > 3000, "duplicates inside the file are caught: {duplicates}");
    assert!(dry_rows[1..].iter().all(|row| row[4].is_empty()), "no id is shown for records not created");

    let real_rows = real_job(&server, &body(&file_id, "insert")).await;
    assert_eq!(answers(&dry_rows), answers(&real_rows), "same STATUS and ERRORS, row for row");
}

/// A dry run of an upsert on PostgreSQL: updates of stored records (with their ids), records the
/// file adds and updates again, duplicates; then the real job gives the same answers.
async fn upsert_answers_like_the_real_job(server: &Server) {
    let seed = server.upload_csv("seed.csv", "Last_Name,Company,Email\nOld,Acme,old@example.com\n").await;
    real_job(server, &body(&seed, "insert")).await;
    let csv = "Last_Name,Company,Email\nNew,Acme,old@example.com\nFresh,Acme,new@example.com\n\
               ,Acme,bad@example.com\nAgain,Acme,NEW@example.com\nOnce more,Acme,old@example.com\n";
    let file_id = server.upload_csv("upsert.csv", csv).await;
    let id = create_dry_run(server, &body(&file_id, "upsert")).await;
    let dry = server.wait_job(&id).await;
    let (_, dry_rows) = server.result_rows(&dry).await;
    let stored = server.all_records("Leads", "Last_Name").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["Last_Name"], "Old", "the dry run changed no record");
    let stored_id = stored[0]["id"].as_str().unwrap().to_string();
    let statuses: Vec<&str> = dry_rows[1..].iter().map(|row| row[3].as_str()).collect();
    assert_eq!(statuses, ["UPDATED", "ADDED", "SKIPPED", "UPDATED", "UPDATED"]);
    assert_eq!((dry_rows[1][4].as_str(), dry_rows[5][4].as_str()), (stored_id.as_str(), stored_id.as_str()));
    assert_eq!((dry_rows[2][4].as_str(), dry_rows[4][4].as_str()), ("", ""), "no id for a record the file adds");
    let real_rows = real_job(server, &body(&file_id, "upsert")).await;
    assert_eq!(answers(&dry_rows), answers(&real_rows));
    assert_eq!(real_rows[1][4], stored_id);
}

#[tokio::test]
async fn a_dry_run_upsert_answers_like_the_real_job() {
    upsert_answers_like_the_real_job(&Server::start(&[]).await).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_dry_run_upsert_answers_like_the_real_job_on_postgres() {
    let database = crate::multinode::fresh_database().await;
    upsert_answers_like_the_real_job(&crate::multinode::node(&database, "all", &[]).await).await;
}

#[tokio::test]
async fn import_dry_run_writes_the_result_and_no_record() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write(
        "leads.csv",
        "Last_Name,Email,Company\nAda,ada@example.com,Acme\n,bad@example.com,Acme\nBo,ADA@example.com,Acme\n",
    );
    let (status, summary) = work.json(&server, &["import", "leads.csv", "--module", "Leads", "--dry-run"]);
    assert_eq!(status, 2, "{summary}");
    assert_eq!(summary["dry_run"], true);
    assert_eq!((summary["added"].as_u64(), summary["skipped"].as_u64()), (Some(1), Some(2)), "{summary}");
    let job = summary["jobs"][0].as_str().unwrap();
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{job}")).await;
    assert_eq!(state["dry_run"], true);
    let result = work.read("leads.dry-run.csv");
    assert!(result.contains("DUPLICATE_DATA"), "{result}");
    assert!(server.all_records("Leads", "Email").await.is_empty());
}

/// A dry run's report shows no id for a record the run would add (as its result file), and a
/// duplicate's reason names the field and the row's own cell.
#[tokio::test]
async fn a_dry_run_report_hides_provisional_ids_and_names_a_duplicates_field() {
    let server = Server::start(&[]).await;
    let csv = "Last_Name,Company,Email\nFirst,Acme,same@example.com\nSecond,Acme,SAME@example.com\n";
    let file_id = server.upload_csv("report.csv", csv).await;
    let id = create_dry_run(&server, &body(&file_id, "insert")).await;
    server.wait_job(&id).await;
    let url = server.url(&format!("/bulkwrite/v1/jobs/{id}/report?format=jsonl"));
    let response = server.auth(server.http.get(url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!((lines[0]["status"].as_str(), &lines[0]["record_id"]), (Some("ADDED"), &Value::Null), "{text}");
    assert_eq!(lines[1]["status"], "SKIPPED", "{text}");
    let error = &lines[1]["errors"][0];
    assert_eq!(
        (error["code"].as_str(), error["column"].as_str(), error["field"].as_str(), error["value"].as_str()),
        (Some("DUPLICATE_DATA"), Some("Email"), Some("Email"), Some("SAME@example.com")),
        "{text}"
    );
}
