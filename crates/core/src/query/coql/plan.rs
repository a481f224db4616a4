//! A parsed COQL query resolved against the org's schema: the columns to answer with (lookup dot
//! notation included), and the [`Select`] the store runs (or, for aggregate functions, the
//! [`Aggregate`](crate::query::aggregate::Aggregate)). Refusals are Zoho's codes and `details`.

use bulkwrite_wire::{ApiError, ErrorCode};

use super::grouped::AggregatePlan;
use super::parser::{parse, Condition, Operator, SelectItem};
use crate::query::build::{Builder, Surface, UserName};
use crate::query::criteria::data_type;
use crate::query::filter::{Column, Comparator, Filter, SystemColumn};
use crate::query::{QueryError, Select, SortKey};
use crate::schema::{Converter, Module, OrgSchema};
use crate::version::ApiVersion;

/// Zoho's bounds on one query, which differ by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoqlLimits {
    /// Most records one call answers (the largest `LIMIT`).
    pub max_limit: u64,
    /// Records one call answers when the query gives no `LIMIT`.
    pub default_limit: u64,
    /// `OFFSET + LIMIT` may not pass this (records reachable by paging).
    pub reach: u64,
    /// Most columns `SELECT` may name.
    pub max_columns: usize,
    /// Most comparisons `WHERE` may hold.
    pub max_criteria: usize,
    /// Most columns `ORDER BY` may name.
    pub max_order_by: usize,
    /// Most values one `in` or `not in` may list.
    pub max_in_values: usize,
    /// Whether aggregate functions and `GROUP BY` are understood.
    pub aggregates: bool,
}

impl CoqlLimits {
    /// v2 – v3: 200 a call, 10,000 in all; v4 on: 2,000 a call, 100,000 in all; v7 on: 500
    /// columns and 100 `in` values (Zoho's COQL pages and Kaizen #183). Aggregate functions
    /// (`SUM`, `MAX`, `MIN`, `AVG`, `COUNT`) and `GROUP BY` from v4: the v3 COQL overview lists
    /// the clauses only, the v4 one adds "aggregate functions SUM(), MAX(), MIN(), AVG(), and
    /// COUNT()" (zoho.com/developer/docs/vertical-solutions/api/v3|v4/COQL-Overview.html, which
    /// mirror the CRM's pages).
    pub fn for_version(version: ApiVersion) -> CoqlLimits {
        let early = version < ApiVersion::V4;
        let v7 = version >= ApiVersion::V7;
        CoqlLimits {
            max_limit: if early { 200 } else { 2000 },
            default_limit: 200,
            reach: if early { 10_000 } else { 100_000 },
            max_columns: if v7 { 500 } else { 50 },
            max_criteria: 25,
            max_order_by: 10,
            max_in_values: if v7 { 100 } else { 50 },
            aggregates: !early,
        }
    }
}

/// A column of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectColumn {
    /// A field (or system column) of the module, keyed by its API name.
    Field {
        /// The column as the answer names it.
        key: String,
        /// The field's API name as the schema spells it.
        api_name: String,
    },
    /// `lookup.field`: `field` of the record the lookup points at, in `module`.
    Lookup {
        /// The column as the answer names it (`Account_Name.Phone`).
        key: String,
        /// The lookup field's API name in the queried module.
        lookup: String,
        /// The API name of the module the lookup points at.
        module: String,
        /// The API name of the field read from the looked-up record.
        field: String,
    },
    /// `Owner.email` and the like: a property of a user column.
    User {
        /// The column as the answer names it (`Owner.email`).
        key: String,
        /// The user column's API name (`Owner`, `Created_By`, a user lookup).
        column: String,
        /// The user property read (`id`, `first_name`, `last_name`, `full_name`, `name`, `email`).
        property: String,
    },
}

impl SelectColumn {
    /// The key of the answer (the column as the query names it, API names corrected).
    pub fn key(&self) -> &str {
        match self {
            SelectColumn::Field { key, .. } | SelectColumn::Lookup { key, .. } | SelectColumn::User { key, .. } => key,
        }
    }
}

/// What a COQL query runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The module's API name.
    pub module: String,
    /// The answer's columns, in the order `SELECT` names them.
    pub columns: Vec<SelectColumn>,
    /// Asks for one record more than `count`, to tell `more_records`.
    pub select: Select,
    /// Records the answer holds at most.
    pub count: u32,
}

/// User properties a dot notation may name.
pub(super) const USER_PROPERTIES: [&str; 6] = ["id", "first_name", "last_name", "full_name", "name", "email"];

pub(super) fn invalid_column(column: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidQuery, "column given seems to be invalid").detail("column_name", column)
}

pub(super) fn limit_exceeded(by: &str, limit: u64) -> ApiError {
    ApiError::new(ErrorCode::LimitExceeded).detail("by", by).detail("limit", limit)
}

