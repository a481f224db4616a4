//! Bulk Read's routes in-process: the create answer in both versions' shapes, the details of a
//! queued job, and every refusal whole (the worker is not running here; e2e runs the exports).

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use super::fixture::*;

async fn create_read(api: &Api, version: &str, token: &str, body: &Value) -> Answer {
    let request = Request::post(format!("/crm/bulk/{version}/read"))
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.send(request).await
}

#[tokio::test]
async fn a_read_job_is_added_and_its_details_echo_the_query_in_each_version_shape() {
    let api = Api::new().await;
    let v2 = json!({"query": {"module": "Leads", "fields": ["Last_Name", "Email"], "page": 1,
        "criteria": {"api_name": "Email", "comparator": "ends_with", "value": "@corp.example"}}});
    let answer = create_read(&api, "v2", FULL, &v2).await;
    assert_eq!(answer.status, 201, "{}", answer.json());
    assert_recorded_headers(&answer);
    let body = answer.json();
    let data = &body["data"][0];
    assert_eq!(
        (&data["status"], &data["code"], &data["message"]),
        (&json!("success"), &json!("ADDED_SUCCESSFULLY"), &json!("Added successfully."))
    );
    assert_eq!(body["info"], json!({}));
    let details = &data["details"];
    assert_eq!((&details["operation"], &details["state"]), (&json!("read"), &json!("ADDED")));
    assert_eq!(details["created_by"]["id"], json!(ADMIN.to_string()));
    let id = details["id"].as_str().unwrap().to_string();
    assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()));
    chrono::DateTime::parse_from_rfc3339(details["created_time"].as_str().unwrap()).expect("ISO 8601 with an offset");

    let job = api.get(&format!("/crm/bulk/v2/read/{id}"), FULL).await.json();
    let job = &job["data"][0];
    assert_eq!((&job["state"], &job["file_type"]), (&json!("ADDED"), &json!("csv")));
    assert_eq!(job["query"]["module"], json!("Leads"), "v2 writes the module as a string");
    assert_eq!(job["query"]["criteria"], v2["query"]["criteria"]);
    assert!(job.get("result").is_none(), "no result before the export ran");
    let job = api.get(&format!("/crm/bulk/v8/read/{id}"), FULL).await.json();
    assert_eq!(job["data"][0]["query"]["module"]["api_name"], json!("Leads"), "later versions write an object");

    let v8 = json!({"query": {"module": {"api_name": "Contacts"}, "fields": ["Owner.last_name", "Account_Name.Phone"],
        "criteria": {"group_operator": "or", "group": [
            {"field": {"api_name": "Email"}, "comparator": "equal", "value": "${EMPTY}"},
            {"field": {"api_name": "Created_Time"}, "comparator": "between", "value": ["2024-01-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00"]}]}}});
    assert_eq!(create_read(&api, "v8", FULL, &v8).await.status, 201);
    // The result is not there before the job completed; another org never sees the job.
    assert_error(
        &api.get(&format!("/crm/bulk/v2/read/{id}/result"), FULL).await,
        404,
        "RESOURCE_NOT_FOUND",
        "The requested resource doesn't exist.",
        json!({"resource": id}),
    );
    assert_error(
        &api.get(&format!("/crm/bulk/v2/read/{id}"), OTHER).await,
        404,
        "RESOURCE_NOT_FOUND",
        "The requested resource doesn't exist.",
        json!({"resource": id}),
    );
    // Nor is a read job a bulk write job.
    assert_error(
        &api.get(&format!("/crm/bulk/v2/write/{id}"), FULL).await,
        404,
        "RESOURCE_NOT_FOUND",
        "The requested resource doesn't exist.",
        json!({}),
    );
}

