//! Fault rules of the test controls (issue 19), HTTP faults: `POST/GET/DELETE
//! /bulkwrite/v1/faults`, Zoho's exact error answers for the next N matching requests or a seeded
//! share of them, latency, org scoping, the switch, `bulkwrite admin faults` and the Rust client.
//! Every case runs on SQLite and on PostgreSQL (`sqlite::…`, `postgres::…`; the latter need
//! BULKWRITE_TEST_DATABASE_URL). Job and callback faults are in `fault_rules_jobs`, the official
//! Python SDK meeting each HTTP fault in `fault_rules_sdk`, two nodes sharing a rule below.

use std::time::{Duration, Instant};

use bulkwrite_core::faults::Chance;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{seed_body, Server, TOKEN};
use crate::isolation::{second_org, send_as};

/// Where a test's server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A server with the test controls on (plus `env`), on a fresh store of `backend`; the database
/// URL too on PostgreSQL.
pub async fn start(backend: Backend, env: &[(&str, &str)]) -> (Server, Option<String>) {
    let mut env = env.to_vec();
    env.push(("BULKWRITE_TEST_CONTROLS", "1"));
    match backend {
        Backend::Sqlite => (Server::start(&env).await, None),
        Backend::Postgres => {
            let database = crate::multinode::fresh_database().await;
            (crate::multinode::node(&database, "all", &env).await, Some(database))
        }
    }
}

/// Makes `sqlite::NAME` and `postgres::NAME` tests of each async `NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::fault_rules::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
                async fn $name() {
                    super::$name($crate::fault_rules::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_429_rule_answers_zohos_error_for_the_next_two_requests_only,
    a_seeded_500_rule_fails_the_same_requests_every_run,
    an_invalid_token_rule_hits_its_org_by_token_or_header,
    a_latency_rule_delays_the_answer_and_then_lets_it_through,
    an_orgs_token_keeps_to_its_own_rules,
    bulkwrite_admin_faults_adds_lists_and_clears_rules,
    the_rust_client_manages_rules_and_rides_out_a_429,
);

/// Adds a rule with the bootstrap token; returns its id.
pub async fn add_rule(server: &Server, rule: Value) -> String {
    let (status, created) = send_as(server, TOKEN, Method::POST, "/bulkwrite/v1/faults", rule.clone()).await;
    assert_eq!(status, 201, "{rule} → {created}");
    let id = created["id"].as_str().expect("an id").to_string();
    assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    id
}

/// The bootstrap org's rules.
pub async fn rules(server: &Server) -> Vec<Value> {
    let (status, list) = server.get_json("/bulkwrite/v1/faults").await;
    assert_eq!(status, 200, "{list}");
    list["faults"].as_array().unwrap().clone()
}

fn zoho_error(code: &str, message: &str) -> Value {
    json!({"status": "error", "code": code, "message": message, "details": {}})
}

async fn a_429_rule_answers_zohos_error_for_the_next_two_requests_only(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    let rule =
        json!({"method": "POST", "path": "/crm/bulk/*/write", "status": 429, "code": "TOO_MANY_REQUESTS", "times": 2});
    let id = add_rule(&server, rule).await;
    let csv = format!("Last_Name,Owner,Date_3,Mobile,Layout\nA,{},2024/01/02,555 0100,Standard\n", server.user);
    let file_id = server.upload_csv("leads.csv", &csv).await;
    let body = seed_body(&file_id, "https://hooks.example.com/cb");
    for attempt in 1..=2 {
        let response =
            server.auth(server.http.post(server.url("/crm/bulk/v2/write"))).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 429, "attempt {attempt}");
        let headers = response.headers().clone();
        assert_eq!(headers["x-api-credits-remaining"], "0", "the header Zoho's limits pages name");
        assert!(headers.get("retry-after").is_none(), "Zoho promises no Retry-After");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-content-type-options"], "nosniff", "the recorded headers, as on every answer");
        let text = response.text().await.unwrap();
        assert_eq!(text, r#"{"status":"error","code":"TOO_MANY_REQUESTS","message":"too many requests","details":{}}"#);
    }
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "the third request reaches the handler: {created}");
    let job = created["details"]["id"].as_str().unwrap();
    assert_eq!(server.get_json(&format!("/crm/bulk/v2/write/{job}")).await.0, 200, "GET does not match");
    let listed = rules(&server).await;
    assert_eq!(listed.len(), 1);
    let expected = json!({
        "id": id, "method": "POST", "path": "/crm/bulk/*/write", "org": server.org,
        "status": 429, "code": "TOO_MANY_REQUESTS", "times": 2, "fired": 2, "matched": 2
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&listed[0][key], value, "{key} of {}", listed[0]);
    }
    assert!(listed[0]["created_time"].as_str().unwrap().ends_with("+00:00"), "{}", listed[0]);
}

