//! A [`Select`] as PostgreSQL SQL over the `data` column (JSON text, read as `data::json`): every
//! operand and field name bound as a parameter, comparisons typed by the column's kind (see
//! `bulkwrite_core::query`), text folded for ASCII letters only and sorted byte-wise, as the
//! SQLite backend does.

use bulkwrite_core::query::{
    Column, Comparator, Comparison, Direction, Filter, Operand, Select, SystemColumn, ValueKind,
};
use tokio_postgres::types::ToSql;

/// ASCII letters folded to lower case, the same on every backend (`lower` would fold more).
const FOLD: &str = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'";

/// SQL text and its parameters (`$1`, `$2` … in order).
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    pub fn new(org: i64, module: &str) -> Sql {
        Sql { text: String::new(), args: vec![Box::new(org), Box::new(module.to_string())] }
    }

    pub(crate) fn arg<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.args.push(Box::new(value));
        format!("${}", self.args.len())
    }

    /// The parameters as the driver takes them.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args.iter().map(|arg| arg.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

/// `WHERE` conditions after `org = $1 AND module = $2`, then `ORDER BY`, `LIMIT`, `OFFSET`.
pub(crate) fn select_tail(sql: &mut Sql, select: &Select) {
    let condition = filter(sql, &select.filter);
    let mut text = format!(" AND {condition}");
    if let Some(after) = select.after_id {
        let mark = sql.arg(i64::try_from(after.get()).unwrap_or(i64::MAX));
        text.push_str(&format!(" AND id > {mark}"));
    }
    let mut keys = Vec::new();
    for key in &select.order_by {
        let mut expr = scalar(sql, &key.column);
        if matches!(key.column.kind(), ValueKind::Text) {
            expr = format!("({expr}) COLLATE \"C\"");
        }
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
        Filter::All => "TRUE".to_string(),
        Filter::Compare(comparison) => compare(sql, comparison),
        Filter::And(parts) if parts.is_empty() => "TRUE".to_string(),
        Filter::Or(parts) if parts.is_empty() => "FALSE".to_string(),
        Filter::And(parts) => join(sql, parts, " AND "),
        Filter::Or(parts) => join(sql, parts, " OR "),
        Filter::Not(inner) => format!("NOT ({})", filter(sql, inner)),
        Filter::Related { lookup, module, filter: inner } => related(sql, lookup, module, inner),
    }
}

/// The record's lookup id among the ids of `module`'s records matching `inner`: one
/// uncorrelated sub-select (inside it, unqualified columns are the looked-up record's); ids
/// compare as text, so a malformed stored id is no match rather than a cast error.
fn related(sql: &mut Sql, lookup: &str, module: &str, inner: &Filter) -> String {
    let key = sql.arg(lookup.to_string());
    let module = sql.arg(module.to_string());
    let condition = filter(sql, inner);
    format!(
        "COALESCE(((data::json -> {key}::text) ->> 'id') IN \
         (SELECT id::text FROM records WHERE org = $1 AND module = {module}::text AND {condition}), FALSE)"
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
        // Compared in whole seconds, as Zoho shows them.
        SystemColumn::CreatedTime => "date_trunc('second', created_at)",
        SystemColumn::ModifiedTime => "date_trunc('second', modified_at)",
    }
}

/// The typed scalar a column compares as (NULL when the record has no value).
pub(crate) fn scalar(sql: &mut Sql, column: &Column) -> String {
    let (name, kind) = match column {
        Column::System(system) => return system_column(*system).to_string(),
        Column::Data { api_name, kind } => (api_name.clone(), *kind),
    };
    let key = sql.arg(name);
    let json = format!("(data::json -> {key}::text)");
    let text = format!("(data::json ->> {key}::text)");
    match kind {
        ValueKind::Reference => format!("({json} ->> 'id')"),
        ValueKind::Text | ValueKind::MultiSelect => format!("translate({text}, {FOLD})"),
        ValueKind::Number => format!(
            "(CASE WHEN json_typeof({json}) = 'number' THEN {text}::numeric \
             WHEN json_typeof({json}) = 'string' AND {text} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {text}::numeric END)"
        ),
        ValueKind::Date => {
            format!("(CASE WHEN {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN {text}::date END)")
        }
        ValueKind::DateTime => format!(
            "(CASE WHEN {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T' THEN date_trunc('second', {text}::timestamptz) END)"
        ),
        ValueKind::Boolean => format!("(CASE WHEN json_typeof({json}) = 'boolean' THEN {text}::boolean END)"),
    }
}

