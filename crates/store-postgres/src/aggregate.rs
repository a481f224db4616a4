//! An [`Aggregate`] as one PostgreSQL statement: the filter of a select, `GROUP BY` the grouped
//! columns' typed values (text as stored, sorted byte-wise as the SQLite backend sorts), the
//! measures as SQL aggregates, ordered with empty values last, paged by `LIMIT`/`OFFSET`; every
//! value bound as a parameter. Each output is cast to a type the driver reads without extra
//! features (`float8`, `int8`, `text`).

use bulkwrite_core::query::aggregate::{Aggregate, AggregateKey, Cell, CellKind, Function, Measure};
use bulkwrite_core::query::{Column, Direction, ValueKind};
use bulkwrite_store::StoreResult;
use tokio_postgres::Row;

use crate::query::{direction, filter, scalar, Sql};
use crate::statements::get;

/// A column's value as grouped: text as stored (not folded), ids as text, other kinds as the
/// comparisons type them.
fn value_expr(sql: &mut Sql, column: &Column) -> String {
    match (column, column.kind()) {
        (Column::Data { api_name, .. }, ValueKind::Text | ValueKind::MultiSelect) => {
            let key = sql.arg(api_name.clone());
            format!("((data::json ->> {key}::text) COLLATE \"C\")")
        }
        (_, ValueKind::Reference) => format!("(({})::text)", scalar(sql, column)),
        _ => scalar(sql, column),
    }
}

/// `expr` cast for reading as `kind`.
fn output(expr: &str, kind: CellKind) -> String {
    match kind {
        CellKind::Text | CellKind::Id => format!("({expr})::text"),
        CellKind::Integer => format!("({expr})::int8"),
        CellKind::Decimal => format!("({expr})::float8"),
        CellKind::Date => format!("({expr})::date::text"),
        CellKind::Instant => format!("(extract(epoch from {expr}))::int8"),
        CellKind::Boolean => format!("(({expr})::int)::int8"),
    }
}

fn measure_expr(sql: &mut Sql, measure: &Measure) -> String {
    let Some(column) = &measure.column else { return "COUNT(*)".to_string() };
    let value = value_expr(sql, column);
    let function = match measure.function {
        Function::Count => "COUNT",
        Function::Sum => "SUM",
        Function::Max => "MAX",
        Function::Min => "MIN",
        Function::Avg => "AVG",
    };
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
        let kind = CellKind::of(column.kind());
        outputs.push(output(&expr, kind));
        groups.push(expr);
        kinds.push(kind);
    }
    let mut measures = Vec::new();
    for measure in &aggregate.measures {
        let expr = measure_expr(&mut sql, measure);
        let kind = measure.cell_kind();
        outputs.push(output(&expr, kind));
        measures.push(expr);
        kinds.push(kind);
    }
    let condition = filter(&mut sql, &aggregate.filter);
    let mut text = format!("SELECT {} FROM records WHERE org = $1 AND module = $2 AND {condition}", outputs.join(", "));
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

/// A row's cells, typed by their kinds.
pub(crate) fn cells(row: &Row, kinds: &[CellKind]) -> StoreResult<Vec<Cell>> {
    let mut cells = Vec::with_capacity(kinds.len());
    for (index, kind) in kinds.iter().enumerate() {
        let cell = match kind {
            CellKind::Text => get::<Option<String>>(row, index)?.map_or(Cell::Null, Cell::Text),
            CellKind::Id => get::<Option<String>>(row, index)?.map_or(Cell::Null, Cell::Id),
            CellKind::Integer => get::<Option<i64>>(row, index)?.map_or(Cell::Null, Cell::Integer),
            CellKind::Decimal => get::<Option<f64>>(row, index)?.map_or(Cell::Null, Cell::Decimal),
            CellKind::Date => get::<Option<String>>(row, index)?
                .and_then(|text| chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok())
                .map_or(Cell::Null, Cell::Date),
            CellKind::Instant => get::<Option<i64>>(row, index)?
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .map_or(Cell::Null, Cell::Instant),
            CellKind::Boolean => get::<Option<i64>>(row, index)?.map_or(Cell::Null, |flag| Cell::Boolean(flag != 0)),
        };
        cells.push(cell);
    }
    Ok(cells)
}
