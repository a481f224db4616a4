//! Reading a `POST /crm/bulk/{v}/read` body: its JSON first (`REQUEST_BODY_NOT_SUPPORTED`), then
//! required keys (`REQUIRED_PARAM_MISSING`), then types and values against the schema
//! (`INVALID_DATA` with the key's `api_name` and `json_path`, `MODULE_NOT_AVAILABLE`,
//! `INVALID_CALLBACK_METHOD`, `NOT_SUPPORTED_FEATURE` for `ics` outside calendar modules).
//! Unknown keys are ignored, as Zoho does.

use bulkwrite_wire::{ApiError, Callback, ErrorCode};
use serde_json::{Map, Value};

use super::columns::plan_columns;
use super::token::PageToken;
use super::{all_view_id, FileType, ReadSpec, ICS_MODULES};
use crate::schema::OrgSchema;

/// What validation checks a request against.
pub struct ReadContext<'a> {
    /// The org's modules and fields.
    pub schema: &'a OrgSchema,
    /// The user creating the job (page tokens are theirs only).
    pub user: u64,
    /// Records a page holds.
    pub per_page: u32,
}

/// The JSON object of a create-read body.
pub fn parse_read_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::new(ErrorCode::RequestBodyNotSupported))?;
    if text.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::RequestBodyIsEmpty));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| ApiError::new(ErrorCode::RequestBodyNotSupported))?;
    match value {
        Value::Object(body) => Ok(body),
        _ => Err(ApiError::new(ErrorCode::RequestBodyNotSupported)),
    }
}

fn invalid(api_name: &str, path: &str, expected: &str) -> ApiError {
    ApiError::invalid_key(api_name, path).detail("expected_data_type", expected)
}

/// A key the request must have: `MANDATORY_NOT_FOUND`, the code the v8 SDK lists for Bulk Read
/// (its v8 model lets a caller send no `query` or `module`).
fn missing(api_name: &str, path: &str) -> ApiError {
    ApiError::new(ErrorCode::MandatoryNotFound).detail("api_name", api_name).detail("json_path", path)
}

/// Checks a create-read body against the org and returns the job's spec. `criteria` is checked
/// by the caller (it needs the query layer); here only its shape is kept.
pub fn validate_read(body: &Map<String, Value>, ctx: &ReadContext<'_>) -> Result<ReadSpec, ApiError> {
    let Some(query) = body.get("query").filter(|v| !v.is_null()) else {
        return Err(missing("query", "$.query"));
    };
    let query = query.as_object().ok_or_else(|| invalid("query", "$.query", "jsonobject"))?;
    let callback = read_callback(body.get("callback"))?;
    let module_name = read_module_name(query.get("module"))?;
    let module = ctx.schema.module(&module_name).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::ModuleNotAvailable,
            format!("Requested module '{module_name}' is not available."),
        )
        .detail("api_name", "module")
    })?;
    if !module.bulk_write {
        return Err(ApiError::with_message(
            ErrorCode::ModuleNotSupported,
            format!("Invalid module for the query. Module '{}' is not supported.", module.api_name),
        )
        .detail("api_name", "module"));
    }
    let fields = read_fields(query.get("fields"))?;
    let columns = plan_columns(ctx.schema, module, &fields)?;
    let fields: Vec<String> =
        if fields.is_empty() { Vec::new() } else { columns.iter().skip(1).map(|c| c.header.clone()).collect() };
    let cvid = read_cvid(query.get("cvid"), &module.id)?;
    let criteria = match query.get("criteria") {
        None | Some(Value::Null) => None,
        Some(Value::Object(criteria)) => Some(Value::Object(criteria.clone())),
        Some(_) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidCriteria,
                "Invalid criteria $.query.criteria for the query.",
            )
            .detail("json_path", "$.query.criteria")
            .detail("expected_data_type", "jsonobject"));
        }
    };
    let mut page = read_page(query.get("page"))?;
    let page_token = match query.get("page_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) if !token.trim().is_empty() => Some(token.trim().to_string()),
        Some(_) => return Err(invalid("page_token", "$.query.page_token", "string")),
    };
    let mut start_after = None;
    if let Some(text) = &page_token {
        let token = PageToken::decode(text).filter(|t| t.user == ctx.user);
        let token = token.ok_or_else(|| ApiError::invalid_key("page_token", "$.query.page_token"))?;
        page = token.page;
        start_after = Some(token.after);
    }
    let file_type = read_file_type(body.get("file_type"), query.get("file_type"))?;
    // Zoho: "You can export the records as an ICS file only for the Events module", and "The
    // fields attribute is not supported when you want to export the events as an ICS file".
    if file_type == FileType::Ics && !ICS_MODULES.contains(&module.api_name.as_str()) {
        let path = if body.contains_key("file_type") { "$.file_type" } else { "$.query.file_type" };
        return Err(ApiError::new(ErrorCode::NotSupportedFeature)
            .detail("api_name", "file_type")
            .detail("json_path", path));
    }
    if file_type == FileType::Ics && !fields.is_empty() {
        return Err(ApiError::new(ErrorCode::NotSupportedFeature)
            .detail("api_name", "fields")
            .detail("json_path", "$.query.fields"));
    }
    Ok(ReadSpec {
        module: module.api_name.clone(),
        module_id: module.id.clone(),
        fields,
        criteria,
        cvid,
        page,
        per_page: ctx.per_page.max(1),
        page_token,
        start_after,
        file_type,
        callback,
    })
}

