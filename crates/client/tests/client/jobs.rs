//! Creating jobs in each version's shape, polling, and the data-centre presets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkwrite_client::{ApiVersion, BulkWriteJob, DataCenter, Endpoints, Error, Progress, WaitOptions};
use serde_json::json;

use crate::support::{job_details, reply, reply_bytes, token_client, zoho_error, Counter, Mock, Seen};

fn created(seen: &Seen) -> crate::support::Reply {
    assert_eq!(seen.method, "POST");
    reply(
        201,
        json!({"status": "success", "code": "SUCCESS", "message": "success",
                      "details": {"id": "5725767000000100005", "created_by": {"id": "5725767000000100001", "name": "Admin User"}}}),
    )
}

#[tokio::test]
async fn v2_writes_module_strings_and_later_versions_objects() {
    let mock = Mock::start(created).await;
    let client = token_client(&mock, ApiVersion::V8);
    let job = BulkWriteJob::insert("Leads", "5725767000000100004")
        .map("Last_Name", 0)
        .map("Owner", 1)
        .map_with("Date_3", 2, |m| m.format("yyyy/MM/dd"))
        .map("Mobile", 3)
        .map("Layout", 4)
        .ignore_empty(true)
        .callback("https://www.zoho.com/in/crm/");

    let answer = client.with_version(ApiVersion::V2).submit(&job).await.unwrap();
    assert_eq!(answer.id, "5725767000000100005");
    assert_eq!(answer.created_by.name, "Admin User");
    client.with_version(ApiVersion::V2_1).submit(&job).await.unwrap();
    client.submit(&job).await.unwrap();

    let seen = mock.seen();
    let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/crm/bulk/v2/write", "/crm/bulk/v2.1/write", "/crm/bulk/v8/write"]);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("authorization"), Some("Zoho-oauthtoken fixed"));
    let v2 = seen[0].json();
    assert_eq!(v2["resource"][0]["module"], "Leads");
    assert_eq!(
        v2,
        json!({"operation": "insert", "ignore_empty": true,
               "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
               "resource": [{"type": "data", "module": "Leads", "file_id": "5725767000000100004",
                             "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Owner", "index": 1},
                                                {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                                                {"api_name": "Mobile", "index": 3}, {"api_name": "Layout", "index": 4}]}]})
    );
    assert_eq!(seen[1].json()["resource"][0]["module"], json!({"api_name": "Leads"}));
    assert_eq!(seen[2].json()["resource"][0]["module"], json!({"api_name": "Leads"}));
}

#[tokio::test]
async fn create_job_sends_a_ready_body_as_is() {
    let mock = Mock::start(created).await;
    let client = token_client(&mock, ApiVersion::V3);
    let request = BulkWriteJob::upsert("Contacts", "1").find_by("Email").module_id("42").to_request(ApiVersion::V3);
    client.create_job(&request).await.unwrap();
    let body = mock.seen()[0].json();
    assert_eq!(body["operation"], "upsert");
    assert_eq!(body["resource"][0]["module"], json!({"api_name": "Contacts", "id": "42"}));
    assert_eq!(body["resource"][0]["find_by"], "Email");
    assert_eq!(mock.seen()[0].path, "/crm/bulk/v3/write");
}

#[tokio::test]
async fn wait_for_job_polls_until_completed_and_reports_progress_without_an_events_stream() {
    let polls = Counter::default();
    let p = polls.clone();
    let mock = Mock::start(move |seen: &Seen| {
        if seen.path == "/bulkwrite/v1/jobs/7/events" {
            // What Zoho answers a path it does not have.
            let message = "Please check if the URL trying to access is a correct one";
            return zoho_error(404, "INVALID_URL_PATTERN", message, json!({}));
        }
        assert_eq!(seen.path, "/crm/bulk/v2/write/7");
        match p.next() {
            0 => reply(200, job_details("7", "ADDED", None, None)),
            1 => reply(200, job_details("7", "IN PROGRESS", Some((10, 0, 2)), None)),
            _ => reply(
                200,
                job_details("7", "COMPLETED", Some((20, 1, 4)), Some("http://x/v2/crm/1/bulk-write/7/7.zip")),
            ),
        }
    })
    .await;
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let options = WaitOptions::default()
        .delays(Duration::from_millis(5), Duration::from_millis(20))
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let details = token_client(&mock, ApiVersion::V2).wait_for_job("7", options).await.unwrap();
    assert_eq!(details.status, "COMPLETED");
    assert!(details.result.is_some());
    let progress = seen.lock().unwrap().clone();
    let statuses: Vec<_> = progress.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(statuses, ["ADDED", "IN PROGRESS", "COMPLETED"]);
    assert_eq!((progress[1].added, progress[1].skipped, progress[1].total), (10, 2, 12));
    let last = &progress[2];
    assert_eq!((last.added, last.updated, last.skipped, last.total, last.polls), (20, 1, 4, 25, 3));
    assert_eq!(mock.seen()[0].path, "/bulkwrite/v1/jobs/7/events", "the stream is tried first");
    assert_eq!(mock.seen().len(), 4);
}

fn event(name: &str, state: &str, status: &str, (added, skipped): (u64, u64)) -> String {
    let data = json!({"id": "7", "state": state, "status": status, "processed": added + skipped, "added": added,
                      "updated": 0, "skipped": skipped, "error": null, "finished_at": null, "resources": []});
    format!("event: {name}\ndata: {data}\n\n")
}

