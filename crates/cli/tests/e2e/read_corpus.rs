//! The golden corpus of reads: one folder per case under `tests/read_corpus/`, each run against
//! a fresh server, on SQLite and (with `BULKWRITE_TEST_DATABASE_URL`) on PostgreSQL. A case
//! folder holds `case.json`:
//!
//! ```json
//! {
//!   "description": "what the case shows",
//!   "env": [["BULKWRITE_READ_PAGE_RECORDS", "2"]],
//!   "fields": [{"module": "Leads", "api_name": "Seen_At", "data_type": "datetime"}],
//!   "mirror": {"modules": {…}, "fields": {"Events": {…}}},
//!   "records": [["Accounts", [{…}]], ["Contacts", [{"Account_Name": {"id": "<id:1>"}}]]],
//!   "checks": [
//!     {"method": "GET", "path": "/crm/v2/Leads/search?…", "status": 200, "answer": {…}},
//!     {"bulk_read": "v8", "body": {"query": {…}}, "status": 201, "state": "COMPLETED",
//!      "result": {…}, "csv": [["id", "Last_Name"], ["<id:3>", "Ng"]]},
//!     {"bulk_read": "v2", "body": {"query": {…}}, "status": 400, "answer": {…}}
//!   ]
//! }
//! ```
//!
//! `fields` are added (admin API) and `mirror` replaces the org's schema before `records` are
//! written in order through the records API. Placeholders, in bodies (inside text too) and in
//! answers: `<id:N>` the N-th record written, `<user>` the org's user, `<job>` the Bulk Read job
//! of the check, `<token>` the last `next_page_token` seen, `<cvid:Module>` the module's "All"
//! view id (a string) and `<cvid#:Module>` the same as a JSON number. A Bulk Read check creates
//! the job, waits for it to end and compares its `state`, its `result` (whole) and the file:
//! `csv` rows whole, or `ics` lines with the `DTSTAMP` lines left out (they carry a time).

mod bulk;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::Server;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_corpus")
}

/// What placeholders stand for in one run of a case.
#[derive(Default)]
pub struct Names {
    /// Records written, in order (`<id:N>`).
    pub ids: Vec<String>,
    /// Text placeholders besides ids: `<user>`, `<job>`, `<token>`, `<cvid:…>`.
    pub texts: Vec<(String, String)>,
    /// Placeholders that stand for JSON numbers: `<cvid#:…>`.
    pub numbers: Vec<(String, u64)>,
}

impl Names {
    /// Sets (or replaces) a text placeholder.
    pub fn set(&mut self, name: &str, value: &str) {
        self.texts.retain(|(known, _)| known != name);
        self.texts.push((name.to_string(), value.to_string()));
    }

    /// `value` with placeholders filled in.
    pub fn fill(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => {
                if let Some((_, number)) = self.numbers.iter().find(|(name, _)| name == text) {
                    return json!(number);
                }
                let mut text = text.clone();
                for (index, id) in self.ids.iter().enumerate() {
                    text = text.replace(&format!("<id:{}>", index + 1), id);
                }
                for (name, real) in &self.texts {
                    text = text.replace(name, real);
                }
                json!(text)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect()),
            other => other.clone(),
        }
    }

    /// `value` with known values named by their placeholders (whole strings, and inside text).
    pub fn name(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => json!(self.name_text(text)),
            Value::Number(number) => match self.numbers.iter().find(|(_, real)| number.as_u64() == Some(*real)) {
                Some((name, _)) => json!(name),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.name(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.name(v))).collect()),
            other => other.clone(),
        }
    }

    /// `text` with known values named, whole or inside it (ids are 19 digits, tokens long hex:
    /// neither appears by chance).
    pub fn name_text(&self, text: &str) -> String {
        if let Some((name, _)) = self.texts.iter().find(|(_, real)| real == text) {
            return name.clone();
        }
        let mut named = text.to_string();
        for (index, id) in self.ids.iter().enumerate() {
            named = named.replace(id.as_str(), &format!("<id:{}>", index + 1));
        }
        for (name, real) in &self.texts {
            named = named.replace(real.as_str(), name);
        }
        named
    }
}