fn read_callback(value: Option<&Value>) -> Result<Option<Callback>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
    let callback = value.as_object().ok_or_else(|| invalid("callback", "$.callback", "jsonobject"))?;
    let Some(url) = callback.get("url").filter(|v| !v.is_null()) else {
        return Err(missing("url", "$.callback.url"));
    };
    let url = url.as_str().ok_or_else(|| invalid("url", "$.callback.url", "string"))?;
    let method = match callback.get("method") {
        None | Some(Value::Null) => return Err(missing("method", "$.callback.method")),
        Some(Value::String(method)) => method.clone(),
        Some(_) => return Err(invalid("method", "$.callback.method", "string")),
    };
    if method != "post" {
        return Err(ApiError::with_message(
            ErrorCode::InvalidCallbackMethod,
            format!("Invalid request method {method} for callback."),
        )
        .detail("api_name", "method"));
    }
    Ok(Some(Callback { url: url.to_string(), method }))
}

fn read_module_name(value: Option<&Value>) -> Result<String, ApiError> {
    match value {
        None | Some(Value::Null) => Err(missing("module", "$.query.module")),
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(name.trim().to_string()),
        Some(Value::Object(object)) => match object.get("api_name") {
            Some(Value::String(name)) if !name.trim().is_empty() => Ok(name.trim().to_string()),
            None | Some(Value::Null) => Err(missing("api_name", "$.query.module.api_name")),
            Some(_) => Err(invalid("api_name", "$.query.module.api_name", "string")),
        },
        Some(_) => Err(invalid("module", "$.query.module", "jsonobject")),
    }
}

/// Most fields one export may name (`maxItems` of `query.fields` in Zoho's v8 OpenAPI spec).
const MAX_FIELDS: usize = 1000;

fn read_fields(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(|| invalid("fields", "$.query.fields", "jsonarray"))?;
    if list.len() > MAX_FIELDS {
        return Err(ApiError::new(ErrorCode::LimitExceeded).detail("api_name", "fields").detail("limit", MAX_FIELDS));
    }
    let mut fields = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let name = item.as_str().ok_or_else(|| invalid("fields", &format!("$.query.fields[{index}]"), "string"))?;
        fields.push(name.to_string());
    }
    Ok(fields)
}

/// A cvid names the module's "All" view, the one view each module has.
fn read_cvid(value: Option<&Value>, module_id: &str) -> Result<Option<Value>, ApiError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => return Err(invalid("cvid", "$.query.cvid", "string")),
    };
    if text != all_view_id(module_id) {
        // `CVID_NOT_SUPPORTED` is the v8 spec's code; the sources give no sentence, so this one
        // follows `MODULE_NOT_SUPPORTED`'s.
        return Err(ApiError::with_message(
            ErrorCode::CvidNotSupported,
            format!("Invalid custom view for the query. Custom view '{text}' is not supported."),
        )
        .detail("api_name", "cvid")
        .detail("json_path", "$.query.cvid"));
    }
    Ok(value.cloned())
}

/// The last page a job may name without a token: the v8 SDK's model of `query.page` carries
/// the pattern `[1-9]|[1-4][1-9]|50`, pages 1 to 50 (records beyond need `page_token`).
pub const MAX_PAGE: u32 = 50;

fn read_page(value: Option<&Value>) -> Result<u32, ApiError> {
    let number = match value {
        None | Some(Value::Null) => return Ok(1),
        Some(Value::Number(number)) => number,
        Some(_) => return Err(invalid("page", "$.query.page", "integer")),
    };
    let shown = number.to_string();
    match number.as_u64() {
        Some(page) if (1..=u64::from(MAX_PAGE)).contains(&page) => Ok(page as u32),
        Some(page) if page > u64::from(MAX_PAGE) => Err(ApiError::with_message(
            ErrorCode::PageRangeExceeded,
            format!(
                "Invalid page number for query. Page {shown} is not supported for the query. Page range is from 1 to {MAX_PAGE}."
            ),
        )
        .detail("max_limit", MAX_PAGE)
        .detail("json_path", "$.query.page")),
        // 0, negative or not whole.
        _ => Err(ApiError::with_message(
            ErrorCode::PageNotSupported,
            format!("Invalid page number for query. Page {shown} is not supported for the query."),
        )
        .detail("json_path", "$.query.page")),
    }
}

fn read_file_type(top: Option<&Value>, in_query: Option<&Value>) -> Result<FileType, ApiError> {
    let (value, path) = match (top.filter(|v| !v.is_null()), in_query.filter(|v| !v.is_null())) {
        (Some(value), _) => (value, "$.file_type"),
        (None, Some(value)) => (value, "$.query.file_type"),
        (None, None) => return Ok(FileType::Csv),
    };
    match value.as_str() {
        Some("csv") => Ok(FileType::Csv),
        Some("ics") => Ok(FileType::Ics),
        Some(_) => Err(ApiError::invalid_key("file_type", path)),
        None => Err(invalid("file_type", path, "string")),
    }
}
