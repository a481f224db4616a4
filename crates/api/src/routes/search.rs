//! `GET /crm/{v}/{module}/search` with `criteria`, `email`, `phone` or `word` (in that order of
//! preference when several are given, as Zoho documents), `page`, `per_page` and `fields`. The
//! filter runs in the store; the answer is shaped like the records list, 204 when nothing matches.
//!
//! Scopes: the module's READ (as the records routes) and `ZohoSearch.securesearch.READ`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::query::criteria::parse_criteria;
use bulkwrite_core::query::{Builder, Comparator, Filter, Select, Surface, UserName};
use bulkwrite_core::schema::{DataType, Module};
use bulkwrite_core::version::ApiVersion;
use bulkwrite_wire::records::{PageInfo, RecordsPage};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::{json_response, no_content};
use crate::routes::records_read::module_context;
use crate::AppState;

/// Most records a page holds.
const MAX_PER_PAGE: u32 = 200;
/// Records reachable through `page` and `per_page` (Zoho: `LIMIT_REACHED` beyond).
const MAX_REACH: u64 = 2000;
/// Most fields `fields` may name.
const MAX_FIELDS: usize = 50;

pub async fn search_records(
    State(state): State<AppState>,
    PathParams((path_version, module_name)): PathParams<(String, String)>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let (module, ctx) = module_context(&state, &auth, &module_name).await?;
    auth.require(&["ZohoSearch.securesearch.READ"])?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))?;
    let invalid = |name: &str| ErrorResponse(ApiError::new(ErrorCode::InvalidData).detail("param_name", name));
    let number = |name: &str, default: u32| -> Result<u32, ErrorResponse> {
        match params.get(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| invalid(name)),
        }
    };
    let page = number("page", 1)?;
    let per_page = number("per_page", MAX_PER_PAGE)?;
    if per_page > MAX_PER_PAGE {
        return Err(invalid("per_page"));
    }
    if u64::from(page) * u64::from(per_page) > MAX_REACH {
        return Err(ErrorResponse(ApiError::new(ErrorCode::LimitReached).detail("limit", MAX_REACH.to_string())));
    }
    let fields: Option<Vec<String>> = params
        .get("fields")
        .map(|list| list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect());
    if fields.as_ref().is_some_and(|f| f.len() > MAX_FIELDS) {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::LimitExceeded, "fields limit exceeded")
                .detail("limit", MAX_FIELDS)
                .detail("param", "fields"),
        ));
    }
    let users: Vec<UserName> = ctx
        .users
        .values()
        .map(|u| UserName {
            id: u.id.get(),
            full_name: u.full_name(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
        })
        .collect();
    let builder = Builder::new(&module, Surface::Search, ctx.time_zone).with_users(&users);
    let filter = search_filter(&builder, &params, api_version)?;
    let select = Select { offset: u64::from(page - 1) * u64::from(per_page), ..Select::new(filter, per_page + 1) };
    let mut records = state.store.select_records(auth.0.org, &module.api_name, &select).await?;
    let more_records = records.len() > per_page as usize;
    records.truncate(per_page as usize);
    if records.is_empty() {
        return Ok(no_content());
    }
    let data: Vec<_> = records.iter().map(|record| ctx.render(record, fields.as_deref())).collect();
    let info = PageInfo {
        per_page,
        count: data.len() as u32,
        page,
        sort_by: None,
        sort_order: None,
        more_records,
        next_page_token: None,
        previous_page_token: None,
        page_token_expiry: None,
    };
    Ok(json_response(StatusCode::OK, &RecordsPage { data, info: Some(info) }))
}

/// The filter of whichever search parameter applies.
fn search_filter(
    builder: &Builder<'_>,
    params: &HashMap<String, String>,
    api_version: ApiVersion,
) -> Result<Filter, ErrorResponse> {
    if let Some(criteria) = params.get("criteria") {
        let max = if api_version >= ApiVersion::V8 { 15 } else { 10 };
        return Ok(parse_criteria(criteria, builder, max)?);
    }
    if let Some(email) = params.get("email") {
        return Ok(any_field(builder, &[DataType::Email], Comparator::Equal, email.trim()));
    }
    if let Some(phone) = params.get("phone") {
        return Ok(any_field(builder, &[DataType::Phone], Comparator::Equal, phone.trim()));
    }
    if let Some(word) = params.get("word") {
        let word = word.trim();
        if word.chars().count() < 2 {
            return Err(ErrorResponse(
                ApiError::with_message(ErrorCode::InvalidData, "provide atleast 2 letters for search")
                    .detail("param_name", "word"),
            ));
        }
        let text_types = [
            DataType::Text,
            DataType::Textarea,
            DataType::Email,
            DataType::Phone,
            DataType::Website,
            DataType::Picklist,
            DataType::AutoNumber,
        ];
        return Ok(any_field(builder, &text_types, Comparator::Contains, word));
    }
    Err(ErrorResponse(
        ApiError::new(ErrorCode::ExpectedParamMissing)
            .detail("param_names", vec!["criteria", "email", "phone", "word"]),
    ))
}

/// `comparator value` on any field of the module with one of `types` (none matches when the
/// module has no such field).
fn any_field(builder: &Builder<'_>, types: &[DataType], comparator: Comparator, value: &str) -> Filter {
    let module: &Module = builder.module;
    let text = Builder { surface: Surface::Coql, ..*builder };
    let parts: Vec<Filter> = module
        .fields
        .iter()
        .filter(|field| types.contains(&field.data_type))
        .filter_map(|field| text.compare(&field.api_name, comparator, &[Value::String(value.to_string())]).ok())
        .collect();
    Filter::Or(parts)
}
