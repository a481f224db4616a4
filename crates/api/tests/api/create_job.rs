//! `POST /crm/bulk/{v}/write`: bad bodies and each class of validation error, with Zoho's code,
//! message and `details`; a refused body creates no job.

use axum::body::Body;
use bulkwrite_api::ApiConfig;
use bulkwrite_core::limits::Limits;
use serde_json::{json, Value};

use super::fixture::*;

/// Posts `body` and checks the refusal whole; no job may have been created by it.
async fn refused(api: &Api, body: Value, code: &str, message: &str, details: Value) {
    let answer = api.create_job(FULL, &body).await;
    assert_error(&answer, 400, code, message, details);
    let jobs = api.get("/bulkwrite/v1/jobs", FULL).await.json();
    assert_eq!(jobs["jobs"], json!([]), "a refused body creates no job: {body}");
}

fn resource(file_id: &str, extra: Value) -> Value {
    let mut resource = json!({"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id});
    for (key, value) in extra.as_object().unwrap() {
        resource[key] = value.clone();
    }
    resource
}

#[tokio::test]
async fn a_body_that_is_not_json_is_request_body_not_supported() {
    let api = Api::new().await;
    let message = "request body contains invalid format";
    for body in [&b"{\"operation\": "[..], b"", b"   ", b"\xff\xfe{}"] {
        let request = axum::http::Request::post("/crm/bulk/v2/write")
            .header("authorization", format!("Zoho-oauthtoken {FULL}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        assert_error(&api.send(request).await, 400, "REQUEST_BODY_NOT_SUPPORTED", message, json!({}));
    }
    refused(&api, json!([]), "INVALID_DATA", "invalid data", json!({"expected_data_type": "jsonobject"})).await;
    // A body past the JSON routes' size bound is refused in the same words, not read whole.
    let huge = format!("{{\"operation\": \"insert\", \"pad\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let request = axum::http::Request::post("/crm/bulk/v2/write")
        .header("authorization", format!("Zoho-oauthtoken {FULL}"))
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    assert_error(&api.send(request).await, 400, "REQUEST_BODY_NOT_SUPPORTED", message, json!({}));
}

#[tokio::test]
async fn missing_keys_are_missing_required_key_in_the_recorded_sentence() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let sentence = |key: &str| format!("required key {key} is not found in request body.");
    let cases = [
        (json!({"resource": [resource(&file_id, json!({}))]}), "operation"),
        (json!({"operation": "insert"}), "resource"),
        (json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": file_id}]}), "type"),
        (json!({"operation": "insert", "resource": [{"type": "data", "file_id": file_id}]}), "module"),
        (json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"}}]}), "fileid"),
        (
            json!({"operation": "insert", "callback": {"method": "post"}, "resource": [resource(&file_id, json!({}))]}),
            "url",
        ),
    ];
    for (body, key) in cases {
        refused(&api, body, "MISSING_REQUIRED_KEY", &sentence(key), json!({})).await;
    }
    let no_index = json!({"operation": "insert", "resource": [resource(&file_id, json!({"field_mappings": [{"api_name": "Last_Name"}]}))]});
    let message = "required key index for field Last_Name is not found in request body.";
    refused(&api, no_index, "MISSING_REQUIRED_KEY", message, json!({})).await;
}

#[tokio::test]
async fn wrong_values_are_invalid_data_and_invalid_callback_errors() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let body = json!({"operation": "merge", "resource": [resource(&file_id, json!({}))]});
    let details = json!({"api_name": "operation", "json_path": "$.operation", "supported_values": ["insert", "update", "upsert"]});
    refused(&api, body, "INVALID_DATA", "invalid data", details).await;

    let body = json!({"operation": 7, "resource": [resource(&file_id, json!({}))]});
    let details = json!({"api_name": "operation", "json_path": "$.operation", "expected_data_type": "string"});
    refused(&api, body, "INVALID_DATA", "invalid data", details).await;

    let callback = json!({"url": "https://hooks.example.com/cb", "method": "get"});
    let body = json!({"operation": "insert", "callback": callback, "resource": [resource(&file_id, json!({}))]});
    let details = json!({"supported_callback_methods": ["post"]});
    refused(&api, body, "INVALID_CALLBACK_METHOD", "invalid callback method", details).await;

    // A callback to this machine is refused before anything else is looked at.
    let callback = json!({"url": "http://127.0.0.1:9/cb", "method": "post"});
    let body = json!({"operation": "insert", "callback": callback, "resource": [resource(&file_id, json!({}))]});
    let message = "Invalid URL 'http://127.0.0.1:9/cb' for callback.";
    refused(&api, body, "INVALID_CALLBACK_URL", message, json!({"reason": "possible ssrf attempt"})).await;

    let body =
        json!({"operation": "insert", "character_encoding": "klingon-8", "resource": [resource(&file_id, json!({}))]});
    let details = json!({
        "api_name": "character_encoding",
        "json_path": "$.character_encoding",
        "reason": "not a character encoding this server knows (e.g. UTF-8, ISO-8859-1, windows-1252, UTF-16LE)"
    });
    refused(&api, body, "INVALID_DATA", "invalid data", details).await;
}

#[tokio::test]
async fn module_and_file_errors_name_what_is_wrong() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Spaceships"}, "file_id": file_id}]});
    let details = json!({"api_name": "module", "json_path": "$.resource[0].module"});
    refused(&api, body, "MODULE_NOT_AVAILABLE", "Requested module 'Spaceships' is not available.", details).await;

    refused(&api, insert_body("not-a-file-id"), "INVALID_FILE_ID", "improper file id", json!({})).await;
    let unknown = "5725767000000099999";
    refused(&api, insert_body(unknown), "FILE_NOT_SUPPORTED", "File not supported for bulk write", json!({})).await;

    // Another org's upload is as unknown as one never made.
    let theirs = api.upload_csv("leads.csv", LEADS_CSV).await;
    let answer = api.create_job(OTHER, &insert_body(&theirs)).await;
    assert_error(&answer, 400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", json!({}));
}

#[tokio::test]
async fn an_expired_upload_is_file_not_found() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let expiry = bulkwrite_store::Expiry { now: later, older_than: later, limit: 100 };
    assert_eq!(api.store.expire_uploads(&expiry).await.unwrap(), 1);
    refused(&api, insert_body(&file_id), "FILE_NOT_FOUND", "file not found", json!({})).await;
}

#[tokio::test]
async fn mapping_errors_have_their_codes_and_json_paths() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    let with = |operation: &str, extra: Value| json!({"operation": operation, "resource": [resource(&file_id, extra)]});
    let mappings = |list: Value| json!({"field_mappings": list});

    let body = with(
        "insert",
        mappings(json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Warp_Speed", "index": 1}])),
    );
    let details = json!({"api_name": "Warp_Speed", "json_path": "$.resource[0].field_mappings[1].api_name"});
    refused(&api, body, "INVALID_FIELD", "invalid mapping. invalid api_name Warp_Speed.", details).await;

    let body = with("insert", mappings(json!([{"api_name": "Last_Name", "index": 9}])));
    let details = json!({"api_name": "Last_Name", "json_path": "$.resource[0].field_mappings[0].index"});
    refused(&api, body, "COLUMN_INDEX_NOT_FOUND", "column index not found", details).await;

    let body = with("insert", mappings(json!([{"api_name": "Company", "index": 1}])));
    let details = json!({"api_names": ["Last_Name"]});
    refused(&api, body, "MANDATORY_FIELDS_NOT_MAPPED", "All mandatory fields are not mapped for the layout", details)
        .await;

    let body = with("update", json!({}));
    let details = json!({"api_name": "find_by", "json_path": "$.resource[0].find_by"});
    refused(&api, body, "MANDATORY_NOT_FOUND", "Required key find_by is not available", details).await;

    let body = with("update", json!({"find_by": "Company"}));
    let details = json!({"api_name": "find_by", "json_path": "$.resource[0].find_by"});
    refused(&api, body, "INVALID_DATA", "find_by must be id or a unique field of Leads", details).await;

    let body = with(
        "insert",
        mappings(json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 2, "format": "qq-zz"}])),
    );
    let details = json!({"api_name": "Email", "json_path": "$.resource[0].field_mappings[1].format"});
    refused(&api, body, "INVALID_FORMAT", "invalid format qq-zz for field Email", details).await;

    let lookup = json!({"api_name": "Owner", "index": 1, "find_by": "email", "parent_column_index": 0});
    let body = with("insert", mappings(json!([{"api_name": "Last_Name", "index": 0}, lookup])));
    let details = json!({"api_name": "find_by", "json_path": "$.resource[0].field_mappings[1].find_by"});
    refused(&api, body, "COEXISTENCE_NOT_ALLOWED", "coexistence not allowed", details).await;

    let body =
        with("insert", mappings(json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Last_Name", "index": 1}])));
    let details = json!({"api_name": "Last_Name", "json_path": "$.resource[0].field_mappings[1]"});
    refused(&api, body, "INVALID_DATA", "field Last_Name is mapped more than once", details).await;
}

#[tokio::test]
async fn bounds_at_creation_are_header_limit_and_limit_exceeded() {
    let limits = Limits { max_columns: 2, ..Limits::default() };
    let api = Api::with_config(ApiConfig { limits, ..ApiConfig::default() }).await;
    let file_id = api.upload_csv("leads.csv", "Last_Name,Company\nQuist,Acme\n").await;
    let mappings = json!([
        {"api_name": "Last_Name", "index": 0},
        {"api_name": "Company", "index": 1},
        {"api_name": "Email", "default_value": {"value": "a@example.com"}}
    ]);
    let body = json!({"operation": "insert", "resource": [resource(&file_id, json!({"field_mappings": mappings}))]});
    refused(&api, body, "HEADER_LIMIT_EXCEEDED", "header limit exceeded", json!({"maximum_length": 2})).await;

    let many: Vec<Value> =
        (0..=bulkwrite_core::limits::ZOHO_MAX_RESOURCES).map(|_| resource(&file_id, json!({}))).collect();
    let answer = api.create_job(FULL, &json!({"operation": "insert", "resource": many})).await;
    let body = answer.json();
    assert_eq!(
        (answer.status.as_u16(), &body["code"], &body["message"]),
        (400, &json!("LIMIT_EXCEEDED"), &json!("too many resources")),
        "{body}"
    );
    assert_recorded_headers(&answer);
}
