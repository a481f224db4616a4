//! `/bulkwrite/v1/admin/orgs/{org}/profiles…`: what `bulkwrite admin profiles` does, over HTTP
//! behind the admin credential (README "Profiles and permissions").
//!
//! | Call | Body | Does |
//! |---|---|---|
//! | `GET …/profiles` | | lists the profiles with what each is denied |
//! | `POST …/profiles` | `{"name", "from"?}` | creates a custom profile (201) |
//! | `PUT …/profiles` | `{"profiles", "details"?, "fields"?}` | creates or updates a mirrored org's profiles |
//! | `PUT …/profiles/{profile}/modules/{module}` | `{"actions": ["create", …], "allow"?: false}` | denies (or gives back) module permissions |
//! | `PUT …/profiles/{profile}/fields/{module}/{field}` | `{"access": "read_only"}` | sets a field's access |
//! | `PUT …/users/{user}/profile` | `{"profile"}` | gives a user (id or email) a profile |
//!
//! Each answers `{"profiles": [...]}` (the assignment: the user and its profile).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::perms::{mirror_profiles, FieldAccess, ModuleAction};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{admin, body, org_id, AdminAuth};
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

fn invalid(message: String) -> ErrorResponse {
    ErrorResponse(ApiError::with_message(ErrorCode::InvalidData, message))
}

fn listed(status: StatusCode, profiles: Value) -> Response {
    json_response(status, &json!({ "profiles": profiles }))
}

/// `GET /bulkwrite/v1/admin/orgs/{org}/profiles`
pub async fn list(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
) -> ApiResult<Response> {
    Ok(listed(StatusCode::OK, admin(&state).profiles(org_id(&org)?).await?))
}

#[derive(Deserialize)]
pub struct NewProfile {
    name: String,
    #[serde(default)]
    from: Option<String>,
}

/// `POST /bulkwrite/v1/admin/orgs/{org}/profiles`
pub async fn create(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: NewProfile = body(&bytes)?;
    let profiles = admin(&state).create_profile(org_id(&org)?, &request.name, request.from.as_deref()).await?;
    Ok(listed(StatusCode::CREATED, profiles))
}

/// A mirrored org's answers: settings/profiles, settings/profiles/{id} per profile (keyed by
/// anything), settings/fields per module API name.
#[derive(Deserialize)]
pub struct MirrorProfiles {
    profiles: Value,
    #[serde(default)]
    details: BTreeMap<String, Value>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

/// `PUT /bulkwrite/v1/admin/orgs/{org}/profiles`
pub async fn mirror(
    State(state): State<AppState>,
    PathParams(org): PathParams<String>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: MirrorProfiles = body(&bytes)?;
    let profiles =
        mirror_profiles(&request.profiles, &request.details, &request.fields).map_err(|e| invalid(e.to_string()))?;
    Ok(listed(StatusCode::OK, admin(&state).put_profiles(org_id(&org)?, profiles).await?))
}

#[derive(Deserialize)]
pub struct ModuleRequest {
    actions: Vec<String>,
    #[serde(default)]
    allow: bool,
}

/// `PUT /bulkwrite/v1/admin/orgs/{org}/profiles/{profile}/modules/{module}`
pub async fn module(
    State(state): State<AppState>,
    PathParams((org, profile, module)): PathParams<(String, String, String)>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: ModuleRequest = body(&bytes)?;
    let mut actions = Vec::with_capacity(request.actions.len());
    for word in &request.actions {
        let action = ModuleAction::parse(word)
            .ok_or_else(|| invalid(format!("'{word}' is not one of view, create, edit, delete")))?;
        actions.push(action);
    }
    if actions.is_empty() {
        return Err(invalid("name at least one of view, create, edit, delete".into()));
    }
    let profiles = admin(&state).set_module_access(org_id(&org)?, &profile, &module, &actions, request.allow).await?;
    Ok(listed(StatusCode::OK, profiles))
}

#[derive(Deserialize)]
pub struct FieldRequest {
    access: String,
}

/// `PUT /bulkwrite/v1/admin/orgs/{org}/profiles/{profile}/fields/{module}/{field}`
pub async fn field(
    State(state): State<AppState>,
    PathParams((org, profile, module, field)): PathParams<(String, String, String, String)>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: FieldRequest = body(&bytes)?;
    let access = FieldAccess::parse(&request.access)
        .ok_or_else(|| invalid(format!("'{}' is not one of read_write, read_only, hidden", request.access)))?;
    let profiles = admin(&state).set_field_access(org_id(&org)?, &profile, &module, &field, access).await?;
    Ok(listed(StatusCode::OK, profiles))
}

#[derive(Deserialize)]
pub struct AssignRequest {
    profile: String,
}

/// `PUT /bulkwrite/v1/admin/orgs/{org}/users/{user}/profile`
pub async fn assign(
    State(state): State<AppState>,
    PathParams((org, user)): PathParams<(String, String)>,
    _: AdminAuth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: AssignRequest = body(&bytes)?;
    let assigned = admin(&state).assign_profile(org_id(&org)?, &user, &request.profile).await?;
    Ok(json_response(StatusCode::OK, &assigned))
}
