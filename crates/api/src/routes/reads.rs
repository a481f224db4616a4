//! Bulk Read (spec §11): `POST /crm/bulk/{v}/read`, `GET /crm/bulk/{v}/read/{id}`,
//! `GET /crm/bulk/{v}/read/{id}/result`, and `GET /crm/{v}/settings/custom_views?module=`.
//!
//! Scopes: `ZohoCRM.bulk.read` (or `ZohoCRM.bulk.ALL`) plus the module's READ to create; the
//! bulk scope to read details and download. Downloads are limited to ten a minute per user.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::JobId;
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::readspec::{criteria_filter, parse_read_body, validate_read, ReadContext};
use bulkwrite_store::NewReadJob;
use bulkwrite_wire::read::{read_state, CreatedRead, ReadCreatedBody, READ_OPERATION};
use bulkwrite_wire::{ApiError, ErrorCode, UserRef};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::json_response;
use crate::AppState;

const BULK_READ_SCOPES: &[&str] = &["ZohoCRM.bulk.READ"];

fn not_found() -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound))
}

/// `POST /crm/bulk/{v}/read`
pub async fn create_read_job(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(BULK_READ_SCOPES)?;
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ErrorResponse(ApiError::new(ErrorCode::MediaTypeNotSupported)));
    }
    let body = body.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::RequestBodyNotSupported)))?;
    let body = parse_read_body(&body)?;
    let org = state.store.get_org(auth.0.org).await?.ok_or_else(not_found)?;
    let time_zone: chrono_tz::Tz = org.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let schema = state.store.org_schema(auth.0.org).await?;
    let ctx = ReadContext { schema: &schema, user: auth.0.user.get(), per_page: state.config.read_page_records };
    let spec = validate_read(&body, &ctx)?;
    let module = schema.module(&spec.module).ok_or_else(not_found)?;
    criteria_filter(module, spec.criteria.as_ref(), time_zone)?;
    let lower = spec.module.to_ascii_lowercase();
    auth.require(&[&format!("ZohoCRM.modules.{lower}.READ")])?;
    if let Some(callback) = &spec.callback {
        crate::routes::jobs::check_callback(&state, &callback.url).await?;
    }
    let id = JobId::new(state.ids.next_id().await?);
    let created_at = state.clock.now();
    let job = NewReadJob {
        id,
        org: auth.0.org,
        created_by: auth.0.user,
        api_version: api_version.as_str().to_string(),
        spec,
        created_at,
    };
    state.store.create_read_job(job).await?;
    crate::observe::record_job_created();
    state.job_queued.notify_one();
    state.events.announce(state.store.as_ref(), id).await;
    let user = state.store.get_user(auth.0.org, auth.0.user).await?;
    let details = CreatedRead {
        id: id.to_string(),
        operation: READ_OPERATION.to_string(),
        state: read_state::ADDED.to_string(),
        created_by: UserRef { id: auth.0.user.to_string(), name: user.map(|u| u.full_name()).unwrap_or_default() },
        created_time: format_time(created_at, time_zone),
    };
    Ok(json_response(StatusCode::CREATED, &ReadCreatedBody::new(details)))
}

/// `GET /crm/bulk/{v}/read/{job_id}`
pub async fn get_read_job(
    State(state): State<AppState>,
    PathParams((path_version, job_id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(BULK_READ_SCOPES)?;
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    let org = state.store.get_org(auth.0.org).await?.ok_or_else(not_found)?;
    let creator = state.store.get_user(job.org, job.created_by).await?.map(|u| u.full_name()).unwrap_or_default();
    let details = job.read_details(&org, creator, api_version).ok_or_else(not_found)?;
    Ok(json_response(StatusCode::OK, &details))
}

/// `GET /crm/bulk/{v}/read/{job_id}/result`: the zip, streamed, once the job completed.
pub async fn download_read_result(
    State(state): State<AppState>,
    PathParams((path_version, job_id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    version(&path_version)?;
    auth.require(BULK_READ_SCOPES)?;
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    if job.read.is_none() {
        return Err(not_found());
    }
    if !state.read_downloads.allow(auth.0.org, auth.0.user, std::time::Instant::now()) {
        return Err(ErrorResponse(ApiError::new(ErrorCode::TooManyRequests)));
    }
    crate::routes::download::result_zip(&state, &job, id).await
}

/// `GET /crm/{v}/settings/custom_views?module=`: each module's one view, `All <Module>`.
pub async fn get_custom_views(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.settings.custom_views.READ"])?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))?;
    let name = crate::routes::metadata::module_param(&params, api_version)?;
    let schema = state.store.org_schema(auth.0.org).await?;
    let module = schema.module(name).ok_or_else(|| ErrorResponse(ApiError::new(ErrorCode::InvalidModule)))?;
    let view = crate::reads::all_view(module, api_version);
    let body = serde_json::json!({
        "custom_views": [view],
        "info": {"per_page": 200, "default": view.id, "count": 1, "page": 1, "more_records": false},
    });
    Ok(json_response(StatusCode::OK, &body))
}
