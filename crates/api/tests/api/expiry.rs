//! Expiry by the router's clock, which the test moves instead of waiting: minted access tokens
//! stop working after `expires_in`, grant codes after three minutes, and a token from a revoked
//! refresh token never works.

use axum::body::Body;
use bulkwrite_api::ApiConfig;
use chrono::Duration;
use serde_json::{json, Value};

use super::fixture::*;

async fn admin_post(api: &Api, path: &str, body: Value) -> Value {
    let request = axum::http::Request::post(format!("/bulkwrite/v1/admin/orgs/{ORG}/{path}"))
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json());
    answer.json()
}

async fn token_form(api: &Api, form: &[(&str, &str)]) -> Value {
    let body = serde_urlencoded::to_string(form).unwrap();
    let request = axum::http::Request::post("/oauth/v2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(answer.status.as_u16(), 200);
    answer.json()
}

/// The org's self client (id, secret) and a refresh token for it.
async fn self_client(api: &Api) -> (String, String, String) {
    let client = admin_post(api, "clients", json!({"name": "Self Client", "kind": "self_client"})).await;
    let tokens = admin_post(api, "tokens", json!({"scopes": "ZohoCRM.bulk.ALL", "refresh": true})).await;
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_else(|| panic!("{key} in {value}")).to_string();
    (text(&client, "client_id"), text(&client, "client_secret"), text(&tokens, "refresh_token"))
}

/// Whether `token` is accepted: an unknown job is 404 to a valid token, 401 to any other.
async fn works(api: &Api, token: &str) -> bool {
    let answer = api.get("/crm/bulk/v2/write/1", token).await;
    match answer.status.as_u16() {
        404 => true,
        401 => {
            assert_error(&answer, 401, "INVALID_TOKEN", "invalid oauth token", json!({}));
            false
        }
        other => panic!("unexpected {other}: {:?}", answer.json()),
    }
}

#[tokio::test]
async fn a_minted_token_works_until_expires_in_has_passed_and_a_revoked_refresh_ends_its_tokens() {
    let api = Api::with_config(ApiConfig { access_token_seconds: 2, ..ApiConfig::default() }).await;
    let (client_id, secret, refresh) = self_client(&api).await;
    let grant = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let answer = token_form(&api, &grant).await;
    assert_eq!(answer["expires_in"], 2, "{answer}");
    let token = answer["access_token"].as_str().unwrap().to_string();
    assert!(works(&api, &token).await);
    api.clock.advance(Duration::milliseconds(1900));
    assert!(works(&api, &token).await, "1.9 s into a 2 s life");
    api.clock.advance(Duration::milliseconds(200));
    assert!(!works(&api, &token).await, "expired");

    let fresh = token_form(&api, &grant).await["access_token"].as_str().unwrap().to_string();
    assert!(works(&api, &fresh).await, "a refresh after expiry mints a working token");
    let revoke = axum::http::Request::post(format!("/oauth/v2/token/revoke?token={refresh}")).body(Body::empty());
    assert_eq!(api.send(revoke.unwrap()).await.json(), json!({"status": "success"}));
    assert!(!works(&api, &fresh).await, "minted from a revoked refresh token");
    assert_eq!(token_form(&api, &grant).await, json!({"error": "invalid_code"}));
}

#[tokio::test]
async fn a_grant_code_is_exchanged_within_three_minutes_only() {
    let api = Api::new().await;
    let (client_id, secret, _) = self_client(&api).await;
    let exchange = |code: String| {
        let (client_id, secret) = (client_id.clone(), secret.clone());
        let api = &api;
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
                ("code", code.as_str()),
            ];
            token_form(api, &form).await
        }
    };
    let scopes = json!({"scopes": "ZohoCRM.bulk.ALL"});
    let late = admin_post(&api, "grants", scopes.clone()).await;
    assert_eq!(late["expires_in"], 180);
    api.clock.advance(Duration::seconds(181));
    assert_eq!(exchange(late["code"].as_str().unwrap().into()).await, json!({"error": "invalid_code"}));

    let timely = admin_post(&api, "grants", scopes).await;
    api.clock.advance(Duration::seconds(179));
    let answer = exchange(timely["code"].as_str().unwrap().into()).await;
    assert!(works(&api, answer["access_token"].as_str().unwrap_or_else(|| panic!("{answer}"))).await);
}
