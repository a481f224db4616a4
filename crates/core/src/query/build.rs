//! Building comparisons against a module's schema: which comparators a field's type takes on
//! each surface, and operands parsed into the field's type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::filter::{Column, Comparator, Comparison, Filter, Operand, SystemColumn, ValueKind};
use super::QueryError;
use crate::schema::Module;

/// Zoho's placeholder for an empty value in criteria (`equal ${EMPTY}`, `not_equal ${EMPTY}`).
pub const EMPTY: &str = "${EMPTY}";

/// Longest text operand, in characters (every reader of client input is bounded).
const MAX_TEXT: usize = 2_000;
/// Most digits of a number operand.
const MAX_DIGITS: usize = 40;

/// Which API a query comes from: each allows its own comparators per field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Bulk Read `criteria` (spec §11).
    BulkRead,
    /// Records search `criteria`.
    Search,
    /// COQL `WHERE`.
    Coql,
}

impl Surface {
    /// Whether `comparator` applies to a column of `kind` on this surface (`${EMPTY}` and
    /// `is null` apply to every kind).
    pub fn allows(self, kind: ValueKind, comparator: Comparator) -> bool {
        use Comparator::{
            Between, Contains, EndsWith, Equal, GreaterEqual, GreaterThan, In, IsEmpty, IsNotEmpty, LessEqual,
            LessThan, Like, NotBetween, NotContains, NotEqual, NotIn, NotLike, StartsWith,
        };
        if matches!(comparator, IsEmpty | IsNotEmpty) {
            return true;
        }
        let allowed: &[Comparator] = match (self, kind) {
            (Surface::BulkRead, ValueKind::Number) => {
                &[Equal, NotEqual, In, NotIn, LessThan, LessEqual, GreaterThan, GreaterEqual]
            }
            (Surface::BulkRead, ValueKind::Text | ValueKind::MultiSelect) => {
                &[Equal, NotEqual, In, NotIn, Contains, NotContains, StartsWith, EndsWith]
            }
            (Surface::BulkRead, ValueKind::Boolean) => &[Equal],
            (Surface::Search, ValueKind::Text | ValueKind::MultiSelect) => &[Equal, NotEqual, StartsWith, In],
            (Surface::Search, ValueKind::Number | ValueKind::Date | ValueKind::DateTime) => {
                &[Equal, NotEqual, In, LessThan, LessEqual, GreaterThan, GreaterEqual, Between]
            }
            (_, ValueKind::Number | ValueKind::Date | ValueKind::DateTime) => {
                &[Equal, NotEqual, In, NotIn, LessThan, LessEqual, GreaterThan, GreaterEqual, Between, NotBetween]
            }
            (_, ValueKind::Text | ValueKind::MultiSelect) => {
                &[Equal, NotEqual, In, NotIn, Contains, NotContains, StartsWith, EndsWith, Like, NotLike]
            }
            (_, ValueKind::Boolean) => &[Equal, NotEqual],
            (_, ValueKind::Reference) => &[Equal, NotEqual, In, NotIn],
        };
        allowed.contains(&comparator)
    }
}

impl Surface {
    /// The comparators (other than emptiness) a column of `kind` takes on this surface, in
    /// Bulk Read's order.
    pub fn comparators(self, kind: ValueKind) -> Vec<Comparator> {
        super::filter::ALL_COMPARATORS
            .into_iter()
            .filter(|c| !matches!(c, Comparator::IsEmpty | Comparator::IsNotEmpty))
            .filter(|c| self.allows(kind, *c))
            .collect()
    }
}

/// A user as criteria may name them: by id, full name or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName {
    /// The user's id, what a matching comparison compares.
    pub id: u64,
    /// First and last name as Zoho shows them (matched case-insensitively).
    pub full_name: String,
    /// The first name (COQL's `Owner.first_name`).
    pub first_name: String,
    /// The last name (COQL's `Owner.last_name`).
    pub last_name: String,
    /// The user's email address (matched case-insensitively).
    pub email: String,
}

/// Builds comparisons on one module.
#[derive(Debug, Clone, Copy)]
pub struct Builder<'a> {
    /// The module whose fields the comparisons name.
    pub module: &'a Module,
    /// The API the query comes from, which decides the comparators allowed.
    pub surface: Surface,
    /// The org's zone, for date-times given without an offset.
    pub time_zone: chrono_tz::Tz,
    /// The org's users: `Owner`, `Created_By` and `Modified_By` may name one by full name or
    /// email (case-insensitive) instead of id.
    pub users: &'a [UserName],
}

