//! Bulk Read over HTTP through the real binary: create, poll, download, the callback, paging with
//! `next_page_token`, the ten-a-minute download limit, Zoho's errors, and an export killed with
//! SIGKILL that completes after a restart with every record once.

use std::collections::HashSet;
use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::callback::receiver;
use crate::harness::Server;

/// Imports `rows` leads (`Read 00001` …, every third at `@corp.example`) with a bulk write job.
pub(crate) async fn import_leads(server: &Server, rows: usize) {
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 1..=rows {
        let domain = if n % 3 == 0 { "corp.example" } else { "other.example" };
        csv.push_str(&format!("Read {n:05},Acme,read{n}@{domain}\n"));
    }
    let file_id = server.upload_csv("leads.csv", &csv).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
}

async fn create_read(server: &Server, version: &str, body: &Value) -> (u16, Value) {
    let request = server.auth(server.http.post(server.url(&format!("/crm/bulk/{version}/read")))).json(body);
    let response = request.send().await.expect("create read");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// Polls the read job until it is `COMPLETED` or `FAILURE`.
async fn wait_read(server: &Server, version: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = server.get_json(&format!("/crm/bulk/{version}/read/{id}")).await;
        assert_eq!(status, 200, "{body}");
        let job = body["data"][0].clone();
        if job["state"] == "COMPLETED" || job["state"] == "FAILURE" {
            return job;
        }
        assert!(Instant::now() < deadline, "read job {id} never finished: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Downloads the result and returns the CSV's rows (header first).
async fn download(server: &Server, version: &str, id: &str) -> Vec<Vec<String>> {
    let response = server
        .auth(server.http.get(server.url(&format!("/crm/bulk/{version}/read/{id}/result"))))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"{id}.zip\"").as_str());
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    assert_eq!(archive.len(), 1, "one CSV");
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), format!("{id}.csv"));
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

#[tokio::test]
async fn an_export_is_created_polled_called_back_downloaded_and_paged() {
    let server =
        Server::start(&[("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"), ("BULKWRITE_READ_PAGE_RECORDS", "4")]).await;
    import_leads(&server, 15).await;
    let (url, mut received) = receiver(vec![200]).await;
    let query = json!({"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Email", "Owner.last_name"],
        "criteria": {"field": {"api_name": "Email"}, "comparator": "ends_with", "value": "@corp.example"}});
    let (status, created) =
        create_read(&server, "v8", &json!({"callback": {"url": url, "method": "post"}, "query": query})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"][0]["code"], "ADDED_SUCCESSFULLY");
    let id = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let job = wait_read(&server, "v8", &id).await;
    assert_eq!(job["state"], "COMPLETED", "{job}");
    let result = &job["result"];
    assert_eq!((&result["page"], &result["per_page"], &result["count"]), (&json!(1), &json!(4), &json!(4)));
    assert_eq!(result["more_records"], json!(true));
    assert_eq!(result["download_url"], json!(format!("/crm/bulk/v8/read/{id}/result")));
    let rows = download(&server, "v8", &id).await;
    assert_eq!(rows[0], ["id", "Last_Name", "Email", "Owner.last_name"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["Read 00003", "Read 00006", "Read 00009", "Read 00012"]);
    let owner_last = server.user_name.rsplit(' ').next().unwrap().to_string();
    assert!(rows[1..].iter().all(|r| r[3] == owner_last), "{rows:?}");

    // The callback posts the job's details document.
    let delivered = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("a callback").unwrap();
    assert!(delivered.head.starts_with("POST /bulk-write-callback"), "{}", delivered.head);
    let body: Value = serde_json::from_slice(&delivered.body).unwrap();
    assert_eq!((&body["data"][0]["id"], &body["data"][0]["state"]), (&json!(id), &json!("COMPLETED")));

    // The next page, by token, in v2's shape.
    let token = result["next_page_token"].as_str().expect("a token").to_string();
    let mut next = json!({"query": {"module": "Leads", "fields": ["Last_Name"], "page_token": token,
        "criteria": {"api_name": "Email", "comparator": "ends_with", "value": "@corp.example"}}});
    let (status, created) = create_read(&server, "v2", &next).await;
    assert_eq!(status, 201, "{created}");
    let second = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let job = wait_read(&server, "v2", &second).await;
    assert_eq!((&job["query"]["module"], &job["result"]["page"]), (&json!("Leads"), &json!(2)));
    assert_eq!((&job["result"]["count"], &job["result"]["more_records"]), (&json!(1), &json!(false)));
    assert_eq!(download(&server, "v2", &second).await[1][1], "Read 00015");

    // Ten downloads a minute per user: with the two above and eight more the eleventh is refused.
    for _ in 0..8 {
        download(&server, "v2", &second).await;
    }
    let (status, refused) = server.get_json(&format!("/crm/bulk/v2/read/{second}/result")).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["code"], "TOO_MANY_REQUESTS");

    // Errors: a malformed criteria, an unknown job, a foreign token.
    next["query"]["criteria"] = json!({"api_name": "Email", "comparator": "between", "value": "a"});
    let (status, refused) = create_read(&server, "v2", &next).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_DATA")), "{refused}");
    let (status, refused) = server.get_json("/crm/bulk/v2/read/5725767000000999999").await;
    assert_eq!((status, &refused["code"]), (404, &json!("RESOURCE_NOT_FOUND")));
}