#[tokio::test]
async fn wait_for_job_follows_the_events_stream_and_reads_the_details_once() {
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/bulkwrite/v1/jobs/7/events" {
            assert_eq!(seen.header("accept"), Some("text/event-stream"));
            let body = [
                event("progress", "QUEUED", "ADDED", (0, 0)),
                ": keep-alive\n\n".to_string(),
                event("progress", "RUNNING", "IN PROGRESS", (10, 2)),
                event("end", "SUCCEEDED", "COMPLETED", (20, 4)),
            ]
            .concat();
            return reply_bytes(200, "text/event-stream", body.into_bytes());
        }
        reply(200, job_details("7", "COMPLETED", Some((20, 0, 4)), Some("http://x/v2/crm/1/bulk-write/7/7.zip")))
    })
    .await;
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let options = WaitOptions::default().on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let details = token_client(&mock, ApiVersion::V2).wait_for_job("7", options).await.unwrap();
    assert_eq!(details.status, "COMPLETED");
    let progress = seen.lock().unwrap().clone();
    let statuses: Vec<_> = progress.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(statuses, ["ADDED", "IN PROGRESS", "COMPLETED"]);
    assert_eq!((progress[1].added, progress[1].skipped, progress[1].total), (10, 2, 12));
    let paths: Vec<_> = mock.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/bulkwrite/v1/jobs/7/events", "/crm/bulk/v2/write/7"]);
}

#[tokio::test]
async fn a_stream_that_drops_before_its_end_falls_back_to_polling() {
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/bulkwrite/v1/jobs/7/events" {
            let body = event("progress", "RUNNING", "IN PROGRESS", (10, 2));
            return reply_bytes(200, "text/event-stream", body.into_bytes());
        }
        reply(200, job_details("7", "COMPLETED", Some((20, 0, 4)), None))
    })
    .await;
    let options = WaitOptions::default().delays(Duration::from_millis(5), Duration::from_millis(20));
    let details = token_client(&mock, ApiVersion::V2).wait_for_job("7", options).await.unwrap();
    assert_eq!(details.status, "COMPLETED");
    assert_eq!(mock.seen().len(), 2, "one stream, then one poll");
}

#[tokio::test]
async fn wait_for_job_polls_only_when_told_to() {
    let mock = Mock::start(|_: &Seen| reply(200, job_details("7", "COMPLETED", None, None))).await;
    let options = WaitOptions::default().events(false);
    token_client(&mock, ApiVersion::V2).wait_for_job("7", options).await.unwrap();
    let paths: Vec<_> = mock.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/crm/bulk/v2/write/7"]);
}

#[tokio::test]
async fn a_failed_job_is_returned_not_raised() {
    let mock = Mock::start(|_: &Seen| reply(200, job_details("7", "FAILED", None, None))).await;
    let details = token_client(&mock, ApiVersion::V2).wait_for_job("7", WaitOptions::default()).await.unwrap();
    assert_eq!(details.status, "FAILED");
}

#[tokio::test]
async fn wait_for_job_times_out() {
    let mock = Mock::start(|_: &Seen| reply(200, job_details("7", "IN PROGRESS", Some((1, 0, 0)), None))).await;
    let options = WaitOptions::default()
        .delays(Duration::from_millis(10), Duration::from_millis(40))
        .timeout(Duration::from_millis(150));
    match token_client(&mock, ApiVersion::V2).wait_for_job("7", options).await {
        Err(Error::Timeout { job_id, waited, last_status }) => {
            assert_eq!(job_id, "7");
            assert_eq!(last_status, "IN PROGRESS");
            assert!(waited >= Duration::from_millis(150));
        }
        other => panic!("unexpected {other:?}"),
    }
    let polls = mock.seen().len();
    assert!((3..=10).contains(&polls), "backoff keeps polls few: {polls}");
}

#[test]
fn data_centre_presets() {
    let expected = [
        (DataCenter::Com, "com", "https://accounts.zoho.com"),
        (DataCenter::Eu, "eu", "https://accounts.zoho.eu"),
        (DataCenter::In, "in", "https://accounts.zoho.in"),
        (DataCenter::ComAu, "com.au", "https://accounts.zoho.com.au"),
        (DataCenter::Jp, "jp", "https://accounts.zoho.jp"),
        (DataCenter::Ca, "ca", "https://accounts.zohocloud.ca"),
        (DataCenter::ComCn, "com.cn", "https://accounts.zoho.com.cn"),
        (DataCenter::Sa, "sa", "https://accounts.zoho.sa"),
    ];
    for (dc, suffix, accounts) in expected {
        let endpoints = Endpoints::zoho(dc);
        assert_eq!(endpoints.api, format!("https://www.zohoapis.{suffix}"));
        assert_eq!(endpoints.upload, format!("https://content.zohoapis.{suffix}"));
        assert_eq!(endpoints.accounts, accounts);
        assert_eq!(endpoints.download, None);
        assert_eq!(suffix.parse::<DataCenter>().unwrap(), dc);
    }
    let bulkwrite = Endpoints::bulkwrite("http://127.0.0.1:8080/");
    assert_eq!(
        bulkwrite,
        Endpoints {
            api: "http://127.0.0.1:8080".into(),
            upload: "http://127.0.0.1:8080".into(),
            accounts: "http://127.0.0.1:8080".into(),
            download: None
        }
    );
    assert_eq!(
        Endpoints::zoho(DataCenter::Com).with_upload("https://upload.zoho.com/").upload,
        "https://upload.zoho.com"
    );
}
