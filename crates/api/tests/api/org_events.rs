//! `GET /bulkwrite/v1/events`: the org's jobs as a stream: it opens with the unfinished jobs,
//! sends each job the org queues and each change a worker announces, never another org's job,
//! nothing for a finished job rung again, a `resync` when wake-ups were lost; same auth as the
//! jobs list; it shares the per-job streams' cap.

use axum::body::Body;
use axum::http::Request;
use bulkwrite_core::ids::JobId;
use bulkwrite_store::Claim;
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::events::EventReader;
use super::fixture::*;

async fn open(api: &Api, token: &str) -> axum::response::Response {
    let request = Request::get("/bulkwrite/v1/events")
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .body(Body::empty())
        .unwrap();
    api.router.clone().oneshot(request).await.expect("the router answers")
}

async fn follow(api: &Api) -> EventReader {
    let response = open(api, FULL).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    EventReader { body: response.into_body(), buffer: String::new() }
}

async fn queue(api: &Api) -> String {
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let created = api.create_job(FULL, &insert_body(&file_id)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json());
    created.json()["details"]["id"].as_str().unwrap().to_string()
}

/// A job of the other org, queued through the API (which rings the node's changes).
async fn queue_for_the_other_org(api: &Api) -> String {
    let headers = [("feature", "bulk-write"), ("X-CRM-ORG", "444555666")];
    let uploaded = api.upload_with(OTHER, &headers, "file", &zip_of(&[("leads.csv", LEADS_CSV.as_bytes())])).await;
    assert_eq!(uploaded.status.as_u16(), 200, "{}", uploaded.json());
    let file_id = uploaded.json()["details"]["file_id"].as_str().unwrap().to_string();
    let created = api.create_job(OTHER, &insert_body(&file_id)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json());
    created.json()["details"]["id"].as_str().unwrap().to_string()
}

async fn next_job(events: &mut EventReader) -> Value {
    let (name, data) = events.next().await.expect("an event");
    assert_eq!(name, "job", "{data}");
    data
}

#[tokio::test]
async fn the_org_stream_follows_its_jobs_from_queued_to_final_and_nothing_else() {
    let api = Api::new().await;
    let mut events = follow(&api).await;
    let first = queue(&api).await;
    let data = next_job(&mut events).await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(first.as_str()), Some("QUEUED")), "{data}");
    assert_eq!(data["operation"], "insert");
    assert_eq!(data["modules"], serde_json::json!(["Leads"]));
    assert_eq!(data["dry_run"], false);
    assert!(data["created_at"].is_string(), "{data}");

    // Another org's job wakes the stream but is never sent: the next event is this org's.
    let foreign = queue_for_the_other_org(&api).await;
    let claim = Claim::new("worker", Utc::now(), chrono::Duration::seconds(30));
    let (claimed, lease) = api.store.claim_next_job(&claim).await.unwrap().unwrap();
    assert_eq!(claimed.id.to_string(), first, "the oldest job is claimed first");
    api.events.changes.job_changed(JobId::parse(&foreign).unwrap());
    api.events.changes.job_changed(claimed.id);
    let data = next_job(&mut events).await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(first.as_str()), Some("RUNNING")), "{data}");
    assert_eq!(data["status"], "IN PROGRESS");

    api.store.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    api.events.changes.job_changed(claimed.id);
    let data = next_job(&mut events).await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(first.as_str()), Some("SUCCEEDED")), "{data}");
    assert!(data["finished_at"].is_string());

    // A finished job rung again sends nothing (its state never changes): the next event is
    // the next job's.
    api.events.changes.job_changed(claimed.id);
    let second = queue(&api).await;
    let data = next_job(&mut events).await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(second.as_str()), Some("QUEUED")), "{data}");
}

#[tokio::test]
async fn the_org_stream_opens_with_the_unfinished_jobs_and_resyncs_after_lost_wake_ups() {
    let api = Api::new().await;
    let done = queue(&api).await;
    let claim = Claim::new("worker", Utc::now(), chrono::Duration::seconds(30));
    let (_, lease) = api.store.claim_next_job(&claim).await.unwrap().unwrap();
    api.store.fail_job(&lease, "unreadable", None, Utc::now()).await.unwrap();
    let waiting = queue(&api).await;
    let _ = queue_for_the_other_org(&api).await;

    let mut events = follow(&api).await;
    let data = next_job(&mut events).await;
    assert_eq!((data["id"].as_str(), data["state"].as_str()), (Some(waiting.as_str()), Some("QUEUED")), "{data}");
    assert_ne!(data["id"].as_str(), Some(done.as_str()));

    // After a reconnect of the node's LISTEN connection (any job may have changed), the stream
    // says that changes may have been missed, and goes on.
    api.events.changes.any_changed();
    let (name, _) = events.next().await.expect("an event");
    assert_eq!(name, "resync");
    let third = queue(&api).await;
    assert_eq!(next_job(&mut events).await["id"].as_str(), Some(third.as_str()));
    // More wake-ups than the node keeps for a slow reader: the same.
    for _ in 0..1100 {
        api.events.changes.job_changed(JobId::new(1));
    }
    let (name, _) = events.next().await.expect("an event");
    assert_eq!(name, "resync");
}

#[tokio::test]
async fn the_org_stream_is_refused_like_the_jobs_list_and_counts_against_the_cap() {
    let api = Api::new().await;
    for token in [NARROW, EXPIRED, ""] {
        let list = api.get("/bulkwrite/v1/jobs", token).await;
        assert_ne!(list.status.as_u16(), 200, "{token:?}");
        let response = open(&api, token).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, list.status, "{token:?}");
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), list.json(), "{token:?}");
    }
    let id = queue(&api).await;
    // One org stream and one job stream fill the test node's cap of two.
    assert_eq!(MAX_EVENT_STREAMS, 2);
    let mut org_stream = follow(&api).await;
    let request = Request::get(format!("/bulkwrite/v1/jobs/{id}/events"))
        .header("Authorization", format!("Zoho-oauthtoken {FULL}"))
        .body(Body::empty())
        .unwrap();
    let job_stream = api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(job_stream.status().as_u16(), 200);
    let refused = open(&api, FULL).await;
    let status = refused.status().as_u16();
    let body: Value = serde_json::from_slice(&refused.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!((status, body["code"].as_str()), (429, Some("TOO_MANY_REQUESTS")), "{body}");
    // A client that goes away frees its slot.
    drop(job_stream);
    let mut events = follow(&api).await;
    assert_eq!(next_job(&mut events).await["id"].as_str(), Some(id.as_str()));
    assert_eq!(next_job(&mut org_stream).await["id"].as_str(), Some(id.as_str()));
}
