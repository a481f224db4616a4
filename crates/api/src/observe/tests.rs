//! The request id and the Zoho shape of refusals, through a router that refuses the way axum
//! does (plain-text rejections, a bare 405).

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

fn app() -> Router {
    Router::new()
        .route("/things/{id}", get(|axum::extract::Path(id): axum::extract::Path<u32>| async move { id.to_string() }))
        .route("/echo", post(|Json(value): Json<Value>| async move { Json(value) }))
        .route("/page", get(|| async { (StatusCode::BAD_REQUEST, axum::response::Html("<p>no</p>")) }))
        .layer(axum::middleware::from_fn(zoho_shaped_errors))
        .layer(axum::middleware::from_fn(count_requests))
        .layer(axum::middleware::from_fn(request_context))
}

async fn call(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
}

fn zoho(body: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(body).expect("a JSON body");
    assert_eq!(value["status"], "error", "{value}");
    assert_eq!(value["details"], json!({}), "{value}");
    value
}

#[tokio::test]
async fn plain_text_rejections_become_zoho_bodies() {
    let (status, headers, body) = call(Request::get("/things/abc").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(zoho(&body)["code"], "INVALID_REQUEST");

    let malformed =
        Request::post("/echo").header("content-type", "application/json").body(Body::from("{\"a\":")).unwrap();
    let (status, _, body) = call(malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(zoho(&body)["code"], "INVALID_REQUEST");

    let (status, _, body) = call(Request::post("/echo").body(Body::from("{}")).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "415 has no table code of its own");
    assert_eq!(zoho(&body)["code"], "REQUEST_BODY_NOT_SUPPORTED");

    let (status, _, body) = call(Request::delete("/echo").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(zoho(&body)["code"], "INVALID_REQUEST_METHOD");

    let (status, _, body) = call(Request::get("/nowhere").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(zoho(&body)["code"], "INVALID_URL_PATTERN");
}

#[tokio::test]
async fn answers_that_are_not_refusals_are_left_alone() {
    let (status, _, body) = call(Request::get("/things/7").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"7".as_slice()));
    let (status, headers, body) = call(Request::get("/page").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(body, b"<p>no</p>");
}

#[tokio::test]
async fn the_request_id_is_honoured_or_made_and_always_echoed() {
    let given = Request::get("/things/1").header("x-request-id", "client-42.a:b").body(Body::empty()).unwrap();
    let (_, headers, _) = call(given).await;
    assert_eq!(headers["x-request-id"], "client-42.a:b");

    let (_, headers, _) = call(Request::get("/nowhere").body(Body::empty()).unwrap()).await;
    let made = headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made.len(), 32, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));

    let unusable =
        Request::get("/things/1").header("x-request-id", "has spaces and <tags>").body(Body::empty()).unwrap();
    let (_, headers, _) = call(unusable).await;
    assert_ne!(headers["x-request-id"], "has spaces and <tags>");
    assert_eq!(headers["x-request-id"].len(), 32);
}
