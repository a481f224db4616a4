//! Aggregate queries (COQL's `COUNT`, `SUM`, `MAX`, `MIN`, `AVG` with `GROUP BY`), run inside the
//! store like a [`Select`](super::Select): the records of one module matching a filter, grouped
//! by columns, one row per group with each measure computed over it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::filter::{Column, Filter, SystemColumn, ValueKind};
use super::Direction;
use crate::schema::{Converter, Module};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// Records in the group (with a column: records where it is not empty).
    Count,
    /// The sum of a number column.
    Sum,
    /// The largest value of a number, date or date-time column.
    Max,
    /// The smallest value of a number, date or date-time column.
    Min,
    /// The mean of a number column.
    Avg,
}

impl Function {
    /// The function by name (`count`, `SUM` …; case-insensitive).
    pub fn parse(name: &str) -> Option<Function> {
        [Function::Count, Function::Sum, Function::Max, Function::Min, Function::Avg]
            .into_iter()
            .find(|function| function.as_str().eq_ignore_ascii_case(name))
    }

    /// The function's name as Zoho writes it: `COUNT`, `SUM`, `MAX`, `MIN`, `AVG`.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Count => "COUNT",
            Function::Sum => "SUM",
            Function::Max => "MAX",
            Function::Min => "MIN",
            Function::Avg => "AVG",
        }
    }

    /// Whether the function applies to a column of `kind` (`COUNT` to every kind).
    pub fn applies_to(self, kind: ValueKind) -> bool {
        match self {
            Function::Count => true,
            Function::Sum | Function::Avg => kind == ValueKind::Number,
            Function::Max | Function::Min => matches!(kind, ValueKind::Number | ValueKind::Date | ValueKind::DateTime),
        }
    }
}

/// One measure of each group.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The function.
    pub function: Function,
    /// Its column; `None` for `COUNT(id)` / `COUNT(*)`, which counts records.
    pub column: Option<Column>,
}

impl Measure {
    /// How the store hands the measure's values back.
    pub fn cell_kind(&self) -> CellKind {
        match (self.function, &self.column) {
            (Function::Count, _) => CellKind::Integer,
            (Function::Sum | Function::Avg, _) | (_, None) => CellKind::Decimal,
            (_, Some(column)) => CellKind::of(column.kind()),
        }
    }
}

/// What an aggregate's rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKey {
    /// The n-th group column.
    Group(usize),
    /// The n-th measure.
    Measure(usize),
}

/// What a store aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Which records count.
    pub filter: Filter,
    /// The columns records are grouped by (none: one group of every matching record).
    pub group_by: Vec<Column>,
    /// The measures of each group.
    pub measures: Vec<Measure>,
    /// Row order, most significant first; empty values last in either direction. The group
    /// columns, ascending, break ties after these keys.
    pub order_by: Vec<(AggregateKey, Direction)>,
    /// Rows skipped first.
    pub offset: u64,
    /// Most rows returned.
    pub limit: u32,
}

/// How a cell of an aggregate's row comes back from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text as stored (not folded).
    Text,
    /// A whole number.
    Integer,
    /// A number (a float is exact enough for sums and means of stored doubles).
    Decimal,
    /// A calendar date.
    Date,
    /// An instant.
    Instant,
    /// `true` or `false`.
    Boolean,
    /// A record or user id, as text.
    Id,
}

impl CellKind {
    /// The kind of a column's values.
    pub fn of(kind: ValueKind) -> CellKind {
        match kind {
            ValueKind::Text | ValueKind::MultiSelect => CellKind::Text,
            ValueKind::Number => CellKind::Decimal,
            ValueKind::Date => CellKind::Date,
            ValueKind::DateTime => CellKind::Instant,
            ValueKind::Boolean => CellKind::Boolean,
            ValueKind::Reference => CellKind::Id,
        }
    }
}

/// One cell of an aggregate's row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (an empty group value, or `SUM`/`MAX` … of no values).
    Null,
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A number.
    Decimal(f64),
    /// A date.
    Date(NaiveDate),
    /// An instant.
    Instant(DateTime<Utc>),
    /// A boolean.
    Boolean(bool),
    /// A record or user id.
    Id(String),
}

impl Cell {
    /// The cell in an answer: numbers of whole-number fields (and counts) as integers, other
    /// numbers as JSON numbers, dates `YYYY-MM-DD`, instants ISO 8601 in `time_zone`, ids as
    /// `{"id": …}` like any lookup in COQL's answers.
    pub fn to_json(&self, whole: bool, time_zone: chrono_tz::Tz) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Text(text) => json!(text),
            Cell::Integer(number) => json!(number),
            #[allow(clippy::cast_possible_truncation, reason = "only whole values within i64 are made integers")]
            Cell::Decimal(number) if whole && number.fract() == 0.0 && number.abs() < 9.0e15 => json!(*number as i64),
            Cell::Decimal(number) => serde_json::Number::from_f64(*number).map_or(Value::Null, Value::Number),
            Cell::Date(date) => json!(date.format("%Y-%m-%d").to_string()),
            Cell::Instant(instant) => json!(crate::job_details::format_time(*instant, time_zone)),
            Cell::Boolean(flag) => json!(flag),
            Cell::Id(id) => json!({"id": id}),
        }
    }
}

/// Whether a column holds whole numbers only (integer and bigint fields, ids).
pub fn whole_numbers(module: &Module, column: &Column) -> bool {
    match column {
        Column::System(SystemColumn::Id) => true,
        Column::System(_) => false,
        Column::Data { api_name, .. } => module
            .field(api_name)
            .is_some_and(|field| matches!(field.data_type.facts().converter, Converter::Integer | Converter::BigInt)),
    }
}
