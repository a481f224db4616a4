//! The callback inbox of the test controls (issue 19): every delivery attempt's request and
//! answer at `/bulkwrite/v1/jobs/{id}/callback`, replays, and the built-in receiver
//! `/bulkwrite/v1/inbox/{name}` (a callback target without an allow-list entry). Each case on
//! SQLite and on PostgreSQL.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::fault_rules::{add_rule, start, Backend};
use crate::harness::{Server, TOKEN};
use crate::isolation::send_as;

crate::on_both_backends!(
    a_callback_to_the_own_inbox_is_stored_and_its_attempt_kept,
    a_replay_sends_the_callback_again_as_a_new_attempt,
    a_callback_fault_shows_in_the_attempts,
    a_real_receivers_answer_is_kept_with_the_attempt,
    replays_are_refused_for_jobs_without_a_callback_or_unfinished,
    the_inbox_takes_anything_posted_and_keeps_it_per_org,
    bulkwrite_admin_shows_and_replays_callbacks_and_the_inbox,
);

const ENV: &[(&str, &str)] = &[("BULKWRITE_CALLBACK_RETRY_MS", "50"), ("BULKWRITE_CALLBACK_ATTEMPTS", "3")];

pub fn inbox_url(server: &Server, name: &str) -> String {
    server.url(&format!("/bulkwrite/v1/inbox/{name}"))
}

/// Uploads a one-row file and creates an insert job with `callback` (when given).
pub async fn job_with_callback(server: &Server, callback: Option<&str>) -> String {
    server.insert_job("Last_Name,Company\nBoyle,Acme\n", callback).await
}

/// The job's callback report once it has `attempts` attempts and is settled.
async fn report_with(server: &Server, id: &str, attempts: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}/callback")).await;
        assert!(status == 200 || status == 404, "{report}");
        let settled = report["state"] == "delivered" || report["state"] == "failed";
        if settled && report["attempts"].as_array().is_some_and(|a| a.len() >= attempts) {
            return report;
        }
        assert!(Instant::now() < deadline, "the callback never reached {attempts} attempts: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn inbox(server: &Server, token: &str, name: &str) -> Vec<Value> {
    let (status, inbox) =
        send_as(server, token, Method::GET, &format!("/bulkwrite/v1/inbox/{name}"), Value::Null).await;
    assert_eq!(status, 200, "{inbox}");
    inbox["deliveries"].as_array().unwrap().clone()
}

async fn a_callback_to_the_own_inbox_is_stored_and_its_attempt_kept(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    let id = job_with_callback(&server, Some(&inbox_url(&server, "t1"))).await;
    let report = report_with(&server, &id, 1).await;
    assert_eq!(report["state"], "delivered", "{report}");
    let attempt = &report["attempts"][0];
    assert_eq!(attempt["status"], 200);
    let request = &attempt["request"];
    assert_eq!(request["url"], json!(inbox_url(&server, "t1")));
    assert_eq!(request["method"], "POST");
    assert_eq!(request["headers"]["content-type"], "application/json");
    assert_eq!(request["replay"], false);
    let sent: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!((&sent["id"], &sent["status"]), (&json!(id), &json!("COMPLETED")), "{sent}");
    assert_eq!(attempt["response"]["status"], 200);
    assert_eq!(attempt["response"]["body"], r#"{"status":"success"}"#);

    let deliveries = inbox(&server, TOKEN, "t1").await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["body"]["id"], json!(id), "a JSON body reads back as JSON");
    assert_eq!(delivery["headers"]["content-type"], "application/json");
    assert_eq!(delivery["job_id"], json!(id));
    assert_eq!(delivery["org_id"], json!(server.org));
    assert!(delivery["received_time"].as_str().unwrap().ends_with("+00:00"), "{delivery}");
    assert!(inbox(&server, TOKEN, "other").await.is_empty(), "inboxes are kept by name");

    let (status, removed) = send_as(&server, TOKEN, Method::DELETE, "/bulkwrite/v1/inbox/t1", Value::Null).await;
    assert_eq!((status, removed), (200, json!({"removed": 1})));
    assert!(inbox(&server, TOKEN, "t1").await.is_empty());
}

