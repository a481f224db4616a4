//! The org and records calls.

use bulkwrite_client::{ApiVersion, Error, Record};
use serde_json::{json, Value};

use crate::support::{reply, reply_bytes, token_client, zoho_error, Mock, Seen};

fn record(fields: Value) -> Record {
    fields.as_object().unwrap().clone()
}

#[tokio::test]
async fn org_reads_the_zgid() {
    let mock = Mock::start(|seen: &Seen| {
        assert_eq!(seen.path, "/crm/v2/org");
        reply(200, json!({"org": [{"id": "5725767000000000001", "zgid": "535167919", "company_name": "Acme", "time_zone": "UTC", "currency": "USD"}]}))
    })
    .await;
    let org = token_client(&mock, ApiVersion::V2).org().await.unwrap();
    assert_eq!(org.zgid, "535167919");
    assert_eq!(org.id.as_deref(), Some("5725767000000000001"));
    assert_eq!(org.company_name.as_deref(), Some("Acme"));
    assert_eq!(org.raw["currency"], "USD");
}

#[tokio::test]
async fn get_record_answers_none_for_204() {
    let mock = Mock::start(|seen: &Seen| match seen.path.as_str() {
        "/crm/v8/Leads/1" => reply(200, json!({"data": [{"id": "1", "Last_Name": "Boyle"}]})),
        "/crm/v8/Leads/2" => reply_bytes(204, "text/plain", Vec::new()),
        _ => zoho_error(400, "INVALID_MODULE", "the module name given seems to be invalid", json!({})),
    })
    .await;
    let client = token_client(&mock, ApiVersion::V8);
    let found = client.get_record("Leads", "1").await.unwrap().unwrap();
    assert_eq!(found["Last_Name"], "Boyle");
    assert_eq!(client.get_record("Leads", "2").await.unwrap(), None);
    let error = client.get_record("Widgets", "1").await.unwrap_err();
    assert_eq!(error.api_code(), Some("INVALID_MODULE"));
    assert!(matches!(client.get_record("Leads", "1/../x").await, Err(Error::Invalid(_))));
}

#[tokio::test]
async fn insert_records_reports_each_record_and_splits_large_lists() {
    let mock = Mock::start(|seen: &Seen| {
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/crm/v2/Leads"));
        let data = seen.json()["data"].as_array().unwrap().clone();
        let answers: Vec<Value> = data
            .iter()
            .map(|r| match r.get("Last_Name") {
                Some(name) => json!({"code": "SUCCESS", "details": {"id": format!("id-{}", name.as_str().unwrap())},
                                     "message": "record added", "status": "success"}),
                None => json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
                               "message": "required field not found", "status": "error"}),
            })
            .collect();
        let all_ok = answers.iter().all(|a| a["status"] == "success");
        reply(if all_ok { 201 } else { 207 }, json!({"data": answers}))
    })
    .await;
    let client = token_client(&mock, ApiVersion::V2);
    let mut records: Vec<Record> = (0..150).map(|i| record(json!({"Last_Name": format!("n{i}")}))).collect();
    records[120] = record(json!({"Email": "x@example.com"}));
    let results = client.insert_records("Leads", records).await.unwrap();
    assert_eq!(results.len(), 150);
    assert_eq!(results[0].id(), Some("id-n0"));
    assert_eq!(results[149].id(), Some("id-n149"));
    assert!(!results[120].is_success());
    assert_eq!(results[120].code, "MANDATORY_NOT_FOUND");
    assert_eq!(results[120].details["api_name"], "Last_Name");
    let calls = mock.seen();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].json()["data"].as_array().unwrap().len(), 100);
    assert_eq!(calls[1].json()["data"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn insert_records_all_failed_is_still_per_record_and_request_errors_are_errors() {
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/crm/v2/Leads" {
            return reply(400, json!({"data": [{"code": "INVALID_DATA", "details": {"api_name": "Email"}, "message": "invalid data", "status": "error"}]}));
        }
        zoho_error(400, "INVALID_MODULE", "the module name given seems to be invalid", json!({"api_name": "module"}))
    })
    .await;
    let client = token_client(&mock, ApiVersion::V2);
    let results = client.insert_records("Leads", vec![record(json!({"Email": "bad"}))]).await.unwrap();
    assert_eq!(results[0].code, "INVALID_DATA");
    let error = client.insert_records("Widgets", vec![record(json!({}))]).await.unwrap_err();
    assert_eq!(error.api_code(), Some("INVALID_MODULE"));
}