impl<'a> Builder<'a> {
    /// A builder for `module` on `surface` that resolves user fields by id only.
    pub fn new(module: &'a Module, surface: Surface, time_zone: chrono_tz::Tz) -> Builder<'a> {
        Builder { module, surface, time_zone, users: &[] }
    }

    /// The same builder, resolving user names against `users`.
    pub fn with_users(self, users: &'a [UserName]) -> Builder<'a> {
        Builder { users, ..self }
    }

    /// `field comparator values`, checked and typed. `equal ${EMPTY}` becomes
    /// [`Comparator::IsEmpty`] and `not_equal ${EMPTY}` [`Comparator::IsNotEmpty`].
    pub fn compare(&self, field: &str, comparator: Comparator, values: &[Value]) -> Result<Filter, QueryError> {
        let column = Column::resolve(self.module, field)?;
        let field = column.api_name().to_string();
        let comparator = match (comparator, values) {
            (Comparator::Equal, [Value::String(text)]) if text == EMPTY => Comparator::IsEmpty,
            (Comparator::NotEqual, [Value::String(text)]) if text == EMPTY => Comparator::IsNotEmpty,
            _ => comparator,
        };
        if !self.surface.allows(column.kind(), comparator) {
            return Err(QueryError::UnsupportedComparator { field, comparator: comparator.as_str().to_string() });
        }
        let (min, max) = comparator.arity();
        let values: &[Value] = if min == 0 { &[] } else { values };
        if values.len() < min || values.len() > max {
            return Err(QueryError::WrongValueCount { field, comparator: comparator.as_str().to_string() });
        }
        let mut operands = Vec::with_capacity(values.len());
        for value in values {
            match self.operand(&column, comparator, value) {
                Some(operand) => operands.push(operand),
                None => return Err(QueryError::InvalidValue { field, value: shown(value) }),
            }
        }
        Ok(Filter::Compare(Comparison { column, comparator, operands }))
    }

    fn operand(&self, column: &Column, comparator: Comparator, value: &Value) -> Option<Operand> {
        if matches!(value, Value::String(text) if text == EMPTY) {
            return None;
        }
        let kind = column.kind();
        if let (Column::System(SystemColumn::Owner | SystemColumn::CreatedBy | SystemColumn::ModifiedBy), Some(name)) =
            (column, value.as_str())
        {
            let name = name.trim();
            let by_name = self
                .users
                .iter()
                .find(|user| user.full_name.eq_ignore_ascii_case(name) || user.email.eq_ignore_ascii_case(name));
            if let Some(user) = by_name {
                return Some(Operand::Id(user.id));
            }
        }
        if matches!(comparator, Comparator::Like | Comparator::NotLike) {
            return text(value).map(Operand::Text);
        }
        match kind {
            ValueKind::Text | ValueKind::MultiSelect => text(value).map(Operand::Text),
            ValueKind::Number => number(value).map(Operand::Number),
            ValueKind::Date => date(value).map(Operand::Date),
            ValueKind::DateTime => self.date_time(value).map(Operand::DateTime),
            ValueKind::Boolean => boolean(value).map(Operand::Boolean),
            // Search names lookups by the looked-up record's name too (`Account_Name:equals:Zylker`).
            ValueKind::Reference => match reference(value) {
                Some(id) => Some(Operand::Id(id)),
                None if self.surface == Surface::Search && matches!(column, Column::Data { .. }) => {
                    text(value).filter(|name| !name.trim().is_empty()).map(Operand::Text)
                }
                None => None,
            },
        }
    }

    /// ISO 8601 with an offset, or without one in the org's zone.
    fn date_time(&self, value: &Value) -> Option<DateTime<Utc>> {
        let text = value.as_str()?.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Some(instant.with_timezone(&Utc));
        }
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()?;
        self.time_zone.from_local_datetime(&local).earliest().map(|instant| instant.with_timezone(&Utc))
    }
}

/// A value as quoted in an error.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.chars().take(100).collect(),
        other => other.to_string().chars().take(100).collect(),
    }
}

fn text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    (text.chars().count() <= MAX_TEXT).then_some(text)
}

/// A number in plain decimal notation (`-12`, `3.5`); JSON numbers and numeric strings.
fn number(value: &Value) -> Option<String> {
    let text = match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64()?;
            float.is_finite().then(|| format!("{float}"))?
        }
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.trim().trim_start_matches('+').to_string(),
        _ => return None,
    };
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty())
        && whole.len() + fraction.len() <= MAX_DIGITS;
    plain.then_some(text)
}

fn date(value: &Value) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.as_str()?.trim(), "%Y-%m-%d").ok()
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A record or user id: digits (as a string or a number), or `{"id": …}`.
fn reference(value: &Value) -> Option<u64> {
    match value {
        Value::Object(object) => reference(object.get("id")?),
        Value::Number(number) => number.as_u64(),
        Value::String(text) => {
            let text = text.trim();
            (!text.is_empty() && text.len() <= 19 && text.chars().all(|c| c.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
        }
        _ => None,
    }
}
