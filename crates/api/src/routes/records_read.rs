//! `GET /crm/{v}/{module}` and `GET /crm/{v}/{module}/{id}` (Zoho's records API), so an import can be
//! checked.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::ids::RecordId;
use bulkwrite_core::perms::ModuleAction;
use bulkwrite_core::schema::Module;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_store::{RecordQuery, RecordSort};
use bulkwrite_wire::records::{PageInfo, RecordsPage};
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::metadata::access;
use crate::paths::{version, PathParams};
use crate::record_render::RenderContext;
use crate::response::{json_response, no_content};
use crate::AppState;

mod children;

/// Most fields one listing may name.
const MAX_FIELDS: usize = 50;
/// Most records one page may hold.
const MAX_PER_PAGE: u32 = 200;
/// Most ids one listing may name.
const MAX_IDS: usize = 100;
/// Records reachable with `page` and `per_page` alone (v3 and later); beyond, a `page_token`.
const DISCRETE_PAGINATION_LIMIT: u64 = 2000;
/// How long a page token can be used (Zoho: a day).
const PAGE_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// A page token: where the next page starts and until when the token holds, as hex text.
fn page_token(offset: u64, expiry: chrono::DateTime<chrono::Utc>) -> String {
    let text = format!("{offset}:{}", expiry.timestamp());
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn read_page_token(token: &str, now: chrono::DateTime<chrono::Utc>) -> Result<u64, ErrorResponse> {
    let invalid = || {
        ErrorResponse(
            ApiError::with_message(ErrorCode::InvalidData, "the page_token given seems to be invalid")
                .detail("param", "page_token"),
        )
    };
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect();
    let text = bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let (offset, expiry) = text.split_once(':').ok_or_else(invalid)?;
    let (offset, expiry) =
        (offset.parse::<u64>().map_err(|_| invalid())?, expiry.parse::<i64>().map_err(|_| invalid())?);
    if expiry < now.timestamp() {
        return Err(ErrorResponse(
            ApiError::with_message(ErrorCode::InvalidData, "the page_token has expired").detail("param", "page_token"),
        ));
    }
    Ok(offset)
}

pub async fn get_record(
    State(state): State<AppState>,
    PathParams((path_version, module_name, record_id)): PathParams<(String, String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let (module, ctx) = module_context(&state, &auth, &module_name).await?;
    let id = RecordId::parse(&record_id).ok_or_else(|| {
        ErrorResponse(
            ApiError::with_message(ErrorCode::InvalidData, "the id given seems to be invalid").detail("api_name", "id"),
        )
    })?;
    let Some(record) = state.store.get_record(auth.0.org, &module.api_name, id).await? else {
        return Ok(no_content());
    };
    let mut rendered = ctx.render(&record, None);
    children::add_record_taxes(&module.api_name, &record, &mut rendered);
    children::add_children(&state, &auth, (&ctx, api_version), record.id, &mut rendered).await?;
    let page = RecordsPage { data: vec![rendered], info: None };
    Ok(json_response(StatusCode::OK, &page))
}

pub async fn list_records(
    State(state): State<AppState>,
    PathParams((path_version, module_name)): PathParams<(String, String)>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    let (module, ctx) = module_context(&state, &auth, &module_name).await?;
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidData)))?;
    let listing = Listing::read(&params, api_version, state.clock.now())?;
    let page = state.store.list_records(auth.0.org, &module.api_name, &listing.query).await?;
    if page.records.is_empty() {
        return Ok(no_content());
    }
    let data = page.records.iter().map(|record| ctx.render(record, listing.fields.as_deref())).collect::<Vec<_>>();
    let expiry = state.clock.now() + PAGE_TOKEN_LIFETIME;
    let next_offset = listing.query.skip() + data.len() as u64;
    let info = PageInfo {
        per_page: listing.query.per_page,
        count: data.len() as u32,
        page: listing.query.page,
        sort_by: Some(listing.sort_by),
        sort_order: Some(if listing.query.descending { "desc" } else { "asc" }.to_string()),
        more_records: page.more_records,
        next_page_token: page.more_records.then(|| page_token(next_offset, expiry)),
        previous_page_token: None,
        page_token_expiry: page.more_records.then(|| expiry.format("%Y-%m-%dT%H:%M:%S%:z").to_string()),
    };
    Ok(json_response(StatusCode::OK, &RecordsPage { data, info: Some(info) }))
}

