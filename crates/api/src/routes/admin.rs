//! `/bulkwrite/v1/admin/…`: administration behind the admin credential
//! (`Authorization: Bearer <admin_key>`; the key is in `bootstrap.json`).

pub mod profiles;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::schema::settings::mirror_org;
use bulkwrite_core::schema::{CustomFieldSpec, CustomModuleSpec, OrgSchema};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::{
    Admin, AdminError, NewClientRequest, NewGrantRequest, NewLayoutRequest, NewOrgRequest, NewTokenRequest,
    NewUserRequest,
};
use crate::auth::ALL_SCOPES;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

/// A request that presented the admin credential.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AdminAuth, ErrorResponse> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, key)| key.trim().to_string());
        let Some(presented) = presented else { return Err(ErrorCode::AuthenticationFailure.into()) };
        let expected = state.config.admin_key.as_deref().unwrap_or("");
        let same = !expected.is_empty()
            && presented.len() == expected.len()
            && presented.bytes().zip(expected.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0;
        if !same {
            return Err(ErrorCode::InvalidToken.into());
        }
        Ok(AdminAuth)
    }
}

pub(crate) fn admin(state: &AppState) -> Admin {
    Admin {
        store: state.store.clone(),
        ids: state.ids.clone(),
        api_domain: state.config.public_url.clone(),
        access_lifetime: chrono::Duration::seconds(state.config.access_token_seconds as i64),
        clock: state.clock.clone(),
    }
}

impl From<AdminError> for ErrorResponse {
    fn from(error: AdminError) -> ErrorResponse {
        match error {
            AdminError::Invalid(message) => ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, message)),
            AdminError::NotFound(what) => {
                ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("{what} not found")))
            }
            AdminError::Conflict(message) => ErrorResponse(ApiError::with_message(ErrorCode::DuplicateData, message)),
            AdminError::Store(error) => ErrorResponse::from(error),
        }
    }
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ErrorResponse> {
    serde_json::from_slice(bytes).map_err(|e| {
        ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, format!("the body does not fit: {e}")))
    })
}

fn org_id(text: &str) -> Result<OrgId, ErrorResponse> {
    OrgId::parse(text).ok_or_else(|| {
        ErrorResponse(ApiError::with_message(ErrorCode::ResourceNotFound, format!("org {text} not found")))
    })
}

fn created(value: Value) -> Response {
    json_response(StatusCode::CREATED, &value)
}

fn schema_summary(schema: &OrgSchema) -> Value {
    json!({"modules": schema.modules.iter().map(|m| json!({"api_name": m.api_name, "id": m.id, "fields": m.fields.len()})).collect::<Vec<_>>()})
}

pub async fn list_orgs(State(state): State<AppState>, _: AdminAuth) -> ApiResult<Response> {
    let orgs = admin(&state).orgs().await?;
    let list: Vec<Value> = orgs
        .iter()
        .map(|o| json!({"org_id": o.zgid.to_string(), "id": o.id, "company_name": o.company_name, "time_zone": o.time_zone}))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"orgs": list})))
}

pub async fn create_org(State(state): State<AppState>, _: AdminAuth, bytes: Bytes) -> ApiResult<Response> {
    let request: NewOrgRequest = body(&bytes)?;
    let made = admin(&state).create_org(request, ALL_SCOPES).await?;
    Ok(created(serde_json::to_value(made).unwrap_or_default()))
}

pub async fn create_user(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewUserRequest = body(&bytes)?;
    let user = admin(&state).create_user(org_id(&org)?, request).await?;
    Ok(created(json!({"user_id": user.id.to_string(), "email": user.email, "full_name": user.full_name()})))
}

#[derive(Deserialize)]
pub struct PasswordRequest {
    password: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    PathParams((org, user)): PathParams<(String, String)>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: PasswordRequest = body(&bytes)?;
    admin(&state).set_password(org_id(&org)?, &user, &request.password).await?;
    Ok(json_response(StatusCode::OK, &json!({"status": "success"})))
}

pub async fn create_client(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewClientRequest = body(&bytes)?;
    let client = admin(&state).create_client(org_id(&org)?, request).await?;
    Ok(created(serde_json::to_value(client).unwrap_or_default()))
}

pub async fn create_token(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewTokenRequest = body(&bytes)?;
    let tokens = admin(&state).create_token(org_id(&org)?, request).await?;
    Ok(created(serde_json::to_value(tokens).unwrap_or_default()))
}

pub async fn create_grant(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewGrantRequest = body(&bytes)?;
    let code = admin(&state).create_grant(org_id(&org)?, request).await?;
    Ok(created(json!({"code": code, "expires_in": crate::oauth::service::GRANT_LIFETIME.num_seconds()})))
}

pub async fn add_module(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let spec: CustomModuleSpec = body(&bytes)?;
    let schema = admin(&state).add_module(org_id(&org)?, spec).await?;
    Ok(created(schema_summary(&schema)))
}

pub async fn add_field(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let spec: CustomFieldSpec = body(&bytes)?;
    let schema = admin(&state).add_field(org_id(&org)?, spec).await?;
    Ok(created(schema_summary(&schema)))
}

pub async fn add_layout(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewLayoutRequest = body(&bytes)?;
    let schema = admin(&state).add_layout(org_id(&org)?, request).await?;
    Ok(created(schema_summary(&schema)))
}

/// The three exports of a real org: settings/modules, and settings/fields and settings/layouts
/// per module API name.
#[derive(Deserialize)]
pub struct MirrorRequest {
    modules: Value,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default)]
    layouts: BTreeMap<String, Value>,
}

pub async fn mirror_schema(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: MirrorRequest = body(&bytes)?;
    let schema = mirror_org(&request.modules, &request.fields, &request.layouts)
        .map_err(|e| ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, e.to_string())))?;
    let stored = admin(&state).replace_schema(org_id(&org)?, schema).await?;
    Ok(json_response(StatusCode::OK, &schema_summary(&stored)))
}
