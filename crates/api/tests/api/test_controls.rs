//! The test controls' time and stepping paths in-process: off, each answers as an unknown URL;
//! on, they need the admin key or `bulkwrite.test`; the clock moves token expiry and refuses
//! what is not a forward move; the queue pauses and resumes (stepping needs a worker, which
//! this router has none of: the e2e tests step).

use axum::body::Body;
use axum::http::Request;
use bulkwrite_api::ApiConfig;
use bulkwrite_core::clock::Clock;
use serde_json::{json, Value};

use super::fixture::*;

/// Every time and stepping control: method and path.
const CONTROLS: [(&str, &str); 6] = [
    ("GET", "/bulkwrite/v1/clock"),
    ("POST", "/bulkwrite/v1/clock"),
    ("GET", "/bulkwrite/v1/queue"),
    ("POST", "/bulkwrite/v1/queue/pause"),
    ("POST", "/bulkwrite/v1/queue/resume"),
    ("POST", "/bulkwrite/v1/queue/step"),
];

async fn switched_on() -> Api {
    Api::with_config(ApiConfig { test_controls: true, ..ApiConfig::default() }).await
}

async fn as_admin(api: &Api, method: &str, path: &str, body: Value) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.send(request).await
}

async fn move_clock(api: &Api, token: &str, body: Value) -> Answer {
    api.call("POST", "/bulkwrite/v1/clock", token, Body::from(body.to_string())).await
}

#[tokio::test]
async fn with_the_switch_off_every_control_is_an_unknown_url() {
    let api = Api::new().await;
    let unknown = api.get("/bulkwrite/v1/no-such-thing", FULL).await;
    for (method, path) in CONTROLS {
        for answer in [api.call(method, path, FULL, Body::empty()).await, as_admin(&api, method, path, json!({})).await]
        {
            let message = "Please check if the URL trying to access is a correct one";
            assert_error(&answer, 404, "INVALID_URL_PATTERN", message, json!({}));
            assert_eq!(answer.bytes, unknown.bytes, "{method} {path} answers as any unknown URL");
        }
    }
}

#[tokio::test]
async fn with_the_switch_on_a_token_needs_the_test_scope() {
    let api = switched_on().await;
    for (method, path) in CONTROLS {
        for token in [BULK_ONLY, NARROW] {
            let answer = api.call(method, path, token, Body::empty()).await;
            assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
        }
        let answer = api.call(method, path, "", Body::empty()).await;
        assert_eq!(answer.json()["code"], "AUTHENTICATION_FAILURE", "{method} {path}");
        let answer = api.call(method, path, EXPIRED, Body::empty()).await;
        assert_eq!(answer.json()["code"], "INVALID_TOKEN", "{method} {path}");
    }
    let answer = as_admin(&api, "GET", "/bulkwrite/v1/clock", json!({})).await;
    assert_eq!(answer.status.as_u16(), 200, "the admin key opens every control");
}

#[tokio::test]
async fn the_clock_moves_forward_for_token_expiry_and_resets() {
    let api = switched_on().await;
    let admin = format!("/bulkwrite/v1/admin/orgs/{ORG}");
    as_admin(&api, "POST", &format!("{admin}/clients"), json!({"name": "Self Client", "kind": "self_client"})).await;
    let minted = as_admin(&api, "POST", &format!("{admin}/tokens"), json!({"scopes": "ZohoCRM.bulk.ALL"})).await;
    let token = minted.json()["access_token"].as_str().expect("a minted token").to_string();
    assert_eq!(api.get("/crm/bulk/v2/write/1", &token).await.status.as_u16(), 404, "valid: the job is unknown");

    let start = api.clock.now();
    let answer = move_clock(&api, FULL, json!({"advance": "2h"})).await;
    assert_eq!(answer.status.as_u16(), 200, "{:?}", answer.json());
    let moved = answer.json();
    assert_eq!(moved["offset_seconds"], 7200);
    let now = chrono::DateTime::parse_from_rfc3339(moved["now"].as_str().unwrap()).unwrap();
    assert_eq!(now, start + chrono::Duration::hours(2));
    let expired = api.get("/crm/bulk/v2/write/1", &token).await;
    assert_error(&expired, 401, "INVALID_TOKEN", "invalid oauth token", json!({}));
    assert_eq!(api.get("/bulkwrite/v1/clock", FULL).await.json(), moved, "GET answers the same");

    let more = move_clock(&api, FULL, json!({"advance": 90})).await.json();
    assert_eq!(more["offset_seconds"], 7290, "a number is seconds, added to the offset");
    let reset = move_clock(&api, FULL, json!({"reset": true})).await.json();
    assert_eq!(reset["offset_seconds"], 0);
    assert_eq!(api.get("/crm/bulk/v2/write/1", &token).await.status.as_u16(), 404, "valid again at the real time");
}

#[tokio::test]
async fn moves_that_are_not_forward_are_refused_clearly() {
    let api = switched_on().await;
    let negative = move_clock(&api, FULL, json!({"advance": "-1h"})).await;
    let message = "'-1h' is negative: the clock only moves forward (reset it with {\"reset\": true})";
    assert_error(&negative, 400, "INVALID_DATA", message, json!({"api_name": "advance"}));
    for body in [
        json!({}),
        json!({"advance": "7w"}),
        json!({"advance": 1.5}),
        json!({"advance": "1h", "reset": true}),
        json!({"forward": "1h"}),
    ] {
        let answer = move_clock(&api, FULL, body.clone()).await;
        assert_eq!(answer.status.as_u16(), 400, "{body}");
        assert_eq!(answer.json()["code"], "INVALID_DATA", "{body}: {:?}", answer.json());
    }
    assert_eq!(api.get("/bulkwrite/v1/clock", FULL).await.json()["offset_seconds"], 0, "nothing moved");
}

#[tokio::test]
async fn the_queue_pauses_and_resumes_and_a_step_needs_a_pause_and_a_worker() {
    let api = switched_on().await;
    let empty = json!({"paused": false, "queued": 0, "running": 0, "held": 0});
    assert_eq!(api.get("/bulkwrite/v1/queue", FULL).await.json(), empty);
    let step = api.call("POST", "/bulkwrite/v1/queue/step", FULL, Body::empty()).await;
    let message = "the queue is not paused: POST /bulkwrite/v1/queue/pause first, then step it";
    assert_error(&step, 400, "INVALID_REQUEST", message, json!({}));
    let paused = api.call("POST", "/bulkwrite/v1/queue/pause", FULL, Body::empty()).await;
    assert_eq!(
        (paused.status.as_u16(), paused.json()),
        (200, json!({"paused": true, "queued": 0, "running": 0, "held": 0}))
    );
    let step = api.call("POST", "/bulkwrite/v1/queue/step", FULL, Body::from(r#"{"job_id": "not-an-id"}"#)).await;
    assert_error(&step, 404, "RESOURCE_NOT_FOUND", "no job not-an-id to step", json!({"api_name": "job_id"}));
    let step = api.call("POST", "/bulkwrite/v1/queue/step", FULL, Body::from(r#"{"job": 1}"#)).await;
    assert_eq!(step.json()["code"], "INVALID_DATA");
    let step = api.call("POST", "/bulkwrite/v1/queue/step", FULL, Body::empty()).await;
    assert_error(&step, 400, "INVALID_REQUEST", "this node has no worker to step the queue with", json!({}));
    let resumed = api.call("POST", "/bulkwrite/v1/queue/resume", FULL, Body::empty()).await;
    assert_eq!((resumed.status.as_u16(), resumed.json()), (200, empty));
}