/// The module `name` of the org, once the token may read its records.
pub(crate) async fn readable_module(state: &AppState, auth: &Auth, name: &str) -> Result<Module, ErrorResponse> {
    Ok(readable_module_and_perms(state, auth, name).await?.0)
}

/// [`readable_module`], with the caller's profile's permissions it was checked against.
async fn readable_module_and_perms(
    state: &AppState,
    auth: &Auth,
    name: &str,
) -> Result<(Module, bulkwrite_core::perms::ProfilePerms), ErrorResponse> {
    let schema = state.store.org_schema(auth.0.org).await?;
    let invalid_module = || ErrorResponse(ApiError::new(ErrorCode::InvalidModule).detail("api_name", "module"));
    let module = schema.module(name).cloned().ok_or_else(invalid_module)?;
    let lower = module.api_name.to_ascii_lowercase();
    auth.require(&[
        "ZohoCRM.modules.ALL",
        "ZohoCRM.modules.READ",
        &format!("ZohoCRM.modules.{lower}.READ"),
        &format!("ZohoCRM.modules.{lower}.ALL"),
    ])?;
    let perms = access::user_perms(state.store.as_ref(), auth.0.org, auth.0.user).await?;
    if !perms.allows(&module.api_name, ModuleAction::View) {
        return Err(ErrorResponse(access::no_permission(ModuleAction::View, &module.api_name)));
    }
    Ok((module, perms))
}

pub(crate) async fn module_context(
    state: &AppState,
    auth: &Auth,
    name: &str,
) -> Result<(Module, RenderContext), ErrorResponse> {
    let (module, perms) = readable_module_and_perms(state, auth, name).await?;
    let users = state.store.users(auth.0.org).await?.into_iter().map(|u| (u.id, u)).collect();
    let org = state.store.get_org(auth.0.org).await?;
    let time_zone = org.and_then(|o| o.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    let mut shown = module.clone();
    access::drop_hidden(&mut shown, &perms);
    Ok((module, RenderContext { module: shown, users, time_zone }))
}

struct Listing {
    query: RecordQuery,
    fields: Option<Vec<String>>,
    sort_by: String,
}

impl Listing {
    fn read(
        params: &HashMap<String, String>,
        api_version: ApiVersion,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Listing, ErrorResponse> {
        let invalid = |name: &str| {
            ErrorResponse(ApiError::new(ErrorCode::InvalidData).detail("api_name", name).detail("param_name", name))
        };
        let fields: Option<Vec<String>> = params
            .get("fields")
            .map(|list| list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect());
        if fields.is_none() && api_version >= ApiVersion::V3 {
            return Err(ErrorResponse(ApiError::new(ErrorCode::RequiredParamMissing).detail("param", "fields")));
        }
        if fields.as_ref().is_some_and(|f| f.len() > MAX_FIELDS) {
            return Err(ErrorResponse(
                ApiError::with_message(ErrorCode::LimitExceeded, "fields limit exceeded")
                    .detail("limit", MAX_FIELDS)
                    .detail("param", "fields"),
            ));
        }
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
        let sort_by_text = params.get("sort_by").map(String::as_str).unwrap_or("id");
        let sort_by = match sort_by_text {
            "id" => RecordSort::Id,
            "Created_Time" => RecordSort::CreatedTime,
            "Modified_Time" => RecordSort::ModifiedTime,
            _ => return Err(invalid("sort_by")),
        };
        let descending = match params.get("sort_order").map(String::as_str) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(invalid("sort_order")),
        };
        let ids = match params.get("ids") {
            None => None,
            Some(list) => {
                let mut ids = Vec::new();
                for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    ids.push(RecordId::parse(part).ok_or_else(|| invalid("ids"))?);
                }
                if ids.len() > MAX_IDS {
                    return Err(invalid("ids"));
                }
                Some(ids)
            }
        };
        let offset = match params.get("page_token") {
            Some(token) => Some(read_page_token(token, now)?),
            None => None,
        };
        let reach = u64::from(page) * u64::from(per_page);
        if offset.is_none() && reach > DISCRETE_PAGINATION_LIMIT && api_version >= ApiVersion::V3 {
            return Err(ErrorResponse(
                ApiError::new(ErrorCode::DiscretePaginationLimitExceeded).detail("limit", DISCRETE_PAGINATION_LIMIT),
            ));
        }
        Ok(Listing {
            query: RecordQuery { page, per_page, sort_by, descending, ids, offset },
            fields,
            sort_by: sort_by_text.to_string(),
        })
    }
}