async fn a_replay_sends_the_callback_again_as_a_new_attempt(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    let id = job_with_callback(&server, Some(&inbox_url(&server, "replays"))).await;
    report_with(&server, &id, 1).await;
    let path = format!("/bulkwrite/v1/jobs/{id}/callback/replay");
    let (status, answer) = send_as(&server, TOKEN, Method::POST, &path, Value::Null).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["replay_attempt"], 2, "{answer}");
    let report = report_with(&server, &id, 2).await;
    assert_eq!(report["state"], "delivered");
    assert_eq!(report["attempts"][1]["request"]["replay"], true, "{report}");
    assert_eq!(report["attempts"][1]["status"], 200);
    let deliveries = inbox(&server, TOKEN, "replays").await;
    assert_eq!(deliveries.len(), 2, "the replay arrived as a second delivery");
    assert_eq!(deliveries[0]["body"], deliveries[1]["body"], "the same job details");
    // The admin key may replay any org's job.
    let (status, answer) = server.admin_call(Method::POST, &path).await;
    assert_eq!((status, &answer["replay_attempt"]), (202, &json!(3)), "{answer}");
    report_with(&server, &id, 3).await;
}

async fn a_callback_fault_shows_in_the_attempts(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    add_rule(&server, json!({"callback": {"status": 500}, "times": 1})).await;
    let id = job_with_callback(&server, Some(&inbox_url(&server, "faulted"))).await;
    let report = report_with(&server, &id, 2).await;
    assert_eq!(report["state"], "delivered", "{report}");
    let first = &report["attempts"][0];
    assert_eq!(first["status"], 500, "{report}");
    assert!(first["error"].as_str().unwrap().contains("500"), "{report}");
    assert_eq!(first["response"]["status"], 500, "the fault's answer is the attempt's response");
    assert!(first["request"]["body"].as_str().unwrap().contains(&id), "the request is kept even when faulted");
    assert_eq!(report["attempts"][1]["status"], 200);
    assert_eq!(inbox(&server, TOKEN, "faulted").await.len(), 1, "the faulted attempt never reached the inbox");
}

async fn a_real_receivers_answer_is_kept_with_the_attempt(backend: Backend) {
    let mut env = ENV.to_vec();
    env.push(("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"));
    let (server, _) = start(backend, &env).await;
    let (url, mut received) = crate::callback::receiver(vec![503, 200]).await;
    let id = job_with_callback(&server, Some(&url)).await;
    let report = report_with(&server, &id, 2).await;
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["response"]["status"], 503, "{report}");
    assert_eq!(attempts[0]["response"]["headers"]["connection"], "close", "{report}");
    assert_eq!(attempts[0]["response"]["body"], "");
    assert_eq!(attempts[1]["response"]["status"], 200);
    let delivered = received.recv().await.expect("a delivery");
    let sent = attempts[0]["request"]["body"].as_str().unwrap();
    assert_eq!(sent.as_bytes(), delivered.body.as_slice(), "the request kept is the one sent");

    // A receiver that refuses connections: the attempt has an error and no response.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let id = job_with_callback(&server, Some(&dead)).await;
    let report = report_with(&server, &id, 3).await;
    assert_eq!(report["state"], "failed", "{report}");
    let first = &report["attempts"][0];
    assert!(first["response"].is_null(), "{report}");
    assert!(first["error"].as_str().unwrap().to_lowercase().contains("connect"), "{report}");
    assert_eq!(first["request"]["url"], json!(dead));
}

async fn replays_are_refused_for_jobs_without_a_callback_or_unfinished(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    let quiet = job_with_callback(&server, None).await;
    server.wait_job(&quiet).await;
    let replay = |id: &str| format!("/bulkwrite/v1/jobs/{id}/callback/replay");
    let (status, refused) = send_as(&server, TOKEN, Method::POST, &replay(&quiet), Value::Null).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_REQUEST")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("no callback"), "{refused}");

    let (status, _) = send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/queue/pause", Value::Null).await;
    assert_eq!(status, 200);
    let waiting = job_with_callback(&server, Some(&inbox_url(&server, "later"))).await;
    let (status, refused) = send_as(&server, TOKEN, Method::POST, &replay(&waiting), Value::Null).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_REQUEST")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("has not finished"), "{refused}");
    send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/queue/resume", Value::Null).await;
    report_with(&server, &waiting, 1).await;

    let (status, unknown) = send_as(&server, TOKEN, Method::POST, &replay("5725767000000999999"), Value::Null).await;
    assert_eq!((status, &unknown["code"]), (404, &json!("RESOURCE_NOT_FOUND")), "{unknown}");
}

