//! The accounts server: `POST /oauth/v2/token`, `POST /oauth/v2/token/revoke`, and the consent
//! page `GET|POST /oauth/v2/auth`. Bodies may be form-urlencoded (Python SDK) or multipart (Node
//! SDK); parameters in the query string count too, as they do at Zoho.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bulkwrite_store::ClientKind;
use serde_json::json;

use crate::oauth::consent::{consent_page, error_page, ConsentRequest};
use crate::oauth::password::verify_password;
use crate::oauth::service::parse_scopes;
use crate::oauth::{OAuthError, TokenService};
use crate::response::json_response;
use crate::AppState;

/// Largest token-endpoint body read.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn service(state: &AppState) -> TokenService {
    TokenService {
        store: state.store.clone(),
        api_domain: state.config.public_url.clone(),
        access_lifetime: chrono::Duration::seconds(state.config.access_token_seconds as i64),
        clock: std::sync::Arc::clone(&state.clock),
    }
}

/// Query and body parameters of a request; the body wins over the query.
async fn read_params(request: Request) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = HashMap::new();
    if let Some(query) = request.uri().query() {
        if let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            params.extend(pairs);
        }
    }
    let content_type =
        request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        if let Ok(mut multipart) = Multipart::from_request(request, &()).await {
            while let Ok(Some(field)) = multipart.next_field().await {
                let Some(name) = field.name().map(str::to_string) else { continue };
                if let Ok(text) = field.text().await {
                    params.insert(name, text);
                }
            }
        }
        return params;
    }
    if let Ok(bytes) = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await {
        if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            params.extend(pairs);
        }
    }
    params
}

fn oauth_error(state: &AppState, error: OAuthError) -> Response {
    match error {
        OAuthError::Rejected(word) => {
            let status = StatusCode::from_u16(state.config.oauth_error_status).unwrap_or(StatusCode::OK);
            json_response(status, &json!({"error": word}))
        }
        OAuthError::Store(error) => {
            crate::error::log_store_failure(&error);
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": "server_error"}))
        }
    }
}

/// `POST /oauth/v2/token`
pub async fn issue_token(State(state): State<AppState>, request: Request) -> Response {
    let params = read_params(request).await;
    match service(&state).token(&params).await {
        Ok(answer) => json_response(StatusCode::OK, &answer),
        Err(error) => oauth_error(&state, error),
    }
}

/// `POST /oauth/v2/token/revoke?token=…`
pub async fn revoke_token(State(state): State<AppState>, request: Request) -> Response {
    let params = read_params(request).await;
    let Some(token) = params.get("token").filter(|t| !t.trim().is_empty()) else {
        return json_response(StatusCode::BAD_REQUEST, &json!({"error": "invalid_request"}));
    };
    match service(&state).revoke(token).await {
        Ok(true) => json_response(StatusCode::OK, &json!({"status": "success"})),
        Ok(false) => json_response(StatusCode::BAD_REQUEST, &json!({"error": "invalid_token"})),
        Err(error) => oauth_error(&state, error),
    }
}

/// Why a consent request cannot go on: the page's status and sentence.
type ConsentRefusal = (StatusCode, String);

/// A storage failure on the consent page: logged once, answered without its text.
fn consent_store_failure(error: bulkwrite_store::StoreError) -> ConsentRefusal {
    crate::error::log_store_failure(&error);
    (StatusCode::INTERNAL_SERVER_ERROR, "the server could not read its data; try again later".into())
}

fn bad_consent(message: &str) -> ConsentRefusal {
    (StatusCode::BAD_REQUEST, message.to_string())
}

/// The client of a consent request, if the request may go on.
async fn consent_client(
    state: &AppState,
    request: &ConsentRequest,
) -> Result<(bulkwrite_store::OAuthClient, String), ConsentRefusal> {
    let client = state.store.get_client(&request.client_id).await.map_err(consent_store_failure)?;
    let Some(client) = client else { return Err(bad_consent("the client_id is not known to this server")) };
    if client.kind != ClientKind::Web {
        return Err(bad_consent("self clients get grant codes from `bulkwrite admin grant`, not from this page"));
    }
    if !client.redirect_uris.iter().any(|uri| uri == &request.redirect_uri) {
        return Err(bad_consent("the redirect_uri is not registered for this client"));
    }
    if parse_scopes(&request.scope).is_err() {
        return Err(bad_consent("the scope is not a list of valid scopes"));
    }
    let org = state.store.get_org(client.org).await.map_err(consent_store_failure)?;
    let company = org.map(|o| o.company_name).unwrap_or_default();
    Ok((client, company))
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn redirect(target: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(target) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// `GET /oauth/v2/auth`: the consent page.
pub async fn authorize_page(State(state): State<AppState>, request: Request) -> Response {
    let params = read_params(request).await;
    let consent = match ConsentRequest::read(&params) {
        Ok(consent) => consent,
        Err(message) => return html(StatusCode::BAD_REQUEST, error_page(message)),
    };
    match consent_client(&state, &consent).await {
        Ok((client, company)) => html(StatusCode::OK, consent_page(&consent, &client.name, &company, None)),
        Err((status, message)) => html(status, error_page(&message)),
    }
}

/// `POST /oauth/v2/auth`: accept (sign in, issue a grant code) or deny.
pub async fn authorize_decision(State(state): State<AppState>, request: Request) -> Response {
    let params = read_params(request).await;
    let consent = match ConsentRequest::read(&params) {
        Ok(consent) => consent,
        Err(message) => return html(StatusCode::BAD_REQUEST, error_page(message)),
    };
    let (client, company) = match consent_client(&state, &consent).await {
        Ok(found) => found,
        Err((status, message)) => return html(status, error_page(&message)),
    };
    if params.get("decision").map(String::as_str) != Some("accept") {
        return redirect(&consent.redirect_with(&[("error", "access_denied")]));
    }
    let email = params.get("email").map(String::as_str).unwrap_or("");
    let password = params.get("password").map(String::as_str).unwrap_or("");
    let user = match state.store.user_by_email(client.org, email).await {
        Ok(Some((user, Some(hash)))) if user.active && verify_password(password, &hash) => user,
        Ok(_) => {
            let page = consent_page(&consent, &client.name, &company, Some("The email or password is not right."));
            return html(StatusCode::UNAUTHORIZED, page);
        }
        Err(error) => {
            crate::error::log_store_failure(&error);
            return html(StatusCode::INTERNAL_SERVER_ERROR, error_page("the sign-in could not be checked"));
        }
    };
    let scopes = parse_scopes(&consent.scope).unwrap_or_default();
    match service(&state).create_grant(&client, user.id, scopes, Some(consent.redirect_uri.clone())).await {
        Ok(code) => {
            let accounts = state.config.public_url.clone();
            redirect(&consent.redirect_with(&[
                ("code", code.as_str()),
                ("location", "us"),
                ("accounts-server", accounts.as_str()),
            ]))
        }
        Err(error) => {
            if let OAuthError::Store(error) = &error {
                crate::error::log_store_failure(error);
            }
            html(StatusCode::INTERNAL_SERVER_ERROR, error_page("the grant code could not be stored"))
        }
    }
}
