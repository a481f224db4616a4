//! API credits and concurrency like Zoho's (issue 19): what each call costs, the
//! `X-API-CREDITS-REMAINING` header from half the credits, the 429 answers past the credits and
//! the concurrency limits, the window that rolls with the injected clock, and the routes that show
//! and set an org's plan.

use std::time::{Duration as StdDuration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use bulkwrite_api::ApiConfig;
use bulkwrite_core::clock::Clock;
use bulkwrite_core::credits::{CreditPlan, Edition};
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{CallAdmission, CallRequest, NewAccessToken};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tower::ServiceExt;

use super::fixture::*;

const ORG_PATH: &str = "/bulkwrite/v1/orgs/111222333/credits";
/// A token of the org minted for an OAuth client (another "app").
const APP_TOKEN: &str = "1000.app";
/// A token of the org granted `bulkwrite.test`.
const TEST_TOKEN: &str = "1000.tester";

async fn api_with(plan: Option<CreditPlan>, test_controls: bool) -> Api {
    let api = Api::with_config(ApiConfig { api_credits: plan, test_controls, ..ApiConfig::default() }).await;
    for (text, client_id, scopes) in [
        (APP_TOKEN, Some("1000.CLIENTAPP"), bulkwrite_api::ALL_SCOPES.to_vec()),
        (TEST_TOKEN, None, vec![bulkwrite_api::TEST_CONTROLS_SCOPE]),
    ] {
        let token = NewAccessToken {
            token_hash: hash_token(text),
            org: ORG,
            user: ADMIN,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            client_id: client_id.map(str::to_string),
            refresh_hash: None,
        };
        api.store.insert_access_token(token).await.unwrap();
    }
    api
}

fn free() -> CreditPlan {
    CreditPlan::new(Edition::Free, 1)
}

async fn admin_call(api: &Api, method: &str, path: &str, body: Option<Value>) -> Answer {
    let mut request =
        Request::builder().method(method).uri(path).header("authorization", format!("Bearer {ADMIN_KEY}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    api.send(request.body(body).unwrap()).await
}

async fn view(api: &Api) -> Value {
    let answer = admin_call(api, "GET", ORG_PATH, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.bytes));
    answer.json()
}

async fn used(api: &Api) -> u64 {
    view(api).await["credits"]["used"].as_u64().unwrap()
}

fn remaining_header(answer: &Answer) -> Option<String> {
    answer.headers.get("x-api-credits-remaining").map(|v| v.to_str().unwrap().to_string())
}

/// A bulk write job for a file that does not exist: refused 400, but charged its 500 credits.
async fn create_job(api: &Api, token: &str) -> Answer {
    api.create_job(token, &insert_body("5725767000000999999")).await
}

async fn json_call(api: &Api, method: &str, path: &str, token: &str, body: Value) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.send(request).await
}

#[tokio::test]
async fn metering_is_off_by_default() {
    let api = api_with(None, false).await;
    for _ in 0..12 {
        let answer = create_job(&api, FULL).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(remaining_header(&answer), None);
    }
    let shown = view(&api).await;
    assert_eq!((shown["metered"].clone(), shown["org_setting"].clone()), (json!(false), json!("inherit")));
    assert_eq!(shown["credits"], json!({"limit": null, "used": 0, "remaining": null, "header_from": null}));
}

#[tokio::test]
async fn each_call_costs_what_zohos_table_says() {
    let api = api_with(Some(CreditPlan::new(Edition::Enterprise, 20)), false).await;
    let mut expected = 0;
    let mut check = |answer: &Answer, cost: u64, what: &str| {
        assert_ne!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{what}");
        expected += cost;
        expected
    };
    let total = check(&api.get("/crm/v2/org", FULL).await, 1, "org");
    assert_eq!(used(&api).await, total);
    let total = check(&create_job(&api, FULL).await, 500, "bulk write initialize");
    assert_eq!(used(&api).await, total);
    let read = json!({"query": {"module": {"api_name": "Leads"}}});
    let total = check(&json_call(&api, "POST", "/crm/bulk/v2/read", FULL, read).await, 50, "bulk read initialize");
    assert_eq!(used(&api).await, total);
    let records: Vec<Value> = (0..11).map(|i| json!({"Last_Name": format!("R{i}"), "Company": "Co"})).collect();
    let inserted = json_call(&api, "POST", "/crm/v2/Leads", FULL, json!({"data": records})).await;
    let total = check(&inserted, 2, "insert of 11 records");
    assert_eq!(used(&api).await, total);
    let coql = json!({"select_query": "select Last_Name from Leads where Last_Name is not null limit 1000"});
    let total = check(&json_call(&api, "POST", "/crm/v2/coql", FULL, coql).await, 2, "COQL of 1,000 rows");
    assert_eq!(used(&api).await, total);
    let total = check(&api.get("/crm/v2/Leads/search?word=R1", FULL).await, 1, "search");
    assert_eq!(used(&api).await, total);
    let total = check(&api.get("/crm/v2/Leads?cvid=5725767000000089502", FULL).await, 3, "records of a custom view");
    assert_eq!(used(&api).await, total);
    let total = check(&api.upload(&zip_of(&[("leads.csv", LEADS_CSV.as_bytes())])).await, 1, "upload");
    assert_eq!(used(&api).await, total);
    assert_eq!(api.get("/bulkwrite/v1/jobs", FULL).await.status, StatusCode::OK);
    assert_eq!(used(&api).await, total, "our own paths are not metered");
    let shown = view(&api).await;
    assert_eq!(shown["plan"], json!({"edition": "enterprise", "users": 20, "addon_credits": 0}));
    assert_eq!(
        shown["credits"],
        json!({"limit": 70_000, "used": total, "remaining": 70_000 - total, "header_from": 35_000})
    );
    assert_eq!(shown["concurrency"], json!({"limit": 20, "sub_concurrency_limit": 10, "in_flight": []}));
}

#[tokio::test]
async fn the_header_shows_from_half_the_credits_and_429_answers_past_them() {
    let api = api_with(Some(free()), false).await;
    for call in 1..=10u64 {
        let answer = create_job(&api, FULL).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "call {call} is admitted (and refused by the handler)");
        let expected = (call >= 5).then(|| (5_000 - call * 500).to_string());
        assert_eq!(remaining_header(&answer), expected, "call {call}");
    }
    let refused = create_job(&api, FULL).await;
    assert_error(
        &refused,
        429,
        "TOO_MANY_REQUESTS",
        "Number of API requests for the 24 hour period is exceeded",
        json!({}),
    );
    assert_eq!(remaining_header(&refused).as_deref(), Some("0"));
    let cheap = api.get("/crm/v2/org", FULL).await;
    assert_error(
        &cheap,
        429,
        "TOO_MANY_REQUESTS",
        "Number of API requests for the 24 hour period is exceeded",
        json!({}),
    );
    assert_eq!(used(&api).await, 5_000, "refused calls cost nothing");
    let other_org = api.get("/crm/v2/org", OTHER).await;
    assert_eq!(other_org.status, StatusCode::OK, "each org has its own credits");
    assert_eq!(api.get("/bulkwrite/v1/jobs", FULL).await.status, StatusCode::OK, "our own paths still answer");
}