pub async fn send(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
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

async fn admin(server: &Server, method: reqwest::Method, path: &str, body: &Value, name: &str) {
    let (status, answer) = server.admin(method, &format!("/orgs/{}{path}", server.org), body.clone()).await;
    assert!(status == 200 || status == 201, "{name}: admin {path}: {status} {answer}");
}

/// Starts a server for the case on the backend asked for.
async fn start(case: &Value, postgres: bool) -> Server {
    let env: Vec<(String, String)> = case["env"]
        .as_array()
        .map(|pairs| {
            pairs.iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect()
        })
        .unwrap_or_default();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // A case downloads more than Zoho's ten files a minute; the limit has its own tests.
    if !env.iter().any(|(key, _)| *key == "BULKWRITE_READ_DOWNLOADS_PER_MINUTE") {
        env.push(("BULKWRITE_READ_DOWNLOADS_PER_MINUTE", "1000"));
    }
    if postgres {
        let database = crate::multinode::fresh_database().await;
        crate::multinode::node(&database, "all", &env).await
    } else {
        Server::start(&env).await
    }
}

pub async fn run_case(name: &str, postgres: bool) {
    let dir = corpus_dir().join(name);
    let text = std::fs::read(dir.join("case.json")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let case: Value = serde_json::from_slice(&text).expect("case.json");
    let server = start(&case, postgres).await;
    for field in case["fields"].as_array().cloned().unwrap_or_default() {
        admin(&server, reqwest::Method::POST, "/fields", &field, name).await;
    }
    if let Some(mirror) = case.get("mirror") {
        admin(&server, reqwest::Method::PUT, "/schema", mirror, name).await;
    }
    let mut names = Names::default();
    names.set("<user>", &server.user);
    for batch in case["records"].as_array().cloned().unwrap_or_default() {
        let module = batch[0].as_str().unwrap();
        let records = names.fill(&batch[1]);
        let (status, answer) =
            send(&server, "POST", &format!("/crm/v2/{module}"), Some(&json!({ "data": records }))).await;
        assert!(status == 201 || status == 200, "{name}: writing {module}: {answer}");
        for row in answer["data"].as_array().unwrap() {
            assert_eq!(row["code"], "SUCCESS", "{name}: writing {module}: {row}");
            names.ids.push(row["details"]["id"].as_str().unwrap().to_string());
        }
    }
    bulk::name_views(&server, &case, &mut names).await;
    for (index, check) in case["checks"].as_array().expect("checks").iter().enumerate() {
        if check.get("bulk_read").is_some() {
            bulk::check_bulk_read(&server, check, &mut names, &format!("{name}: check {index}")).await;
            continue;
        }
        let path = names.fill(&check["path"]);
        let path = path.as_str().unwrap();
        let body = check.get("body").map(|b| names.fill(b));
        let (status, answer) = send(&server, check["method"].as_str().unwrap_or("GET"), path, body.as_ref()).await;
        let answer = names.name(&answer);
        assert_eq!(u64::from(status), check["status"].as_u64().unwrap(), "{name}: check {index} ({path}): {answer}");
        assert_eq!(answer, check["answer"], "{name}: check {index} ({path})");
    }
}

macro_rules! read_cases {
    ($($case:ident),* $(,)?) => {
        /// Each case on the embedded SQLite store.
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run_case(stringify!($case), false).await;
                }
            )*
        }

        /// Each case on PostgreSQL.
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
                async fn $case() {
                    super::run_case(stringify!($case), true).await;
                }
            )*
        }

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
    bulk_read_boolean_owner_multiselect,
    bulk_read_cvid_and_paging,
    bulk_read_date_comparators,
    bulk_read_groups_and_empty,
    bulk_read_ics,
    bulk_read_lookup_dot_notation,
    bulk_read_number_comparators,
    bulk_read_refusals,
    bulk_read_text_comparators,
    coql_aggregates,
    coql_dates_nulls_and_in,
    coql_lookup_dot_notation,
    coql_lookup_where,
    coql_refusals,
    coql_where_order_limit,
    search_criteria,
    search_email_phone_word,
    search_refusals,
);
