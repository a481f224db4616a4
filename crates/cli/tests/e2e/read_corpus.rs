//! The golden corpus of reads: one folder per case under `tests/read_corpus/`, each run against
//! a fresh server. A case folder holds `case.json`:
//!
//! ```json
//! {
//!   "description": "what the case shows",
//!   "records": [["Accounts", [{…}]], ["Contacts", [{"Account_Name": {"id": "<id:1>"}}]]],
//!   "checks": [
//!     {"method": "GET", "path": "/crm/v2/Leads/search?…", "status": 200, "answer": {…}},
//!     {"method": "POST", "path": "/crm/v2/coql", "body": {"select_query": "…"}, "status": 400, "answer": {…}}
//!   ]
//! }
//! ```
//!
//! `records` are written in order through the records API; `<id:N>` names the N-th record
//! written, in record bodies and request bodies (inside text too) and in answers. Each answer is compared whole (204: no body).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::Server;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_corpus")
}

/// `value` with every `<id:N>` replaced by the N-th id (`to_names`: the other way round).
fn swap(value: &Value, ids: &[String], to_names: bool) -> Value {
    match value {
        Value::String(text) if to_names => match ids.iter().position(|id| id == text) {
            Some(index) => json!(format!("<id:{}>", index + 1)),
            None => value.clone(),
        },
        // Names inside text too (a COQL query naming a record).
        Value::String(text) => {
            let mut text = text.clone();
            for (index, id) in ids.iter().enumerate() {
                text = text.replace(&format!("<id:{}>", index + 1), id);
            }
            json!(text)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| swap(v, ids, to_names)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), swap(v, ids, to_names))).collect()),
        other => other.clone(),
    }
}

async fn send(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server.auth(server.http.request(method, server.url(path)));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

pub async fn run_case(name: &str) {
    let dir = corpus_dir().join(name);
    let text = std::fs::read(dir.join("case.json")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let case: Value = serde_json::from_slice(&text).expect("case.json");
    let server = Server::start(&[]).await;
    let mut ids: Vec<String> = Vec::new();
    for batch in case["records"].as_array().cloned().unwrap_or_default() {
        let module = batch[0].as_str().unwrap();
        let records = swap(&batch[1], &ids, false);
        let (status, answer) =
            send(&server, "POST", &format!("/crm/v2/{module}"), Some(&json!({ "data": records }))).await;
        assert!(status == 201 || status == 200, "{name}: writing {module}: {answer}");
        for row in answer["data"].as_array().unwrap() {
            assert_eq!(row["code"], "SUCCESS", "{name}: writing {module}: {row}");
            ids.push(row["details"]["id"].as_str().unwrap().to_string());
        }
    }
    for (index, check) in case["checks"].as_array().expect("checks").iter().enumerate() {
        let path = check["path"].as_str().unwrap();
        let body = check.get("body").map(|b| swap(b, &ids, false));
        let (status, answer) = send(&server, check["method"].as_str().unwrap_or("GET"), path, body.as_ref()).await;
        let answer = swap(&answer, &ids, true);
        assert_eq!(u64::from(status), check["status"].as_u64().unwrap(), "{name}: check {index} ({path}): {answer}");
        assert_eq!(answer, check["answer"], "{name}: check {index} ({path})");
    }
}

macro_rules! read_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                run_case(stringify!($case)).await;
            }
        )*

        #[test]
        fn every_read_corpus_folder_is_a_test() {
            let mut folders: Vec<String> = std::fs::read_dir(corpus_dir())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
                .filter(|name| !name.starts_with('.') && name != "README.md")
                .collect();
            folders.sort();
            let mut listed: Vec<&str> = vec![$(stringify!($case)),*];
            listed.sort();
            assert_eq!(folders, listed, "tests/read_corpus folders and read_cases! must list the same cases");
        }
    };
}

read_cases!(
    coql_dates_nulls_and_in,
    coql_lookup_dot_notation,
    coql_refusals,
    coql_where_order_limit,
    search_criteria,
    search_email_phone_word,
    search_refusals,
);
