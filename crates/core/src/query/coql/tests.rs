//! COQL parsing and planning, refusals included.

use serde_json::{json, Value};

use super::*;
use crate::query::aggregate::{AggregateKey, Function};
use crate::query::{Comparator, Direction, Filter, UserName};
use crate::schema::standard::standard_schema;
use crate::version::ApiVersion;

fn planned_any(query: &str) -> Result<Planned, Value> {
    plan(query, &standard_schema(), chrono_tz::UTC, &users(), CoqlLimits::for_version(ApiVersion::V8))
        .map_err(|e| json!({"code": e.code.as_str(), "message": e.message, "details": e.details}))
}

fn planned(query: &str) -> Result<Plan, Value> {
    match planned_any(query)? {
        Planned::Records(plan) => Ok(plan),
        Planned::Aggregate(other) => panic!("records expected: {other:?}"),
    }
}

fn grouped(query: &str) -> AggregatePlan {
    match planned_any(query) {
        Ok(Planned::Aggregate(plan)) => plan,
        other => panic!("an aggregate expected: {other:?}"),
    }
}

fn users() -> Vec<UserName> {
    let user = |id: u64, first: &str, last: &str, email: &str| UserName {
        id,
        full_name: format!("{first} {last}"),
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
    };
    vec![user(71, "Mara", "Quist", "mara@corp.example"), user(72, "Ed", "Ng", "ed@other.example")]
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
    assert_eq!(
        plan_v2("select COUNT(id) from Leads where id is not null")["message"],
        "given coql query not supported"
    );
    assert_eq!(
        error("select TRIM(Last_Name) from Leads where id is not null")["message"],
        "given coql query not supported"
    );
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

#[test]
fn dot_notation_in_where_reaches_the_looked_up_record_and_the_user() {
    let plan = planned(
        "select Last_Name from Contacts where Account_Name.Phone = '555' and Owner.email like '%@corp.example'",
    )
    .unwrap();
    let Filter::And(parts) = &plan.select.filter else { panic!("{:?}", plan.select.filter) };
    let Filter::Related { lookup, module, filter } = &parts[0] else { panic!("{:?}", parts[0]) };
    assert_eq!((lookup.as_str(), module.as_str()), ("Account_Name", "Accounts"));
    let Filter::Compare(phone) = filter.as_ref() else { panic!() };
    assert_eq!(phone.column.api_name(), "Phone");
    let Filter::Compare(owner) = &parts[1] else { panic!("{:?}", parts[1]) };
    assert_eq!((owner.comparator, owner.operands.clone()), (Comparator::In, vec![crate::query::Operand::Id(71)]));
    // Negations and emptiness hold where there is no looked-up record.
    let plan = planned("select id from Contacts where Account_Name.Phone != '555'").unwrap();
    assert!(matches!(&plan.select.filter, Filter::Not(inner) if matches!(inner.as_ref(), Filter::Related { .. })));
    let plan = planned("select id from Contacts where Account_Name.Phone is null").unwrap();
    assert!(matches!(&plan.select.filter, Filter::Not(inner) if matches!(inner.as_ref(), Filter::Related { .. })));
    let plan = planned("select id from Contacts where Account_Name.Phone is not null").unwrap();
    assert!(matches!(&plan.select.filter, Filter::Related { .. }));
    let plan = planned("select id from Leads where Owner.last_name = 'nobody'").unwrap();
    assert_eq!(plan.select.filter, Filter::Or(Vec::new()), "no user matches: no record does");
    assert_eq!(
        error("select id from Contacts where Account_Name.Colour = 'x'")["details"],
        json!({"column_name": "Account_Name.Colour"})
    );
    assert_eq!(error("select id from Contacts where Last_Name.x = 'x'")["message"], "column given seems to be invalid");
    assert_eq!(
        error("select id from Contacts where Account_Name.Phone > 5")["details"],
        json!({"reason": "invalid operator found", "column_name": "Account_Name.Phone", "operator": ">"})
    );
    assert_eq!(
        error("select id from Leads where Owner.email > 'a'")["details"],
        json!({"reason": "invalid operator found", "column_name": "Owner.email", "operator": ">"})
    );
}

#[test]
fn aggregates_group_and_order() {
    let plan = grouped(
        "select Lead_Source, COUNT(id), sum(Annual_Revenue) as total, max(No_of_Employees) from Leads \
         where id is not null group by Lead_Source order by total desc limit 5",
    );
    let keys: Vec<&str> = plan.outputs.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["Lead_Source", "COUNT(id)", "total", "MAX(No_of_Employees)"]);
    assert_eq!(plan.aggregate.group_by.len(), 1);
    let functions: Vec<Function> = plan.aggregate.measures.iter().map(|m| m.function).collect();
    assert_eq!(functions, [Function::Count, Function::Sum, Function::Max]);
    assert!(plan.aggregate.measures[0].column.is_none(), "COUNT(id) counts records");
    assert_eq!(plan.aggregate.order_by, vec![(AggregateKey::Measure(1), Direction::Desc)]);
    assert_eq!((plan.count, plan.aggregate.limit), (5, 6));
    let plan = grouped("select COUNT(*) from Leads where Email is null");
    assert_eq!(plan.outputs[0].key, "COUNT(id)");
    let plan = grouped("select Lead_Source from Leads where id is not null group by Lead_Source order by lead_source");
    assert_eq!(plan.aggregate.order_by, vec![(AggregateKey::Group(0), Direction::Asc)]);
}

#[test]
fn aggregates_misused_are_refused() {
    assert_eq!(
        error("select Last_Name, COUNT(id) from Leads where id is not null"),
        json!({"code": "INVALID_QUERY", "message": "Invalid query formed",
               "details": {"reason": "the column is neither grouped nor aggregated", "column_name": "Last_Name"}})
    );
    assert_eq!(
        error("select SUM(Last_Name) from Leads where id is not null"),
        json!({"code": "INVALID_QUERY", "message": "data type not supported",
               "details": {"column_name": "Last_Name", "data_type": "text", "function": "SUM"}})
    );
    assert_eq!(error("select MAX(Email_Opt_Out) from Leads where id is not null")["details"]["data_type"], "boolean");
    assert_eq!(error("select AVG(Nope) from Leads where id is not null")["details"], json!({"column_name": "Nope"}));
    assert_eq!(
        error("select COUNT(id) as n, SUM(No_of_Employees) as n from Leads where id is not null"),
        json!({"code": "DUPLICATE_ALIAS", "message": "duplicate alias found", "details": {"alias": "n"}})
    );
    assert_eq!(error("select COUNT(id) as Email from Leads where id is not null")["code"], "INVALID_ALIAS");
    assert_eq!(
        error("select COUNT(id) from Leads where id is not null order by Last_Name")["details"]["reason"],
        "order by names neither a grouped column nor an aggregate"
    );
    assert_eq!(
        error("select COUNT(id) from Leads where id is not null group by Email, email")["code"],
        "DUPLICATE_DATA"
    );
    assert_eq!(
        error("select Account_Name.Phone, COUNT(id) from Contacts where id is not null group by Account_Name.Phone")
            ["details"]["reason"],
        "dot notation is not supported with aggregate functions"
    );
    assert_eq!(error("select COUNT(id) from Leads")["details"], json!({"clause": "where"}));
}