fn operand(sql: &mut Sql, value: &Operand, system_id: bool) -> String {
    match value {
        Operand::Text(text) => format!("{}::text", sql.arg(Operand::folded(text))),
        Operand::Number(text) => format!("CAST({}::text AS numeric)", sql.arg(text.clone())),
        Operand::Date(date) => format!("{}::date", sql.arg(*date)),
        Operand::DateTime(instant) => format!("{}::timestamptz", sql.arg(*instant)),
        Operand::Boolean(flag) => format!("{}::boolean", sql.arg(*flag)),
        // System columns are bigint; lookups store `{"id": "…"}` and compare as text.
        Operand::Id(id) if system_id => format!("{}::int8", sql.arg(i64::try_from(*id).unwrap_or(i64::MAX))),
        Operand::Id(id) => format!("{}::text", sql.arg(id.to_string())),
    }
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
        let key = sql.arg(comparison.column.api_name().to_string());
        let json = format!("(data::json -> {key}::text)");
        let condition = condition(sql, &format!("translate(e.v, {FOLD})"), comparison, false);
        return format!(
            "EXISTS (SELECT 1 FROM json_array_elements_text(CASE WHEN json_typeof({json}) = 'array' THEN {json} END) \
             AS e (v) WHERE COALESCE({condition}, FALSE))"
        );
    }
    if let Some(by_name) = reference_by_name(sql, comparison) {
        return by_name;
    }
    let expr = scalar(sql, &comparison.column);
    let system_id = matches!(comparison.column, Column::System(_)) && comparison.column.kind() == ValueKind::Reference;
    format!("COALESCE({}, FALSE)", condition(sql, &expr, comparison, system_id))
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
        parts.push(condition(sql, &expr, &Comparison { operands: ids, ..comparison.clone() }, false));
    }
    let key = sql.arg(api_name.clone());
    let expr = format!("translate((data::json -> {key}::text) ->> 'name', {FOLD})");
    parts.push(condition(sql, &expr, &Comparison { operands: names, ..comparison.clone() }, false));
    Some(format!("COALESCE(({}), FALSE)", parts.join(" OR ")))
}

/// `expr comparator operands` for a positive comparator.
fn condition(sql: &mut Sql, expr: &str, comparison: &Comparison, system_id: bool) -> String {
    let marks: Vec<String> = comparison
        .operands
        .iter()
        .map(|value| match (comparison.comparator, value) {
            (Comparator::Like, Operand::Text(pattern)) => format!("{}::text", sql.arg(Operand::like_pattern(pattern))),
            _ => operand(sql, value, system_id),
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
        Comparator::Contains => format!("(strpos({expr}, {first}) > 0)"),
        Comparator::StartsWith => format!("starts_with({expr}, {first})"),
        Comparator::EndsWith => format!("(right({expr}, length({first})) = {first})"),
        Comparator::Like => format!("({expr} LIKE {first} ESCAPE '\\')"),
        // Negations and emptiness are handled by `compare`.
        _ => "FALSE".to_string(),
    }
}

fn is_empty(sql: &mut Sql, column: &Column) -> String {
    let Column::Data { api_name, .. } = column else { return "FALSE".to_string() };
    let key = sql.arg(api_name.clone());
    let json = format!("(data::json -> {key}::text)");
    format!(
        "(CASE json_typeof({json}) WHEN 'null' THEN TRUE WHEN 'string' THEN ({json} #>> '{{}}') = '' \
         WHEN 'array' THEN json_array_length({json}) = 0 ELSE {json} IS NULL END)"
    )
}
