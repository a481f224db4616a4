//! Bulk Read `criteria` onto the shared filter tree ([`crate::query`]): a comparison
//! `{"field":{"api_name"}|"api_name", "comparator", "value"}` or a group
//! `{"group_operator":"and"|"or", "group":[…]}`, nested; `${EMPTY}` for an empty value. Errors
//! name the key and its `json_path`, as Zoho's `INVALID_DATA` and `REQUIRED_PARAM_MISSING` do.

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{Map, Value};

use crate::query::{Builder, Comparator, Filter, QueryError, Surface};
use crate::schema::Module;

/// Most comparisons one criteria may hold (bounded input).
pub const MAX_COMPARISONS: usize = 100;
/// How deep one criteria's groups may nest (bounded input).
pub const MAX_DEPTH: usize = 10;

const ROOT: &str = "$.query.criteria";

/// The filter of `criteria` on `module` (`Filter::All` when there is none).
pub fn criteria_filter(
    module: &Module,
    criteria: Option<&Value>,
    time_zone: chrono_tz::Tz,
) -> Result<Filter, ApiError> {
    let Some(criteria) = criteria else { return Ok(Filter::All) };
    let builder = Builder::new(module, Surface::BulkRead, time_zone);
    let mut count = 0;
    read_node(&builder, criteria, ROOT, 1, &mut count)
}

fn invalid(api_name: &str, path: &str) -> ApiError {
    ApiError::invalid_key(api_name, path)
}

fn missing(api_name: &str, path: &str) -> ApiError {
    ApiError::new(ErrorCode::RequiredParamMissing).detail("api_name", api_name).detail("json_path", path)
}

fn read_node(
    builder: &Builder<'_>,
    node: &Value,
    path: &str,
    depth: usize,
    count: &mut usize,
) -> Result<Filter, ApiError> {
    let Some(node) = node.as_object() else {
        return Err(invalid("criteria", path).detail("expected_data_type", "jsonobject"));
    };
    if depth > MAX_DEPTH {
        return Err(ApiError::new(ErrorCode::LimitExceeded).detail("api_name", "group").detail("json_path", path));
    }
    if node.contains_key("group") || node.contains_key("group_operator") {
        return read_group(builder, node, path, depth, count);
    }
    *count += 1;
    if *count > MAX_COMPARISONS {
        return Err(ApiError::new(ErrorCode::LimitExceeded)
            .detail("api_name", "criteria")
            .detail("limit", MAX_COMPARISONS));
    }
    read_comparison(builder, node, path)
}

fn read_group(
    builder: &Builder<'_>,
    node: &Map<String, Value>,
    path: &str,
    depth: usize,
    count: &mut usize,
) -> Result<Filter, ApiError> {
    let operator = match node.get("group_operator") {
        None | Some(Value::Null) => return Err(missing("group_operator", &format!("{path}.group_operator"))),
        Some(Value::String(word)) => word.as_str(),
        Some(_) => return Err(invalid("group_operator", &format!("{path}.group_operator"))),
    };
    let group = match node.get("group") {
        None | Some(Value::Null) => return Err(missing("group", &format!("{path}.group"))),
        Some(Value::Array(group)) if !group.is_empty() => group,
        Some(_) => return Err(invalid("group", &format!("{path}.group")).detail("expected_data_type", "jsonarray")),
    };
    let mut parts = Vec::with_capacity(group.len());
    for (index, item) in group.iter().enumerate() {
        parts.push(read_node(builder, item, &format!("{path}.group[{index}]"), depth + 1, count)?);
    }
    match operator {
        "and" => Ok(Filter::And(parts)),
        "or" => Ok(Filter::Or(parts)),
        _ => Err(invalid("group_operator", &format!("{path}.group_operator"))),
    }
}

fn read_comparison(builder: &Builder<'_>, node: &Map<String, Value>, path: &str) -> Result<Filter, ApiError> {
    let field = match (node.get("field"), node.get("api_name")) {
        (Some(Value::Object(field)), _) => field.get("api_name").and_then(Value::as_str),
        (_, Some(Value::String(name))) => Some(name.as_str()),
        _ => None,
    };
    let Some(field) = field.filter(|name| !name.trim().is_empty()) else {
        return Err(missing("api_name", &format!("{path}.field.api_name")));
    };
    let comparator = match node.get("comparator") {
        None | Some(Value::Null) => return Err(missing("comparator", &format!("{path}.comparator"))),
        Some(Value::String(word)) => word.as_str(),
        Some(_) => return Err(invalid("comparator", &format!("{path}.comparator"))),
    };
    // Bulk Read names fourteen comparators; `like` and the emptiness words are other surfaces'.
    let comparator = Comparator::parse(comparator)
        .filter(|c| !matches!(c, Comparator::Like | Comparator::NotLike | Comparator::IsEmpty | Comparator::IsNotEmpty))
        .ok_or_else(|| invalid("comparator", &format!("{path}.comparator")).detail("comparator", comparator))?;
    let values: Vec<Value> = match (comparator.arity().1, node.get("value")) {
        (_, None | Some(Value::Null)) => return Err(missing("value", &format!("{path}.value"))),
        (1, Some(Value::Array(_))) => return Err(invalid("value", &format!("{path}.value"))),
        (1, Some(value)) => vec![value.clone()],
        (_, Some(Value::Array(values))) => values.clone(),
        (_, Some(_)) => {
            return Err(invalid("value", &format!("{path}.value")).detail("expected_data_type", "jsonarray"));
        }
    };
    builder.compare(field, comparator, &values).map_err(|error| query_error(&error, path, comparator))
}

/// A refused comparison as Zoho's `INVALID_DATA`, naming the field, comparator, path (and the
/// value, when it is the value that is wrong).
fn query_error(error: &QueryError, path: &str, comparator: Comparator) -> ApiError {
    let at = match error {
        QueryError::UnknownField { .. } | QueryError::UnsupportedField { .. } => "field.api_name",
        QueryError::UnsupportedComparator { .. } => "comparator",
        QueryError::WrongValueCount { .. } | QueryError::InvalidValue { .. } => "value",
    };
    let mut api_error = ApiError::with_message(ErrorCode::InvalidData, error.to_string())
        .detail("api_name", error.field())
        .detail("comparator", comparator.as_str())
        .detail("json_path", format!("{path}.{at}"));
    if let QueryError::InvalidValue { value, .. } = error {
        api_error = api_error.detail("value", value.clone());
    }
    api_error
}
