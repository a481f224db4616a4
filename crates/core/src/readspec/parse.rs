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
        return Err(ApiError::new(ErrorCode::RequestBodyNotSupported));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| ApiError::new(ErrorCode::RequestBodyNotSupported))?;
    match value {
        Value::Object(body) => Ok(body),
        _ => Err(invalid("body", "$", "jsonobject")),
    }
}

fn invalid(api_name: &str, path: &str, expected: &str) -> ApiError {
    ApiError::invalid_key(api_name, path).detail("expected_data_type", expected)
}

fn missing(api_name: &str, path: &str) -> ApiError {
    ApiError::new(ErrorCode::RequiredParamMissing).detail("api_name", api_name).detail("json_path", path)
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
    let fields = read_fields(query.get("fields"))?;
    let columns = plan_columns(ctx.schema, module, &fields)?;
    let fields: Vec<String> =
        if fields.is_empty() { Vec::new() } else { columns.iter().skip(1).map(|c| c.header.clone()).collect() };
    let cvid = read_cvid(query.get("cvid"), &module.id)?;
    let criteria = match query.get("criteria") {
        None | Some(Value::Null) => None,
        Some(Value::Object(criteria)) => Some(Value::Object(criteria.clone())),
        Some(_) => return Err(invalid("criteria", "$.query.criteria", "jsonobject")),
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
    if file_type == FileType::Ics && !ICS_MODULES.contains(&module.api_name.as_str()) {
        return Err(ApiError::with_message(
            ErrorCode::NotSupportedFeature,
            format!("ics file type is not supported for the module {}", module.api_name),
        )
        .detail("api_name", "file_type")
        .detail("json_path", "$.file_type"));
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
        return Err(ApiError::new(ErrorCode::InvalidCallbackMethod).detail("api_name", "method"));
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

/// Most fields one export may name (Zoho's column limit of a CSV).
const MAX_FIELDS: usize = 200;

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
        return Err(ApiError::invalid_key("cvid", "$.query.cvid"));
    }
    Ok(value.cloned())
}

/// Most pages a job may name without a token (Zoho pages beyond need `page_token`).
const MAX_PAGE: u64 = 100_000;

fn read_page(value: Option<&Value>) -> Result<u32, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(1),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(page) if (1..=MAX_PAGE).contains(&page) => Ok(page as u32),
            _ => Err(ApiError::invalid_key("page", "$.query.page")),
        },
        Some(_) => Err(invalid("page", "$.query.page", "integer")),
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
