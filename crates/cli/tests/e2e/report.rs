//! The full error report (`GET /bulkwrite/v1/jobs/{id}/report`) through the binary, on SQLite and
//! PostgreSQL: every input row with its own columns, status, record and reasons; Zoho-shaped
//! refusals; and a report far larger than the memory its server gains while sending it.

use serde_json::{json, Value};

use crate::harness::{seed_body, Server};

const CSV: &str = "Last_Name,Owner,Date_3,Mobile,Layout,Notes\n\
                   Smith,,2021/01/13,555 0101,,first\n\
                   Jones,,2021/13/01,555 0102,,\"bad, date\"\n\
                   ,,2021/02/02,555 0103,,no name\n";

async fn run_job(server: &Server, csv: &str) -> String {
    let file_id = server.upload_csv("leads.csv", csv).await;
    let mut body = seed_body(&file_id, "https://www.zoho.com/in/crm/");
    body.as_object_mut().unwrap().remove("callback");
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let job = server.wait_job(&id).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    id
}

async fn get_text(server: &Server, path: &str) -> (u16, String, String) {
    let response = server.auth(server.http.get(server.url(path))).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    (status, content_type.unwrap_or_default(), response.text().await.unwrap())
}

async fn check_report(server: &Server) {
    let id = run_job(server, CSV).await;
    let (status, content_type, text) = get_text(server, &format!("/bulkwrite/v1/jobs/{id}/report?format=jsonl")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/x-ndjson"), "{text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["row"], 1);
    assert_eq!(lines[0]["status"], "ADDED");
    assert!(lines[0]["record_id"].as_str().is_some_and(|id| id.len() > 10), "{}", lines[0]);
    assert_eq!(lines[0]["errors"], json!([]));
    assert_eq!(
        lines[1]["values"],
        json!({"Last_Name": "Jones", "Owner": "", "Date_3": "2021/13/01", "Mobile": "555 0102", "Layout": "", "Notes": "bad, date"})
    );
    assert_eq!((lines[1]["row"].clone(), lines[1]["status"].clone()), (json!(2), json!("SKIPPED")));
    assert_eq!(lines[1]["record_id"], Value::Null);
    let date = &lines[1]["errors"][0];
    assert_eq!(
        (&date["code"], &date["column"], &date["field"], &date["value"]),
        (&json!("INVALID_DATA"), &json!("Date_3"), &json!("Date_3"), &json!("2021/13/01"))
    );
    let message = date["message"].as_str().unwrap();
    assert!(message.contains("2021/13/01") && message.contains("yyyy/MM/dd"), "{message}");
    let missing = &lines[2]["errors"][0];
    assert_eq!(
        (&missing["code"], &missing["field"], &missing["value"]),
        (&json!("MANDATORY_NOT_FOUND"), &json!("Last_Name"), &json!(""))
    );
    assert!(!missing["message"].as_str().unwrap().is_empty());

    let (status, content_type, text) = get_text(server, &format!("/bulkwrite/v1/jobs/{id}/report")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"), "{text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header,
        [
            "Last_Name",
            "Owner",
            "Date_3",
            "Mobile",
            "Layout",
            "Notes",
            "STATUS",
            "RECORD_ID",
            "ERRORS",
            "ERROR_MESSAGES"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1].iter().take(9).collect::<Vec<_>>(),
        ["Jones", "", "2021/13/01", "555 0102", "", "bad, date", "SKIPPED", "", "INVALID_DATA-Date_3"]
    );
    assert!(rows[1][9].starts_with("Date_3: ") && rows[1][9].contains("2021/13/01"), "{:?}", &rows[1]);
    assert_eq!(&rows[2][8], "MANDATORY_NOT_FOUND-Last_Name");

    // Refusals are Zoho-shaped.
    let (status, _, text) = get_text(server, &format!("/bulkwrite/v1/jobs/{id}/report?format=xml")).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_DATA")), "{body}");
    let (status, _, text) = get_text(server, "/bulkwrite/v1/jobs/1234567890123/report").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, body["code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")), "{body}");
    let response = server.http.get(server.url(&format!("/bulkwrite/v1/jobs/{id}/report"))).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_report_gives_every_row_its_columns_and_reasons_on_sqlite() {
    let server = Server::start(&[]).await;
    check_report(&server).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn the_report_gives_every_row_its_columns_and_reasons_on_postgres() {
    let database = crate::multinode::fresh_database().await;
    let server = crate::multinode::node(&database, "all", &[]).await;
    check_report(&server).await;
}

/// 20,000 failing rows of 3 KB each: a report of some 60 MB. The server's peak memory may grow
/// by far less than that while it sends it, read here piece by piece, never held whole.
#[tokio::test]
async fn a_large_report_streams_in_flat_memory() {
    const ROWS: usize = 20_000;
    let server = Server::start(&[]).await;
    let note = "x".repeat(3000);
    let mut csv = String::from("Last_Name,Owner,Date_3,Mobile,Layout,Notes\n");
    for _ in 0..ROWS {
        csv.push_str(",,,,,");
        csv.push_str(&note);
        csv.push('\n');
    }
    let id = run_job(&server, &csv).await;
    let before = server.peak_rss_mib();
    let response = server
        .auth(server.http.get(server.url(&format!("/bulkwrite/v1/jobs/{id}/report?format=jsonl"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines) = (0usize, 0usize);
    let mut response = response;
    while let Some(piece) = response.chunk().await.unwrap() {
        bytes += piece.len();
        lines += piece.split(|b| *b == b'\n').count() - 1;
    }
    let grown = server.peak_rss_mib().saturating_sub(before);
    assert_eq!(lines, ROWS);
    assert!(bytes > 60_000_000, "{bytes}");
    assert!(grown < 30, "the server's peak memory grew {grown} MiB for a {bytes}-byte report");
}

/// `bulkwrite import` writes `FILE.errors.csv` with the failing rows only, in the input's own
/// columns plus `ERROR`; fixed in place, that file imports again and its rows are added.
#[tokio::test]
async fn import_writes_a_fix_file_that_imports_again_once_fixed() {
    use crate::cli::{code, stderr, Workspace};
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write(
        "leads.csv",
        "Last_Name,Email,Company\nSmith,smith@example.com,Acme\nJones,not-an-email,Beta\n,empty@example.com,Gamma\n",
    );
    let (status, summary) = work.json(&server, &["import", "leads.csv", "--module", "Leads"]);
    assert_eq!(status, 2, "{summary}");
    assert_eq!(summary["errors_file"].as_str().map(|p| p.ends_with("leads.errors.csv")), Some(true), "{summary}");
    let text = work.read("leads.errors.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["Last_Name", "Email", "Company", "ERROR"]);
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0][..3], ["Jones", "not-an-email", "Beta"]);
    assert!(rows[0][3].starts_with("Email: ") && rows[0][3].contains("not-an-email"), "{}", rows[0][3]);
    assert_eq!(rows[1][..3], ["", "empty@example.com", "Gamma"]);
    assert!(rows[1][3].starts_with("Last_Name: "), "{}", rows[1][3]);

    // Fixed in a spreadsheet (the ERROR column left as it is) and imported again.
    let fixed = text.replace("not-an-email", "jones@example.com").replacen("\n,empty", "\nEmpty,empty", 1);
    work.write("leads.errors.csv", &fixed);
    let output = work.run(&server, &["import", "leads.errors.csv", "--module", "Leads"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let names: Vec<String> = server
        .all_records("Leads", "Last_Name")
        .await
        .iter()
        .map(|r| r["Last_Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in ["Smith", "Jones", "Empty"] {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }
    assert!(!work.dir.join("leads.errors.errors.csv").exists(), "no failing rows, no fix file");
}
