//! Job details, the result download (its expired link), our `/bulkwrite/v1` errors, and storage
//! failures answered 500 `INTERNAL_ERROR` without internals.

use axum::body::Body;
use bulkwrite_core::ids::JobId;
use bulkwrite_store::{Claim, Expiry};
use chrono::Utc;
use serde_json::json;

use super::fixture::*;

const NOT_FOUND: &str = "The requested resource doesn't exist.";

/// A job created through the API and completed with a result blob by a stand-in worker.
async fn finished_job(api: &Api) -> String {
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let created = api.create_job(FULL, &insert_body(&file_id)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json());
    let id = created.json()["details"]["id"].as_str().unwrap().to_string();
    let claim = Claim::new("worker", Utc::now(), chrono::Duration::seconds(30));
    let (job, lease) = api.store.claim_next_job(&claim).await.unwrap().unwrap();
    assert_eq!(job.id.to_string(), id);
    let key = format!("results/{ORG}/{id}.zip");
    let path = api.dir.join("blobs").join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, zip_of(&[("Leads-leads.csv", b"Last_Name,STATUS\nQuist,ADDED\n")])).unwrap();
    api.store.complete_job(&lease, &key, Utc::now()).await.unwrap();
    id
}

#[tokio::test]
async fn job_details_of_an_unknown_malformed_or_foreign_job_are_resource_not_found() {
    let api = Api::new().await;
    let id = finished_job(&api).await;
    assert_eq!(api.get(&format!("/crm/bulk/v2/write/{id}"), FULL).await.status.as_u16(), 200);
    for (path, token) in [
        ("/crm/bulk/v2/write/5725767000000012999".to_string(), FULL),
        ("/crm/bulk/v2/write/not-a-number".to_string(), FULL),
        (format!("/crm/bulk/v2/write/{id}"), OTHER),
        ("/bulkwrite/v1/jobs/5725767000000012999".to_string(), FULL),
        (format!("/bulkwrite/v1/jobs/{id}"), OTHER),
        (format!("/bulkwrite/v1/jobs/{id}/callback"), FULL),
    ] {
        let answer = api.get(&path, token).await;
        assert_error(&answer, 404, "RESOURCE_NOT_FOUND", NOT_FOUND, json!({}));
    }
}

#[tokio::test]
async fn the_download_answers_its_file_then_link_not_valid_once_expired() {
    let api = Api::new().await;
    let id = finished_job(&api).await;
    let url = format!("/v2/crm/{ORG}/bulk-write/{id}/{id}.zip");
    let answer = api.get(&url, FULL).await;
    assert_eq!(answer.status.as_u16(), 200);
    assert_eq!(answer.headers["content-type"], "application/zip");
    assert!(answer.bytes.starts_with(b"PK\x03\x04"));

    // The wrong org, job or file name never reveal the file.
    for path in [
        format!("/v2/crm/{OTHER_ORG}/bulk-write/{id}/{id}.zip"),
        format!("/v2/crm/{ORG}/bulk-write/{id}/other.zip"),
        format!("/v2/crm/{ORG}/bulk-write/5725767000000012999/5725767000000012999.zip"),
    ] {
        assert_error(&api.get(&path, FULL).await, 404, "RESOURCE_NOT_FOUND", NOT_FOUND, json!({}));
    }
    assert_error(&api.get(&url, OTHER).await, 404, "RESOURCE_NOT_FOUND", NOT_FOUND, json!({}));

    let later = Utc::now() + chrono::Duration::days(30);
    assert_eq!(api.store.expire_results(&Expiry { now: later, older_than: later, limit: 10 }).await.unwrap(), 1);
    let answer = api.get(&url, FULL).await;
    assert_eq!(answer.status.as_u16(), 404);
    let body = answer.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["status", "code", "message", "details", "x-info"]);
    assert_eq!(
        body,
        json!({"status": "error", "code": "RESOURCE_NOT_FOUND", "message": "Link not valid", "details": {}, "x-info": "Link not valid"})
    );
    assert_recorded_headers(&answer);
}

#[tokio::test]
async fn our_own_endpoints_answer_in_the_same_shape() {
    let api = Api::new().await;
    let id = finished_job(&api).await;
    let cancel = |job: &str| format!("/bulkwrite/v1/jobs/{job}/cancel");
    let answer = api.call("POST", &cancel("5725767000000012999"), FULL, Body::empty()).await;
    assert_error(&answer, 404, "RESOURCE_NOT_FOUND", NOT_FOUND, json!({}));
    let answer = api.call("POST", &cancel(&id), FULL, Body::empty()).await;
    let state = answer.json()["details"]["state"].clone();
    let details = json!({"id": id, "status": "COMPLETED", "state": state});
    assert_error(&answer, 400, "INVALID_REQUEST", "the job already finished with status COMPLETED", details);

    let answer = api.get("/bulkwrite/v1/jobs?per_page=0", FULL).await;
    let details = json!({"param_name": "per_page", "expected": "a whole number from 1 to 200"});
    assert_error(&answer, 400, "INVALID_DATA", "the value of the parameter per_page is invalid", details);
    let answer = api.get("/bulkwrite/v1/jobs?module=Spaceships", FULL).await;
    let details = json!({"param_name": "module", "expected": "a module API name of the org"});
    assert_error(&answer, 400, "INVALID_DATA", "the value of the parameter module is invalid", details);

    // Admin routes take the admin key, never an OAuth token.
    let admin = |key: Option<&str>| {
        let mut request = axum::http::Request::get("/bulkwrite/v1/admin/orgs");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        api.send(request.body(Body::empty()).unwrap())
    };
    assert_error(&admin(None).await, 401, "AUTHENTICATION_FAILURE", "Authentication failed", json!({}));
    assert_error(&admin(Some(FULL)).await, 401, "INVALID_TOKEN", "invalid oauth token", json!({}));
    assert_eq!(admin(Some(ADMIN_KEY)).await.status.as_u16(), 200);
    let request = axum::http::Request::post("/bulkwrite/v1/admin/orgs/999/users")
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"email": "x@example.com", "first_name": "X", "last_name": "Y"}).to_string()))
        .unwrap();
    assert_error(&api.send(request).await, 404, "RESOURCE_NOT_FOUND", "org 999 not found", json!({}));
}

