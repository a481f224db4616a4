//! Records search `criteria`: `((field:operator:value)and(field:operator:value))`, Zoho's
//! grammar with its escaping (`\(`, `\)`, `\,`, `\:` and `\\` stand for the character), into a
//! [`Filter`]. Errors are Zoho's: `INVALID_QUERY` with the `details` its API pages show.
//!
//! Choices where Zoho documents nothing precise: `and` binds tighter than `or` when a group mixes
//! them; a single-valued operator takes commas literally; spaces around names, operators and
//! values are trimmed. As Zoho documents for v5 and later, `equals` on a text field matches
//! values that contain the text.

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

use super::build::Builder;
use super::filter::{Column, Comparator, Filter, ValueKind};
use super::QueryError;
use crate::schema::DataType;

/// Most values of one `in`.
pub const MAX_IN_VALUES: usize = 100;
/// Deepest nesting of parentheses.
const MAX_DEPTH: usize = 16;
/// Longest criteria, in characters.
const MAX_LENGTH: usize = 20_000;

/// A character of the criteria and whether a backslash escaped it.
type Char = (char, bool);

/// Parses `criteria` for `builder`'s module; at most `max_criteria` conditions.
pub fn parse_criteria(text: &str, builder: &Builder<'_>, max_criteria: usize) -> Result<Filter, ApiError> {
    if text.chars().count() > MAX_LENGTH {
        return Err(malformed());
    }
    let chars = unescape(text);
    let mut parser = Parser { chars, at: 0, builder, conditions: 0, max_criteria };
    parser.skip_spaces();
    let filter = parser.group(0)?;
    parser.skip_spaces();
    if parser.at != parser.chars.len() {
        return Err(malformed());
    }
    Ok(filter)
}

/// `INVALID_QUERY` for criteria that do not parse.
fn malformed() -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery).detail("param_name", "criteria")
}

fn unescape(text: &str) -> Vec<Char> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push((next, true)),
                None => out.push(('\\', false)),
            }
        } else {
            out.push((c, false));
        }
    }
    out
}

struct Parser<'a, 'b> {
    chars: Vec<Char>,
    at: usize,
    builder: &'a Builder<'b>,
    conditions: usize,
    max_criteria: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<Char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some((c, false)) if c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), ApiError> {
        match self.peek() {
            Some((c, false)) if c == wanted => {
                self.at += 1;
                Ok(())
            }
            _ => Err(malformed()),
        }
    }

    /// `( condition )` or `( group op group … )`.
    fn group(&mut self, depth: usize) -> Result<Filter, ApiError> {
        if depth > MAX_DEPTH {
            return Err(malformed());
        }
        self.expect('(')?;
        self.skip_spaces();
        if !matches!(self.peek(), Some(('(', false))) {
            let filter = self.condition()?;
            self.expect(')')?;
            return Ok(filter);
        }
        // Alternatives (`or`) of conjunctions (`and`).
        let mut alternatives: Vec<Vec<Filter>> = vec![vec![self.group(depth + 1)?]];
        loop {
            self.skip_spaces();
            if matches!(self.peek(), Some((')', false))) {
                self.at += 1;
                break;
            }
            let word = self.word();
            self.skip_spaces();
            let next = self.group(depth + 1)?;
            match word.to_ascii_lowercase().as_str() {
                "and" => alternatives.last_mut().expect("one at least").push(next),
                "or" => alternatives.push(vec![next]),
                _ => return Err(malformed()),
            }
        }
        let mut ors: Vec<Filter> = alternatives
            .into_iter()
            .map(|mut ands| if ands.len() == 1 { ands.remove(0) } else { Filter::And(ands) })
            .collect();
        Ok(if ors.len() == 1 { ors.remove(0) } else { Filter::Or(ors) })
    }

    /// Letters up to the next space or parenthesis (`and`, `or`).
    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some((c, false)) = self.peek() {
            if !c.is_ascii_alphabetic() {
                break;
            }
            word.push(c);
            self.at += 1;
        }
        word
    }

    /// `field:operator:value`, up to the unescaped `)` that closes it.
    fn condition(&mut self) -> Result<Filter, ApiError> {
        let start = self.at;
        while let Some((c, escaped)) = self.peek() {
            if !escaped && c == ')' {
                break;
            }
            if !escaped && c == '(' {
                return Err(malformed());
            }
            self.at += 1;
        }
        let body = &self.chars[start..self.at];
        let mut parts = body.splitn(3, |&(c, escaped)| c == ':' && !escaped);
        let (Some(field), Some(operator), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let field = plain(field).trim().to_string();
        let operator = plain(operator).trim().to_string();
        self.conditions += 1;
        if self.conditions > self.max_criteria {
            return Err(ApiError::with_message(
                ErrorCode::CriteriaLimitExceeded,
                format!("no of criterium that can be given exceed the limit {}", self.max_criteria),
            ));
        }
        self.build(&field, &operator, value)
    }

    fn build(&self, field: &str, operator: &str, value: &[Char]) -> Result<Filter, ApiError> {
        let module = self.builder.module;
        let column = Column::resolve(module, field).map_err(|_| not_searchable(field))?;
        let api_name = column.api_name().to_string();
        let comparator = comparator(operator).ok_or_else(|| invalid_operator(operator, &api_name))?;
        let values: Vec<String> = match comparator {
            Comparator::In | Comparator::Between => {
                value.split(|&(c, escaped)| c == ',' && !escaped).map(|part| plain(part).trim().to_string()).collect()
            }
            _ => vec![plain(value).trim().to_string()],
        };
        if comparator == Comparator::In && values.len() > MAX_IN_VALUES {
            return Err(ApiError::with_message(
                ErrorCode::InvalidQuery,
                format!("Only {MAX_IN_VALUES} values are allowed in \"IN\" criteria"),
            )
            .detail("api_name", api_name));
        }
        let json: Vec<Value> = values.iter().cloned().map(Value::String).collect();
        let built = self.builder.compare(&api_name, comparator, &json);
        let filter = built.map_err(|error| match error {
            QueryError::UnknownField { .. } | QueryError::UnsupportedField { .. } => not_searchable(&api_name),
            QueryError::UnsupportedComparator { .. } => invalid_operator(operator, &api_name),
            QueryError::WrongValueCount { .. } | QueryError::InvalidValue { .. } => {
                let value = values.join(",");
                invalid_value(&api_name, data_type(self.builder, &column), &value)
            }
        })?;
        Ok(equals_as_contains(filter))
    }
}

