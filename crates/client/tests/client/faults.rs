//! The fault rules of a bulkwrite server's test controls: what the client sends and reads.

use bulkwrite_client::wire::faults::{JobFault, NewFault};
use bulkwrite_client::{ApiVersion, Error};
use serde_json::json;

use crate::support::{reply, token_client, zoho_error, Mock, Seen};

fn answer(seen: &Seen) -> crate::support::Reply {
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/bulkwrite/v1/faults") => reply(201, json!({"id": "5725767000000100009"})),
        ("GET", "/bulkwrite/v1/faults") => reply(
            200,
            json!({"faults": [{"id": "5725767000000100009", "org": "123456789", "job": {"fail_at_row": 3},
                               "times": 1, "fired": 1, "matched": 2, "created_time": "2026-12-02T17:20:00+00:00"}]}),
        ),
        ("DELETE", "/bulkwrite/v1/faults") => reply(200, json!({"removed": 4})),
        ("DELETE", "/bulkwrite/v1/faults/5725767000000100009") => reply(200, json!({"removed": 1})),
        _ => zoho_error(404, "RESOURCE_NOT_FOUND", "fault 1 not found", json!({})),
    }
}

#[tokio::test]
async fn rules_are_added_listed_and_removed_at_the_faults_path() {
    let mock = Mock::start(answer).await;
    let client = token_client(&mock, ApiVersion::V2);
    let rule = NewFault {
        job: Some(JobFault { fail_at_row: Some(3), ..JobFault::default() }),
        times: Some(1),
        ..NewFault::default()
    };
    assert_eq!(client.add_fault(&rule).await.unwrap(), "5725767000000100009");
    let faults = client.faults().await.unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!((faults[0].fired, faults[0].matched, faults[0].rule.org.as_deref()), (1, 2, Some("123456789")));
    assert_eq!(faults[0].rule.job.as_ref().and_then(|job| job.fail_at_row), Some(3));
    client.remove_fault("5725767000000100009").await.unwrap();
    assert_eq!(client.clear_faults().await.unwrap(), 4);
    let error = client.remove_fault("1").await.unwrap_err();
    assert!(matches!(&error, Error::Api { http_status: 404, code, .. } if code == "RESOURCE_NOT_FOUND"), "{error:?}");

    let seen = mock.seen();
    assert_eq!(seen[0].json(), json!({"job": {"fail_at_row": 3}, "times": 1}), "only the keys set are sent");
    assert_eq!(seen[0].header("authorization"), Some("Zoho-oauthtoken fixed"));
    let calls: Vec<(&str, &str)> = seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("POST", "/bulkwrite/v1/faults"),
            ("GET", "/bulkwrite/v1/faults"),
            ("DELETE", "/bulkwrite/v1/faults/5725767000000100009"),
            ("DELETE", "/bulkwrite/v1/faults"),
            ("DELETE", "/bulkwrite/v1/faults/1"),
        ]
    );
}
