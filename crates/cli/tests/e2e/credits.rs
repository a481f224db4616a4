//! API credits and concurrency like Zoho's on the real binary (issue 19): a server started with
//! `--api-credits free` (5,000 credits a day) runs a job, answers `X-API-CREDITS-REMAINING`
//! from half the credits and 429 `TOO_MANY_REQUESTS` past them; `bulkwrite admin orgs credits`
//! changes the org's plan while it runs; the Rust client reads the usage. On PostgreSQL two
//! nodes share one budget, also when calls reach both at once. The window rolls with the
//! server's clock (`POST /bulkwrite/v1/clock`). (The Python SDK meeting the 429 is in `sdk.rs`.)

use std::process::Command;

use bulkwrite_client::{Client, Credentials, Endpoints};
use serde_json::{json, Value};

use crate::harness::{Server, TOKEN};
use crate::multinode::{fresh_database, node};

const CREDITS_MESSAGE: &str = "Number of API requests for the 24 hour period is exceeded";

/// A job on a file that does not exist: charged its 500 credits, refused by its handler.
fn doomed_job() -> Value {
    json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": "5725767000000999999"}]})
}

/// `POST /crm/bulk/v2/write` of `body`: status, `X-API-CREDITS-REMAINING`, body.
async fn create_job(server: &Server, body: &Value) -> (u16, Option<u64>, Value) {
    let response = server.auth(server.http.post(server.url("/crm/bulk/v2/write"))).json(body).send().await.unwrap();
    answer(response).await
}

async fn get_org(server: &Server) -> (u16, Option<u64>, Value) {
    answer(server.auth(server.http.get(server.url("/crm/v2/org"))).send().await.unwrap()).await
}

async fn answer(response: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = response.status().as_u16();
    let remaining = response
        .headers()
        .get("x-api-credits-remaining")
        .map(|v| v.to_str().unwrap().parse().expect("a count of credits"));
    (status, remaining, response.json().await.unwrap_or(Value::Null))
}

