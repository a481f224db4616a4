//! `GET /bulkwrite/v1/jobs/{id}/events`: the stream opens with the job as it stands, follows
//! the changes a worker announces, ends with the final state and closes; same auth and org
//! scoping as `GET /bulkwrite/v1/jobs/{id}`; streams past the cap are 429.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use bulkwrite_core::ids::JobId;
use bulkwrite_store::Claim;
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::fixture::*;

/// Only a bound on a broken stream: every event the tests wait for is already due.
pub(super) const PATIENCE: Duration = Duration::from_secs(20);

/// An open events stream, read one event at a time.
pub(super) struct EventReader {
    pub(super) body: Body,
    pub(super) buffer: String,
}

impl EventReader {
    /// The next event's name and data, skipping comments; `None` once the stream closed.
    pub(super) async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data) = (String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).expect("event data is JSON")));
            }
            let frame = tokio::time::timeout(PATIENCE, self.body.frame()).await.expect("the stream moves");
            match frame {
                None => return None,
                Some(frame) => {
                    let frame = frame.expect("the stream reads");
                    if let Ok(bytes) = frame.into_data() {
                        self.buffer.push_str(std::str::from_utf8(&bytes).expect("UTF-8"));
                    }
                }
            }
        }
    }
}

async fn open(api: &Api, id: &str, token: &str) -> Response {
    let request = Request::get(format!("/bulkwrite/v1/jobs/{id}/events"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .body(Body::empty())
        .unwrap();
    api.router.clone().oneshot(request).await.expect("the router answers")
}

async fn follow(api: &Api, id: &str) -> EventReader {
    let response = open(api, id, FULL).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    EventReader { body: response.into_body(), buffer: String::new() }
}

async fn queued_job(api: &Api) -> String {
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let created = api.create_job(FULL, &insert_body(&file_id)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json());
    created.json()["details"]["id"].as_str().unwrap().to_string()
}

fn job_id(id: &str) -> JobId {
    JobId::parse(id).unwrap()
}

#[tokio::test]
async fn the_stream_opens_with_the_current_state_follows_changes_and_closes_at_the_end() {
    let api = Api::new().await;
    let id = queued_job(&api).await;
    let mut events = follow(&api, &id).await;
    let (name, data) = events.next().await.expect("the first event");
    assert_eq!(name, "progress");
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["state"], "QUEUED");
    assert_eq!(data["status"], "ADDED");
    assert_eq!(data["processed"], 0);
    assert_eq!(data["resources"][0]["state"], "pending");

    let claim = Claim::new("worker", Utc::now(), chrono::Duration::seconds(30));
    let (_, lease) = api.store.claim_next_job(&claim).await.unwrap().unwrap();
    // Another job's change wakes nothing here; this job's does.
    api.events.changes.job_changed(JobId::new(1));
    api.events.changes.job_changed(job_id(&id));
    let (name, data) = events.next().await.expect("the claim's event");
    assert_eq!((name.as_str(), &data["state"]), ("progress", &Value::from("RUNNING")));
    assert_eq!(data["status"], "IN PROGRESS");

    api.store.fail_job(&lease, "the file could not be read", None, Utc::now()).await.unwrap();
    api.events.changes.job_changed(job_id(&id));
    let (name, data) = events.next().await.expect("the end");
    assert_eq!(name, "end");
    assert_eq!(data["state"], "FAILED");
    assert_eq!(data["status"], "FAILED");
    assert_eq!(data["error"], "the file could not be read");
    assert!(data["finished_at"].is_string());
    assert!(events.next().await.is_none(), "the stream closes after its end event");
}

#[tokio::test]
async fn a_finished_job_streams_its_end_at_once() {
    let api = Api::new().await;
    let id = queued_job(&api).await;
    let claim = Claim::new("worker", Utc::now(), chrono::Duration::seconds(30));
    let (_, lease) = api.store.claim_next_job(&claim).await.unwrap().unwrap();
    api.store.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    let mut events = follow(&api, &id).await;
    let (name, data) = events.next().await.expect("the end");
    assert_eq!((name.as_str(), &data["state"]), ("end", &Value::from("SUCCEEDED")));
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn the_stream_is_scoped_and_refused_like_the_job_view() {
    let api = Api::new().await;
    let id = queued_job(&api).await;
    for (path, token) in [
        (id.clone(), OTHER),
        ("5725767000000012999".to_string(), FULL),
        ("not-a-number".to_string(), FULL),
        (id.clone(), NARROW),
        (id.clone(), EXPIRED),
        (id.clone(), ""),
    ] {
        let view = api.get(&format!("/bulkwrite/v1/jobs/{path}"), token).await;
        assert_ne!(view.status.as_u16(), 200, "{path} with {token:?}");
        let response = open(&api, &path, token).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, view.status, "{path} with {token:?}");
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), view.json(), "{path} with {token:?}");
    }
}

#[tokio::test]
async fn streams_past_the_cap_are_too_many_requests_until_one_closes() {
    let api = Api::new().await;
    let id = queued_job(&api).await;
    let mut open_streams = Vec::new();
    for _ in 0..MAX_EVENT_STREAMS {
        open_streams.push(follow(&api, &id).await);
    }
    let refused = open(&api, &id, FULL).await;
    let status = refused.status().as_u16();
    let body: Value = serde_json::from_slice(&refused.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, 429);
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    assert_eq!(body["status"], "error");
    // A client that goes away frees its slot.
    drop(open_streams.pop());
    let mut events = follow(&api, &id).await;
    assert_eq!(events.next().await.expect("the first event").1["state"], "QUEUED");
}
