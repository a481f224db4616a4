//! `POST /bulkwrite/v1/lint?max_problems=N`: checks Zoho's create-job body, unchanged, against
//! the org and the uploaded file with the rules a job runs, and writes nothing.
//!
//! The body is checked exactly as `POST /crm/bulk/{v}/write` checks it; what that call would
//! refuse is answered here with 200 and the refusal (Zoho's error object and a sentence), not as
//! an error. For each resource the answer names the field each header column most likely fills
//! (by API name, as a job without `field_mappings` maps it, else by label) and, once the job is
//! valid, checks every row (up to the row limit) through the worker's own row mapping (types,
//! lengths, dates, picklists, owners, mandatory cells) and the file for unique values it holds
//! twice: core's `lint`, the same checks `bulkwrite lint` runs. Lookups, and clashes with records
//! already stored, need the org's records: a dry run checks those.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::FileId;
use bulkwrite_core::jobspec::validate::chosen_entry;
use bulkwrite_core::jobspec::{parse_body, JobSpec, ResourceSpec};
use bulkwrite_core::lint::{check_rows, explain_refusal, match_columns, ColumnMatch, Problem, RowReport};
use bulkwrite_core::mapping::{RowMapper, UserDirectory, UserEntry};
use bulkwrite_core::schema::Module;
use bulkwrite_core::zipfile::open_csv;
use bulkwrite_store::StoreError;
use bulkwrite_wire::{ApiError, CreateJobRequest, ErrorCode, FieldMapping};
use serde::Serialize;
use serde_json::{json, Value};

use super::jobs::{check_request, BULK_WRITE_SCOPES};
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::response::json_response;
use crate::AppState;

/// Problems listed per resource unless `max_problems` says otherwise (all are counted).
const DEFAULT_PROBLEMS: usize = 50;
/// The most `max_problems` may ask for.
const MAX_PROBLEMS: usize = 1000;

/// The answer.
#[derive(Debug, Serialize)]
struct LintAnswer {
    /// Nothing would be refused or skipped (warnings aside).
    ok: bool,
    /// The refusal a create call would answer with, and what it means.
    refusal: Option<Value>,
    /// One entry per resource of the request.
    resources: Vec<ResourceLint>,
}

/// What lint found for one resource.
#[derive(Debug, Serialize)]
struct ResourceLint {
    /// The module as the request named it (its canonical API name when the org has it).
    module: String,
    /// The CSV of the upload the resource reads, when there is one.
    file_name: Option<String>,
    /// The field each header column most likely fills.
    columns: Vec<ColumnMatch>,
    /// The mappings a job would run (derived from the header when the request has none); only
    /// for a valid job.
    field_mappings: Option<Vec<FieldMapping>>,
    /// Whether those were derived from the header.
    auto_mapped: Option<bool>,
    /// The row checks; only for a valid job.
    check: Option<RowReport>,
    /// What lint says of the file as a whole (no rows, past the row limit, unreadable, …).
    notes: Vec<Problem>,
}

