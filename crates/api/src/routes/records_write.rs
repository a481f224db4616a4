//! Insert, update, upsert and delete through Zoho's records API: up to 100 records a
//! call, one answer per record, `207` when some fail. The same planning as bulk jobs applies,
//! so records written here and by bulk jobs are the same records with the same rules.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::RecordId;
use bulkwrite_core::json_record::JsonMapper;
use bulkwrite_core::lookup::{plan_lookups, resolve_lookups, LookupAnswers};
use bulkwrite_core::mapping::{RowDraft, UserDirectory, UserEntry};
use bulkwrite_core::perms::ModuleAction;
use bulkwrite_core::result::{ResultRow, RowErrorCode, RowStatus};
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_core::version::ApiVersion;
use bulkwrite_store::RecordWrite;
use bulkwrite_wire::{ApiError, ErrorCode, Operation};
use serde_json::{json, Map, Value};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::metadata::access;
use crate::paths::{version, PathParams};
use crate::record_render::RenderContext;
use crate::response::json_response;
use crate::routes::records_lines::{Inventory, Writer};
use crate::AppState;

/// Most records one call may carry.
const MAX_RECORDS: usize = 100;

struct Target {
    module: Module,
    /// The module's fields the caller's profile makes read-only or hides.
    denied: Vec<String>,
    schema: OrgSchema,
    time_zone: chrono_tz::Tz,
    users: Vec<bulkwrite_store::User>,
}

/// The module `name` once the token's scopes and the caller's profile allow `actions` on it,
/// with the fields the profile makes read-only or hides.
async fn target(
    state: &AppState,
    auth: &Auth,
    name: &str,
    operation: &str,
    actions: &[ModuleAction],
) -> Result<Target, ErrorResponse> {
    let schema = state.store.org_schema(auth.0.org).await?;
    let perms = access::user_perms(state.store.as_ref(), auth.0.org, auth.0.user).await?;
    let module = schema
        .module(name)
        .filter(|m| m.bulk_write)
        .cloned()
        .ok_or_else(|| ErrorResponse(ApiError::new(ErrorCode::InvalidModule).detail("api_name", "module")))?;
    let lower = module.api_name.to_ascii_lowercase();
    auth.require(&[
        "ZohoCRM.modules.ALL",
        &format!("ZohoCRM.modules.{operation}"),
        &format!("ZohoCRM.modules.{lower}.ALL"),
        &format!("ZohoCRM.modules.{lower}.{operation}"),
        &format!("ZohoCRM.modules.{lower}.WRITE"),
    ])?;
    if let Some(action) = actions.iter().find(|action| !perms.allows(&module.api_name, **action)) {
        return Err(ErrorResponse(access::no_permission(*action, &module.api_name)));
    }
    let org = state.store.get_org(auth.0.org).await?;
    let time_zone = org.and_then(|o| o.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    let users = state.store.users(auth.0.org).await?;
    let denied = access::denied_fields(&module, &perms);
    Ok(Target { module, denied, schema, time_zone, users })
}

/// The `data` array of a body, and its `duplicate_check_fields`.
fn read_body(bytes: &Bytes) -> Result<(Vec<Value>, Option<Vec<String>>), ErrorResponse> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|_| ErrorResponse(ApiError::new(ErrorCode::RequestBodyNotSupported)))?;
    let Some(data) = body.get("data").and_then(Value::as_array) else {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::MandatoryNotFound, "required field not found")
                .detail("api_name", "data")
                .detail("json_path", "$.data"),
        ));
    };
    if data.is_empty() || data.len() > MAX_RECORDS {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::LimitExceeded, "the number of records must be between 1 and 100")
                .detail("api_name", "data")
                .detail("limit", MAX_RECORDS),
        ));
    }
    let checks = body
        .get("duplicate_check_fields")
        .and_then(Value::as_array)
        .map(|fields| fields.iter().filter_map(Value::as_str).map(str::to_string).collect());
    Ok((data.clone(), checks))
}

/// One per-record error answer.
fn record_error(code: ErrorCode, message: &str, details: Value) -> Value {
    json!({"code": code.as_str(), "details": details, "message": message, "status": "error"})
}

