//! Org metadata in the shapes of Zoho's Organization, Users, Modules, Fields and Layouts APIs: the
//! org, its users, modules, fields and layouts. Handlers read the store and wrap the renderers
//! (`crate::metadata` for the org and users, `bulkwrite_core::schema::settings` for modules,
//! fields and layouts).
//!
//! Scopes (a broader grant covers a narrower one, e.g. `ZohoCRM.settings.ALL`):
//! org `ZohoCRM.org.READ`; users `ZohoCRM.users.READ`; modules `ZohoCRM.settings.modules.READ`;
//! fields `ZohoCRM.settings.fields.READ`; layouts `ZohoCRM.settings.layouts.READ`. Single items
//! (`users/{id}`, `settings/modules/{api_name}`, `settings/fields/{id}?module=`) answer the
//! list's entry in the list's envelope.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::UserId;
use bulkwrite_core::schema::settings::{render_fields, render_layouts, render_modules, ProfileRef};
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_core::version::ApiVersion;
use bulkwrite_store::Org;
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::metadata::users::UserQuery;
use crate::metadata::{org, profile_id, users};
use crate::paths::{version, PathParams};
use crate::response::{json_response, no_content};
use crate::AppState;

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// `status` values of the modules API.
const MODULE_STATUSES: &[&str] = &["visible", "user_hidden", "system_hidden", "scheduled_for_deletion"];

/// `GET /crm/{v}/org`
pub async fn get_org(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(&["ZohoCRM.org.READ"])?;
    let Some(org) = state.store.get_org(auth.0.org).await? else {
        return Ok(no_content());
    };
    let users = state.store.users(auth.0.org).await?;
    Ok(json_response(StatusCode::OK, &org::render_org(&org, &users)))
}

/// `GET /crm/{v}/users?type=&page=&per_page=&ids=`
pub async fn get_users(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    query: Params,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(&["ZohoCRM.users.READ"])?;
    let query = UserQuery::read(&params(query)?)?;
    let Some(org) = state.store.get_org(auth.0.org).await? else {
        return Ok(no_content());
    };
    let all = state.store.users(auth.0.org).await?;
    match users::render_page(&org, &all, &query, auth.0.user) {
        Some(body) => Ok(json_response(StatusCode::OK, &body)),
        None => Ok(no_content()),
    }
}

/// `GET /crm/{v}/settings/modules?status=`
pub async fn get_modules(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    query: Params,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(&["ZohoCRM.settings.modules.READ"])?;
    let params = params(query)?;
    if let Some(list) = params.get("status") {
        let statuses: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if statuses.is_empty() || statuses.iter().any(|s| !MODULE_STATUSES.contains(s)) {
            return Err(invalid_param("status"));
        }
        // Every module here is visible.
        if !statuses.contains(&"visible") {
            return Ok(no_content());
        }
    }
    let Some((schema, profiles)) = org_metadata(&state, &auth).await? else {
        return Ok(no_content());
    };
    Ok(json_response(StatusCode::OK, &render_modules(&schema, &profiles)))
}

/// `GET /crm/{v}/settings/fields?module=&type=`
pub async fn get_fields(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    query: Params,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.settings.fields.READ"])?;
    let params = params(query)?;
    let name = module_param(&params, api_version)?;
    match params.get("type").map(|t| t.trim()) {
        None | Some("all" | "used") => {}
        // Every field is placed in a layout, so none is unused.
        Some("unused") => return Ok(no_content()),
        Some(_) => return Err(invalid_param("type")),
    }
    let Some((schema, profiles)) = org_metadata(&state, &auth).await? else {
        return Ok(no_content());
    };
    let module = find_module(&schema, name)?;
    Ok(json_response(StatusCode::OK, &render_fields(&schema, module, &profiles)))
}

/// `GET /crm/{v}/settings/layouts?module=`
pub async fn get_layouts(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    query: Params,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.settings.layouts.READ"])?;
    let params = params(query)?;
    let name = module_param(&params, api_version)?;
    let Some((schema, profiles)) = org_metadata(&state, &auth).await? else {
        return Ok(no_content());
    };
    let module = find_module(&schema, name)?;
    if module.layouts.is_empty() {
        return Ok(no_content());
    }
    Ok(json_response(StatusCode::OK, &render_layouts(&schema, module, &profiles)))
}