/// `POST /bulkwrite/v1/lint`, with the scopes of a create call.
pub async fn lint_job(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    auth.require(BULK_WRITE_SCOPES)?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidUrlPattern)))?;
    let keep = match params.get("max_problems") {
        None => DEFAULT_PROBLEMS,
        Some(text) => {
            text.trim().parse::<usize>().ok().filter(|n| (1..=MAX_PROBLEMS).contains(n)).ok_or_else(|| {
                ErrorResponse(
                    ApiError::with_message(
                        ErrorCode::InvalidData,
                        "the value of the parameter max_problems is invalid",
                    )
                    .detail("param_name", "max_problems")
                    .detail("expected", format!("a whole number from 1 to {MAX_PROBLEMS}")),
                )
            })?
        }
    };
    let body = body.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::RequestBodyNotSupported)))?;
    let request = match parse_body(&body) {
        Ok(request) => request,
        Err(refusal) => {
            let answer =
                LintAnswer { ok: false, refusal: Some(refusal_document(&refusal, "", 0, true)), resources: Vec::new() };
            return Ok(json_response(StatusCode::OK, &answer));
        }
    };
    let checked = check_request(&state, &auth, &request).await?;
    // Columns are matched to the fields the caller sees: hidden ones are not suggested.
    let mut visible = checked.schema.clone();
    crate::metadata::access::drop_hidden_everywhere(&mut visible, &checked.perms);
    let mut resources: Vec<ResourceLint> =
        request.resource.iter().map(|resource| first_look(resource, &visible, &checked.files)).collect();
    let spec = match checked.spec {
        Ok(spec) => spec,
        Err(refusal) => {
            let (module, columns, auto_mapped) = refused_resource(&request, &refusal, &resources);
            let refusal = refusal_document(&refusal, &module, columns, auto_mapped);
            let answer = LintAnswer { ok: false, refusal: Some(refusal), resources };
            return Ok(json_response(StatusCode::OK, &answer));
        }
    };
    let facts = RowFacts::load(&state, &auth).await?;
    for (index, (lint, resource)) in resources.iter_mut().zip(&spec.resources).enumerate() {
        lint.module.clone_from(&resource.module);
        lint.field_mappings = Some(resource.mappings.clone());
        lint.auto_mapped = Some(resource.auto_mapped);
        if index > 0 && resource.parent_link.is_some() {
            let text = "the rows of a child resource are matched to their parent rows when the job runs; a dry run checks them";
            lint.notes.push(Problem::file("NOT_CHECKED", text.into(), true));
            continue;
        }
        let Some(module) = checked.schema.module(&resource.module) else { continue };
        check_resource(&state, &auth, &spec, resource, module, &facts, keep, lint).await?;
    }
    let ok = resources.iter().all(|lint| {
        lint.notes.iter().all(|note| note.warning) && lint.check.as_ref().is_none_or(|check| check.errors == 0)
    });
    Ok(json_response(StatusCode::OK, &LintAnswer { ok, refusal: None, resources }))
}

/// What is known of a resource before validation: its module, CSV and header columns.
fn first_look(
    resource: &bulkwrite_wire::ResourceRequest,
    schema: &bulkwrite_core::schema::OrgSchema,
    files: &HashMap<String, Vec<bulkwrite_core::zipfile::CsvEntry>>,
) -> ResourceLint {
    let module = schema.module(resource.module.api_name());
    let entry = files.get(&resource.file_id).and_then(|entries| chosen_entry(resource, entries));
    let columns = match (module, entry) {
        (Some(module), Some(entry)) => match_columns(&entry.header, module),
        _ => Vec::new(),
    };
    ResourceLint {
        module: module.map_or_else(|| resource.module.api_name().to_string(), |m| m.api_name.clone()),
        file_name: entry.map(|entry| entry.name.clone()),
        columns,
        field_mappings: None,
        auto_mapped: None,
        check: None,
        notes: Vec::new(),
    }
}

