//! An [`Aggregate`] as one SQLite statement: the filter of a select, `GROUP BY` the grouped
//! columns' typed values (text as stored), the measures as SQL aggregates, ordered with empty
//! values last, paged by `LIMIT`/`OFFSET`; every value bound as a parameter.

use bulkwrite_core::query::aggregate::{Aggregate, AggregateKey, Cell, CellKind, Function, Measure};
use bulkwrite_core::query::{Column, Direction, ValueKind};
use rusqlite::types::Value as SqlValue;

use crate::query::{direction, filter, scalar, Sql};

/// A column's value as grouped and shown: text as stored (not folded), ids as text, other
/// kinds as the comparisons type them (numbers, `YYYY-MM-DD`, unix seconds, 0/1).
fn value_expr(sql: &mut Sql, column: &Column) -> String {
    match (column, column.kind()) {
        (Column::Data { api_name, .. }, ValueKind::Text | ValueKind::MultiSelect) => {
            let path = sql.arg(format!("$.{api_name}"));
            format!("json_extract(data, {path})")
        }
        (_, ValueKind::Reference) => format!("CAST({} AS TEXT)", scalar(sql, column)),
        _ => scalar(sql, column),
    }
}

fn measure_expr(sql: &mut Sql, measure: &Measure) -> String {
    let Some(column) = &measure.column else { return "COUNT(*)".to_string() };
    let value = value_expr(sql, column);
    let function = match measure.function {
        Function::Count => "COUNT",
        Function::Sum => "TOTAL",
        Function::Max => "MAX",
        Function::Min => "MIN",
        Function::Avg => "AVG",
    };
    if measure.function == Function::Sum {
        // `TOTAL` is 0.0 over no values where `SUM` is NULL; keep SQL's NULL for an empty group.
        return format!("(CASE WHEN COUNT({value}) > 0 THEN TOTAL({value}) END)");
    }
    format!("{function}({value})")
}

/// The statement of `aggregate` on `module` of `org`, and the kind of each cell of its rows.
pub(crate) fn statement(org: i64, module: &str, aggregate: &Aggregate) -> (Sql, Vec<CellKind>) {
    let mut sql = Sql::new(org, module);
    let mut outputs = Vec::new();
    let mut kinds = Vec::new();
    let mut groups = Vec::new();
    for column in &aggregate.group_by {
        let expr = value_expr(&mut sql, column);
        outputs.push(expr.clone());
        groups.push(expr);
        kinds.push(CellKind::of(column.kind()));
    }
    let mut measures = Vec::new();
    for measure in &aggregate.measures {
        let expr = measure_expr(&mut sql, measure);
        outputs.push(expr.clone());
        measures.push(expr);
        kinds.push(measure.cell_kind());
    }
    let condition = filter(&mut sql, &aggregate.filter);
    let mut text = format!("SELECT {} FROM records WHERE org = ?1 AND module = ?2 AND {condition}", outputs.join(", "));
    if !groups.is_empty() {
        text.push_str(&format!(" GROUP BY {}", groups.join(", ")));
    }
    let mut keys = Vec::new();
    let mut ordered = Vec::new();
    for (key, order) in &aggregate.order_by {
        let expr = match key {
            AggregateKey::Group(n) => &groups[*n],
            AggregateKey::Measure(n) => &measures[*n],
        };
        keys.push(format!("({expr}) IS NULL, {expr} {}", direction(*order)));
        ordered.push(*key);
    }
    for (n, expr) in groups.iter().enumerate() {
        if !ordered.contains(&AggregateKey::Group(n)) {
            keys.push(format!("({expr}) IS NULL, {expr} {}", direction(Direction::Asc)));
        }
    }
    if !keys.is_empty() {
        text.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    }
    let limit = sql.arg(i64::from(aggregate.limit));
    let offset = sql.arg(i64::try_from(aggregate.offset).unwrap_or(i64::MAX));
    text.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    sql.text = text;
    (sql, kinds)
}

/// A cell as the statement gives it, typed by its kind.
pub(crate) fn cell(value: SqlValue, kind: CellKind) -> Cell {
    match (kind, value) {
        (_, SqlValue::Null) => Cell::Null,
        (CellKind::Text, SqlValue::Text(text)) => Cell::Text(text),
        (CellKind::Text, SqlValue::Integer(number)) => Cell::Text(number.to_string()),
        (CellKind::Text, SqlValue::Real(number)) => Cell::Text(number.to_string()),
        (CellKind::Integer, SqlValue::Integer(number)) => Cell::Integer(number),
        #[allow(clippy::cast_precision_loss, reason = "sums and values of stored numbers, shown as JSON numbers")]
        (CellKind::Decimal, SqlValue::Integer(number)) => Cell::Decimal(number as f64),
        (CellKind::Decimal | CellKind::Integer, SqlValue::Real(number)) => Cell::Decimal(number),
        (CellKind::Date, SqlValue::Text(text)) => {
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_or(Cell::Null, Cell::Date)
        }
        (CellKind::Instant, SqlValue::Integer(seconds)) => {
            chrono::DateTime::from_timestamp(seconds, 0).map_or(Cell::Null, Cell::Instant)
        }
        (CellKind::Boolean, SqlValue::Integer(flag)) => Cell::Boolean(flag != 0),
        (CellKind::Id, SqlValue::Text(text)) => Cell::Id(text),
        (CellKind::Id, SqlValue::Integer(number)) => Cell::Id(number.to_string()),
        _ => Cell::Null,
    }
}
