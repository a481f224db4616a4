//! Token refresh, caching, renewal and OAuth errors.

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_client::clock::ManualClock;
use bulkwrite_client::{Client, Credentials, Error};
use serde_json::json;

use crate::support::{fast_retry, job_details, refresh_client, reply, zoho_error, Counter, Mock, Seen};

/// Answers token calls with `t1`, `t2`, … (lifetime `expires_in`), and job details to requests
/// that carry the newest token; older tokens get 401 `INVALID_TOKEN`.
async fn token_server(expires_in: u64) -> (Mock, Counter) {
    let minted = Counter::default();
    let counter = minted.clone();
    let mock = Mock::start(move |seen: &Seen| {
        if seen.path == "/oauth/v2/token" {
            let n = counter.next() + 1;
            return reply(200, json!({"access_token": format!("t{n}"), "api_domain": "x", "token_type": "Bearer", "expires_in": expires_in}));
        }
        let newest = format!("Zoho-oauthtoken t{}", counter.get());
        if seen.header("authorization") != Some(newest.as_str()) {
            return zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}));
        }
        reply(200, job_details("7", "ADDED", None, None))
    })
    .await;
    (mock, minted)
}

#[tokio::test]
async fn one_token_call_serves_many_requests_even_concurrent_ones() {
    let (mock, minted) = token_server(3600).await;
    let client = refresh_client(&mock);
    let calls = (0..5).map(|_| client.get_job("7"));
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap().id, "7");
    }
    client.clone().get_job("7").await.unwrap();
    assert_eq!(minted.get(), 1);

    let token_calls = mock.seen_at("/oauth/v2/token");
    assert_eq!(token_calls.len(), 1);
    let call = &token_calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.header("content-type"), Some("application/x-www-form-urlencoded"));
    let form: Vec<(String, String)> = url_form(&call.text());
    assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
    assert!(form.contains(&("client_id".into(), "1000.client".into())));
    assert!(form.contains(&("client_secret".into(), "secret".into())));
    assert!(form.contains(&("refresh_token".into(), "1000.refresh".into())));
    for seen in mock.seen_at("/crm/") {
        assert_eq!(seen.header("authorization"), Some("Zoho-oauthtoken t1"));
    }
}

fn url_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2E", ".").replace('+', " ")))
        .collect()
}

#[tokio::test]
async fn the_token_is_renewed_once_it_nears_expiry() {
    // A 2 s token is used for half its life (the client's clock, moved by the test), then renewed.
    let (mock, minted) = token_server(2).await;
    let clock = Arc::new(ManualClock::new());
    let client = Client::builder(mock.endpoints(), Credentials::refresh_token("1000.client", "secret", "1000.refresh"))
        .retry(fast_retry(2))
        .clock(clock.clone())
        .build()
        .unwrap();
    client.get_job("7").await.unwrap();
    clock.advance(Duration::from_millis(900));
    client.get_job("7").await.unwrap();
    assert_eq!(minted.get(), 1, "0.9 s in, the token is still used");
    clock.advance(Duration::from_millis(100));
    client.get_job("7").await.unwrap();
    assert_eq!(minted.get(), 2);
    let last = mock.seen_at("/crm/").pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Zoho-oauthtoken t2"));
}

#[tokio::test]
async fn invalid_token_renews_once_and_retries() {
    let minted = Counter::default();
    let api_calls = Counter::default();
    let (m, a) = (minted.clone(), api_calls.clone());
    // The server revokes t1 behind the client's back: the first API call with it gets 401.
    let mock = Mock::start(move |seen: &Seen| {
        if seen.path == "/oauth/v2/token" {
            let n = m.next() + 1;
            return reply(200, json!({"access_token": format!("t{n}"), "expires_in": 3600}));
        }
        a.next();
        if seen.header("authorization") == Some("Zoho-oauthtoken t2") {
            reply(200, job_details("7", "ADDED", None, None))
        } else {
            zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}))
        }
    })
    .await;
    let client = refresh_client(&mock);
    assert_eq!(client.get_job("7").await.unwrap().id, "7");
    assert_eq!((minted.get(), api_calls.get()), (2, 2));
}

#[tokio::test]
async fn a_token_rejected_twice_is_an_error_after_one_renewal() {
    let minted = Counter::default();
    let m = minted.clone();
    let mock = Mock::start(move |seen: &Seen| {
        if seen.path == "/oauth/v2/token" {
            m.next();
            return reply(200, json!({"access_token": "t", "expires_in": 3600}));
        }
        zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}))
    })
    .await;
    let error = refresh_client(&mock).get_job("7").await.unwrap_err();
    assert_eq!(error.api_code(), Some("INVALID_TOKEN"));
    assert_eq!(error.http_status(), Some(401));
    assert_eq!(minted.get(), 2);
    assert_eq!(mock.seen_at("/crm/").len(), 2);
}

#[tokio::test]
async fn other_401s_and_fixed_tokens_are_not_renewed() {
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/oauth/v2/token" {
            return reply(200, json!({"access_token": "t", "expires_in": 3600}));
        }
        if seen.header("authorization") == Some("Zoho-oauthtoken fixed") {
            return zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}));
        }
        zoho_error(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}))
    })
    .await;
    let error = refresh_client(&mock).get_job("7").await.unwrap_err();
    assert_eq!(error.api_code(), Some("OAUTH_SCOPE_MISMATCH"));
    assert_eq!(mock.seen_at("/oauth/").len(), 1);

    let fixed = Client::builder(mock.endpoints(), Credentials::access_token("fixed")).build().unwrap();
    let error = fixed.get_job("7").await.unwrap_err();
    assert_eq!(error.api_code(), Some("INVALID_TOKEN"));
    assert_eq!(mock.seen_at("/oauth/").len(), 1, "a fixed token never calls the accounts server");
}

#[tokio::test]
async fn token_endpoint_errors_are_oauth_errors_whatever_the_status() {
    for status in [200u16, 400] {
        let mock = Mock::start(move |seen: &Seen| {
            assert_eq!(seen.path, "/oauth/v2/token", "no API call without a token");
            reply(status, json!({"error": "invalid_code"}))
        })
        .await;
        match refresh_client(&mock).get_job("7").await {
            Err(Error::OAuth { error, http_status }) => {
                assert_eq!(error, "invalid_code");
                assert_eq!(http_status, status);
            }
            other => panic!("expected an OAuth error, got {other:?}"),
        }
        assert_eq!(mock.seen().len(), 1, "an OAuth refusal is not retried");
    }
}

#[tokio::test]
async fn token_endpoint_5xx_is_retried() {
    let calls = Counter::default();
    let c = calls.clone();
    let mock = Mock::start(move |seen: &Seen| {
        if seen.path == "/oauth/v2/token" && c.next() == 0 {
            return reply(503, json!({"error": "server_error"}));
        }
        if seen.path == "/oauth/v2/token" {
            return reply(200, json!({"access_token": "t", "expires_in": 3600}));
        }
        reply(200, job_details("7", "ADDED", None, None))
    })
    .await;
    // A 5xx with an `error` word is still a refusal worth retrying: the status decides first.
    let result = refresh_client(&mock).get_job("7").await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(calls.get(), 2);
}
