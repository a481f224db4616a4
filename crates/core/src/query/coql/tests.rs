//! COQL parsing and planning, refusals included.

use serde_json::{json, Value};

use super::*;
use crate::query::{Comparator, Direction, Filter};
use crate::schema::standard::standard_schema;
use crate::version::ApiVersion;

fn planned(query: &str) -> Result<Plan, Value> {
    plan(query, &standard_schema(), chrono_tz::UTC, &[], CoqlLimits::for_version(ApiVersion::V8))
        .map_err(|e| json!({"code": e.code.as_str(), "message": e.message, "details": e.details}))
}

fn error(query: &str) -> Value {
    planned(query).expect_err(query)
}

#[test]
fn a_full_query_plans() {
    let plan = planned(
        "SELECT Last_Name, email, Account_Name.Account_Name, Owner.email FROM leads \
         WHERE ((Last_Name = 'O''Brien' or Email like '%@corp.example') and No_of_Employees between 10 and 20) \
         ORDER BY Last_Name desc, id LIMIT 5, 10",
    );
    // Leads have no Account_Name lookup: Contacts do.
    assert_eq!(plan.unwrap_err()["message"], "column given seems to be invalid");
    let plan = planned(
        "select Last_Name, Account_Name.Account_Name, Owner.email from Contacts \
         where (Last_Name = 'O''Brien' or Email like '%@corp.example') and Created_Time >= '2024-01-01T00:00:00+00:00' \
         order by Last_Name desc, id limit 5, 10",
    )
    .unwrap();
    assert_eq!(plan.module, "Contacts");
    let keys: Vec<&str> = plan.columns.iter().map(SelectColumn::key).collect();
    assert_eq!(keys, ["Last_Name", "Account_Name.Account_Name", "Owner.email"]);
    assert_eq!((plan.select.offset, plan.select.limit, plan.count), (5, 11, 10));
    assert_eq!(plan.select.order_by[0].direction, Direction::Desc);
    let Filter::And(parts) = &plan.select.filter else { panic!("{:?}", plan.select.filter) };
    let Filter::Or(alternatives) = &parts[0] else { panic!("or first") };
    let Filter::Compare(name) = &alternatives[0] else { panic!() };
    assert_eq!(name.operands, vec![crate::query::Operand::Text("O'Brien".into())]);
    let Filter::Compare(like) = &alternatives[1] else { panic!() };
    assert_eq!(like.comparator, Comparator::Like);
}

#[test]
fn limit_forms_and_defaults() {
    let plan = planned("select Last_Name from Leads where id is not null").unwrap();
    assert_eq!((plan.select.offset, plan.count), (0, 200));
    let plan = planned("select Last_Name from Leads where id is not null limit 50 offset 100").unwrap();
    assert_eq!((plan.select.offset, plan.count), (100, 50));
    let early = plan_v2("select Last_Name from Leads where id is not null limit 201");
    assert_eq!(early["code"], "LIMIT_EXCEEDED");
    assert_eq!(early["details"], json!({"by": "limit", "limit": 200}));
    assert_eq!(error("select Last_Name from Leads where id is not null limit 2001")["details"]["limit"], 2000);
    assert_eq!(error("select Last_Name from Leads where id is not null limit 99990, 2000")["details"]["by"], "offset");
    let bad = error("select Last_Name from Leads where id is not null limit s");
    assert_eq!(
        bad,
        json!({"code": "INVALID_QUERY", "message": "limit given seems to be invalid", "details": {"limit": "s"}})
    );
    assert_eq!(error("select Last_Name from Leads where id is not null limit 0")["code"], "INVALID_DATA");
}

fn plan_v2(query: &str) -> Value {
    plan(query, &standard_schema(), chrono_tz::UTC, &[], CoqlLimits::for_version(ApiVersion::V2))
        .map(|_| Value::Null)
        .unwrap_or_else(|e| json!({"code": e.code.as_str(), "message": e.message, "details": e.details}))
}

#[test]
fn syntax_errors_say_where() {
    assert_eq!(
        error("select Last_Name Leads where id is not null"),
        json!({"code": "SYNTAX_ERROR", "message": "unexpected token", "details": {"line": 1, "column": 18, "near": "Leads"}})
    );
    assert_eq!(
        error("select Last_Name from Leads"),
        json!({"code": "SYNTAX_ERROR", "message": "missing clause", "details": {"clause": "where"}})
    );
    assert_eq!(error("select Last_Name")["details"], json!({"clause": "from"}));
    assert_eq!(error("delete from Leads")["message"], "given coql query not supported");
    assert_eq!(error("select COUNT(id) from Leads where id is not null")["message"], "given coql query not supported");
    assert_eq!(error("select Last_Name from Leads where not Last_Name = 'x'")["details"], json!({"operator": "not"}));
    assert_eq!(error("select Last_Name from Leads where Last_Name = ")["code"], "SYNTAX_ERROR");
    assert_eq!(error("select Last_Name from Leads where Last_Name = 'open")["code"], "SYNTAX_ERROR");
    let second_line = error("select Last_Name\nfrom Leads where Last_Name ~ 'x'");
    assert_eq!(second_line["details"], json!({"line": 2, "column": 28, "near": "~"}));
    let deep = format!("select id from Leads where {}id is null{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(error(&deep)["code"], "SYNTAX_ERROR");
}

#[test]
fn invalid_queries_name_the_column() {
    assert_eq!(
        error("select Nope from Leads where id is not null"),
        json!({"code": "INVALID_QUERY", "message": "column given seems to be invalid", "details": {"column_name": "Nope"}})
    );
    assert_eq!(
        error("select Last_Name from Leads where Annual_Revenue like '1%'"),
        json!({"code": "INVALID_QUERY", "message": "Invalid query formed",
               "details": {"reason": "invalid operator found", "column_name": "Annual_Revenue", "operator": "like"}})
    );
    assert_eq!(
        error("select Last_Name from Leads where No_of_Employees = 'many'"),
        json!({"code": "INVALID_QUERY", "message": "value given seems to be invalid for the column",
               "details": {"column_name": "No_of_Employees", "expected_data_type": "integer"}})
    );
    assert_eq!(error("select Last_Name, last_name from Leads where id is not null")["code"], "DUPLICATE_DATA");
    assert_eq!(error("select Last_Name from Nowhere where id is not null")["code"], "INVALID_MODULE");
    let many = (0..26).map(|i| format!("Last_Name = '{i}'")).collect::<Vec<_>>().join(" or ");
    assert_eq!(error(&format!("select id from Leads where {many}"))["details"], json!({"by": "where", "limit": 25}));
}

#[test]
fn quoted_names_and_keywords_in_any_case() {
    let plan = planned("SeLeCt 'Last_Name' FrOm Leads WhErE Email Is NoT NuLl Or Last_Name NOT IN ('a', 'b')").unwrap();
    assert_eq!(plan.columns[0].key(), "Last_Name");
    let Filter::Or(parts) = plan.select.filter else { panic!() };
    let Filter::Compare(first) = &parts[0] else { panic!() };
    assert_eq!(first.comparator, Comparator::IsNotEmpty);
    let Filter::Compare(second) = &parts[1] else { panic!() };
    assert_eq!((second.comparator, second.operands.len()), (Comparator::NotIn, 2));
}