#[tokio::test]
async fn credits_come_back_as_the_injected_clock_passes_the_window() {
    let api = api_with(Some(free()), false).await;
    for _ in 0..10 {
        assert_eq!(create_job(&api, FULL).await.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(api.get("/crm/v2/org", FULL).await.status, StatusCode::TOO_MANY_REQUESTS);
    let next_release = view(&api).await["window"]["next_release_time"].as_str().unwrap().to_string();
    let release: chrono::DateTime<chrono::Utc> = next_release.parse().unwrap();
    api.clock.advance(chrono::Duration::hours(24) - chrono::Duration::seconds(1));
    assert_eq!(api.get("/crm/v2/org", FULL).await.status, StatusCode::TOO_MANY_REQUESTS, "not a moment early");
    api.clock.set(release);
    let back = api.get("/crm/v2/org", FULL).await;
    assert_eq!(back.status, StatusCode::OK, "the window rolled past the credits' minute");
    assert_eq!(remaining_header(&back), None, "one credit used: below half");
    let shown = view(&api).await;
    assert_eq!(shown["credits"]["used"], json!(1));
    assert_eq!(shown["window"]["end"], json!(bulkwrite_api::credits::seconds(release)));
}

#[tokio::test]
async fn an_orgs_own_plan_wins_over_the_servers_and_off_turns_it_off() {
    let api = api_with(None, false).await;
    let set = admin_call(&api, "PUT", ORG_PATH, Some(json!({"edition": "free"}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", String::from_utf8_lossy(&set.bytes));
    assert_eq!((set.json()["metered"].clone(), set.json()["org_setting"].clone()), (json!(true), json!("plan")));
    for _ in 0..10 {
        create_job(&api, FULL).await;
    }
    assert_eq!(create_job(&api, FULL).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(create_job(&api, OTHER).await.status, StatusCode::BAD_REQUEST, "the other org is not metered");

    let off = admin_call(&api, "PUT", ORG_PATH, Some(json!({"metered": false}))).await;
    assert_eq!((off.status, off.json()["org_setting"].clone()), (StatusCode::OK, json!("off")));
    assert_eq!(create_job(&api, FULL).await.status, StatusCode::BAD_REQUEST, "off: not metered");
    let inherit = admin_call(&api, "DELETE", ORG_PATH, None).await;
    assert_eq!((inherit.status, inherit.json()["metered"].clone()), (StatusCode::OK, json!(false)));

    let bad = admin_call(&api, "PUT", ORG_PATH, Some(json!({"edition": "gold"}))).await;
    assert_error(
        &bad,
        400,
        "INVALID_DATA",
        "unknown edition 'gold' (free, standard, professional, enterprise or ultimate)",
        json!({}),
    );
    let unknown = admin_call(&api, "GET", "/bulkwrite/v1/orgs/999888777/credits", None).await;
    assert_error(&unknown, 404, "RESOURCE_NOT_FOUND", "org 999888777 not found", json!({}));
}

#[tokio::test]
async fn the_credits_routes_answer_the_admin_and_with_the_switch_an_org_token_granted_bulkwrite_test() {
    let off = api_with(Some(free()), false).await;
    assert_eq!(admin_call(&off, "GET", ORG_PATH, None).await.status, StatusCode::OK, "the admin, switch off");
    let hidden = off.get(ORG_PATH, TEST_TOKEN).await;
    assert_error(
        &hidden,
        404,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        json!({}),
    );

    let on = api_with(Some(free()), true).await;
    let own = on.get(ORG_PATH, TEST_TOKEN).await;
    assert_eq!((own.status, own.json()["org_id"].clone()), (StatusCode::OK, json!("111222333")));
    let narrow = on.get(ORG_PATH, BULK_ONLY).await;
    assert_eq!(narrow.json()["code"], json!("OAUTH_SCOPE_MISMATCH"), "bulkwrite.test is not in the token's scopes");
    let other = on.get("/bulkwrite/v1/orgs/444555666/credits", TEST_TOKEN).await;
    assert_error(&other, 404, "RESOURCE_NOT_FOUND", "org 444555666 not found", json!({}));
    let request = Request::put(ORG_PATH)
        .header("authorization", format!("Zoho-oauthtoken {TEST_TOKEN}"))
        .body(Body::from(json!({"edition": "ultimate", "users": 3}).to_string()))
        .unwrap();
    let set = on.send(request).await;
    assert_eq!(set.json()["credits"]["limit"], json!(56_000), "a test sets its own org's plan");
}

/// A `POST /crm/bulk/v2/write` whose body never ends until its sender says: a call held in flight.
fn held_call(api: &Api, token: &str) -> (mpsc::Sender<Bytes>, tokio::task::JoinHandle<StatusCode>) {
    let (sender, receiver) = mpsc::channel::<Bytes>(1);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|bytes| (Ok::<Bytes, std::io::Error>(bytes), receiver))
    });
    let request = Request::post("/crm/bulk/v2/write")
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    let router = api.router.clone();
    let task = tokio::spawn(async move { router.oneshot(request).await.expect("the router answers").status() });
    (sender, task)
}

/// Waits until the org has `calls` calls in flight in all.
async fn wait_in_flight(api: &Api, calls: u64) {
    let deadline = Instant::now() + StdDuration::from_secs(20);
    loop {
        let shown = view(api).await;
        let in_flight: u64 =
            shown["concurrency"]["in_flight"].as_array().unwrap().iter().map(|a| a["calls"].as_u64().unwrap()).sum();
        if in_flight == calls {
            return;
        }
        assert!(Instant::now() < deadline, "never {calls} calls in flight: {shown}");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn calls_in_flight_are_held_to_the_editions_concurrency_per_app() {
    let api = api_with(Some(free()), false).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(held_call(&api, FULL));
    }
    wait_in_flight(&api, 5).await;
    let refused = api.get("/crm/v2/org", FULL).await;
    assert_error(
        &refused,
        429,
        "TOO_MANY_REQUESTS",
        "the concurrency limit of the user for the app is exceeded",
        json!({}),
    );
    assert_eq!(api.get("/crm/v2/org", APP_TOKEN).await.status, StatusCode::OK, "another app has its own slots");

    let (sender, task) = held.pop().unwrap();
    sender.send(Bytes::from_static(b"{}")).await.unwrap();
    drop(sender);
    assert_eq!(task.await.unwrap(), StatusCode::BAD_REQUEST, "the held call ends");
    assert_eq!(api.get("/crm/v2/org", FULL).await.status, StatusCode::OK, "its slot is free once it answered");

    // A call whose client goes away mid-body frees its slot too.
    let (sender, task) = held.pop().unwrap();
    task.abort();
    let _ = task.await;
    drop(sender);
    wait_in_flight(&api, 3).await;
    for (sender, task) in held {
        drop(sender);
        let _ = task.await;
    }
    wait_in_flight(&api, 0).await;
    assert_eq!(used(&api).await, 5 * 500 + 2, "every admitted call paid; the refused one did not");
}

#[tokio::test]
async fn complex_calls_are_held_to_the_sub_concurrency_of_ten() {
    let api = api_with(Some(CreditPlan::new(Edition::Ultimate, 1)), false).await;
    // Ten complex calls of the org's own app in flight, as another node would hold them.
    for _ in 0..10 {
        let call = CallRequest {
            org: ORG,
            app: "self".into(),
            cost: 1,
            complex: true,
            credit_limit: 52_000,
            concurrency: 25,
            sub_concurrency: 10,
            now: api.clock.now(),
            slot_lease: chrono::Duration::minutes(5),
        };
        assert!(matches!(api.store.begin_call(&call).await.unwrap(), CallAdmission::Admitted { .. }));
    }
    let search = api.get("/crm/v2/Leads/search?word=x", FULL).await;
    assert_error(
        &search,
        429,
        "TOO_MANY_REQUESTS",
        "the sub-concurrency limit of the user for the app is exceeded",
        json!({}),
    );
    let coql = json!({"select_query": "select Last_Name from Leads where Last_Name is not null"});
    assert_eq!(json_call(&api, "POST", "/crm/v2/coql", FULL, coql).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(api.get("/crm/v2/Leads?sort_by=Created_Time", FULL).await.status, StatusCode::TOO_MANY_REQUESTS);
    let ten: Vec<Value> = (0..10).map(|i| json!({"Last_Name": format!("R{i}"), "Company": "Co"})).collect();
    let small = json_call(&api, "POST", "/crm/v2/Leads", FULL, json!({"data": ten})).await;
    assert_eq!(small.status, StatusCode::CREATED, "ten records are not a complex call");
    assert_eq!(api.get("/crm/v2/Leads", FULL).await.status, StatusCode::OK, "a plain listing is not complex");
    let view = view(&api).await;
    assert_eq!(view["concurrency"]["in_flight"], json!([{"app": "self", "calls": 10, "complex_calls": 10}]));
    // The slots lapse with their lease (their node never ended them).
    api.clock.advance(chrono::Duration::minutes(5));
    assert_ne!(api.get("/crm/v2/Leads/search?word=x", FULL).await.status, StatusCode::TOO_MANY_REQUESTS);
}