/// What a COQL query runs: records (a select) or groups (an aggregate).
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// `SELECT columns …`: records with the columns asked for.
    Records(Plan),
    /// `SELECT FUNCTION(column) … [GROUP BY …]`: one row per group.
    Aggregate(AggregatePlan),
}

/// What `WHERE` is resolved with.
pub(super) struct WhereContext<'a> {
    /// Comparisons on the queried module.
    pub builder: Builder<'a>,
    /// The org's modules (a lookup's module, for dot notation).
    pub schema: &'a OrgSchema,
    /// The org's users (a user column's properties, for dot notation).
    pub users: &'a [UserName],
    /// The org's zone.
    pub time_zone: chrono_tz::Tz,
}

/// Parses and resolves `query`.
pub fn plan(
    query: &str,
    schema: &OrgSchema,
    time_zone: chrono_tz::Tz,
    users: &[UserName],
    limits: CoqlLimits,
) -> Result<Planned, ApiError> {
    let parsed = parse(query)?;
    let module = schema
        .module(&parsed.module)
        .ok_or_else(|| ApiError::with_message(ErrorCode::InvalidModule, "the given module is not supported in api"))?;
    if parsed.columns.len() > limits.max_columns {
        return Err(limit_exceeded("select", limits.max_columns as u64));
    }
    let grouped =
        !parsed.group_by.is_empty() || parsed.columns.iter().any(|c| matches!(c, SelectItem::Aggregate { .. }));
    if grouped && !limits.aggregates {
        return Err(ApiError::with_message(ErrorCode::SyntaxError, "given coql query not supported"));
    }
    let context = WhereContext {
        builder: Builder::new(module, Surface::Coql, time_zone).with_users(users),
        schema,
        users,
        time_zone,
    };
    let mut criteria = 0;
    let filter = condition(&context, &parsed.condition, &limits, &mut criteria)?;
    if parsed.order_by.len() > limits.max_order_by {
        return Err(limit_exceeded("order_by", limits.max_order_by as u64));
    }
    let (offset, count) = paging(&parsed, &limits)?;
    if grouped {
        return super::grouped::plan_groups(module, &parsed, filter, offset, count).map(Planned::Aggregate);
    }
    let mut columns: Vec<SelectColumn> = Vec::new();
    for item in &parsed.columns {
        let SelectItem::Column(name) = item else { continue };
        let column = select_column(schema, module, name)?;
        if columns.iter().any(|c| c.key().eq_ignore_ascii_case(column.key())) {
            return Err(ApiError::with_message(ErrorCode::DuplicateData, "duplicate select column")
                .detail("column_name", column.key()));
        }
        columns.push(column);
    }
    let mut order_by: Vec<SortKey> = Vec::new();
    for (name, direction) in &parsed.order_by {
        let key = SortKey::build(module, name, *direction).map_err(|_| invalid_column(name))?;
        if order_by.iter().any(|k| k.column == key.column) {
            return Err(ApiError::new(ErrorCode::DuplicateData).detail("column_name", key.column.api_name()));
        }
        order_by.push(key);
    }
    let select = Select { filter, order_by, after_id: None, offset, limit: count.saturating_add(1) };
    Ok(Planned::Records(Plan { module: module.api_name.clone(), columns, select, count }))
}

/// `LIMIT` and `OFFSET` checked against the version's bounds: `(offset, count)`.
fn paging(parsed: &super::parser::Query, limits: &CoqlLimits) -> Result<(u64, u32), ApiError> {
    let count = match &parsed.limit {
        None => limits.default_limit,
        Some(text) => {
            let limit: u64 = text.parse().map_err(|_| {
                ApiError::with_message(ErrorCode::InvalidQuery, "limit given seems to be invalid")
                    .detail("limit", text.as_str())
            })?;
            if limit == 0 {
                return Err(ApiError::with_message(ErrorCode::InvalidData, "limit should be greater than 0"));
            }
            if limit > limits.max_limit {
                return Err(limit_exceeded("limit", limits.max_limit));
            }
            limit
        }
    };
    let offset = match &parsed.offset {
        None => 0,
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::with_message(ErrorCode::InvalidQuery, "offset given seems to be invalid")
                .detail("offset", text.as_str())
        })?,
    };
    if offset.saturating_add(count) > limits.reach {
        return Err(limit_exceeded("offset", limits.reach));
    }
    Ok((offset, u32::try_from(count).unwrap_or(u32::MAX)))
}