/// The org's credits as the admin sees them.
async fn credits(server: &Server) -> Value {
    let response = server
        .http
        .get(server.url(&format!("/bulkwrite/v1/orgs/{}/credits", server.org)))
        .bearer_auth(server.boot("admin_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn assert_credits_refusal(status: u16, body: &Value) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body,
        &json!({"status": "error", "code": "TOO_MANY_REQUESTS", "message": CREDITS_MESSAGE, "details": {}})
    );
}

/// `bulkwrite admin … orgs credits ORG ARGS` on the server's store; its JSON.
fn admin_credits(server: &Server, database: Option<&str>, args: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwrite"));
    command.args(["admin", "--data-dir"]).arg(&server.dir);
    if let Some(url) = database {
        command.args(["--database-url", url]);
    }
    let done = command.args(["orgs", "credits", &server.org]).args(args).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    serde_json::from_slice(&done.stdout).expect("the command prints JSON")
}

#[tokio::test]
async fn a_metered_server_charges_answers_429_and_the_admin_command_changes_the_plan() {
    let server = Server::start(&[("BULKWRITE_API_CREDITS", "free"), ("BULKWRITE_TEST_CONTROLS", "1")]).await;

    // A real job runs as before: upload (1 credit), create (500), polls (1 each).
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company,Email\nA,Co,a@credits.example\n").await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let done = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED");

    let client = Client::builder(Endpoints::bulkwrite(&server.base), Credentials::access_token(TOKEN)).build().unwrap();
    let seen = client.credits(&server.org).await.unwrap();
    assert!(seen.metered);
    assert_eq!(seen.plan.as_ref().map(|p| p.edition.as_str()), Some("free"));
    let used = seen.credits.used;
    assert!(used >= 502, "upload, create and at least one poll: {used}");
    assert_eq!(seen.credits.limit, Some(5_000));
    assert_eq!(seen.concurrency.limit, Some(5));

    let admitted = (5_000 - used) / 500;
    for call in 1..=admitted {
        let (status, remaining, body) = create_job(&server, &doomed_job()).await;
        assert_eq!(status, 400, "call {call}: {body}");
        let now_used = used + call * 500;
        let expected = (now_used >= 2_500).then(|| 5_000 - now_used);
        assert_eq!(remaining, expected, "X-API-CREDITS-REMAINING after call {call}");
    }
    let (status, remaining, body) = create_job(&server, &doomed_job()).await;
    assert_credits_refusal(status, &body);
    assert_eq!(remaining, Some(5_000 - used - admitted * 500));
    let shown = credits(&server).await;
    assert_eq!(shown["credits"]["used"], json!(used + admitted * 500), "the refused call cost nothing");

    // The org's own setting, written by the admin command while the server runs.
    let off = admin_credits(&server, None, &["--off"]);
    assert_eq!(off["org_setting"], "off");
    let (status, remaining, _) = create_job(&server, &doomed_job()).await;
    assert_eq!((status, remaining), (400, None), "an org that is off is not metered");
    let inherit = admin_credits(&server, None, &["--inherit"]);
    assert_eq!(inherit["org_setting"], "inherit");
    let (status, _, body) = create_job(&server, &doomed_job()).await;
    assert_credits_refusal(status, &body);
    let standard = admin_credits(&server, None, &["--edition", "standard", "--users", "10"]);
    assert_eq!((standard["limit"].clone(), standard["plan"]["users"].clone()), (json!(52_500), json!(10)));
    let (status, remaining, _) = get_org(&server).await;
    assert_eq!((status, remaining), (200, None), "52,500 credits: below half used");
    let shown = client.credits(&server.org).await.unwrap();
    assert_eq!((shown.org_setting.as_str(), shown.credits.limit), ("plan", Some(52_500)));

    // The window reads the server's clock: moved a day and a minute on, the credits are back.
    admin_credits(&server, None, &["--edition", "free"]);
    let (status, _, body) = create_job(&server, &doomed_job()).await;
    assert_credits_refusal(status, &body);
    let moved = server
        .http
        .post(server.url("/bulkwrite/v1/clock"))
        .bearer_auth(server.boot("admin_key"))
        .json(&json!({"advance": "1441m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let (status, remaining, body) = create_job(&server, &doomed_job()).await;
    assert_eq!((status, remaining), (400, None), "{body}");
    assert_eq!(credits(&server).await["credits"]["used"], json!(500), "only the call after the move counts");
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn two_nodes_on_postgres_share_one_budget() {
    let database = fresh_database().await;
    let free = [("BULKWRITE_API_CREDITS", "free")];
    let first = node(&database, "all", &free).await;
    let second = node(&database, "api", &free).await;
    assert_eq!(first.org, second.org);

    for call in 0..6 {
        let server = if call % 2 == 0 { &first } else { &second };
        let (status, _, body) = create_job(server, &doomed_job()).await;
        assert_eq!(status, 400, "call {call}: {body}");
    }
    assert_eq!(credits(&second).await["credits"]["used"], json!(3_000), "either node counts every node's calls");

    // Five calls at once, on both nodes (five is the Free edition's concurrency, so only credits
    // can refuse): 2,000 credits are left, so exactly four are admitted.
    let job = doomed_job();
    let (one, two, three, four, five) = tokio::join!(
        create_job(&first, &job),
        create_job(&second, &job),
        create_job(&first, &job),
        create_job(&second, &job),
        create_job(&first, &job)
    );
    let answers = [one, two, three, four, five];
    let admitted = answers.iter().filter(|(status, _, _)| *status == 400).count();
    let refused: Vec<&(u16, Option<u64>, Value)> = answers.iter().filter(|(status, _, _)| *status == 429).collect();
    assert_eq!((admitted, refused.len()), (4, 1), "{answers:?}");
    assert_credits_refusal(refused[0].0, &refused[0].2);
    for server in [&first, &second] {
        let (status, remaining, body) = get_org(server).await;
        assert_credits_refusal(status, &body);
        assert_eq!(remaining, Some(0));
    }
    assert_eq!(credits(&first).await["credits"]["used"], json!(5_000));

    // An org's plan set on the shared database holds on every node at once.
    let plan = admin_credits(&first, Some(&database), &["--edition", "enterprise", "--users", "20"]);
    assert_eq!(plan["limit"], json!(70_000));
    for server in [&first, &second] {
        assert_eq!(get_org(server).await.0, 200);
    }
}
