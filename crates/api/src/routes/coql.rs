//! `POST /crm/{v}/coql` with `{"select_query": "…"}`: parsed and resolved by
//! `bulkwrite_core::query::coql`, run in the store, lookups of `lookup.field` columns fetched in
//! one batch per module; aggregate queries (v4 on) computed in the store, one row per group.
//! `{"data": […], "info": {"count", "more_records"}}`, 204 when nothing matches.
//!
//! Scopes: `ZohoCRM.coql.READ` and the module's READ (as the records routes).

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::RecordId;
use bulkwrite_core::query::coql::{plan, AggregatePlan, CoqlLimits, Planned, SelectColumn};
use bulkwrite_core::query::{Builder, Comparator, Select, Surface, UserName};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::coql::{lookup_id, CoqlContext};
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::{json_response, no_content};
use crate::routes::records_read::{module_context, readable_module};
use crate::AppState;

/// Longest `select_query`, in characters.
const MAX_QUERY: usize = 20_000;

pub async fn coql(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    body: Bytes,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.coql.READ"])?;
    let query = select_query(&body)?;
    let schema = state.store.org_schema(auth.0.org).await?;
    let org = state.store.get_org(auth.0.org).await?;
    let time_zone = org.and_then(|o| o.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    let all_users = state.store.users(auth.0.org).await?;
    let users: Vec<UserName> = all_users
        .iter()
        .map(|u| UserName {
            id: u.id.get(),
            full_name: u.full_name(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
        })
        .collect();
    let plan = match plan(&query, &schema, time_zone, &users, CoqlLimits::for_version(api_version))? {
        Planned::Records(plan) => plan,
        Planned::Aggregate(grouped) => return aggregate(&state, &auth, &grouped, time_zone).await,
    };
    let (_, ctx) = module_context(&state, &auth, &plan.module).await?;
    let mut records = state.store.select_records(auth.0.org, &plan.module, &plan.select).await?;
    let more_records = records.len() > plan.count as usize;
    records.truncate(plan.count as usize);
    if records.is_empty() {
        return Ok(no_content());
    }
    let mut lookups = HashMap::new();
    let mut wanted: HashMap<(String, String), BTreeSet<RecordId>> = HashMap::new();
    for column in &plan.columns {
        if let SelectColumn::Lookup { lookup, module, .. } = column {
            let ids = wanted.entry((lookup.clone(), module.clone())).or_default();
            ids.extend(records.iter().filter_map(|record| lookup_id(record, lookup)));
        }
    }
    let mut by_module: HashMap<String, BTreeSet<RecordId>> = HashMap::new();
    for ((_, module), ids) in wanted {
        by_module.entry(module).or_default().extend(ids);
    }
    for (module_name, ids) in by_module {
        let module = readable_module(&state, &auth, &module_name).await?;
        if ids.is_empty() {
            continue;
        }
        let values: Vec<Value> = ids.iter().map(|id| json!(id.to_string())).collect();
        let filter = Builder::new(&module, Surface::Coql, time_zone)
            .compare("id", Comparator::In, &values)
            .map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InternalError)))?;
        let found =
            state.store.select_records(auth.0.org, &module.api_name, &Select::new(filter, values.len() as u32)).await?;
        for record in found {
            lookups.insert((module.api_name.clone(), record.id), record);
        }
    }
    let render = CoqlContext { users: &ctx.users, time_zone, lookups };
    let data: Vec<Value> = records.iter().map(|record| Value::Object(render.row(record, &plan.columns))).collect();
    let count = data.len();
    Ok(json_response(StatusCode::OK, &json!({"data": data, "info": {"count": count, "more_records": more_records}})))
}

/// An aggregate query: one row per group, keyed as the query names its columns; 204 when no
/// group has a record (a query without `GROUP BY` always answers its one row).
async fn aggregate(
    state: &AppState,
    auth: &Auth,
    grouped: &AggregatePlan,
    time_zone: chrono_tz::Tz,
) -> ApiResult<Response> {
    module_context(state, auth, &grouped.module).await?;
    let mut rows = state.store.aggregate_records(auth.0.org, &grouped.module, &grouped.aggregate).await?;
    let more_records = rows.len() > grouped.count as usize;
    rows.truncate(grouped.count as usize);
    if rows.is_empty() {
        return Ok(no_content());
    }
    let data: Vec<Value> = rows.iter().map(|cells| Value::Object(grouped.row(cells, time_zone))).collect();
    let count = data.len();
    Ok(json_response(StatusCode::OK, &json!({"data": data, "info": {"count": count, "more_records": more_records}})))
}

/// The `select_query` of the body.
fn select_query(body: &[u8]) -> Result<String, ErrorResponse> {
    let missing = || {
        ErrorResponse(
            ApiError::with_message(ErrorCode::MandatoryNotFound, "mandatory key not found")
                .detail("api_name", "select_query"),
        )
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(missing());
    }
    let parsed: Value = serde_json::from_slice(body).map_err(|_| {
        ErrorResponse(ApiError::new(ErrorCode::InvalidData).detail("reason", "the body is not a JSON object"))
    })?;
    let Value::Object(object) = parsed else {
        return Err(ErrorResponse(ApiError::new(ErrorCode::InvalidData).detail("expected_data_type", "jsonobject")));
    };
    match object.get("select_query") {
        None | Some(Value::Null) => Err(missing()),
        Some(Value::String(query)) if query.chars().count() > MAX_QUERY => Err(ErrorResponse(
            ApiError::new(ErrorCode::LimitExceeded).detail("api_name", "select_query").detail("limit", MAX_QUERY),
        )),
        Some(Value::String(query)) => Ok(query.clone()),
        Some(_) => Err(ErrorResponse(
            ApiError::new(ErrorCode::InvalidData)
                .detail("expected_data_type", "text")
                .detail("api_name", "select_query")
                .detail("json_path", "$.select_query"),
        )),
    }
}
