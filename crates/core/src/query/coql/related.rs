//! Dot notation in `WHERE`: `lookup.field` compares a field of the record a lookup points at
//! (run in the store as a [`Filter::Related`]); `user.property` (`Owner.email`,
//! `Created_By.last_name`, a user lookup's property) compares a property of the user a user
//! column names, resolved here against the org's users (a handful) into the ids that match.
//!
//! Negations keep the rule every comparison follows: an empty value satisfies them, so
//! `Account_Name.Phone != '1'` holds for a contact without an account, and `is null` holds for
//! it too; `is not null` needs the looked-up value.

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

use super::parser::Operator;
use super::plan::{compare_error, invalid_column, WhereContext, USER_PROPERTIES};
use crate::query::build::{Builder, Surface, UserName};
use crate::query::filter::{Comparator, Filter, SystemColumn};
use crate::schema::Converter;

/// The filter of `column operator values` where `column` has a dot.
pub(super) fn dotted(
    context: &WhereContext<'_>,
    column: &str,
    operator: Operator,
    comparator: Comparator,
    values: &[Value],
) -> Result<Filter, ApiError> {
    let Some((head, tail)) = column.split_once('.') else { return Err(invalid_column(column)) };
    let module = context.builder.module;
    if let Some(system) = SystemColumn::parse(head) {
        return match system {
            SystemColumn::Owner | SystemColumn::CreatedBy | SystemColumn::ModifiedBy => {
                user_property(context, system.api_name(), column, tail, operator, comparator, values)
            }
            _ => Err(invalid_column(column)),
        };
    }
    let field = module.field(head).ok_or_else(|| invalid_column(column))?;
    let converter = field.data_type.facts().converter;
    if converter == Converter::User || converter == Converter::Owner {
        return user_property(context, &field.api_name, column, tail, operator, comparator, values);
    }
    match &field.lookup_module {
        Some(target) if converter == Converter::Lookup => {
            let related = context.schema.module(target).ok_or_else(|| invalid_column(column))?;
            let builder = Builder::new(related, Surface::Coql, context.time_zone).with_users(context.users);
            let wrap = |inner: Filter| Filter::Related {
                lookup: field.api_name.clone(),
                module: related.api_name.clone(),
                filter: Box::new(inner),
            };
            let compare = |comparator: Comparator| {
                builder
                    .compare(tail, comparator, values)
                    .map_err(|error| compare_error(&builder, column, operator, error))
            };
            match comparator {
                // Empty when there is no looked-up record, or it has no value.
                Comparator::IsEmpty => Ok(Filter::Not(Box::new(wrap(compare(Comparator::IsNotEmpty)?)))),
                Comparator::IsNotEmpty => Ok(wrap(compare(Comparator::IsNotEmpty)?)),
                negation => match negation.negated() {
                    Some(positive) => Ok(Filter::Not(Box::new(wrap(compare(positive)?)))),
                    None => Ok(wrap(compare(negation)?)),
                },
            }
        }
        Some(_) | None => Err(invalid_column(column)),
    }
}

/// `user_column.property comparator values`, as the ids of the users that match.
fn user_property(
    context: &WhereContext<'_>,
    user_column: &str,
    written: &str,
    property: &str,
    operator: Operator,
    comparator: Comparator,
    values: &[Value],
) -> Result<Filter, ApiError> {
    let property = *USER_PROPERTIES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(property))
        .ok_or_else(|| invalid_column(written))?;
    let (positive, negate) = match comparator {
        Comparator::IsEmpty => (Comparator::IsNotEmpty, true),
        other => match other.negated() {
            Some(positive) => (positive, true),
            None => (other, false),
        },
    };
    let allowed = matches!(positive, Comparator::Equal | Comparator::In | Comparator::IsNotEmpty)
        || (positive == Comparator::Like && property != "id");
    if !allowed {
        return Err(ApiError::new(ErrorCode::InvalidQuery)
            .detail("reason", "invalid operator found")
            .detail("column_name", written)
            .detail("operator", operator.as_str()));
    }
    let mut texts = Vec::with_capacity(values.len());
    for value in values {
        match value {
            Value::String(text) => texts.push(text.to_ascii_lowercase()),
            Value::Number(number) if property == "id" => texts.push(number.to_string()),
            _ => {
                return Err(ApiError::with_message(
                    ErrorCode::InvalidQuery,
                    "value given seems to be invalid for the column",
                )
                .detail("column_name", written)
                .detail("expected_data_type", "text"));
            }
        }
    }
    let matching: Vec<Value> = context
        .users
        .iter()
        .filter(|user| {
            let value = user_value(user, property).to_ascii_lowercase();
            match positive {
                Comparator::IsNotEmpty => !value.is_empty(),
                Comparator::Like => texts.first().is_some_and(|pattern| like(&value, pattern)),
                _ => texts.contains(&value),
            }
        })
        .map(|user| Value::String(user.id.to_string()))
        .collect();
    let filter = if matching.is_empty() {
        // No user matches: an empty `Or` holds for no record.
        Filter::Or(Vec::new())
    } else {
        context
            .builder
            .compare(user_column, Comparator::In, &matching)
            .map_err(|error| compare_error(&context.builder, written, operator, error))?
    };
    Ok(if negate { Filter::Not(Box::new(filter)) } else { filter })
}

fn user_value(user: &UserName, property: &str) -> String {
    match property {
        "id" => user.id.to_string(),
        "first_name" => user.first_name.clone(),
        "last_name" => user.last_name.clone(),
        "email" => user.email.clone(),
        _ => user.full_name.clone(),
    }
}

/// COQL's `like` (lower-cased already): `%` stands for any run of characters.
fn like(value: &str, pattern: &str) -> bool {
    let value: Vec<char> = value.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // reach[i]: the pattern so far can end just before value[i].
    let mut reach = vec![false; value.len() + 1];
    reach[0] = true;
    for symbol in pattern {
        let mut next = vec![false; value.len() + 1];
        if symbol == '%' {
            let mut seen = false;
            for i in 0..=value.len() {
                seen |= reach[i];
                next[i] = seen;
            }
        } else {
            for i in 0..value.len() {
                next[i + 1] = reach[i] && value[i] == symbol;
            }
        }
        reach = next;
    }
    reach[value.len()]
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_takes_percent_for_any_run() {
        assert!(like("admin@bulkwrite.local", "%@bulkwrite.local"));
        assert!(like("admin@bulkwrite.local", "admin%"));
        assert!(like("admin@bulkwrite.local", "%min%loc%"));
        assert!(!like("admin@bulkwrite.local", "%@example.com"));
        assert!(like("", "%"));
        assert!(!like("a", ""));
    }
}