/// `GET /crm/{v}/users/{id}`: one user, 204 when the org has no such user.
pub async fn get_user(
    State(state): State<AppState>,
    PathParams((path_version, id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(&["ZohoCRM.users.READ"])?;
    let id = UserId::parse(&id).ok_or_else(|| invalid_id("id"))?;
    let Some(org) = state.store.get_org(auth.0.org).await? else {
        return Ok(no_content());
    };
    let all = state.store.users(auth.0.org).await?;
    match users::render_one(&org, &all, id) {
        Some(body) => Ok(json_response(StatusCode::OK, &body)),
        None => Ok(no_content()),
    }
}

/// `GET /crm/{v}/settings/modules/{api_name}`: one module, in the list's shape.
pub async fn get_module(
    State(state): State<AppState>,
    PathParams((path_version, api_name)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(&["ZohoCRM.settings.modules.READ"])?;
    let Some((schema, profiles)) = org_metadata(&state, &auth).await? else {
        return Ok(no_content());
    };
    let module = find_module(&schema, &api_name)?;
    let all = render_modules(&schema, &profiles);
    Ok(json_response(StatusCode::OK, &json!({ "modules": [pick(&all, "modules", "api_name", &module.api_name)] })))
}

/// `GET /crm/{v}/settings/fields/{id}?module=`: one field, in the list's shape.
pub async fn get_field(
    State(state): State<AppState>,
    PathParams((path_version, id)): PathParams<(String, String)>,
    auth: Auth,
    query: Params,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.settings.fields.READ"])?;
    let params = params(query)?;
    let name = module_param(&params, api_version)?;
    let Some((schema, profiles)) = org_metadata(&state, &auth).await? else {
        return Ok(no_content());
    };
    let module = find_module(&schema, name)?;
    let field = module.fields.iter().find(|f| f.id == id.trim()).ok_or_else(|| invalid_id("id"))?;
    let all = render_fields(&schema, module, &profiles);
    Ok(json_response(StatusCode::OK, &json!({ "fields": [pick(&all, "fields", "id", &field.id)] })))
}

/// The entry of `list[key]` whose `field` is `value`.
fn pick(list: &Value, key: &str, field: &str, value: &str) -> Value {
    list[key]
        .as_array()
        .and_then(|items| items.iter().find(|item| item[field].as_str() == Some(value)))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `INVALID_DATA` for an id in the path that names nothing.
fn invalid_id(name: &str) -> ErrorResponse {
    ErrorResponse(
        ApiError::with_message(ErrorCode::InvalidData, "the id given seems to be invalid").detail("api_name", name),
    )
}

/// The query string, or `INVALID_DATA` when it cannot be read.
fn params(query: Params) -> Result<HashMap<String, String>, ErrorResponse> {
    query.map(|Query(params)| params).map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))
}

fn invalid_param(name: &str) -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::InvalidData).detail("param_name", name))
}

/// The `module` parameter; missing or empty is `REQUIRED_PARAM_MISSING` (details
/// `{"param":"module"}`, `{"param_name":"module"}` in v8 as its docs show).
pub(crate) fn module_param(params: &HashMap<String, String>, api_version: ApiVersion) -> Result<&str, ErrorResponse> {
    match params.get("module").map(|m| m.trim()).filter(|m| !m.is_empty()) {
        Some(name) => Ok(name),
        None => {
            let key = if api_version >= ApiVersion::V8 { "param_name" } else { "param" };
            Err(ErrorResponse(ApiError::new(ErrorCode::RequiredParamMissing).detail(key, "module")))
        }
    }
}

/// A module of the schema by API name (any case), else `INVALID_MODULE`.
fn find_module<'a>(schema: &'a OrgSchema, name: &str) -> Result<&'a Module, ErrorResponse> {
    schema.module(name).ok_or_else(|| ErrorResponse(ApiError::new(ErrorCode::InvalidModule)))
}

/// The org's schema and profiles; `None` when the org is gone.
async fn org_metadata(state: &AppState, auth: &Auth) -> Result<Option<(OrgSchema, Vec<ProfileRef>)>, ErrorResponse> {
    let org: Option<Org> = state.store.get_org(auth.0.org).await?;
    let Some(org) = org else { return Ok(None) };
    let users = state.store.users(auth.0.org).await?;
    let mut schema = state.store.org_schema(auth.0.org).await?;
    let perms = crate::metadata::access::user_perms(state.store.as_ref(), auth.0.org, auth.0.user).await?;
    crate::metadata::access::drop_hidden_everywhere(&mut schema, &perms);
    let all = crate::metadata::access::org_profiles(state.store.as_ref(), auth.0.org, &users).await?;
    let profiles = all
        .iter()
        .map(|p| ProfileRef { name: p.name.clone(), id: profile_id(&org, &p.name), perms: p.effective() })
        .collect();
    Ok(Some((schema, profiles)))
}