#[tokio::test]
async fn a_blob_store_failure_is_internal_error_without_internals() {
    let api = Api::new().await;
    // The upload directory cannot be made: a file stands where it belongs.
    std::fs::write(api.dir.join("blobs").join("uploads"), b"in the way").unwrap();
    let answer = api.upload(&zip_of(&[("leads.csv", LEADS_CSV.as_bytes())])).await;
    assert_error(&answer, 500, "INTERNAL_ERROR", "Internal Server Error", json!({}));
    assert!(answer.headers.contains_key("x-request-id"), "the answer names its request for the logs");
    let text = String::from_utf8_lossy(&answer.bytes).to_lowercase();
    for internal in ["blobs", "uploads", "directory", "os error", "/tmp"] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }
}

#[tokio::test]
async fn a_database_failure_is_internal_error_without_internals() {
    let api = Api::new().await;
    let id = finished_job(&api).await;
    assert!(JobId::parse(&id).is_some());
    // The database file is destroyed under the running server.
    let db = api.dir.join("bulkwrite.db");
    let size = std::fs::metadata(&db).unwrap().len() as usize;
    std::fs::write(&db, vec![0x5a; size]).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::write(api.dir.join(format!("bulkwrite.db{suffix}")), vec![0x5a; 4096]);
    }
    let answer = api.get(&format!("/crm/bulk/v2/write/{id}"), FULL).await;
    assert_error(&answer, 500, "INTERNAL_ERROR", "Internal Server Error", json!({}));
    assert!(answer.headers.contains_key("x-request-id"), "the answer names its request for the logs");
    let text = String::from_utf8_lossy(&answer.bytes).to_lowercase();
    for internal in ["sqlite", "database", "malformed", "disk", "sql"] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }
}

#[tokio::test]
async fn the_report_is_scoped_to_the_org_refuses_bad_parameters_and_says_when_the_upload_expired() {
    let api = Api::new().await;
    let id = finished_job(&api).await;
    let path = format!("/bulkwrite/v1/jobs/{id}/report");
    // The stand-in worker stored no result rows: the report is the header alone.
    let answer = api.get(&path, FULL).await;
    assert_eq!(answer.status.as_u16(), 200);
    assert_eq!(answer.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(answer.bytes, b"Last_Name,Company,Email,STATUS,RECORD_ID,ERRORS,ERROR_MESSAGES\r\n");
    assert_eq!(api.get(&format!("{path}?format=jsonl"), FULL).await.bytes, b"");
    for (url, token) in [(path.clone(), OTHER), ("/bulkwrite/v1/jobs/5725767000000012999/report".to_string(), FULL)] {
        assert_error(&api.get(&url, token).await, 404, "RESOURCE_NOT_FOUND", NOT_FOUND, json!({}));
    }
    let wrong = [
        ("format=xml", "format must be csv or jsonl", "format"),
        ("resource=1", "the job has no such resource", "resource"),
    ];
    for (query, message, param) in wrong {
        let answer = api.get(&format!("{path}?{query}"), FULL).await;
        assert_error(&answer, 400, "INVALID_DATA", message, json!({"param_name": param}));
    }
    let later = Utc::now() + chrono::Duration::days(30);
    assert!(api.store.expire_uploads(&Expiry { now: later, older_than: later, limit: 10 }).await.unwrap() >= 1);
    let gone = "the uploaded file of this job has expired; the report re-reads it and cannot be made";
    assert_error(&api.get(&path, FULL).await, 404, "RESOURCE_NOT_FOUND", gone, json!({}));
}

/// A cancel request is announced on the node's job changes (`JobChange::Cancel`) as soon as it
/// is recorded, so that the node running the job stops it at once, without waiting for its
/// heartbeat's next look (no worker here: the answer would wait for one, so the call is
/// dropped once the announcement is heard).
#[tokio::test]
async fn a_cancel_request_is_announced_on_the_nodes_job_changes() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let created = api.create_job(FULL, &insert_body(&file_id)).await;
    let id = created.json()["details"]["id"].as_str().unwrap().to_string();
    let job = JobId::parse(&id).unwrap();
    let mut changes = api.events.changes.subscribe();
    let router = api.router.clone();
    let call = tokio::spawn(async move {
        let request = axum::http::Request::post(format!("/bulkwrite/v1/jobs/{id}/cancel"))
            .header("authorization", format!("Zoho-oauthtoken {FULL}"))
            .body(Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(router, request).await
    });
    let heard = tokio::time::timeout(std::time::Duration::from_secs(30), changes.recv()).await;
    call.abort();
    let heard = heard.expect("an announcement before the answer's wait").unwrap();
    assert_eq!(heard, bulkwrite_store::changes::JobChange::Cancel(job));
    assert!(api.store.get_job(ORG, job).await.unwrap().unwrap().cancel.is_some(), "recorded first");
}