async fn the_inbox_takes_anything_posted_and_keeps_it_per_org(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    let url = inbox_url(&server, "posted");
    let anonymous = server
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("state=COMPLETED&job_id=42")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 200);
    assert_eq!(anonymous.json::<Value>().await.unwrap(), json!({"status": "success"}));
    let (status, _) = send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/inbox/posted", json!({"a": 1})).await;
    assert_eq!(status, 200);
    let plain = server.http.post(&url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    assert_eq!(plain.status().as_u16(), 200);

    let deliveries = inbox(&server, TOKEN, "posted").await;
    let bodies: Vec<&Value> = deliveries.iter().map(|d| &d["body"]).collect();
    assert_eq!(bodies, [&json!({"state": "COMPLETED", "job_id": "42"}), &json!({"a": 1}), &json!("hello")]);
    assert!(deliveries[0]["org_id"].is_null() && deliveries[1]["org_id"] == json!(server.org));
    assert!(deliveries[1]["headers"].get("authorization").is_none(), "credentials are not kept");

    let too_big = server.http.post(&url).body(vec![b'x'; 1024 * 1024 + 1]).send().await.unwrap();
    assert_eq!(too_big.status().as_u16(), 413);
    let (status, bad) = send_as(&server, TOKEN, Method::GET, "/bulkwrite/v1/inbox/no%20spaces", Value::Null).await;
    assert_eq!((status, &bad["code"]), (404, &json!("INVALID_URL_PATTERN")), "{bad}");
    // Reading needs the switch's credentials: a token without bulkwrite.test is refused.
    let (status, _) = server.admin_call(Method::GET, "/bulkwrite/v1/inbox/posted").await;
    assert_eq!(status, 200, "the admin key reads every org's");
}

async fn bulkwrite_admin_shows_and_replays_callbacks_and_the_inbox(backend: Backend) {
    let (server, _) = start(backend, ENV).await;
    let id = job_with_callback(&server, Some(&inbox_url(&server, "cli"))).await;
    report_with(&server, &id, 1).await;
    let shown: Value = serde_json::from_str(&admin_cli(&server, &["inbox", "show", "cli"])).unwrap();
    assert_eq!(shown["deliveries"][0]["body"]["id"], json!(id), "{shown}");
    let report: Value = serde_json::from_str(&admin_cli(&server, &["callback", "show", &id])).unwrap();
    assert_eq!(report["attempts"].as_array().unwrap().len(), 1, "{report}");
    let replayed: Value = serde_json::from_str(&admin_cli(&server, &["callback", "replay", &id])).unwrap();
    assert_eq!(replayed["replay_attempt"], 2, "{replayed}");
    report_with(&server, &id, 2).await;
    let cleared: Value = serde_json::from_str(&admin_cli(&server, &["inbox", "clear", "cli"])).unwrap();
    assert_eq!(cleared, json!({"removed": 2}));
}

/// Runs `bulkwrite admin ARGS --data-dir DIR` (the server and admin key from its bootstrap.json).
pub fn admin_cli(server: &Server, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(&server.dir)
        .output()
        .expect("bulkwrite admin");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bulkwrite admin {args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn without_the_switch_the_inbox_is_an_unknown_url_and_its_callback_is_refused() {
    let server = Server::start(&[]).await;
    for (method, path) in [
        (Method::GET, "/bulkwrite/v1/inbox/t1"),
        (Method::POST, "/bulkwrite/v1/inbox/t1"),
        (Method::DELETE, "/bulkwrite/v1/inbox/t1"),
        (Method::POST, "/bulkwrite/v1/jobs/5725767000000100005/callback/replay"),
    ] {
        let (status, body) = send_as(&server, TOKEN, method.clone(), path, Value::Null).await;
        assert_eq!((status, &body["code"]), (404, &json!("INVALID_URL_PATTERN")), "{method} {path}: {body}");
    }
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company\nBoyle,Acme\n").await;
    let body = json!({"operation": "insert", "callback": {"url": inbox_url(&server, "t1"), "method": "post"},
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, refused) = server.create_job(&body).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_CALLBACK_URL")), "{refused}");
}
