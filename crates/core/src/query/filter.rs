//! The filter tree: columns, comparators and typed operands.

use chrono::{DateTime, NaiveDate, Utc};

use super::QueryError;
use crate::schema::{DataType, Module};

/// The filter of a [`Select`](super::Select).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every record.
    All,
    /// One comparison of a column with its operands.
    Compare(Comparison),
    /// Every part holds (an empty `And` holds for every record).
    And(Vec<Filter>),
    /// Some part holds (an empty `Or` holds for none).
    Or(Vec<Filter>),
    /// Holds where the inner filter does not.
    Not(Box<Filter>),
    /// The record a lookup field points at (a record of `module`) satisfies `filter`; never
    /// holds for a record whose lookup is empty. COQL's dot notation in `WHERE`
    /// (`Account_Name.Phone = '…'`) builds this.
    Related {
        /// The lookup field of the filtered module (its API name as the schema spells it).
        lookup: String,
        /// The module the lookup points at.
        module: String,
        /// The condition on the looked-up record (on `module`'s columns).
        filter: Box<Filter>,
    },
}

impl Filter {
    /// How many comparisons the tree holds (Zoho caps criteria per query).
    pub fn comparisons(&self) -> usize {
        match self {
            Filter::All => 0,
            Filter::Compare(_) => 1,
            Filter::And(parts) | Filter::Or(parts) => parts.iter().map(Filter::comparisons).sum(),
            Filter::Not(inner) | Filter::Related { filter: inner, .. } => inner.comparisons(),
        }
    }

    /// How deep the tree nests (backends build their SQL recursively; callers bound it).
    pub fn depth(&self) -> usize {
        match self {
            Filter::All | Filter::Compare(_) => 1,
            Filter::And(parts) | Filter::Or(parts) => 1 + parts.iter().map(Filter::depth).max().unwrap_or(0),
            Filter::Not(inner) | Filter::Related { filter: inner, .. } => 1 + inner.depth(),
        }
    }
}

/// Columns kept outside the record's JSON document, in real columns of the records table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemColumn {
    /// The record's id.
    Id,
    /// The user who owns the record.
    Owner,
    /// The user who created the record.
    CreatedBy,
    /// The user who last modified the record.
    ModifiedBy,
    /// When the record was created.
    CreatedTime,
    /// When the record was last modified.
    ModifiedTime,
}

impl SystemColumn {
    /// The API name of the column.
    pub fn api_name(self) -> &'static str {
        match self {
            SystemColumn::Id => "id",
            SystemColumn::Owner => "Owner",
            SystemColumn::CreatedBy => "Created_By",
            SystemColumn::ModifiedBy => "Modified_By",
            SystemColumn::CreatedTime => "Created_Time",
            SystemColumn::ModifiedTime => "Modified_Time",
        }
    }

    /// The column an API name names (case-insensitive).
    pub fn parse(api_name: &str) -> Option<SystemColumn> {
        [
            SystemColumn::Id,
            SystemColumn::Owner,
            SystemColumn::CreatedBy,
            SystemColumn::ModifiedBy,
            SystemColumn::CreatedTime,
            SystemColumn::ModifiedTime,
        ]
        .into_iter()
        .find(|column| column.api_name().eq_ignore_ascii_case(api_name))
    }
}

/// How a column's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Text, text area, email, phone, website, picklist, auto-number: case-insensitive text.
    Text,
    /// Integer, bigint, decimal, currency, percent (bigints are stored as JSON strings).
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// An instant, stored with the org's offset.
    DateTime,
    /// `true` or `false`.
    Boolean,
    /// A record or user id: `id`, owner, created/modified by, lookups and user lookups
    /// (stored as `{"name", "id"}`).
    Reference,
    /// A multi-select picklist (a JSON array of text).
    MultiSelect,
}

impl ValueKind {
    /// The kind of a schema data type; `None` for types no query compares.
    pub fn of(data_type: DataType) -> Option<ValueKind> {
        data_type.facts().query
    }
}

/// A column of a module, resolved against its schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// A column kept outside the JSON document (ids, owners, times).
    System(SystemColumn),
    /// A value of the record's JSON document, by the field's exact API name.
    Data {
        /// The field's API name as the schema spells it.
        api_name: String,
        /// How the field's values compare.
        kind: ValueKind,
    },
}

impl Column {
    /// Resolves `api_name` (case-insensitive, as Zoho matches API names) on `module`.
    pub fn resolve(module: &Module, api_name: &str) -> Result<Column, QueryError> {
        if let Some(system) = SystemColumn::parse(api_name) {
            return Ok(Column::System(system));
        }
        let Some(field) = module.field(api_name) else {
            return Err(QueryError::UnknownField { field: api_name.to_string() });
        };
        match ValueKind::of(field.data_type) {
            Some(kind) => Ok(Column::Data { api_name: field.api_name.clone(), kind }),
            None => Err(QueryError::UnsupportedField { field: field.api_name.clone() }),
        }
    }

    /// The column's API name as the schema spells it (`Created_Time`, `Last_Name`).
    pub fn api_name(&self) -> &str {
        match self {
            Column::System(system) => system.api_name(),
            Column::Data { api_name, .. } => api_name,
        }
    }