fn select_column(schema: &OrgSchema, module: &Module, name: &str) -> Result<SelectColumn, ApiError> {
    let Some((head, tail)) = name.split_once('.') else {
        return match Column::resolve(module, name) {
            Ok(column) => {
                Ok(SelectColumn::Field { key: column.api_name().to_string(), api_name: column.api_name().to_string() })
            }
            Err(QueryError::UnsupportedField { field }) => Err(unsupported_type(module, &field)),
            Err(_) => Err(invalid_column(name)),
        };
    };
    if let Some(system) = SystemColumn::parse(head) {
        let property = USER_PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(tail));
        return match (system, property) {
            (SystemColumn::Owner | SystemColumn::CreatedBy | SystemColumn::ModifiedBy, Some(property)) => {
                let column = system.api_name();
                Ok(SelectColumn::User {
                    key: format!("{column}.{property}"),
                    column: column.into(),
                    property: (*property).into(),
                })
            }
            _ => Err(invalid_column(name)),
        };
    }
    let field = module.field(head).ok_or_else(|| invalid_column(name))?;
    let target = match &field.lookup_module {
        Some(target) if field.data_type.facts().converter == Converter::Lookup => {
            schema.module(target).ok_or_else(|| invalid_column(name))?
        }
        Some(_) | None => return Err(invalid_column(name)),
    };
    let target_column = Column::resolve(target, tail).map_err(|_| invalid_column(name))?;
    Ok(SelectColumn::Lookup {
        key: format!("{}.{}", field.api_name, target_column.api_name()),
        lookup: field.api_name.clone(),
        module: target.api_name.clone(),
        field: target_column.api_name().to_string(),
    })
}

pub(super) fn unsupported_type(module: &Module, field: &str) -> ApiError {
    let data_type = module.field(field).map_or("unsupported", |f| f.data_type.as_str());
    ApiError::with_message(ErrorCode::InvalidQuery, "data type not supported")
        .detail("column_name", field)
        .detail("data_type", data_type)
}

fn condition(
    context: &WhereContext<'_>,
    tree: &Condition,
    limits: &CoqlLimits,
    criteria: &mut usize,
) -> Result<Filter, ApiError> {
    match tree {
        Condition::And(left, right) => Ok(Filter::And(vec![
            condition(context, left, limits, criteria)?,
            condition(context, right, limits, criteria)?,
        ])),
        Condition::Or(left, right) => Ok(Filter::Or(vec![
            condition(context, left, limits, criteria)?,
            condition(context, right, limits, criteria)?,
        ])),
        Condition::Compare { column, operator, values } => {
            *criteria += 1;
            if *criteria > limits.max_criteria {
                return Err(limit_exceeded("where", limits.max_criteria as u64));
            }
            if matches!(operator, Operator::In | Operator::NotIn) && values.len() > limits.max_in_values {
                return Err(limit_exceeded("in", limits.max_in_values as u64));
            }
            let comparator = comparator_of(*operator);
            if column.contains('.') {
                return super::related::dotted(context, column, *operator, comparator, values);
            }
            context
                .builder
                .compare(column, comparator, values)
                .map_err(|error| compare_error(&context.builder, column, *operator, error))
        }
    }
}

/// The comparator of a COQL operator.
pub(super) fn comparator_of(operator: Operator) -> Comparator {
    match operator {
        Operator::Eq => Comparator::Equal,
        Operator::Ne => Comparator::NotEqual,
        Operator::Lt => Comparator::LessThan,
        Operator::Le => Comparator::LessEqual,
        Operator::Gt => Comparator::GreaterThan,
        Operator::Ge => Comparator::GreaterEqual,
        Operator::Like => Comparator::Like,
        Operator::NotLike => Comparator::NotLike,
        Operator::In => Comparator::In,
        Operator::NotIn => Comparator::NotIn,
        Operator::Between => Comparator::Between,
        Operator::NotBetween => Comparator::NotBetween,
        Operator::IsNull => Comparator::IsEmpty,
        Operator::IsNotNull => Comparator::IsNotEmpty,
    }
}

/// A comparison the schema refuses, in COQL's words; `written` is the column as the query
/// wrote it (`Account_Name.Phone`), named in `details`.
pub(super) fn compare_error(builder: &Builder<'_>, written: &str, operator: Operator, error: QueryError) -> ApiError {
    match error {
        QueryError::UnknownField { .. } => invalid_column(written),
        QueryError::UnsupportedField { field } => {
            unsupported_type(builder.module, &field).detail("column_name", written)
        }
        QueryError::UnsupportedComparator { .. } => ApiError::new(ErrorCode::InvalidQuery)
            .detail("reason", "invalid operator found")
            .detail("column_name", written)
            .detail("operator", operator.as_str()),
        QueryError::WrongValueCount { field, .. } | QueryError::InvalidValue { field, .. } => {
            let expected = Column::resolve(builder.module, &field).map_or("text", |c| data_type(builder, &c));
            ApiError::with_message(ErrorCode::InvalidQuery, "value given seems to be invalid for the column")
                .detail("column_name", written)
                .detail("expected_data_type", expected)
        }
    }
}