async fn a_seeded_500_rule_fails_the_same_requests_every_run(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    add_rule(&server, json!({"method": "GET", "path": "/crm/*/org", "status": 500, "probability": 0.5, "seed": 7}))
        .await;
    // Not on bulkwrite's own paths, whatever the rule's path: a rule with none matches any Zoho path.
    add_rule(&server, json!({"path": "/crm/v2/users", "code": "INTERNAL_ERROR"})).await;
    let chance = Chance { probability: 0.5, seed: 7 };
    let mut failed = Vec::new();
    for k in 1..=16u64 {
        let (status, body) = server.get_json("/crm/v2/org").await;
        if status == 500 {
            assert_eq!(body, zoho_error("INTERNAL_ERROR", "Internal Server Error"));
        } else {
            assert_eq!(status, 200, "{body}");
        }
        failed.push(status == 500);
        assert_eq!(status == 500, chance.fires(k), "request {k}");
    }
    assert!(failed.contains(&true) && failed.contains(&false), "a share, not all or none: {failed:?}");
    let (status, _) = server.get_json("/crm/v2/users").await;
    assert_eq!(status, 500);
    assert_eq!(server.get_json("/bulkwrite/v1/faults").await.0, 200, "the controls are never faulted");
    // Requests no handler takes pass the layer too: a method the path lacks, a path no route has.
    add_rule(&server, json!({"method": "PATCH", "path": "/crm/v2/Leads", "status": 500, "times": 1})).await;
    add_rule(&server, json!({"path": "/crm/v2/no/such/path", "status": 401, "times": 1})).await;
    let patch = server.auth(server.http.patch(server.url("/crm/v2/Leads"))).send().await.unwrap();
    assert_eq!(patch.status(), 500, "instead of 400 INVALID_REQUEST_METHOD");
    assert_eq!(server.get_json("/crm/v2/no/such/path").await.0, 401, "instead of 404 INVALID_URL_PATTERN");
    let listed = rules(&server).await;
    assert_eq!(listed[0]["matched"], 16);
    assert_eq!(listed[0]["fired"], failed.iter().filter(|f| **f).count());
}

