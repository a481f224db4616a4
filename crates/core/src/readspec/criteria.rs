//! Bulk Read `criteria` onto the shared filter tree ([`crate::query`]): a comparison
//! `{"field":{"api_name"}|"api_name", "comparator", "value"}` or a group
//! `{"group_operator":"and"|"or", "group":[…]}`, nested; `${EMPTY}` for an empty value.
//!
//! Refusals use Bulk Read's own codes and sentences, as the official SDKs' Bulk Read error model
//! lists them (`INVALID_CRITERIA`, `AMBIGUOUS_CRITERIA`, `FIELD_IN_CRITERIA_NOT_AVAILABLE`,
//! `FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE` …). Where a sentence names "criteria %s",
//! we put the JSON path of the comparison or group at fault (`$.query.criteria.group[1]`): the
//! sources do not say what Zoho puts there, and the path names it unambiguously. `details`
//! carry the keys the SDKs keep (`api_name`, `comparator`, `value`, `supported`,
//! `expected_data_type`) and the `json_path`.

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{Map, Value};

use crate::query::criteria::data_type;
use crate::query::{Builder, Column, Comparator, Filter, QueryError, Surface, EMPTY};
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

fn invalid_criteria(path: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidCriteria, format!("Invalid criteria {path} for the query."))
        .detail("json_path", path)
}

fn read_node(
    builder: &Builder<'_>,
    node: &Value,
    path: &str,
    depth: usize,
    count: &mut usize,
) -> Result<Filter, ApiError> {
    let Some(node) = node.as_object() else {
        return Err(invalid_criteria(path).detail("expected_data_type", "jsonobject"));
    };
    if depth > MAX_DEPTH {
        return Err(invalid_criteria(path).detail("max_limit", MAX_DEPTH));
    }
    let grouped = node.contains_key("group") || node.contains_key("group_operator");
    let compared = ["field", "api_name", "comparator", "value"].iter().any(|key| node.contains_key(*key));
    if grouped && compared {
        return Err(ApiError::with_message(
            ErrorCode::AmbiguousCriteria,
            format!(
                "Ambiguous criteria {path}. Criteria can have either {{group, group_operator}} or {{api_name, comparator, value}}."
            ),
        )
        .detail("json_path", path));
    }
    if grouped {
        return read_group(builder, node, path, depth, count);
    }
    *count += 1;
    if *count > MAX_COMPARISONS {
        return Err(ApiError::with_message(
            ErrorCode::CriteriaLimitExceeded,
            format!("Number of criteria exceeded the maximum limit of {MAX_COMPARISONS}"),
        )
        .detail("max_limit", MAX_COMPARISONS));
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
        Some(Value::String(word)) => word.as_str(),
        None | Some(Value::Null) => return Err(invalid_criteria(path).detail("api_name", "group_operator")),
        Some(other) => return Err(group_operator_refused(path, &other.to_string())),
    };
    let group = match node.get("group") {
        Some(Value::Array(group)) => group,
        None | Some(Value::Null) => return Err(invalid_criteria(path).detail("api_name", "group")),
        Some(_) => {
            return Err(invalid_criteria(path).detail("api_name", "group").detail("expected_data_type", "jsonarray"))
        }
    };
    if group.len() < 2 {
        return Err(ApiError::with_message(
            ErrorCode::AmbiguousGroupInCriteria,
            format!(
                "Ambiguous group in criteria {path}. Group should be used only when there are more than one criteria"
            ),
        )
        .detail("json_path", path));
    }
    // The SDKs refuse `AND` before sending; the server is as strict.
    if operator != "and" && operator != "or" {
        return Err(group_operator_refused(path, operator));
    }
    let mut parts = Vec::with_capacity(group.len());
    for (index, item) in group.iter().enumerate() {
        parts.push(read_node(builder, item, &format!("{path}.group[{index}]"), depth + 1, count)?);
    }
    Ok(if operator == "and" { Filter::And(parts) } else { Filter::Or(parts) })
}

fn group_operator_refused(path: &str, operator: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::GroupOperatorNotSupported,
        format!("Criteria {path} doesn't support this logical group operator '{operator}'. Supported operators are 'and', 'or'."),
    )
    .detail("api_name", "group_operator")
    .detail("json_path", format!("{path}.group_operator"))
}