/// The answer for a skipped row, from its first error group (Zoho reports one per record).
fn skipped_answer(row: &ResultRow, index: usize, target: &Target) -> Value {
    let module = &target.module;
    let first = row.errors.groups.first();
    let code = first.map_or(RowErrorCode::InvalidData, |group| group.code);
    let api_name = first.and_then(|group| group.columns.first()).cloned().unwrap_or_default();
    let path = format!("$.data[{index}].{api_name}");
    let named = json!({"api_name": api_name, "json_path": path});
    let denied = target.denied.iter().any(|name| name.eq_ignore_ascii_case(&api_name));
    match code {
        // A field the profile may not edit: Zoho documents no error of its own for it, so
        // the closest documented one, without an expected type (the value's type is not it).
        RowErrorCode::InvalidData if denied => {
            record_error(ErrorCode::InvalidData, ErrorCode::InvalidData.default_message(), named)
        }
        RowErrorCode::MandatoryNotFound => {
            record_error(ErrorCode::MandatoryNotFound, ErrorCode::MandatoryNotFound.default_message(), named)
        }
        RowErrorCode::DuplicateData => {
            record_error(ErrorCode::DuplicateData, ErrorCode::DuplicateData.default_message(), named)
        }
        RowErrorCode::ResourceNotFound if api_name == "id" => record_error(
            ErrorCode::InvalidData,
            "the id given seems to be invalid",
            json!({"api_name": "id", "json_path": path}),
        ),
        _ => {
            let expected = module.field(&api_name).map(|f| f.data_type.as_str()).unwrap_or("string");
            record_error(
                ErrorCode::InvalidData,
                ErrorCode::InvalidData.default_message(),
                json!({"expected_data_type": expected, "api_name": api_name, "json_path": path}),
            )
        }
    }
}

async fn success_answer(
    state: &AppState,
    auth: &Auth,
    target: &Target,
    row: &ResultRow,
    operation: Operation,
) -> Result<Value, ErrorResponse> {
    let id = row.record_id.unwrap_or(RecordId::new(0));
    let record = state.store.get_record(auth.0.org, &target.module.api_name, id).await?;
    let ctx = RenderContext {
        module: target.module.clone(),
        users: target.users.iter().map(|u| (u.id, u.clone())).collect(),
        time_zone: target.time_zone,
    };
    let mut details = Map::new();
    if let Some(record) = &record {
        let rendered = ctx.render(
            record,
            Some(&["Modified_Time".into(), "Modified_By".into(), "Created_Time".into(), "Created_By".into()]),
        );
        for (key, value) in rendered {
            let value = match value {
                Value::Object(mut user) => {
                    user.remove("email");
                    Value::Object(user)
                }
                other => other,
            };
            details.insert(key, value);
        }
    }
    let added = row.status == RowStatus::Added;
    let message = if added { "record added" } else { "record updated" };
    let mut answer =
        json!({"code": "SUCCESS", "details": Value::Object(details), "message": message, "status": "success"});
    if operation == Operation::Upsert {
        answer["action"] = json!(if added { "insert" } else { "update" });
        answer["duplicate_field"] = Value::Null;
    }
    Ok(answer)
}

fn status_of(successes: usize, total: usize, all_ok: StatusCode) -> StatusCode {
    match successes {
        0 => StatusCode::BAD_REQUEST,
        n if n == total => all_ok,
        _ => StatusCode::MULTI_STATUS,
    }
}

async fn write(
    state: &AppState,
    auth: &Auth,
    (module_name, api_version): (&str, ApiVersion),
    operation: Operation,
    bytes: &Bytes,
    path_id: Option<&str>,
) -> ApiResult<Response> {
    let (scope, actions): (&str, &[ModuleAction]) = match operation {
        Operation::Insert => ("CREATE", &[ModuleAction::Create]),
        Operation::Update => ("UPDATE", &[ModuleAction::Edit]),
        Operation::Upsert => ("CREATE", &[ModuleAction::Create, ModuleAction::Edit]),
    };
    let target = target(state, auth, module_name, scope, actions).await?;
    let (data, checks) = read_body(bytes)?;
    let directory = UserDirectory::new(target.users.iter().filter(|u| u.active).map(|u| UserEntry {
        id: u.id,
        full_name: u.full_name(),
        email: u.email.clone(),
    }));
    let mapper = JsonMapper::new(target.module.clone(), operation, target.time_zone, directory.clone(), checks)
        .with_denied(target.denied.clone());
    let mut rows: Vec<RowDraft> = Vec::with_capacity(data.len());
    for (index, item) in data.iter().enumerate() {
        let mut object = item.as_object().cloned().unwrap_or_default();
        if let Some(id) = path_id {
            object.insert("id".into(), json!(id));
        }
        rows.push(mapper.map_record(index, &object));
    }
    let mut answers = LookupAnswers::default();
    for query in plan_lookups(&rows, &target.schema) {
        let hits = state.store.find_records(auth.0.org, &query).await?;
        answers.add(&query, hits);
    }
    resolve_lookups(&mut rows, &target.schema, &answers);
    let writer = Writer {
        schema: &target.schema,
        time_zone: target.time_zone,
        users: directory,
        version: api_version,
        operation,
    };
    let mut inventory = Inventory::prepare(state, auth, &writer, (&target.module, &data), &mut rows).await?;
    let write = RecordWrite {
        module: target.module.api_name.clone(),
        operation,
        rows,
        default_owner: auth.0.user,
        default_layout: target.module.default_layout().map(|l| l.id.clone()),
        actor: auth.0.user,
        now: state.clock.now(),
        full_name: target.module.field("Full_Name").is_some_and(|f| f.read_only),
    };
    let results = state.store.write_records(auth.0.org, write).await?;
    if let Some(inventory) = inventory.as_mut() {
        inventory.finish(state, auth, &results).await?;
    }
    let mut out = Vec::with_capacity(results.len());
    let mut successes = 0;
    for (index, row) in results.iter().enumerate() {
        if let Some(answer) = inventory.as_ref().and_then(|inventory| inventory.refused(index)) {
            out.push(answer.clone());
        } else if row.status == RowStatus::Skipped {
            out.push(skipped_answer(row, index, &target));
        } else {
            successes += 1;
            out.push(success_answer(state, auth, &target, row, operation).await?);
        }
    }
    let all_ok = if operation == Operation::Update { StatusCode::OK } else { StatusCode::CREATED };
    Ok(json_response(status_of(successes, out.len(), all_ok), &json!({"data": out})))
}

