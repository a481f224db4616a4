//! COQL with aggregate functions (v4 on): `SELECT Lead_Source, COUNT(id), SUM(Annual_Revenue)
//! AS total FROM Leads WHERE … GROUP BY Lead_Source ORDER BY total DESC`, resolved into the
//! [`Aggregate`] the store runs and the keys of the answer's rows.
//!
//! Zoho's pages name the five functions and the clause, not every rule; these are ours, as SQL
//! has them: a plain column of `SELECT` must be one of `GROUP BY`'s; `SUM` and `AVG` take number
//! fields, `MAX` and `MIN` numbers, dates and date-times, `COUNT` any field (`COUNT(id)` and
//! `COUNT(*)` count records); a row's key is the alias, else `FUNCTION(Field)` with the field's
//! API name; `ORDER BY` names a grouped column, a function or an alias; rows without an order
//! come by the grouped columns, ascending; a query without `GROUP BY` answers one row. Refusals
//! use the codes Zoho's COQL spec lists (`INVALID_QUERY`, `DUPLICATE_DATA`, `DUPLICATE_ALIAS`,
//! `INVALID_ALIAS`).

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{Map, Value};

use super::parser::{Query, SelectItem};
use super::plan::{invalid_column, unsupported_type};
use crate::query::aggregate::{whole_numbers, Aggregate, AggregateKey, Cell, Function, Measure};
use crate::query::filter::{Column, Filter, ValueKind};
use crate::query::QueryError;
use crate::schema::Module;

/// What an aggregate COQL query runs, and how its rows are answered.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatePlan {
    /// The module's API name.
    pub module: String,
    /// What the store computes; asks for one row more than `count`, to tell `more_records`.
    pub aggregate: Aggregate,
    /// The answer's keys in `SELECT` order, with the cell each takes.
    pub outputs: Vec<Output>,
    /// Rows the answer holds at most.
    pub count: u32,
}

/// One key of an aggregate answer's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The key: a grouped column's API name, an alias, or `FUNCTION(Field)`.
    pub key: String,
    /// The cell it shows.
    pub cell: AggregateKey,
    /// Whether its numbers are whole (counts, integer fields' values and sums).
    pub whole: bool,
}

impl AggregatePlan {
    /// One row of the answer from the store's cells (grouped columns, then measures).
    pub fn row(&self, cells: &[Cell], time_zone: chrono_tz::Tz) -> Map<String, Value> {
        let groups = self.aggregate.group_by.len();
        let mut row = Map::new();
        for output in &self.outputs {
            let index = match output.cell {
                AggregateKey::Group(n) => n,
                AggregateKey::Measure(n) => groups + n,
            };
            let value = cells.get(index).map_or(Value::Null, |cell| cell.to_json(output.whole, time_zone));
            row.insert(output.key.clone(), value);
        }
        row
    }
}

fn invalid_query(reason: &str, column: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery).detail("reason", reason).detail("column_name", column)
}

/// A plain column of an aggregate query (no dot notation), resolved.
fn plain_column(module: &Module, name: &str) -> Result<Column, ApiError> {
    if name.contains('.') {
        return Err(invalid_query("dot notation is not supported with aggregate functions", name));
    }
    match Column::resolve(module, name) {
        Ok(column) if column.kind() == ValueKind::MultiSelect => {
            Err(unsupported_type(module, column.api_name()).detail("column_name", name))
        }
        Ok(column) => Ok(column),
        Err(QueryError::UnsupportedField { field }) => Err(unsupported_type(module, &field)),
        Err(_) => Err(invalid_column(name)),
    }
}