/// The characters as text, escapes resolved.
fn plain(chars: &[Char]) -> String {
    chars.iter().map(|&(c, _)| c).collect()
}

/// Search's operator names.
fn comparator(operator: &str) -> Option<Comparator> {
    let comparator = match operator {
        "equals" => Comparator::Equal,
        "not_equal" => Comparator::NotEqual,
        "starts_with" => Comparator::StartsWith,
        "in" => Comparator::In,
        "greater_than" => Comparator::GreaterThan,
        "greater_equal" => Comparator::GreaterEqual,
        "less_than" => Comparator::LessThan,
        "less_equal" => Comparator::LessEqual,
        "between" => Comparator::Between,
        _ => return None,
    };
    Some(comparator)
}

/// Zoho: "When you use equals in Search API, it behaves like contains" (text fields).
fn equals_as_contains(filter: Filter) -> Filter {
    match filter {
        Filter::Compare(mut comparison)
            if comparison.comparator == Comparator::Equal
                && matches!(comparison.column.kind(), ValueKind::Text | ValueKind::MultiSelect) =>
        {
            comparison.comparator = Comparator::Contains;
            Filter::Compare(comparison)
        }
        other => other,
    }
}

/// The field's `data_type` as metadata names it (system columns by their own types).
pub(crate) fn data_type(builder: &Builder<'_>, column: &Column) -> &'static str {
    use super::filter::SystemColumn;
    match column {
        Column::System(SystemColumn::Id) => "bigint",
        Column::System(SystemColumn::Owner) => DataType::OwnerLookup.as_str(),
        Column::System(SystemColumn::CreatedBy | SystemColumn::ModifiedBy) => DataType::OwnerLookup.as_str(),
        Column::System(SystemColumn::CreatedTime | SystemColumn::ModifiedTime) => DataType::DateTime.as_str(),
        Column::Data { api_name, .. } => {
            builder.module.field(api_name).map_or("text", |field| field.data_type.as_str())
        }
    }
}

fn not_searchable(api_name: &str) -> ApiError {
    let reason = "the field is not available for search";
    ApiError::with_message(ErrorCode::InvalidQuery, reason).detail("reason", reason).detail("api_name", api_name)
}

fn invalid_operator(operator: &str, api_name: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidQuery, "invalid operator found")
        .detail("operator", operator)
        .detail("reason", "The operator is not valid for the field type")
        .detail("api_name", api_name)
}

fn invalid_value(api_name: &str, data_type: &str, value: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery)
        .detail("expected_data_type", data_type)
        .detail("reason", "invalid value for search")
        .detail("api_name", api_name)
        .detail("value", value.chars().take(100).collect::<String>())
}
