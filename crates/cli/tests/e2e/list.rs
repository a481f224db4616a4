//! The job list (issue 14) and the CLI around cancel: `GET /bulkwrite/v1/jobs` newest first with
//! its filters, pages, refusals and one org's jobs only; `bulkwrite jobs list` (table and
//! `--json`), `bulkwrite jobs cancel`, and Ctrl-C during `bulkwrite import`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::cancel::{cancel_and_wait, wait_cancelled, wait_running};
use crate::cli::{code, parse, stderr, stdout, Workspace};
use crate::harness::{Server, TOKEN};

const SLOW: [(&str, &str); 2] = [("BULKWRITE_CHUNK_ROWS", "20"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];

fn many_rows(rows: usize) -> String {
    let mut text = String::from("Last_Name,Company,Email\n");
    for i in 1..=rows {
        text.push_str(&format!("Cancel {i},Acme,cancel{i}@example.com\n"));
    }
    text
}

async fn list(server: &Server, query: &str) -> (u16, Value) {
    server.get_json(&format!("/bulkwrite/v1/jobs{query}")).await
}

fn ids(body: &Value) -> Vec<String> {
    body["jobs"].as_array().unwrap().iter().map(|job| job["id"].as_str().unwrap().to_string()).collect()
}

/// Four jobs, oldest first: a Leads insert with a skipped row, a Contacts upsert, a Leads insert,
/// and a Leads insert cancelled while it ran.
async fn four_jobs(server: &Server) -> Vec<String> {
    let first = server.insert_job("Last_Name,Company,Email\nA,Acme,a@example.com\n,Acme,b@example.com\n", None).await;
    server.wait_job(&first).await;
    let file_id = server.upload_csv("contacts.csv", "Last_Name,Email\nC,c@example.com\n").await;
    let body = json!({"operation": "upsert", "resource": [{"type": "data", "module": "Contacts", "file_id": file_id, "find_by": "Email"}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let second = created["details"]["id"].as_str().unwrap().to_string();
    server.wait_job(&second).await;
    let third = server.insert_job("Last_Name,Company,Email\nD,Acme,d@example.com\n", None).await;
    server.wait_job(&third).await;
    let fourth = server.insert_job(&many_rows(30_000), None).await;
    wait_running(server, &fourth).await;
    cancel_and_wait(server, &fourth).await;
    vec![first, second, third, fourth]
}

#[tokio::test]
async fn jobs_are_listed_newest_first_filtered_paged_and_for_one_org_only() {
    let server = Server::start(&SLOW).await;
    let jobs = four_jobs(&server).await;
    let newest_first: Vec<String> = jobs.iter().rev().cloned().collect();

    let (status, body) = list(&server, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), newest_first);
    assert_eq!(body["info"], json!({"page": 1, "per_page": 200, "count": 4, "more_records": false}));
    let first = &body["jobs"][3];
    assert_eq!((first["status"].as_str(), first["state"].as_str()), (Some("COMPLETED"), Some("SUCCEEDED")));
    assert_eq!((first["operation"].as_str(), &first["modules"]), (Some("insert"), &json!(["Leads"])));
    assert_eq!(first["counts"], json!({"added": 1, "updated": 0, "skipped": 1, "total": 2}));
    assert_eq!(first["created_by"], json!({"id": server.user, "name": server.user_name}));
    let zoho = server.job(&jobs[0]).await;
    assert_eq!(first["created_time"], zoho["created_time"], "the org's zone, as Zoho writes times");
    assert!(first["finished_time"].as_str().is_some_and(|t| t.len() == 25), "{first}");
    let cancelled = &body["jobs"][0];
    assert_eq!((cancelled["status"].as_str(), cancelled["state"].as_str()), (Some("FAILED"), Some("CANCELLED")));
    assert!(cancelled["counts"]["added"].as_u64().unwrap() > 0);

    let filtered = [
        ("?status=FAILED", vec![&jobs[3]]),
        ("?status=COMPLETED", vec![&jobs[2], &jobs[1], &jobs[0]]),
        ("?status=IN%20PROGRESS", vec![]),
        ("?status=added,failed", vec![&jobs[3]]),
        ("?module=Contacts", vec![&jobs[1]]),
        ("?module=Leads&status=COMPLETED", vec![&jobs[2], &jobs[0]]),
        ("?operation=upsert", vec![&jobs[1]]),
        ("?operation=insert&module=Leads&per_page=2", vec![&jobs[3], &jobs[2]]),
        ("?per_page=3&page=2", vec![&jobs[0]]),
    ];
    for (query, expected) in filtered {
        let (status, body) = list(&server, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected.into_iter().cloned().collect::<Vec<_>>(), "{query}");
    }
    let (_, page) = list(&server, "?per_page=3").await;
    assert_eq!(page["info"], json!({"page": 1, "per_page": 3, "count": 3, "more_records": true}));
    let (_, page) = list(&server, "?per_page=3&page=2").await;
    assert_eq!(page["info"], json!({"page": 2, "per_page": 3, "count": 1, "more_records": false}));

    let refused = [
        ("?status=DONE", "status"),
        ("?status=", "status"),
        ("?module=Nope", "module"),
        ("?operation=delete", "operation"),
        ("?page=0", "page"),
        ("?per_page=201", "per_page"),
        ("?per_page=abc", "per_page"),
    ];
    for (query, param) in refused {
        let (status, body) = list(&server, query).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_DATA")), "{query}: {body}");
        assert_eq!(body["details"]["param_name"], param, "{query}");
        assert!(body["message"].as_str().unwrap().contains(param), "{query}: {body}");
    }

    let (_, other) = crate::isolation::second_org(&server).await;
    let (status, theirs) =
        crate::isolation::send_as(&server, &other, Method::GET, "/bulkwrite/v1/jobs", Value::Null).await;
    assert_eq!((status, ids(&theirs).len()), (200, 0), "another org sees none of them: {theirs}");
}

#[tokio::test]
async fn the_cli_lists_and_cancels_jobs() {
    let server = Server::start(&SLOW).await;
    let work = Workspace::new();
    let done = server.insert_job("Last_Name,Company,Email\nA,Acme,a@example.com\n", None).await;
    server.wait_job(&done).await;
    let running = server.insert_job(&many_rows(30_000), None).await;
    wait_running(&server, &running).await;

    let output = work.run(&server, &["jobs", "cancel", &running]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    let stopped = text.contains(&format!("job {running} CANCELLED (Zoho status FAILED): cancelled by"));
    // A loaded machine may answer before the job stopped (202): the command says so.
    assert!(stopped || text.contains(&format!("job {running} is stopping")), "{text}");
    wait_cancelled(&server, &running).await;

    let output = work.run(&server, &["jobs", "cancel", &done]);
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("already finished"), "{}", stderr(&output));
    let (status, error) = work.json(&server, &["jobs", "cancel", &done]);
    assert_eq!((status, error["error"]["code"].as_str()), (1, Some("INVALID_REQUEST")), "{error}");

    let output = work.run(&server, &["jobs", "list"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("SKIPPED"), "{lines:?}");
    assert!(
        lines[1].starts_with(&running) && lines[1].contains("FAILED") && lines[1].contains("CANCELLED"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(&done) && lines[2].contains("COMPLETED") && lines[2].contains("SUCCEEDED"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3);

    let (status, listed) = work.json(&server, &["jobs", "list", "--status", "COMPLETED", "--module", "Leads"]);
    assert_eq!(status, 0);
    assert_eq!(ids(&listed), std::slice::from_ref(&done));
    assert_eq!(listed["info"]["count"], 1);
    let (status, error) = work.json(&server, &["jobs", "list", "--operation", "merge"]);
    assert_eq!((status, error["error"]["details"]["param_name"].as_str()), (1, Some("operation")), "{error}");
    let (_, page) = work.json(&server, &["jobs", "list", "--per-page", "1"]);
    assert_eq!((ids(&page), page["info"]["more_records"].as_bool()), (vec![running.clone()], Some(true)));
}

#[tokio::test]
async fn ctrl_c_during_an_import_without_a_terminal_says_how_to_cancel_and_leaves_the_job() {
    let server = Server::start(&SLOW).await;
    let work = Workspace::new();
    let file = work.write("big.csv", &many_rows(30_000));
    let import = Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["import"])
        .arg(&file)
        .args(["--module", "Leads"])
        .current_dir(&work.dir)
        .env("HOME", work.dir.join("home"))
        .env("BULKWRITE_SERVER", &server.base)
        .env("BULKWRITE_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn import");

    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let (_, body) = list(&server, "?status=IN%20PROGRESS").await;
        if let Some(id) = ids(&body).first() {
            break id.clone();
        }
        assert!(Instant::now() < deadline, "the import never started its job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    wait_running(&server, &id).await;
    let sent = Command::new("kill").args(["-INT", &import.id().to_string()]).status().expect("kill -INT");
    assert!(sent.success());
    let output = tokio::task::spawn_blocking(move || import.wait_with_output()).await.unwrap().expect("import exits");
    assert_eq!(code(&output), 130, "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!("job {id} keeps running")) && said.contains(&format!("bulkwrite jobs cancel {id}")),
        "{said}"
    );

    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert!(state["cancel"].is_null(), "nothing was cancelled without asking: {state}");
    let output = work.run(&server, &["jobs", "cancel", &id]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    wait_cancelled(&server, &id).await;
    let (_, listed) = work.json(&server, &["jobs", "list", "--status", "FAILED"]);
    assert_eq!(listed["jobs"][0]["state"], "CANCELLED", "{listed}");
    let parsed = parse(&work.run(&server, &["--json", "jobs", "show", &id]));
    assert_eq!(parsed["status"], "FAILED");
}

/// Reads a child's output on a thread, so the test can wait for a prompt while it runs.
fn collect(mut out: impl std::io::Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = out.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    });
    seen
}

async fn wait_for_text(seen: &std::sync::Mutex<Vec<u8>>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        if now.contains(text) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {text:?} in {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn ctrl_c_during_an_import_on_a_terminal_offers_to_cancel_the_job() {
    use std::io::Write;
    let server = Server::start(&SLOW).await;
    let work = Workspace::new();
    let file = work.write("big.csv", &many_rows(30_000));
    // `script` gives the import a terminal; Ctrl-C is typed into it, as a person would.
    let import = format!("{} import {} --module Leads", env!("CARGO_BIN_EXE_bulkwrite"), file.display());
    let mut terminal = Command::new("script")
        .args(["-q", "-e", "-c", &import, "/dev/null"])
        .current_dir(&work.dir)
        .env("HOME", work.dir.join("home"))
        .env("BULKWRITE_SERVER", &server.base)
        .env("BULKWRITE_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs the import on a terminal");
    let seen = collect(terminal.stdout.take().unwrap());
    let mut keys = terminal.stdin.take().unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let (_, body) = list(&server, "?status=IN%20PROGRESS").await;
        if let Some(id) = ids(&body).first() {
            break id.clone();
        }
        assert!(Instant::now() < deadline, "the import never started its job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    wait_running(&server, &id).await;
    // The server runs the job before its create answer reaches a loaded client: Ctrl-C once the
    // import draws the job's progress, so it knows the job it started.
    wait_for_text(&seen, " rows  added ").await;
    keys.write_all(b"\x03").unwrap();
    keys.flush().unwrap();
    wait_for_text(&seen, &format!("cancel job {id} on the server? [y/N]")).await;
    keys.write_all(b"y\n").unwrap();
    keys.flush().unwrap();
    let status = tokio::task::spawn_blocking(move || terminal.wait()).await.unwrap().expect("script exits");
    assert_eq!(status.code(), Some(130));
    drop(keys);
    wait_for_text(&seen, "its result lists the rows it never reached as UNPROCESSED").await;
    let said = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    // `stopping` when a loaded machine answered before the job stopped.
    assert!(said.contains(&format!("job {id} CANCELLED")) || said.contains(&format!("job {id} stopping")), "{said}");

    let state = wait_cancelled(&server, &id).await;
    assert_eq!(state["state"], "CANCELLED", "{state}");
    assert_eq!(server.job(&id).await["status"], "FAILED");
}