fn read_comparison(builder: &Builder<'_>, node: &Map<String, Value>, path: &str) -> Result<Filter, ApiError> {
    let field = match (node.get("field"), node.get("api_name")) {
        (Some(Value::Object(field)), _) => field.get("api_name").and_then(Value::as_str),
        (_, Some(Value::String(name))) => Some(name.as_str()),
        _ => None,
    };
    let Some(field) = field.map(str::trim).filter(|name| !name.is_empty()) else {
        return Err(invalid_criteria(path).detail("api_name", "api_name"));
    };
    let comparator_word = match node.get("comparator") {
        Some(Value::String(word)) => word.as_str(),
        None | Some(Value::Null) => return Err(invalid_criteria(path).detail("api_name", "comparator")),
        Some(other) => return Err(comparator_refused(field, &other.to_string(), path)),
    };
    // Bulk Read names fourteen comparators; `like` and the emptiness words are other surfaces'.
    let comparator = Comparator::parse(comparator_word)
        .filter(|c| !matches!(c, Comparator::Like | Comparator::NotLike | Comparator::IsEmpty | Comparator::IsNotEmpty))
        .ok_or_else(|| comparator_refused(field, comparator_word, path))?;
    let value = match node.get("value") {
        None | Some(Value::Null) => return Err(invalid_criteria(path).detail("api_name", "value")),
        Some(value) => value,
    };
    let values: Vec<Value> = match (comparator.arity().1, value) {
        (1, Value::Array(_)) | (2.., Value::Object(_) | Value::Bool(_)) => {
            return Err(comparator_and_value(comparator, value, path));
        }
        (1, value) => vec![value.clone()],
        (_, Value::Array(values)) => values.clone(),
        // `in` takes one value written bare too.
        (_, value) if comparator.arity().0 == 1 => vec![value.clone()],
        (_, value) => return Err(comparator_and_value(comparator, value, path)),
    };
    let is_empty_word = |value: &Value| value.as_str() == Some(EMPTY);
    if values.iter().any(is_empty_word)
        && !(matches!(comparator, Comparator::Equal | Comparator::NotEqual) && values.len() == 1)
    {
        return Err(ApiError::with_message(
            ErrorCode::ValueInCriteriaNotSupported,
            format!("Value '{EMPTY}' is not supported for criteria {path}."),
        )
        .detail("api_name", field)
        .detail("comparator", comparator.as_str())
        .detail("value", EMPTY)
        .detail("json_path", format!("{path}.value")));
    }
    builder.compare(field, comparator, &values).map_err(|error| query_error(builder, &error, path, comparator, value))
}

fn comparator_refused(field: &str, comparator: &str, path: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::FieldComparatorInCriteriaNotSupported,
        format!("Field api name '{field}' doesn't support this comparator '{comparator}' for criteria {path}."),
    )
    .detail("api_name", field)
    .detail("comparator", comparator)
    .detail("json_path", format!("{path}.comparator"))
}

fn comparator_and_value(comparator: Comparator, value: &Value, path: &str) -> ApiError {
    let shown = shown(value);
    ApiError::with_message(
        ErrorCode::ComparatorAndValueInCriteriaNotCompatible,
        format!("Comparator '{}' is not supported with value '{shown}' for criteria {path}.", comparator.as_str()),
    )
    .detail("comparator", comparator.as_str())
    .detail("value", shown)
    .detail("json_path", format!("{path}.value"))
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.chars().take(100).collect()
}

/// A comparison the schema refuses, in Bulk Read's words.
fn query_error(
    builder: &Builder<'_>,
    error: &QueryError,
    path: &str,
    comparator: Comparator,
    value: &Value,
) -> ApiError {
    let field = error.field();
    match error {
        QueryError::UnknownField { .. } => ApiError::with_message(
            ErrorCode::FieldInCriteriaNotAvailable,
            format!("Field api name '{field}' is not available for criteria {path}. Check visibility and permission for the field"),
        )
        .detail("api_name", field)
        .detail("json_path", format!("{path}.field.api_name")),
        QueryError::UnsupportedField { .. } => ApiError::with_message(
            ErrorCode::FieldInCriteriaNotSupported,
            format!("Field api name '{field}' for criteria {path} is not supported."),
        )
        .detail("api_name", field)
        .detail("json_path", format!("{path}.field.api_name")),
        QueryError::UnsupportedComparator { .. } => {
            let kind = Column::resolve(builder.module, field).map(|column| column.kind());
            let supported: Vec<&str> = kind
                .map(|kind| Surface::BulkRead.comparators(kind).into_iter().map(Comparator::as_str).collect())
                .unwrap_or_default();
            ApiError::with_message(
                ErrorCode::FieldAndComparatorInCriteriaNotCompatible,
                format!(
                    "Field api name '{field}' is not supported with comparator '{}' for criteria {path}.",
                    comparator.as_str()
                ),
            )
            .detail("api_name", field)
            .detail("comparator", comparator.as_str())
            .detail("supported", supported)
            .detail("json_path", format!("{path}.comparator"))
        }
        QueryError::WrongValueCount { .. } => comparator_and_value(comparator, value, path),
        QueryError::InvalidValue { value, .. } => {
            let expected = Column::resolve(builder.module, field).map_or("text", |column| data_type(builder, &column));
            ApiError::with_message(
                ErrorCode::FieldAndValueInCriteriaNotCompatible,
                format!("Field '{field}' is not supported with value '{value}' for criteria {path}."),
            )
            .detail("api_name", field)
            .detail("value", value.clone())
            .detail("expected_data_type", expected)
            .detail("json_path", format!("{path}.value"))
        }
    }
}
