//! Authentication, scopes, unknown paths and wrong methods.

use axum::body::Body;

use super::fixture::*;

#[tokio::test]
async fn a_request_without_a_usable_authorization_is_authentication_failure() {
    let api = Api::new().await;
    let cases = [None, Some("Basic Zm9vOmJhcg=="), Some("Zoho-oauthtoken"), Some("1000.full")];
    for header in cases {
        let mut request = axum::http::Request::get("/crm/bulk/v2/write/5725767000000012001");
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let answer = api.send(request.body(Body::empty()).unwrap()).await;
        assert_error(&answer, 401, "AUTHENTICATION_FAILURE", "Authentication failed", serde_json::json!({}));
    }
}

#[tokio::test]
async fn an_unknown_or_expired_token_is_invalid_token() {
    let api = Api::new().await;
    for token in ["1000.nobody-issued-this", EXPIRED] {
        let answer = api.get("/crm/bulk/v2/write/5725767000000012001", token).await;
        assert_error(&answer, 401, "INVALID_TOKEN", "invalid oauth token", serde_json::json!({}));
    }
    // Both schemes are read; an unknown token is refused under either.
    let request = axum::http::Request::get("/crm/v2/org").header("authorization", "Bearer 1000.unknown");
    let answer = api.send(request.body(Body::empty()).unwrap()).await;
    assert_error(&answer, 401, "INVALID_TOKEN", "invalid oauth token", serde_json::json!({}));
}

#[tokio::test]
async fn a_token_without_the_scope_is_oauth_scope_mismatch() {
    let api = Api::new().await;
    let mismatch = |answer: &Answer| {
        assert_error(
            answer,
            401,
            "OAUTH_SCOPE_MISMATCH",
            "invalid oauth scope to access this URL",
            serde_json::json!({}),
        );
    };
    mismatch(&api.get("/crm/bulk/v2/write/5725767000000012001", NARROW).await);
    mismatch(&api.create_job(NARROW, &insert_body("5725767000000009001")).await);
    mismatch(&api.upload_with(NARROW, &[("feature", "bulk-write"), ("X-CRM-ORG", "111222333")], "file", b"PK").await);
    mismatch(&api.get("/bulkwrite/v1/jobs", NARROW).await);
    // Bulk scope without a module scope: the job is refused once its module is known.
    let file_id = api.upload_csv("leads.csv", LEADS_CSV).await;
    mismatch(&api.create_job(BULK_ONLY, &insert_body(&file_id)).await);
    let jobs = api.get("/bulkwrite/v1/jobs", FULL).await.json();
    assert_eq!(jobs["jobs"], serde_json::json!([]), "no job was created: {jobs}");
}

#[tokio::test]
async fn an_unknown_path_is_invalid_url_pattern() {
    let api = Api::new().await;
    let message = "Please check if the URL trying to access is a correct one";
    for path in ["/crm/bulk/v2/nothing-here", "/", "/crm/bulk/v99/write/1", "/bulkwrite/v1/nothing"] {
        let answer = api.get(path, FULL).await;
        assert_error(&answer, 404, "INVALID_URL_PATTERN", message, serde_json::json!({}));
    }
    // Without a token too: the path is judged first.
    assert_error(&api.get("/nothing", "").await, 404, "INVALID_URL_PATTERN", message, serde_json::json!({}));
}

#[tokio::test]
async fn a_wrong_method_is_invalid_request_method() {
    let api = Api::new().await;
    let message = "The http request method type is not a valid one";
    for (method, path) in [
        ("DELETE", "/crm/bulk/v2/write"),
        ("PUT", "/crm/bulk/v2/write/5725767000000012001"),
        ("GET", "/crm/v2/upload"),
        ("DELETE", "/bulkwrite/v1/jobs"),
    ] {
        let answer = api.call(method, path, FULL, Body::empty()).await;
        assert_error(&answer, 400, "INVALID_REQUEST_METHOD", message, serde_json::json!({}));
    }
}
