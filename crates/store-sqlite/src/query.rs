//! A [`Select`] as SQLite SQL over JSON1: every operand and JSON path bound as a parameter,
//! comparisons typed by the column's kind (see `bulkwrite_core::query`).

use bulkwrite_core::query::{
    Column, Comparator, Comparison, Direction, Filter, Operand, Select, SystemColumn, ValueKind,
};
use rusqlite::types::Value as SqlValue;

/// SQL text and its parameters (`?1`, `?2` … in order).
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<SqlValue>,
}

impl Sql {
    pub fn new(org: i64, module: &str) -> Sql {
        Sql { text: String::new(), args: vec![org.into(), module.to_string().into()] }
    }

    pub(crate) fn arg(&mut self, value: impl Into<SqlValue>) -> String {
        self.args.push(value.into());
        format!("?{}", self.args.len())
    }
}

/// `WHERE` conditions after `org = ?1 AND module = ?2`, then `ORDER BY`, `LIMIT`, `OFFSET`.
pub(crate) fn select_tail(sql: &mut Sql, select: &Select) {
    let condition = filter(sql, &select.filter);
    let mut text = format!(" AND {condition}");
    if let Some(after) = select.after_id {
        let mark = sql.arg(after.get() as i64);
        text.push_str(&format!(" AND id > {mark}"));
    }
    let mut keys = Vec::new();
    for key in &select.order_by {
        let expr = sort_expr(sql, &key.column);
        keys.push(format!("({expr}) IS NULL, {expr} {}", direction(key.direction)));
    }
    keys.push(format!("id {}", direction(select.id_direction())));
    let limit = sql.arg(i64::from(select.limit));
    let offset = sql.arg(i64::try_from(select.offset).unwrap_or(i64::MAX));
    text.push_str(&format!(" ORDER BY {} LIMIT {limit} OFFSET {offset}", keys.join(", ")));
    sql.text.push_str(&text);
}

pub(crate) fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    }
}

/// A condition that is never NULL.
pub(crate) fn filter(sql: &mut Sql, filter_tree: &Filter) -> String {
    match filter_tree {
        Filter::All => "1".to_string(),
        Filter::Compare(comparison) => compare(sql, comparison),
        Filter::And(parts) if parts.is_empty() => "1".to_string(),
        Filter::Or(parts) if parts.is_empty() => "0".to_string(),
        Filter::And(parts) => join(sql, parts, " AND "),
        Filter::Or(parts) => join(sql, parts, " OR "),
        Filter::Not(inner) => format!("NOT ({})", filter(sql, inner)),
        Filter::Related { lookup, module, filter: inner } => related(sql, lookup, module, inner),
    }
}

/// The record's lookup id among the ids of `module`'s records matching `inner`: one
/// uncorrelated sub-select (inside it, unqualified columns are the looked-up record's).
fn related(sql: &mut Sql, lookup: &str, module: &str, inner: &Filter) -> String {
    let path = sql.arg(format!("$.{lookup}.id"));
    let module = sql.arg(module.to_string());
    let condition = filter(sql, inner);
    format!(
        "COALESCE(CAST(json_extract(data, {path}) AS INTEGER) IN \
         (SELECT id FROM records WHERE org = ?1 AND module = {module} AND {condition}), 0)"
    )
}

fn join(sql: &mut Sql, parts: &[Filter], glue: &str) -> String {
    let parts: Vec<String> = parts.iter().map(|part| filter(sql, part)).collect();
    format!("({})", parts.join(glue))
}

fn system_column(column: SystemColumn) -> &'static str {
    match column {
        SystemColumn::Id => "id",
        SystemColumn::Owner => "owner",
        SystemColumn::CreatedBy => "created_by",
        SystemColumn::ModifiedBy => "modified_by",
        // Stored in milliseconds; compared in whole seconds, as Zoho shows them.
        SystemColumn::CreatedTime => "(created_at / 1000)",
        SystemColumn::ModifiedTime => "(modified_at / 1000)",
    }
}

/// The typed scalar a column compares as (NULL when the record has no value).
pub(crate) fn scalar(sql: &mut Sql, column: &Column) -> String {
    let (name, kind) = match column {
        Column::System(system) => return system_column(*system).to_string(),
        Column::Data { api_name, kind } => (api_name, *kind),
    };
    if kind == ValueKind::Reference {
        let path = sql.arg(format!("$.{name}.id"));
        return format!("CAST(json_extract(data, {path}) AS TEXT)");
    }
    let path = sql.arg(format!("$.{name}"));
    let value = format!("json_extract(data, {path})");
    match kind {
        ValueKind::Text | ValueKind::MultiSelect => format!("lower({value})"),
        ValueKind::Number => format!(
            "(CASE json_type(data, {path}) WHEN 'integer' THEN {value} WHEN 'real' THEN {value} \
             WHEN 'text' THEN CAST({value} AS NUMERIC) END)"
        ),
        ValueKind::Date => format!("(CASE WHEN json_type(data, {path}) = 'text' THEN {value} END)"),
        ValueKind::DateTime => format!("unixepoch({value})"),
        ValueKind::Boolean => format!("(CASE json_type(data, {path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"),
        ValueKind::Reference => unreachable!("handled above"),
    }
}

fn sort_expr(sql: &mut Sql, column: &Column) -> String {
    scalar(sql, column)
}