#[tokio::test]
async fn malformed_read_requests_get_zoho_errors() {
    let api = Api::new().await;
    let cases = [
        (json!({}), "MANDATORY_NOT_FOUND", json!({"api_name": "query", "json_path": "$.query"})),
        (json!({"query": {}}), "MANDATORY_NOT_FOUND", json!({"api_name": "module", "json_path": "$.query.module"})),
        (json!({"query": {"module": "Spaceships"}}), "MODULE_NOT_AVAILABLE", json!({"api_name": "module"})),
        (
            json!({"query": {"module": "Leads", "fields": ["Nope"]}}),
            "FIELD_NOT_AVAILABLE",
            json!({"api_name": "Nope", "module": "Leads", "json_path": "$.query.fields[0]"}),
        ),
        (json!({"query": {"module": "Leads", "page": 0}}), "PAGE_NOT_SUPPORTED", json!({"json_path": "$.query.page"})),
        (
            json!({"query": {"module": "Leads", "criteria": {"api_name": "Email", "comparator": "greater_than", "value": "a"}}}),
            "FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE",
            json!({"api_name": "Email", "comparator": "greater_than", "json_path": "$.query.criteria.comparator",
                "supported": ["equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"]}),
        ),
        (
            json!({"query": {"module": "Leads", "criteria": {"api_name": "Nope", "comparator": "equal", "value": "a"}}}),
            "FIELD_IN_CRITERIA_NOT_AVAILABLE",
            json!({"api_name": "Nope", "json_path": "$.query.criteria.field.api_name"}),
        ),
        (
            json!({"query": {"module": "Leads", "criteria": {"group_operator": "xor", "group": [
                {"api_name": "Email", "comparator": "equal", "value": "a"}, {"api_name": "Email", "comparator": "equal", "value": "b"}]}}}),
            "GROUP_OPERATOR_NOT_SUPPORTED",
            json!({"api_name": "group_operator", "json_path": "$.query.criteria.group_operator"}),
        ),
        (
            json!({"query": {"module": "Leads", "criteria": {"api_name": "Email", "comparator": "equal"}}}),
            "INVALID_CRITERIA",
            json!({"api_name": "value", "json_path": "$.query.criteria"}),
        ),
        (
            json!({"file_type": "ics", "query": {"module": "Leads"}}),
            "NOT_SUPPORTED_FEATURE",
            json!({"api_name": "file_type", "json_path": "$.file_type"}),
        ),
        (
            json!({"callback": {"url": "https://hooks.example.com", "method": "get"}, "query": {"module": "Leads"}}),
            "INVALID_CALLBACK_METHOD",
            json!({"api_name": "method"}),
        ),
    ];
    for (body, code, details) in cases {
        let answer = create_read(&api, "v2", FULL, &body).await;
        let got = answer.json();
        assert_eq!((answer.status.as_u16(), &got["code"], &got["details"]), (400, &json!(code), &details), "{body}");
        assert_eq!(got["status"], json!("error"));
    }
    let answer = api.call("POST", "/crm/bulk/v2/read", FULL, Body::from("{}")).await;
    assert_error(
        &answer,
        415,
        "MEDIA_TYPE_NOT_SUPPORTED",
        "The Content-Type header of the request is not supported",
        json!({}),
    );
    let answer = create_read(&api, "v2", BULK_ONLY, &json!({"query": {"module": "Leads"}})).await;
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
    let answer = create_read(&api, "v2", NARROW, &json!({"query": {"module": "Leads"}})).await;
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
    let answer = create_read(&api, "v9", FULL, &json!({"query": {"module": "Leads"}})).await;
    assert_eq!(answer.json()["code"], json!("INVALID_URL_PATTERN"));
    assert_error(
        &api.get("/crm/bulk/v2/read/12", FULL).await,
        404,
        "RESOURCE_NOT_FOUND",
        "The requested resource doesn't exist.",
        json!({"resource": "12"}),
    );
}

#[tokio::test]
async fn custom_views_list_each_modules_all_view() {
    let api = Api::new().await;
    let body = api.get("/crm/v8/settings/custom_views?module=Leads", FULL).await.json();
    let view = &body["custom_views"][0];
    assert_eq!((&view["name"], &view["system_name"]), (&json!("All Leads"), &json!("ALLVIEWS")));
    let cvid = view["id"].as_str().unwrap();
    let answer = create_read(
        &api,
        "v8",
        FULL,
        &json!({"query": {"module": {"api_name": "Leads"}, "cvid": cvid.parse::<u64>().unwrap()}}),
    )
    .await;
    assert_eq!(answer.status, 201, "the listed view is accepted");
    let answer = create_read(&api, "v2", FULL, &json!({"query": {"module": "Contacts", "cvid": cvid}})).await;
    assert_eq!(answer.json()["details"]["api_name"], json!("cvid"), "another module's view is not");
    let answer = api.get("/crm/v2/settings/custom_views", FULL).await;
    assert_error(
        &answer,
        400,
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        json!({"param": "module"}),
    );
    let answer = api.get("/crm/v2/settings/custom_views?module=Spaceships", FULL).await;
    assert_error(&answer, 400, "INVALID_MODULE", "the module name given seems to be invalid", json!({}));
}
