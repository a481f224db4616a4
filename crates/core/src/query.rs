//! Queries over one module's records: a typed filter tree, sort keys and paging, for records
//! search, COQL and Bulk Read (pure: no I/O; every store backend runs a [`Select`] inside the
//! database).
//!
//! A [`Filter`] is built against the module's schema ([`Column::resolve`],
//! [`Comparison::build`]), so every operand is already typed (numbers, dates, date-times, ids …)
//! and every backend compares it the same way:
//! - text compares case-insensitively for ASCII letters (`Email equal A@X.COM` finds `a@x.com`);
//! - numbers compare as numbers, dates as dates, date-times as instants (whatever their offset);
//! - a lookup or user field compares its record id; a multi-select matches when one of its
//!   values does;
//! - a record whose field is empty never satisfies a positive comparator (`equal`, `less_than`,
//!   `contains` …), and always satisfies its negation (`not_equal`, `not_in`, `not_contains`,
//!   `not_between`), which is the positive one negated;
//! - `${EMPTY}` ([`Comparator::IsEmpty`]) matches a missing value, `null`, `""` and `[]`.

pub mod aggregate;
mod build;
pub mod coql;
pub mod criteria;
#[cfg(test)]
mod criteria_tests;
mod error;
mod filter;
#[cfg(test)]
mod tests;

pub use build::{Builder, Surface, UserName, EMPTY};
pub use error::QueryError;
pub use filter::{Column, Comparator, Comparison, Filter, Operand, SystemColumn, ValueKind};

use crate::ids::RecordId;
use crate::schema::Module;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest value first.
    Asc,
    /// Largest value first.
    Desc,
}

/// One sort key. Empty values sort after every value in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The field or system column sorted on.
    pub column: Column,
    /// Whether its values run up or down.
    pub direction: Direction,
}

impl SortKey {
    /// A sort key on `field` of `module` (an API name or a system column).
    pub fn build(module: &Module, field: &str, direction: Direction) -> Result<SortKey, QueryError> {
        let column = Column::resolve(module, field)?;
        if column.kind() == ValueKind::MultiSelect {
            return Err(QueryError::UnsupportedField { field: column.api_name().to_string() });
        }
        Ok(SortKey { column, direction })
    }
}

/// What a store selects: the records of one module matching `filter`, sorted by `order_by`
/// then by id (ascending unless the last key is descending), after `after_id` (keyset paging,
/// meant for the default id order), skipping `offset`, at most `limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// Which records qualify ([`Filter::All`] for every record of the module).
    pub filter: Filter,
    /// Sort keys, most significant first; the id breaks ties after them.
    pub order_by: Vec<SortKey>,
    /// Only records with a greater id (exports page by id this way, never by offset).
    pub after_id: Option<RecordId>,
    /// Matching records skipped before the first one returned.
    pub offset: u64,
    /// Most records returned.
    pub limit: u32,
}

impl Select {
    /// Every record matching `filter`, by id, at most `limit`.
    pub fn new(filter: Filter, limit: u32) -> Select {
        Select { filter, order_by: Vec::new(), after_id: None, offset: 0, limit }
    }

    /// The direction of the final id tie-break: that of the last sort key, else ascending.
    pub fn id_direction(&self) -> Direction {
        self.order_by.last().map_or(Direction::Asc, |key| key.direction)
    }
}
