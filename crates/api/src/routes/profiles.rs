//! Zoho's Profiles and Roles APIs (read only): `GET /crm/{v}/settings/profiles`,
//! `GET /crm/{v}/settings/profiles/{id}` and `GET /crm/{v}/settings/roles`, rendered by
//! `crate::metadata::access`. Scopes: `ZohoCRM.settings.profiles.READ` /
//! `ZohoCRM.settings.roles.READ` (or a broader grant).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_store::{Org, User};
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::metadata::access::{org_profiles, render_profile_details, render_profiles, render_roles};
use crate::metadata::profile_id;
use crate::paths::{version, PathParams};
use crate::response::{json_response, no_content};
use crate::AppState;

/// `GET /crm/{v}/settings/profiles`
pub async fn get_profiles(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let Some((org, users)) = org_and_users(&state, &auth, &path_version, "ZohoCRM.settings.profiles.READ").await?
    else {
        return Ok(no_content());
    };
    let profiles = org_profiles(state.store.as_ref(), auth.0.org, &users).await?;
    Ok(json_response(StatusCode::OK, &render_profiles(&org, &profiles, api_version)))
}

/// `GET /crm/{v}/settings/profiles/{id}`: one profile with its `permissions_details`; an unknown
/// id is `INVALID_DATA`.
pub async fn get_profile(
    State(state): State<AppState>,
    PathParams((path_version, id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let Some((org, users)) = org_and_users(&state, &auth, &path_version, "ZohoCRM.settings.profiles.READ").await?
    else {
        return Ok(no_content());
    };
    let profiles = org_profiles(state.store.as_ref(), auth.0.org, &users).await?;
    let Some(profile) = profiles.iter().find(|p| profile_id(&org, &p.name) == id) else {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::InvalidData, "the id given seems to be invalid").detail("id", id),
        ));
    };
    let schema = state.store.org_schema(auth.0.org).await?;
    Ok(json_response(StatusCode::OK, &render_profile_details(&org, &schema, profile, api_version)))
}

/// `GET /crm/{v}/settings/roles`
pub async fn get_roles(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let Some((org, users)) = org_and_users(&state, &auth, &path_version, "ZohoCRM.settings.roles.READ").await? else {
        return Ok(no_content());
    };
    Ok(json_response(StatusCode::OK, &render_roles(&org, &users, api_version)))
}

/// The checks every one of these reads makes (the version, the `scope`), then the caller's org
/// and its users; `None` when the org is gone.
async fn org_and_users(
    state: &AppState,
    auth: &Auth,
    path_version: &str,
    scope: &str,
) -> ApiResult<Option<(Org, Vec<User>)>> {
    version(path_version)?;
    auth.require(&[scope])?;
    let Some(org) = state.store.get_org(auth.0.org).await? else {
        return Ok(None);
    };
    let users = state.store.users(auth.0.org).await?;
    Ok(Some((org, users)))
}