/// The module, column count and mapping mode of the resource a refusal names (by its
/// `json_path`), or of the first resource.
fn refused_resource(
    request: &CreateJobRequest,
    refusal: &ApiError,
    resources: &[ResourceLint],
) -> (String, usize, bool) {
    let path = refusal.details.get("json_path").and_then(Value::as_str).unwrap_or_default();
    let index = path
        .strip_prefix("$.resource[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < resources.len())
        .unwrap_or(0);
    let Some(lint) = resources.get(index) else { return (String::new(), 0, true) };
    let auto_mapped = request.resource.get(index).is_none_or(|r| r.field_mappings.as_ref().is_none_or(Vec::is_empty));
    (lint.module.clone(), lint.columns.len(), auto_mapped)
}

/// Zoho's error object of a refusal, with what it means in words.
fn refusal_document(refusal: &ApiError, module: &str, columns: usize, auto_mapped: bool) -> Value {
    json!({
        "code": refusal.code.as_str(),
        "message": refusal.message,
        "details": refusal.details,
        "explanation": explain_refusal(refusal, module, columns, auto_mapped),
    })
}

/// What the row mapping needs of the org.
struct RowFacts {
    time_zone: chrono_tz::Tz,
    users: UserDirectory,
}

impl RowFacts {
    async fn load(state: &AppState, auth: &Auth) -> Result<RowFacts, ErrorResponse> {
        let org = state.store.get_org(auth.0.org).await?;
        let time_zone = org.and_then(|org| org.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
        let users = state.store.users(auth.0.org).await?;
        let entries = users.into_iter().filter(|u| u.active).map(|u| UserEntry {
            id: u.id,
            full_name: u.full_name(),
            email: u.email,
        });
        Ok(RowFacts { time_zone, users: UserDirectory::new(entries) })
    }
}

/// Checks the rows of one valid resource on a blocking thread; the file's notes go to `lint`.
#[expect(clippy::too_many_arguments, reason = "one call site; the pieces are all different")]
async fn check_resource(
    state: &AppState,
    auth: &Auth,
    spec: &JobSpec,
    resource: &ResourceSpec,
    module: &Module,
    facts: &RowFacts,
    keep: usize,
    lint: &mut ResourceLint,
) -> Result<(), ErrorResponse> {
    let gone = |lint: &mut ResourceLint| {
        lint.notes.push(Problem::file("FILE_NOT_FOUND", "the upload has expired; upload the file again".into(), false));
    };
    let Some(file_id) = FileId::parse(&resource.file_id) else { return Ok(()) };
    let Some(upload) = state.store.get_upload(auth.0.org, file_id).await?.filter(|u| u.expired_at.is_none()) else {
        gone(lint);
        return Ok(());
    };
    let blob = match state.blobs.local(&upload.blob_key).await {
        Ok(blob) => blob,
        Err(StoreError::NotFound(_)) => {
            gone(lint);
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };
    let mapper = RowMapper::new(resource, module, spec.operation, facts.time_zone, facts.users.clone());
    let (operation, limits) = (spec.operation, state.config.limits);
    let csv_name = resource.csv_name.clone();
    let encoding = spec.character_encoding.clone();
    let max_columns = limits.max_columns.max(resource.header.len());
    let checked = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(blob.path()).map_err(|e| e.to_string())?;
        let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
        let mut rows =
            open_csv(&mut archive, &csv_name, encoding.as_deref(), &limits, max_columns).map_err(|e| e.to_string())?;
        Ok::<RowReport, String>(check_rows(&mut rows, &mapper, operation, keep, limits.max_rows_per_file))
    })
    .await;
    let mut report = match checked {
        Ok(Ok(report)) => report,
        Ok(Err(reason)) => {
            lint.notes.push(Problem::file("FILE_NOT_SUPPORTED", format!("the file cannot be read: {reason}"), false));
            return Ok(());
        }
        Err(joined) => {
            tracing::error!(error = %joined, "lint: the row check did not finish");
            return Err(ErrorResponse(ApiError::new(ErrorCode::InternalError)));
        }
    };
    if let Some(reason) = report.read_error.take() {
        let text = format!("the file cannot be read past row {}: {reason}; the job would fail there", report.rows);
        lint.notes.push(Problem::file("FILE_NOT_SUPPORTED", text, false));
    }
    if report.rows == 0 && !report.truncated {
        lint.notes.push(Problem::file("NO_ROWS", "the file has a header but no data rows".into(), true));
    }
    if report.truncated {
        let text = format!(
            "the file has more than {} rows; the rows past them would be skipped with LIMIT_EXCEEDED",
            limits.max_rows_per_file
        );
        lint.notes.push(Problem::file("LIMIT_EXCEEDED", text, false));
    }
    lint.check = Some(report);
    Ok(())
}
