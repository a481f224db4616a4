//! The corpus's Bulk Read checks: create the job, wait for it to end, compare its state, its
//! `result` and its file (CSV rows, or ICS lines without their `DTSTAMP`).

use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{send, Names};
use crate::harness::Server;

/// The modules a case names after `marker` (`<cvid:Leads>` → `Leads`).
fn named_modules(text: &str, markers: &[&str]) -> Vec<String> {
    let mut modules: Vec<String> = Vec::new();
    for marker in markers {
        for piece in text.split(marker).skip(1) {
            if let Some((module, _)) = piece.split_once('>') {
                if !modules.iter().any(|known| known == module) {
                    modules.push(module.to_string());
                }
            }
        }
    }
    modules
}

/// Names `<module:Module>` (the module's id), `<cvid:Module>` and `<cvid#:Module>` for every
/// module the case names them for.
pub async fn name_views(server: &Server, case: &Value, names: &mut Names) {
    let text = case.to_string();
    for module in named_modules(&text, &["<module:"]) {
        let (status, answer) = send(server, "GET", &format!("/crm/v2/settings/modules/{module}"), None).await;
        assert_eq!(status, 200, "module {module}: {answer}");
        names.set(&format!("<module:{module}>"), answer["modules"][0]["id"].as_str().expect("a module id"));
    }
    for module in named_modules(&text, &["<cvid:", "<cvid#:"]) {
        let (status, views) =
            send(server, "GET", &format!("/crm/v2/settings/custom_views?module={module}"), None).await;
        assert_eq!(status, 200, "custom views of {module}: {views}");
        let id = views["custom_views"][0]["id"].as_str().expect("a view id").to_string();
        names.numbers.push((format!("<cvid#:{module}>"), id.parse().expect("a numeric view id")));
        names.set(&format!("<cvid:{module}>"), &id);
    }
}

pub async fn check_bulk_read(server: &Server, check: &Value, names: &mut Names, label: &str) {
    let version = check["bulk_read"].as_str().expect("bulk_read: the path version");
    let body = names.fill(&check["body"]);
    let (status, answer) = send(server, "POST", &format!("/crm/bulk/{version}/read"), Some(&body)).await;
    let expected_status = check["status"].as_u64().unwrap_or(201);
    assert_eq!(u64::from(status), expected_status, "{label}: {answer}");
    if status != 201 {
        assert_eq!(names.name(&answer), check["answer"], "{label}");
        return;
    }
    assert_eq!(answer["data"][0]["code"], "ADDED_SUCCESSFULLY", "{label}: {answer}");
    let id = answer["data"][0]["details"]["id"].as_str().unwrap().to_string();
    names.set("<job>", &id);
    let job = wait(server, version, &id, label).await;
    assert_eq!(job["state"], check.get("state").cloned().unwrap_or(json!("COMPLETED")), "{label}: {job}");
    // The query echoes the token it was given; the result names the next one.
    if let Some(expected) = check.get("query") {
        assert_eq!(names.name(&job["query"]), *expected, "{label}: query");
    }
    if let Some(token) = job["result"]["next_page_token"].as_str() {
        names.set("<token>", token);
    }
    if let Some(expected) = check.get("result") {
        assert_eq!(names.name(&job["result"]), *expected, "{label}: result");
    }
    if check.get("csv").is_none() && check.get("ics").is_none() {
        return;
    }
    let text = file_text(server, version, &id, label).await;
    if let Some(expected) = check.get("csv") {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let rows: Vec<Value> = reader
            .records()
            .map(|row| Value::Array(row.unwrap().iter().map(|cell| json!(names.name_text(cell))).collect()))
            .collect();
        assert_eq!(Value::Array(rows), *expected, "{label}: csv");
    }
    if let Some(expected) = check.get("ics") {
        let lines: Vec<Value> = text
            .lines()
            .filter(|line| !line.starts_with("DTSTAMP:"))
            .map(|line| json!(names.name_text(line)))
            .collect();
        assert_eq!(Value::Array(lines), *expected, "{label}: ics");
    }
}

/// Polls the job until it is `COMPLETED` or `FAILURE`.
async fn wait(server: &Server, version: &str, id: &str, label: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = send(server, "GET", &format!("/crm/bulk/{version}/read/{id}"), None).await;
        assert_eq!(status, 200, "{label}: {body}");
        let job = body["data"][0].clone();
        if job["state"] == "COMPLETED" || job["state"] == "FAILURE" {
            return job;
        }
        assert!(Instant::now() < deadline, "{label}: the job never ended: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of the result zip's one file.
async fn file_text(server: &Server, version: &str, id: &str, label: &str) -> String {
    let url = server.url(&format!("/crm/bulk/{version}/read/{id}/result"));
    let response = server.auth(server.http.get(url)).send().await.expect("download");
    assert_eq!(response.status(), 200, "{label}: download");
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    assert_eq!(archive.len(), 1, "{label}: one file");
    let mut entry = archive.by_index(0).unwrap();
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    text
}