#[tokio::test]
async fn an_export_killed_with_sigkill_completes_after_a_restart_with_every_record_once() {
    const ROWS: usize = 20_000;
    let env = [("BULKWRITE_READ_PART_RECORDS", "20")];
    let mut server = Server::start(&env).await;
    import_leads(&server, ROWS).await;
    let (status, created) =
        create_read(&server, "v2", &json!({"query": {"module": "Leads", "fields": ["Email"]}})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = server.get_json(&format!("/crm/bulk/v2/read/{id}")).await;
        let state = body["data"][0]["state"].clone();
        assert_ne!(state, "COMPLETED", "the export finished before it could be killed");
        if state == "IN PROGRESS" {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let server = server.restart().await;
    let job = wait_read(&server, "v2", &id).await;
    assert_eq!((&job["state"], &job["result"]["count"]), (&json!("COMPLETED"), &json!(ROWS)), "{job}");
    let rows = download(&server, "v2", &id).await;
    assert_eq!(rows.len(), ROWS + 1);
    let emails: HashSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(emails.len(), ROWS, "every record once");
    let ids: Vec<u64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");
}

#[tokio::test]
async fn bulkwrite_export_joins_every_page_into_one_csv() {
    let server = Server::start(&[("BULKWRITE_READ_PAGE_RECORDS", "4")]).await;
    import_leads(&server, 30).await;
    let shell = crate::cli::Workspace::new();
    let args = [
        "export",
        "--module",
        "Leads",
        "--fields",
        "Last_Name,Email",
        "--criteria",
        "Email:ends_with:@corp.example",
        "-o",
        "leads.csv",
        "--poll",
        "0.05",
    ];
    let (code, summary) = shell.json(&server, &args);
    assert_eq!(code, 0, "{summary}");
    assert_eq!((&summary["records"], &summary["pages"]), (&json!(10), &json!(3)), "{summary}");
    let text = shell.read("leads.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,Last_Name,Email"), "the header once");
    let names: Vec<String> = lines.map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("Read {:05}", n * 3)).collect();
    assert_eq!(names, expected, "every page, in id order");
    let refused = shell.run(&server, &["export", "--module", "Leads", "--criteria", "Email:greater_than:x", "--json"]);
    assert_eq!(crate::cli::code(&refused), 1);
    assert!(crate::cli::stdout(&refused).contains("INVALID_DATA"), "{}", crate::cli::stdout(&refused));
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn on_postgresql_an_export_whose_node_dies_is_finished_by_another_node() {
    const ROWS: usize = 6000;
    let database = crate::multinode::fresh_database().await;
    let extra = [("BULKWRITE_READ_PART_RECORDS", "20"), ("BULKWRITE_LEASE_SECONDS", "2")];
    let mut first = crate::multinode::node(&database, "all", &extra).await;
    import_leads(&first, ROWS).await;
    let (status, created) =
        create_read(&first, "v8", &json!({"query": {"module": {"api_name": "Leads"}, "fields": ["Email"]}})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = first.get_json(&format!("/crm/bulk/v8/read/{id}")).await;
        let state = body["data"][0]["state"].clone();
        assert_ne!(state, "COMPLETED", "the export finished before its node could be killed");
        if state == "IN PROGRESS" {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    // Another node on the same database takes the job over once the dead node's lease expires.
    let second = crate::multinode::node(&database, "all", &extra).await;
    let job = wait_read(&second, "v8", &id).await;
    assert_eq!((&job["state"], &job["result"]["count"]), (&json!("COMPLETED"), &json!(ROWS)), "{job}");
    let rows = download(&second, "v8", &id).await;
    let emails: HashSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!((rows.len() - 1, emails.len()), (ROWS, ROWS), "every record once");
    let ids: Vec<u64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");
}