    /// How the column's values compare: system times are date-times, other system columns ids.
    pub fn kind(&self) -> ValueKind {
        match self {
            Column::System(SystemColumn::CreatedTime | SystemColumn::ModifiedTime) => ValueKind::DateTime,
            Column::System(_) => ValueKind::Reference,
            Column::Data { kind, .. } => *kind,
        }
    }
}

/// Comparators, named as Bulk Read names them (spec §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// The value equals the operand.
    Equal,
    /// The value differs from the operand, or is empty.
    NotEqual,
    /// The value equals one of the operands.
    In,
    /// The value equals none of the operands, or is empty.
    NotIn,
    /// The value is below the operand.
    LessThan,
    /// The value is at most the operand.
    LessEqual,
    /// The value is above the operand.
    GreaterThan,
    /// The value is at least the operand.
    GreaterEqual,
    /// The text holds the operand somewhere.
    Contains,
    /// The text does not hold the operand, or is empty.
    NotContains,
    /// The text begins with the operand.
    StartsWith,
    /// The text ends with the operand.
    EndsWith,
    /// The value lies within the two operands, both included.
    Between,
    /// The value lies outside the two operands, or is empty.
    NotBetween,
    /// COQL `like`: the one operand is a pattern where `%` stands for any run of characters.
    Like,
    /// COQL `not like`: the text does not match the pattern, or is empty.
    NotLike,
    /// `${EMPTY}`, COQL `is null`.
    IsEmpty,
    /// `not_equal ${EMPTY}`, COQL `is not null`: the value is present and not empty.
    IsNotEmpty,
}

impl Comparator {
    /// The comparator's Bulk Read name (`not_equal`, `starts_with`), as errors report it.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Equal => "equal",
            Comparator::NotEqual => "not_equal",
            Comparator::In => "in",
            Comparator::NotIn => "not_in",
            Comparator::LessThan => "less_than",
            Comparator::LessEqual => "less_equal",
            Comparator::GreaterThan => "greater_than",
            Comparator::GreaterEqual => "greater_equal",
            Comparator::Contains => "contains",
            Comparator::NotContains => "not_contains",
            Comparator::StartsWith => "starts_with",
            Comparator::EndsWith => "ends_with",
            Comparator::Between => "between",
            Comparator::NotBetween => "not_between",
            Comparator::Like => "like",
            Comparator::NotLike => "not_like",
            Comparator::IsEmpty => "is_empty",
            Comparator::IsNotEmpty => "is_not_empty",
        }
    }

    /// A comparator by its Bulk Read name (case-sensitive, as Zoho spells them).
    pub fn parse(name: &str) -> Option<Comparator> {
        ALL_COMPARATORS.iter().copied().find(|c| c.as_str() == name)
    }

    /// The positive comparator this one negates, if it is a negation.
    pub fn negated(self) -> Option<Comparator> {
        match self {
            Comparator::NotEqual => Some(Comparator::Equal),
            Comparator::NotIn => Some(Comparator::In),
            Comparator::NotContains => Some(Comparator::Contains),
            Comparator::NotBetween => Some(Comparator::Between),
            Comparator::NotLike => Some(Comparator::Like),
            Comparator::IsNotEmpty => Some(Comparator::IsEmpty),
            _ => None,
        }
    }

    /// How many operands the comparator takes: `(min, max)`.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Comparator::IsEmpty | Comparator::IsNotEmpty => (0, 0),
            Comparator::In | Comparator::NotIn => (1, usize::MAX),
            Comparator::Between | Comparator::NotBetween => (2, 2),
            _ => (1, 1),
        }
    }
}

pub(super) const ALL_COMPARATORS: [Comparator; 18] = [
    Comparator::Equal,
    Comparator::NotEqual,
    Comparator::In,
    Comparator::NotIn,
    Comparator::LessThan,
    Comparator::LessEqual,
    Comparator::GreaterThan,
    Comparator::GreaterEqual,
    Comparator::Contains,
    Comparator::NotContains,
    Comparator::StartsWith,
    Comparator::EndsWith,
    Comparator::Between,
    Comparator::NotBetween,
    Comparator::Like,
    Comparator::NotLike,
    Comparator::IsEmpty,
    Comparator::IsNotEmpty,
];

/// A typed operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Text as given (backends compare it ASCII-lower-cased, see [`Operand::folded`]).
    Text(String),
    /// A decimal number in plain notation (`-12`, `3.25`), exact.
    Number(String),
    /// A calendar date.
    Date(NaiveDate),
    /// An instant, already converted to UTC.
    DateTime(DateTime<Utc>),
    /// `true` or `false`.
    Boolean(bool),
    /// A record or user id.
    Id(u64),
}

impl Operand {
    /// Text operands lower-cased for ASCII letters, as every backend compares text.
    pub fn folded(text: &str) -> String {
        text.to_ascii_lowercase()
    }

    /// A `like` pattern for SQL `LIKE … ESCAPE '\'`: `%` stays a wildcard, `_` and `\` are
    /// escaped (Zoho's `like` knows only `%`), letters are folded.
    pub fn like_pattern(pattern: &str) -> String {
        let mut out = String::with_capacity(pattern.len());
        for c in Operand::folded(pattern).chars() {
            if c == '_' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

/// One comparison: a column, a comparator and its operands (typed for the column).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The column compared.
    pub column: Column,
    /// How it is compared.
    pub comparator: Comparator,
    /// The operands, as many as [`Comparator::arity`] allows, typed for the column's kind.
    pub operands: Vec<Operand>,
}