/// `POST /crm/{v}/{module}`
pub async fn insert_records(
    State(state): State<AppState>,
    PathParams((path_version, module)): PathParams<(String, String)>,
    auth: Auth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    write(&state, &auth, (&module, api_version), Operation::Insert, &bytes, None).await
}

/// `PUT /crm/{v}/{module}`: each record names its `id`.
pub async fn update_records(
    State(state): State<AppState>,
    PathParams((path_version, module)): PathParams<(String, String)>,
    auth: Auth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    write(&state, &auth, (&module, api_version), Operation::Update, &bytes, None).await
}

/// `PUT /crm/{v}/{module}/{id}`
pub async fn update_record(
    State(state): State<AppState>,
    PathParams((path_version, module, id)): PathParams<(String, String, String)>,
    auth: Auth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    write(&state, &auth, (&module, api_version), Operation::Update, &bytes, Some(&id)).await
}

/// `POST /crm/{v}/{module}/upsert` (`duplicate_check_fields` optional).
pub async fn upsert_records(
    State(state): State<AppState>,
    PathParams((path_version, module)): PathParams<(String, String)>,
    auth: Auth,
    bytes: Bytes,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    write(&state, &auth, (&module, api_version), Operation::Upsert, &bytes, None).await
}

async fn delete(state: &AppState, auth: &Auth, module_name: &str, ids: Vec<String>) -> ApiResult<Response> {
    let target = target(state, auth, module_name, "DELETE", &[ModuleAction::Delete]).await?;
    if ids.is_empty() || ids.len() > MAX_RECORDS {
        return Err(ErrorResponse(ApiError::new(ErrorCode::RequiredParamMissing).detail("param", "ids")));
    }
    let parsed: Vec<RecordId> = ids.iter().filter_map(|id| RecordId::parse(id)).collect();
    let deleted = state.store.delete_records(auth.0.org, &target.module.api_name, &parsed).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let gone = RecordId::parse(id).is_some_and(|id| deleted.contains(&id));
        out.push(if gone {
            json!({"code": "SUCCESS", "details": {"id": id}, "message": "record deleted", "status": "success"})
        } else {
            record_error(ErrorCode::InvalidData, "record not deleted", json!({"id": id}))
        });
    }
    Ok(json_response(status_of(deleted.len(), ids.len(), StatusCode::OK), &json!({"data": out})))
}

/// `DELETE /crm/{v}/{module}?ids=…`
pub async fn delete_records(
    State(state): State<AppState>,
    PathParams((path_version, module)): PathParams<(String, String)>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    version(&path_version)?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))?;
    let ids = params
        .get("ids")
        .map(|list| list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    delete(&state, &auth, &module, ids).await
}

/// `DELETE /crm/{v}/{module}/{id}`
pub async fn delete_record(
    State(state): State<AppState>,
    PathParams((path_version, module, id)): PathParams<(String, String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    version(&path_version)?;
    delete(&state, &auth, &module, vec![id]).await
}

/// `GET /crm/{v2.1+}/{module}/actions/count` → `{"count": N}`.
pub async fn count_records(
    State(state): State<AppState>,
    PathParams((path_version, module)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    if version(&path_version)? == ApiVersion::V2 {
        return Err(ErrorCode::InvalidUrlPattern.into());
    }
    let module = super::records_read::readable_module(&state, &auth, &module).await?;
    let count = state.store.count_records(auth.0.org, &module.api_name).await?;
    Ok(json_response(StatusCode::OK, &json!({"count": count})))
}