pub(super) fn plan_groups(
    module: &Module,
    parsed: &Query,
    filter: Filter,
    offset: u64,
    count: u32,
) -> Result<AggregatePlan, ApiError> {
    let mut group_by: Vec<Column> = Vec::new();
    for name in &parsed.group_by {
        let column = plain_column(module, name)?;
        if group_by.contains(&column) {
            return Err(ApiError::with_message(ErrorCode::DuplicateData, "duplicate group by column")
                .detail("column_name", column.api_name()));
        }
        group_by.push(column);
    }
    let mut measures: Vec<Measure> = Vec::new();
    let mut outputs: Vec<Output> = Vec::new();
    // How each aggregate was written (`sum(annual_revenue)`), for ORDER BY.
    let mut written: Vec<(String, AggregateKey)> = Vec::new();
    for item in &parsed.columns {
        let (output, as_written) = match item {
            SelectItem::Column(name) => {
                let column = plain_column(module, name)?;
                let index = group_by
                    .iter()
                    .position(|grouped| *grouped == column)
                    .ok_or_else(|| invalid_query("the column is neither grouped nor aggregated", name))?;
                let whole = whole_numbers(module, &column);
                (Output { key: column.api_name().to_string(), cell: AggregateKey::Group(index), whole }, None)
            }
            SelectItem::Aggregate { function, column: name, alias } => {
                let column = if *function == Function::Count && name.eq_ignore_ascii_case("id") {
                    None
                } else {
                    let column = plain_column(module, name)?;
                    if !function.applies_to(column.kind()) {
                        return Err(unsupported_type(module, column.api_name())
                            .detail("column_name", column.api_name())
                            .detail("function", function.as_str()));
                    }
                    Some(column)
                };
                let shown = column.as_ref().map_or("id", Column::api_name).to_string();
                let whole = *function == Function::Count
                    || (*function != Function::Avg && column.as_ref().is_some_and(|c| whole_numbers(module, c)));
                let key = alias.clone().unwrap_or_else(|| format!("{}({shown})", function.as_str()));
                let cell = AggregateKey::Measure(measures.len());
                measures.push(Measure { function: *function, column });
                (Output { key, cell, whole }, Some(item.written()))
            }
        };
        if let Some(clash) = outputs.iter().find(|known| known.key.eq_ignore_ascii_case(&output.key)) {
            let aliased = matches!(item, SelectItem::Aggregate { alias: Some(_), .. });
            let error = if aliased {
                ApiError::with_message(ErrorCode::DuplicateAlias, "duplicate alias found")
                    .detail("alias", clash.key.clone())
            } else {
                ApiError::with_message(ErrorCode::DuplicateData, "duplicate select column")
                    .detail("column_name", clash.key.clone())
            };
            return Err(error);
        }
        if let SelectItem::Aggregate { alias: Some(alias), .. } = item {
            // An alias may not pass for a field of the module.
            if module.field(alias).is_some() || alias.contains('(') {
                return Err(ApiError::with_message(ErrorCode::InvalidAlias, "invalid alias found")
                    .detail("alias", alias.clone()));
            }
        }
        if let Some(text) = as_written {
            written.push((text, output.cell));
        }
        outputs.push(output);
    }
    let mut order_by = Vec::new();
    for (name, direction) in &parsed.order_by {
        let key = outputs
            .iter()
            .find(|output| output.key.eq_ignore_ascii_case(name))
            .map(|output| output.cell)
            .or_else(|| written.iter().find(|(text, _)| text.eq_ignore_ascii_case(name)).map(|(_, cell)| *cell))
            .or_else(|| {
                let column = Column::resolve(module, name).ok()?;
                group_by.iter().position(|grouped| *grouped == column).map(AggregateKey::Group)
            })
            .ok_or_else(|| invalid_query("order by names neither a grouped column nor an aggregate", name))?;
        if order_by.iter().any(|(known, _)| *known == key) {
            return Err(ApiError::new(ErrorCode::DuplicateData).detail("column_name", name.clone()));
        }
        order_by.push((key, *direction));
    }
    let aggregate = Aggregate { filter, group_by, measures, order_by, offset, limit: count.saturating_add(1) };
    Ok(AggregatePlan { module: module.api_name.clone(), aggregate, outputs, count })
}
