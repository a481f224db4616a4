//! The token endpoint answers OAuth's own shape, `{"error": word}`: with 200 as Zoho sends it, or
//! 400 when configured as RFC 6749 says; revocation answers 400.

use axum::body::Body;
use bulkwrite_api::ApiConfig;
use serde_json::json;

use super::fixture::*;

async fn form(api: &Api, path: &str, body: &str) -> Answer {
    let request = axum::http::Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.send(request).await
}

#[track_caller]
fn assert_oauth_error(answer: &Answer, status: u16, word: &str) {
    assert_eq!(answer.status.as_u16(), status, "{:?}", answer.json());
    assert_eq!(answer.json(), json!({"error": word}));
    assert_recorded_headers(answer);
}

#[tokio::test]
async fn token_errors_are_oauth_words_with_zohos_status() {
    let api = Api::new().await;
    let cases = [
        ("", "invalid_request"),
        ("grant_type=password&username=a&password=b", "unsupported_grant_type"),
        ("grant_type=refresh_token&refresh_token=1000.x", "invalid_client"),
        ("grant_type=client_credentials&client_id=1000.NOPE&client_secret=s", "invalid_client"),
    ];
    for (body, word) in cases {
        assert_oauth_error(&form(&api, "/oauth/v2/token", body).await, 200, word);
    }
    let strict = Api::with_config(ApiConfig { oauth_error_status: 400, ..ApiConfig::default() }).await;
    for (body, word) in cases {
        assert_oauth_error(&form(&strict, "/oauth/v2/token", body).await, 400, word);
    }
}

#[tokio::test]
async fn revoking_needs_a_known_token() {
    let api = Api::new().await;
    assert_oauth_error(&form(&api, "/oauth/v2/token/revoke", "").await, 400, "invalid_request");
    assert_oauth_error(&form(&api, "/oauth/v2/token/revoke", "token=1000.never").await, 400, "invalid_token");
}
