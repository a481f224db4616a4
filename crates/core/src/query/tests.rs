//! Building filters against the standard schema.

use serde_json::json;

use super::*;
use crate::schema::standard::standard_schema;
use crate::schema::Module;

fn leads() -> Module {
    standard_schema().module("Leads").unwrap().clone()
}

fn build(
    surface: Surface,
    field: &str,
    comparator: Comparator,
    values: serde_json::Value,
) -> Result<Filter, QueryError> {
    let module = leads();
    let values = match values {
        serde_json::Value::Array(values) => values,
        other => vec![other],
    };
    Builder::new(&module, surface, chrono_tz::Asia::Kolkata).compare(field, comparator, &values)
}

fn comparison(filter: Filter) -> Comparison {
    match filter {
        Filter::Compare(comparison) => comparison,
        other => panic!("not a comparison: {other:?}"),
    }
}

#[test]
fn fields_resolve_case_insensitively_to_their_api_name_and_kind() {
    let c = comparison(build(Surface::Coql, "email", Comparator::Equal, json!("A@x.com")).unwrap());
    assert_eq!(c.column, Column::Data { api_name: "Email".into(), kind: ValueKind::Text });
    assert_eq!(c.operands, vec![Operand::Text("A@x.com".into())]);
    let c = comparison(
        build(Surface::Coql, "created_time", Comparator::GreaterThan, json!("2024-01-01T00:00:00Z")).unwrap(),
    );
    assert_eq!(c.column, Column::System(SystemColumn::CreatedTime));
}

#[test]
fn operands_are_typed_for_the_field() {
    let c = comparison(build(Surface::Coql, "No_of_Employees", Comparator::Between, json!([10, "20.5"])).unwrap());
    assert_eq!(c.operands, vec![Operand::Number("10".into()), Operand::Number("20.5".into())]);
    let c = comparison(build(Surface::Coql, "Email_Opt_Out", Comparator::Equal, json!("TRUE")).unwrap());
    assert_eq!(c.operands, vec![Operand::Boolean(true)]);
    let c = comparison(build(Surface::Coql, "Owner", Comparator::In, json!(["12", {"id": "13"}])).unwrap());
    assert_eq!(c.operands, vec![Operand::Id(12), Operand::Id(13)]);
}

#[test]
fn date_times_without_an_offset_are_in_the_org_zone() {
    let c = comparison(build(Surface::Coql, "Created_Time", Comparator::Equal, json!("2024-01-01T05:30:00")).unwrap());
    let expected = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    assert_eq!(c.operands, vec![Operand::DateTime(expected)]);
}

#[test]
fn empty_placeholder_becomes_is_empty() {
    let c = comparison(build(Surface::BulkRead, "Email", Comparator::Equal, json!("${EMPTY}")).unwrap());
    assert_eq!((c.comparator, c.operands.len()), (Comparator::IsEmpty, 0));
    let c = comparison(build(Surface::BulkRead, "Email", Comparator::NotEqual, json!("${EMPTY}")).unwrap());
    assert_eq!(c.comparator, Comparator::IsNotEmpty);
    assert!(matches!(
        build(Surface::BulkRead, "Email", Comparator::StartsWith, json!("${EMPTY}")),
        Err(QueryError::InvalidValue { .. })
    ));
}

#[test]
fn refusals_name_the_field() {
    assert_eq!(
        build(Surface::Coql, "Nope", Comparator::Equal, json!("x")),
        Err(QueryError::UnknownField { field: "Nope".into() })
    );
    assert_eq!(
        build(Surface::BulkRead, "Annual_Revenue", Comparator::Contains, json!("1")),
        Err(QueryError::UnsupportedComparator { field: "Annual_Revenue".into(), comparator: "contains".into() })
    );
    assert_eq!(
        build(Surface::BulkRead, "Email_Opt_Out", Comparator::NotEqual, json!(true)),
        Err(QueryError::UnsupportedComparator { field: "Email_Opt_Out".into(), comparator: "not_equal".into() })
    );
    assert_eq!(
        build(Surface::Coql, "No_of_Employees", Comparator::Equal, json!("12abc")),
        Err(QueryError::InvalidValue { field: "No_of_Employees".into(), value: "12abc".into() })
    );
    assert!(matches!(
        build(Surface::Coql, "No_of_Employees", Comparator::Between, json!([1])),
        Err(QueryError::WrongValueCount { .. })
    ));
    assert!(matches!(
        build(Surface::Coql, "Created_Time", Comparator::Equal, json!("2024-13-01T00:00:00Z")),
        Err(QueryError::InvalidValue { .. })
    ));
}

#[test]
fn numbers_stay_plain_and_exact() {
    for bad in [json!("1e5"), json!("."), json!("1."), json!("--1"), json!(""), json!("1".repeat(41))] {
        assert!(build(Surface::Coql, "Annual_Revenue", Comparator::Equal, bad.clone()).is_err(), "{bad}");
    }
    let c = comparison(build(Surface::Coql, "Annual_Revenue", Comparator::Equal, json!(1.5e20)).unwrap());
    assert_eq!(c.operands, vec![Operand::Number("150000000000000000000".into())]);
}

#[test]
fn like_patterns_escape_all_but_percent() {
    assert_eq!(Operand::like_pattern("A_b%\\C"), "a\\_b%\\\\c");
}

#[test]
fn comparator_names_round_trip() {
    for comparator in super::filter::ALL_COMPARATORS {
        assert_eq!(Comparator::parse(comparator.as_str()), Some(comparator));
    }
    assert_eq!(Comparator::parse("equals"), None);
}

#[test]
fn sort_keys_refuse_multi_selects_and_unknown_fields() {
    let module = leads();
    assert!(SortKey::build(&module, "Last_Name", Direction::Desc).is_ok());
    assert!(SortKey::build(&module, "Nope", Direction::Asc).is_err());
}

#[test]
fn tree_counts_comparisons_and_depth() {
    let a = build(Surface::Coql, "Email", Comparator::Equal, json!("a")).unwrap();
    let tree = Filter::And(vec![a.clone(), Filter::Or(vec![a.clone(), Filter::Not(Box::new(a))])]);
    assert_eq!((tree.comparisons(), tree.depth()), (3, 4));
}