async fn an_invalid_token_rule_hits_its_org_by_token_or_header(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    let (other_org, other_token) = second_org(&server).await;
    let admin_rule = json!({"org": server.org, "method": "GET", "path": "/crm/v2/org", "status": 401});
    let response = server
        .http
        .post(server.url("/bulkwrite/v1/faults"))
        .bearer_auth(server.boot("admin_key"))
        .json(&admin_rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "the admin credential adds rules for any org");

    let (status, body) = server.get_json("/crm/v2/org").await;
    assert_eq!((status, body), (401, zoho_error("INVALID_TOKEN", "invalid oauth token")), "the org's own token");
    let (status, body) = server.get_as(&other_token, "/crm/v2/org").await;
    assert_eq!(status, 200, "another org's token is not hit: {body}");
    assert_eq!(body["org"][0]["zgid"], json!(other_org));
    let bare = |org: Option<&str>| {
        let mut request = server.http.get(server.url("/crm/v2/org"));
        if let Some(org) = org {
            request = request.header("X-CRM-ORG", org);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = bare(Some(&server.org)).await;
    assert_eq!((status, &body["code"]), (401, &json!("INVALID_TOKEN")), "no token: the X-CRM-ORG header's org");
    let (status, body) = bare(None).await;
    assert_eq!((status, &body["code"]), (401, &json!("AUTHENTICATION_FAILURE")), "no org told: the handler answers");
    let (status, body) = bare(Some(&other_org)).await;
    assert_eq!((status, &body["code"]), (401, &json!("AUTHENTICATION_FAILURE")), "{body}");
}

async fn a_latency_rule_delays_the_answer_and_then_lets_it_through(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    add_rule(&server, json!({"path": "/crm/v2/org", "latency_ms": 400, "times": 1})).await;
    let started = Instant::now();
    let (status, body) = server.get_json("/crm/v2/org").await;
    assert_eq!(status, 200, "a latency rule alone answers as the handler does: {body}");
    assert!(started.elapsed() >= Duration::from_millis(400), "delayed by the rule: {:?}", started.elapsed());
    let listed = rules(&server).await;
    assert_eq!((&listed[0]["fired"], &listed[0]["latency_ms"]), (&json!(1), &json!(400)));
    // Latency and an error together: the answer waits, then is the error.
    add_rule(&server, json!({"path": "/crm/v2/users", "latency_ms": 100, "status": 500, "times": 1})).await;
    let started = Instant::now();
    assert_eq!(server.get_json("/crm/v2/users").await.0, 500);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.get_json("/crm/v2/users").await.0, 200, "times 1");
}

async fn an_orgs_token_keeps_to_its_own_rules(backend: Backend) {
    let (server, _) = start(backend, &[]).await;
    let (other_org, _) = second_org(&server).await;
    let (status, body) =
        send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/faults", json!({"org": other_org, "status": 500})).await;
    assert_eq!((status, &body["code"]), (403, &json!("NO_PERMISSION")), "{body}");
    let (status, body) =
        send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/faults", json!({"status": 500, "time": 2})).await;
    assert_eq!((status, &body["code"]), (400, &json!("INVALID_DATA")), "a misspelt key is refused: {body}");
    let (status, body) = send_as(
        &server,
        TOKEN,
        Method::POST,
        "/bulkwrite/v1/faults",
        json!({"status": 429, "path": "/bulkwrite/v1/jobs"}),
    )
    .await;
    assert_eq!((status, &body["details"]["api_name"]), (400, &json!("path")), "{body}");

    let admin = |method: Method, path: &str, body: Value| {
        let request = server.http.request(method, server.url(path)).bearer_auth(server.boot("admin_key")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (_, theirs) =
        admin(Method::POST, "/bulkwrite/v1/faults", json!({"org": other_org, "job": {"slow_ms": 1}})).await;
    let (_, everyone) = admin(Method::POST, "/bulkwrite/v1/faults", json!({"callback": {"status": 503}})).await;
    let mine = add_rule(&server, json!({"job": {"fail_at_row": 1}})).await;
    let (_, all) = admin(Method::GET, "/bulkwrite/v1/faults", Value::Null).await;
    assert_eq!(all["faults"].as_array().unwrap().len(), 3, "the admin sees every rule");
    let listed: Vec<Value> = rules(&server).await.iter().map(|f| f["id"].clone()).collect();
    assert_eq!(listed, vec![json!(mine)], "an org's token sees its org's rules only");
    let their_id = theirs["id"].as_str().unwrap();
    let (status, body) =
        send_as(&server, TOKEN, Method::DELETE, &format!("/bulkwrite/v1/faults/{their_id}"), Value::Null).await;
    assert_eq!((status, &body["code"]), (404, &json!("RESOURCE_NOT_FOUND")), "{body}");
    let (status, body) = send_as(&server, TOKEN, Method::DELETE, "/bulkwrite/v1/faults", Value::Null).await;
    assert_eq!((status, body), (200, json!({"removed": 1})));
    let (_, all) = admin(Method::GET, "/bulkwrite/v1/faults", Value::Null).await;
    assert_eq!(all["faults"].as_array().unwrap().len(), 2, "the others' rules stay");
    let every_id = everyone["id"].as_str().unwrap();
    let (status, body) = admin(Method::DELETE, &format!("/bulkwrite/v1/faults/{every_id}"), Value::Null).await;
    assert_eq!((status, body), (200, json!({"removed": 1})));
    let (status, body) = admin(Method::DELETE, "/bulkwrite/v1/faults", Value::Null).await;
    assert_eq!((status, body), (200, json!({"removed": 1})));

    // A token without the scope is refused, as any call without its scope.
    let (_, minted) = server
        .admin(Method::POST, &format!("/orgs/{}/tokens", server.org), json!({"scopes": "ZohoCRM.bulk.ALL"}))
        .await;
    let plain = minted["access_token"].as_str().unwrap();
    let (status, body) = server.get_as(plain, "/bulkwrite/v1/faults").await;
    assert_eq!((status, &body["code"]), (401, &json!("OAUTH_SCOPE_MISMATCH")), "{body}");
}

/// Runs `bulkwrite admin faults ARGS` on the server's store; returns stdout.
fn admin_faults(server: &Server, database: Option<&str>, args: &[&str]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"));
    command.args(["admin", "faults"]).args(args).arg("--data-dir").arg(&server.dir);
    if let Some(database) = database {
        command.args(["--database-url", database]);
    }
    let output = command.output().expect("bulkwrite admin faults");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bulkwrite admin faults {args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

async fn bulkwrite_admin_faults_adds_lists_and_clears_rules(backend: Backend) {
    let (server, database) = start(backend, &[]).await;
    let database = database.as_deref();
    let id = admin_faults(
        &server,
        database,
        &["add", "--method", "GET", "--path", "/crm/v2/org", "--status", "500", "--times", "1"],
    );
    let id = id.trim().to_string();
    assert_eq!(id.len(), 19, "{id}");
    let (status, body) = server.get_json("/crm/v2/org").await;
    assert_eq!(
        (status, body),
        (500, zoho_error("INTERNAL_ERROR", "Internal Server Error")),
        "the running server applies it"
    );
    let rule = r#"{"path": "/crm/v2/users", "latency_ms": 1}"#;
    let org_args = ["add", "--rule", rule, "--org", server.org.as_str()];
    admin_faults(&server, database, &org_args);
    let listed: Value = serde_json::from_str(&admin_faults(&server, database, &["list"])).unwrap();
    let faults = listed["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2);
    assert_eq!((&faults[0]["id"], &faults[0]["fired"], &faults[0]["org"]), (&json!(id), &json!(1), &Value::Null));
    assert_eq!(faults[1]["org"], json!(server.org));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["admin", "faults", "add", "--status", "418", "--data-dir"])
        .arg(&server.dir)
        .args(database.map(|d| vec!["--database-url", d]).unwrap_or_default())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("INVALID_DATA"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(admin_faults(&server, database, &["clear", "--id", &id]).trim(), format!("removed fault {id}"));
    assert_eq!(admin_faults(&server, database, &["clear"]).trim(), "removed 1 fault rule(s)");
    assert_eq!(server.get_json("/crm/v2/org").await.0, 200);
}

async fn the_rust_client_manages_rules_and_rides_out_a_429(backend: Backend) {
    use bulkwrite_client::wire::faults::NewFault;
    use bulkwrite_client::{Client, Credentials, Endpoints, RetryPolicy, UploadSource};
    let (server, _) = start(backend, &[]).await;
    let retry =
        RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50) };
    let client = Client::builder(Endpoints::bulkwrite(&server.base), Credentials::access_token(TOKEN))
        .retry(retry)
        .build()
        .unwrap();
    let rule = NewFault {
        method: Some("POST".into()),
        path: Some("/crm/*/upload".into()),
        status: Some(429),
        times: Some(2),
        ..NewFault::default()
    };
    let id = client.add_fault(&rule).await.unwrap();
    let uploaded = client.upload(&server.org, UploadSource::csv_bytes("leads.csv", "Last_Name\nA\n")).await.unwrap();
    assert_eq!(uploaded.file_id.len(), 19, "the client retried the two 429s and the third upload went through");
    let faults = client.faults().await.unwrap();
    assert_eq!((faults.len(), faults[0].id.as_str(), faults[0].fired), (1, id.as_str(), 2));
    assert_eq!(faults[0].rule.code.as_deref(), Some("TOO_MANY_REQUESTS"));
    client.add_fault(&NewFault { status: Some(500), ..NewFault::default() }).await.unwrap();
    client.remove_fault(&id).await.unwrap();
    let error = client.remove_fault(&id).await.unwrap_err();
    assert!(matches!(&error, bulkwrite_client::Error::Api { code, .. } if code == "RESOURCE_NOT_FOUND"), "{error:?}");
    assert_eq!(client.clear_faults().await.unwrap(), 1);
    assert!(client.faults().await.unwrap().is_empty());
}

#[tokio::test]
async fn with_the_switch_off_the_faults_are_hidden_and_none_applies() {
    let server = Server::start(&[]).await;
    let (status, body) = send_as(&server, TOKEN, Method::POST, "/bulkwrite/v1/faults", json!({"status": 500})).await;
    assert_eq!((status, &body["code"]), (404, &json!("INVALID_URL_PATTERN")), "{body}");
    assert_eq!(server.get_json("/bulkwrite/v1/faults").await.0, 404);
    // A rule written into the store is inert while the server runs without the switch.
    admin_faults(&server, None, &["add", "--path", "/crm/v2/org", "--status", "500"]);
    assert_eq!(server.get_json("/crm/v2/org").await.0, 200);
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn two_nodes_fire_a_rule_exactly_its_times_in_all() {
    let database = crate::multinode::fresh_database().await;
    let env = [("BULKWRITE_TEST_CONTROLS", "1")];
    let first = crate::multinode::node(&database, "api", &env).await;
    let second = crate::multinode::node(&database, "api", &env).await;
    add_rule(&first, json!({"method": "GET", "path": "/crm/v2/org", "status": 429, "times": 2})).await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..12 {
        let node = if n % 2 == 0 { first.url("/crm/v2/org") } else { second.url("/crm/v2/org") };
        let http = first.http.clone();
        requests.spawn(async move {
            let response =
                http.get(node).header("Authorization", format!("Zoho-oauthtoken {TOKEN}")).send().await.unwrap();
            response.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = requests.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    let listed = rules(&second).await;
    assert_eq!(listed[0]["fired"], 2, "either node lists the shared count");
}