fn operand(sql: &mut Sql, value: &Operand) -> String {
    let bound: SqlValue = match value {
        Operand::Text(text) => Operand::folded(text).into(),
        Operand::Number(text) => match text.parse::<i64>() {
            Ok(whole) => whole.into(),
            Err(_) => text.parse::<f64>().unwrap_or(f64::NAN).into(),
        },
        Operand::Date(date) => date.format("%Y-%m-%d").to_string().into(),
        Operand::DateTime(instant) => instant.timestamp().into(),
        Operand::Boolean(flag) => i64::from(*flag).into(),
        // Lookups store `{"id": "…"}`: ids compare as text (system columns bind numbers).
        Operand::Id(id) => id.to_string().into(),
    };
    sql.arg(bound)
}

fn compare(sql: &mut Sql, comparison: &Comparison) -> String {
    if let Some(positive) = comparison.comparator.negated() {
        let positive = Comparison { comparator: positive, ..comparison.clone() };
        return format!("NOT ({})", compare(sql, &positive));
    }
    if comparison.comparator == Comparator::IsEmpty {
        return is_empty(sql, &comparison.column);
    }
    if comparison.column.kind() == ValueKind::MultiSelect {
        let path = sql.arg(format!("$.{}", comparison.column.api_name()));
        let condition = condition(sql, "lower(value)", comparison);
        return format!(
            "EXISTS (SELECT 1 FROM json_each(data, {path}) WHERE type = 'text' AND COALESCE({condition}, 0))"
        );
    }
    if let Some(by_name) = reference_by_name(sql, comparison) {
        return by_name;
    }
    let expr = scalar(sql, &comparison.column);
    let system_id = matches!(comparison.column, Column::System(_)) && comparison.column.kind() == ValueKind::Reference;
    let comparison = if system_id { system_ids(comparison) } else { comparison.clone() };
    format!("COALESCE({}, 0)", condition(sql, &expr, &comparison))
}

/// A lookup compared with names (search): ids against `id`, names against the stored `name`.
fn reference_by_name(sql: &mut Sql, comparison: &Comparison) -> Option<String> {
    let Column::Data { api_name, kind: ValueKind::Reference } = &comparison.column else { return None };
    let (names, ids): (Vec<Operand>, Vec<Operand>) =
        comparison.operands.iter().cloned().partition(|operand| matches!(operand, Operand::Text(_)));
    if names.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !ids.is_empty() {
        let expr = scalar(sql, &comparison.column);
        parts.push(condition(sql, &expr, &Comparison { operands: ids, ..comparison.clone() }));
    }
    let path = sql.arg(format!("$.{api_name}.name"));
    let expr = format!("lower(json_extract(data, {path}))");
    parts.push(condition(sql, &expr, &Comparison { operands: names, ..comparison.clone() }));
    Some(format!("COALESCE(({}), 0)", parts.join(" OR ")))
}

/// Ids of system columns (integer columns) bind as numbers.
fn system_ids(comparison: &Comparison) -> Comparison {
    let operands = comparison
        .operands
        .iter()
        .map(|operand| match operand {
            Operand::Id(id) => Operand::Number(id.to_string()),
            other => other.clone(),
        })
        .collect();
    Comparison { operands, ..comparison.clone() }
}

/// `expr comparator operands` for a positive comparator.
fn condition(sql: &mut Sql, expr: &str, comparison: &Comparison) -> String {
    let marks: Vec<String> = comparison
        .operands
        .iter()
        .map(|value| match (comparison.comparator, value) {
            (Comparator::Like, Operand::Text(pattern)) => sql.arg(Operand::like_pattern(pattern)),
            _ => operand(sql, value),
        })
        .collect();
    let first = marks.first().cloned().unwrap_or_else(|| "NULL".to_string());
    match comparison.comparator {
        Comparator::Equal => format!("({expr} = {first})"),
        Comparator::In => format!("({expr} IN ({}))", marks.join(", ")),
        Comparator::LessThan => format!("({expr} < {first})"),
        Comparator::LessEqual => format!("({expr} <= {first})"),
        Comparator::GreaterThan => format!("({expr} > {first})"),
        Comparator::GreaterEqual => format!("({expr} >= {first})"),
        Comparator::Between => format!("({expr} BETWEEN {first} AND {})", marks[1]),
        Comparator::Contains => format!("(instr({expr}, {first}) > 0)"),
        Comparator::StartsWith => format!("(substr({expr}, 1, length({first})) = {first})"),
        Comparator::EndsWith => format!(
            "(length({expr}) >= length({first}) AND substr({expr}, length({expr}) - length({first}) + 1) = {first})"
        ),
        Comparator::Like => format!("({expr} LIKE {first} ESCAPE '\\')"),
        // Negations and emptiness are handled by `compare`.
        _ => "0".to_string(),
    }
}

fn is_empty(sql: &mut Sql, column: &Column) -> String {
    let Column::Data { api_name, .. } = column else { return "0".to_string() };
    let path = sql.arg(format!("$.{api_name}"));
    format!(
        "(CASE json_type(data, {path}) WHEN 'null' THEN 1 WHEN 'text' THEN json_extract(data, {path}) = '' \
         WHEN 'array' THEN json_array_length(data, {path}) = 0 ELSE json_type(data, {path}) IS NULL END)"
    )
}
