//! Records search criteria: grammar, escaping, operators per type and Zoho's refusals.

use serde_json::{json, Value};

use super::criteria::parse_criteria;
use super::*;
use crate::schema::standard::standard_schema;

fn parsed(criteria: &str) -> Result<Filter, Value> {
    let schema = standard_schema();
    let module = schema.module("Leads").unwrap();
    let users = [UserName {
        id: 77,
        full_name: "Mara Quist".into(),
        first_name: "Mara".into(),
        last_name: "Quist".into(),
        email: "mara@example.com".into(),
    }];
    let builder = Builder::new(module, Surface::Search, chrono_tz::UTC).with_users(&users);
    parse_criteria(criteria, &builder, 10)
        .map_err(|e| json!({"code": e.code.as_str(), "message": e.message, "details": e.details}))
}

fn compare(filter: &Filter) -> &Comparison {
    match filter {
        Filter::Compare(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_condition_and_groups() {
    let filter = parsed("(Email:equals:a@x.com)").unwrap();
    let c = compare(&filter);
    assert_eq!((c.column.api_name(), c.comparator), ("Email", Comparator::Contains), "equals acts as contains");
    let filter =
        parsed("((Last_Name:starts_with:A) and (No_of_Employees:greater_than:5)or(Owner:equals:Mara Quist))").unwrap();
    let Filter::Or(alternatives) = filter else { panic!() };
    assert!(matches!(&alternatives[0], Filter::And(parts) if parts.len() == 2));
    assert_eq!(compare(&alternatives[1]).operands, vec![Operand::Id(77)], "owners by name");
}

#[test]
fn escapes_keep_special_characters_in_values() {
    let filter = parsed(r"((Last_Name:equals:Burns\,B\(x\)\\)and(First_Name:starts_with:M))").unwrap();
    let Filter::And(parts) = filter else { panic!() };
    assert_eq!(compare(&parts[0]).operands, vec![Operand::Text(r"Burns,B(x)\".into())]);
    let filter = parsed(r"(Last_Name:in:a\,b,c)").unwrap();
    assert_eq!(compare(&filter).operands, vec![Operand::Text("a,b".into()), Operand::Text("c".into())]);
    let filter = parsed("(Created_Time:between:2024-01-01T00:00:00+05:30,2024-12-31T23:59:59+05:30)").unwrap();
    assert_eq!(compare(&filter).operands.len(), 2, "colons in values are kept");
}

#[test]
fn malformed_criteria_are_invalid_queries() {
    for bad in [
        "Email:equals:a",
        "(Email:equals:a",
        "(Email:equals)",
        "((Email:equals:a) xor (Email:equals:b))",
        "(Email:equals:a(b)",
        "(Email:equals:a))",
        "",
    ] {
        assert_eq!(
            parsed(bad).unwrap_err(),
            json!({"code": "INVALID_QUERY", "message": "Invalid query formed", "details": {"param_name": "criteria"}}),
            "{bad}"
        );
    }
}

#[test]
fn refusals_match_zoho() {
    assert_eq!(
        parsed("(Email:greater_than:a)").unwrap_err(),
        json!({"code": "INVALID_QUERY", "message": "invalid operator found",
               "details": {"operator": "greater_than", "reason": "The operator is not valid for the field type", "api_name": "Email"}})
    );
    assert_eq!(
        parsed("(Nope:equals:a)").unwrap_err(),
        json!({"code": "INVALID_QUERY", "message": "the field is not available for search",
               "details": {"reason": "the field is not available for search", "api_name": "Nope"}})
    );
    assert_eq!(
        parsed("(No_of_Employees:equals:many)").unwrap_err(),
        json!({"code": "INVALID_QUERY", "message": "Invalid query formed",
               "details": {"expected_data_type": "integer", "reason": "invalid value for search", "api_name": "No_of_Employees", "value": "many"}})
    );
    let eleven = (0..11).map(|i| format!("(Last_Name:equals:{i})")).collect::<Vec<_>>().join("or");
    assert_eq!(
        parsed(&format!("({eleven})")).unwrap_err(),
        json!({"code": "CRITERIA_LIMIT_EXCEEDED", "message": "no of criterium that can be given exceed the limit 10", "details": {}})
    );
    let many = (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(
        parsed(&format!("(Last_Name:in:{many})")).unwrap_err()["message"],
        "Only 100 values are allowed in \"IN\" criteria"
    );
    let deep = format!("{}(Email:equals:a){}", "(".repeat(40), ")".repeat(40));
    assert_eq!(parsed(&deep).unwrap_err()["code"], "INVALID_QUERY");
}
