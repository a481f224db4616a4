//! Bad input always gets a Zoho-shaped error: never a panic, never a 500, never plain text.

use serde_json::{json, Value};

use crate::harness::{seed_body, Server};

async fn send(server: &Server, request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status} {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["status"], "error", "{body}");
    assert!(body["details"].is_object(), "{body}");
    let _ = server;
    (status, body)
}

#[tokio::test]
async fn authentication_failures() {
    let server = Server::start(&[]).await;
    let write = server.url("/crm/bulk/v2/write");
    let cases = [
        (None, 401, "AUTHENTICATION_FAILURE", "Authentication failed"),
        (Some("Basic abc"), 401, "AUTHENTICATION_FAILURE", "Authentication failed"),
        (Some("Zoho-oauthtoken"), 401, "AUTHENTICATION_FAILURE", "Authentication failed"),
        (Some("Zoho-oauthtoken 1000.nope"), 401, "INVALID_TOKEN", "invalid oauth token"),
        (Some("Bearer 1000.nope"), 401, "INVALID_TOKEN", "invalid oauth token"),
    ];
    for (header, status, code, message) in cases {
        let mut request = server.http.post(&write).json(&json!({}));
        if let Some(header) = header {
            request = request.header("Authorization", header);
        }
        let (got_status, body) = send(&server, request).await;
        assert_eq!(
            (got_status, body["code"].as_str().unwrap(), body["message"].as_str().unwrap()),
            (status, code, message),
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn create_job_request_errors() {
    let server = Server::start(&[]).await;
    let write = server.url("/crm/bulk/v2/write");
    let raw = |body: &'static str| server.auth(server.http.post(&write)).body(body);
    let (status, body) = send(&server, raw("{not json")).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "REQUEST_BODY_NOT_SUPPORTED"));
    let (status, body) = send(&server, raw("")).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "REQUEST_BODY_NOT_SUPPORTED"));

    let mut no_operation = seed_body("1", "https://www.zoho.com/in/crm/");
    no_operation.as_object_mut().unwrap().remove("operation");
    let (status, body) = send(&server, server.auth(server.http.post(&write)).json(&no_operation)).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "required key operation is not found in request body.");

    let mut wrong_type = seed_body("1", "https://www.zoho.com/in/crm/");
    wrong_type["ignore_empty"] = json!("yes");
    let (status, body) = send(&server, server.auth(server.http.post(&write)).json(&wrong_type)).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_DATA"));
    assert_eq!(body["details"]["json_path"], "$.ignore_empty");

    let mut method = seed_body("1", "https://www.zoho.com/in/crm/");
    method["callback"]["method"] = json!("put");
    let (status, body) = send(&server, server.auth(server.http.post(&write)).json(&method)).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_CALLBACK_METHOD"));
    assert_eq!(body["details"], json!({"supported_callback_methods": ["post"]}));

    let mut module = seed_body("1", "https://www.zoho.com/in/crm/");
    module["resource"][0]["module"] = json!("Widgets");
    let (status, body) = send(&server, server.auth(server.http.post(&write)).json(&module)).await;
    assert_eq!((status, body["message"].as_str().unwrap()), (400, "Requested module 'Widgets' is not available."));

    let (status, body) =
        send(&server, server.auth(server.http.post(&write)).json(&seed_body("abc", "https://www.zoho.com/in/crm/")))
            .await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_FILE_ID"));
}

#[tokio::test]
async fn unknown_jobs_paths_and_methods() {
    let server = Server::start(&[]).await;
    for path in ["/crm/bulk/v2/write/5725767000000999999", "/crm/bulk/v2/write/abc"] {
        let (status, body) = send(&server, server.auth(server.http.get(server.url(path)))).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (404, "RESOURCE_NOT_FOUND"), "{path}");
        assert_eq!(body["message"], "The requested resource doesn't exist.");
    }
    let (status, body) = send(&server, server.auth(server.http.get(server.url("/crm/v2/nowhere/at/all")))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (404, "INVALID_URL_PATTERN"));
    let (status, body) = send(&server, server.auth(server.http.delete(server.url("/crm/bulk/v2/write")))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_REQUEST_METHOD"));
    let download = format!("/v2/crm/{}/bulk-write/5725767000000999999/5725767000000999999.zip", server.org);
    let (status, body) = send(&server, server.auth(server.http.get(server.url(&download)))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (404, "RESOURCE_NOT_FOUND"));
}

#[tokio::test]
async fn records_api_errors_and_empty_answers() {
    let server = Server::start(&[]).await;
    let (status, body) = send(&server, server.auth(server.http.get(server.url("/crm/v2/Widgets?fields=Name")))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_MODULE"));
    let (status, body) = send(&server, server.auth(server.http.get(server.url("/crm/v3/Leads")))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "REQUIRED_PARAM_MISSING"));
    let (status, body) =
        send(&server, server.auth(server.http.get(server.url("/crm/v2/Leads?fields=Last_Name&per_page=500")))).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_DATA"));
    let empty = server.auth(server.http.get(server.url("/crm/v2/Leads?fields=Last_Name"))).send().await.unwrap();
    assert_eq!(empty.status(), 204);
    let missing = server.auth(server.http.get(server.url("/crm/v2/Leads/5725767000000999999"))).send().await.unwrap();
    assert_eq!(missing.status(), 204);
}
