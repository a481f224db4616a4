//! Selecting records by a typed filter: comparisons typed per field kind, emptiness, boolean
//! trees, sorting, keyset and offset paging, counting, and scoping by org and module.

use std::sync::Arc;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::query::{Builder, Comparator, Direction, Filter, Select, SortKey, Surface};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::schema::{Field, Module};
use bulkwrite_wire::Operation;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::*;

const SECOND_OWNER: UserId = UserId::new_const(5_725_767_000_000_000_102);

/// Leads with a few more fields, so every value kind is exercised.
fn module() -> Module {
    let mut module = standard_schema().module("Leads").unwrap().clone();
    for (name, data_type) in [
        ("Birth", "date"),
        ("Met_At", "datetime"),
        ("Big", "bigint"),
        ("Tags", "multiselectpicklist"),
        ("Account", "lookup"),
    ] {
        let field: Field = serde_json::from_value(json!({
            "id": format!("9{}", name.len()), "api_name": name, "field_label": name, "data_type": data_type
        }))
        .unwrap();
        module.fields.push(field);
    }
    module
}

fn draft(row_no: u64, values: Value, owner: UserId) -> RowDraft {
    let Value::Object(values) = values else { panic!("an object") };
    RowDraft { values: values.into(), owner: Some(owner), ..RowDraft::new(row_no, Vec::new()) }
}

async fn write(store: &Arc<dyn Store>, org: OrgId, module: &str, row: RowDraft, now: DateTime<Utc>) -> RecordId {
    let write = RecordWrite {
        module: module.into(),
        operation: Operation::Insert,
        rows: vec![row],
        default_owner: ADMIN,
        default_layout: None,
        actor: ADMIN,
        now,
        full_name: false,
    };
    let results = store.write_records(org, write).await.expect("write");
    results[0].record_id.expect("inserted")
}

/// Three Leads of ORG (ids ascending, an hour apart), one of another org, one Contact.
async fn seed(store: &Arc<dyn Store>) -> (Vec<RecordId>, DateTime<Utc>) {
    with_org(store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let t0 = DateTime::from_timestamp(1_700_000_000, 250_000_000).unwrap();
    let rows = [
        json!({"Last_Name": "Alpha", "Email": "Alpha@Example.com", "No_of_Employees": 9, "Big": "9",
               "Annual_Revenue": 1.5, "Email_Opt_Out": true, "Birth": "1990-05-01",
               "Met_At": "2024-01-01T10:00:00+05:30", "Tags": ["Red", "Blue"],
               "Account": {"name": "Zylker", "id": "501"}, "Description": "50% off_now"}),
        json!({"Last_Name": "beta", "Email": "beta@corp.example", "No_of_Employees": 10, "Big": "10",
               "Annual_Revenue": 20.25, "Email_Opt_Out": false, "Birth": "1985-12-31",
               "Met_At": "2024-01-01T05:00:00+00:00", "Tags": ["green"],
               "Account": {"name": null, "id": "502"}, "Description": "50 percent"}),
        json!({"Last_Name": "Gamma", "Email": "", "No_of_Employees": 100, "Big": "100",
               "Annual_Revenue": null, "Tags": []}),
    ];
    let mut ids = Vec::new();
    for (index, values) in rows.into_iter().enumerate() {
        let owner = if index == 2 { SECOND_OWNER } else { ADMIN };
        let now = t0 + Duration::hours(index as i64);
        ids.push(write(store, ORG, "Leads", draft(index as u64 + 1, values, owner), now).await);
    }
    let alpha = json!({"Last_Name": "Alpha", "Email": "alpha@example.com"});
    write(store, OTHER_ORG, "Leads", draft(1, alpha.clone(), OTHER_ADMIN), t0).await;
    write(store, ORG, "Contacts", draft(1, alpha, ADMIN), t0).await;
    (ids, t0)
}

fn compare(field: &str, comparator: Comparator, values: Value) -> Filter {
    let values = match values {
        Value::Array(values) => values,
        other => vec![other],
    };
    let module = module();
    Builder::new(&module, Surface::Coql, chrono_tz::Asia::Kolkata)
        .compare(field, comparator, &values)
        .unwrap_or_else(|e| panic!("{field} {comparator:?}: {e}"))
}

/// As records search builds it (lookups may be named).
fn search(field: &str, comparator: Comparator, values: Value) -> Filter {
    let values = match values {
        Value::Array(values) => values,
        other => vec![other],
    };
    let module = module();
    Builder::new(&module, Surface::Search, chrono_tz::Asia::Kolkata)
        .compare(field, comparator, &values)
        .unwrap_or_else(|e| panic!("{field} {comparator:?}: {e}"))
}

async fn ids_of(store: &Arc<dyn Store>, select: &Select) -> Vec<RecordId> {
    store.select_records(ORG, "Leads", select).await.expect("select").into_iter().map(|r| r.id).collect()
}

async fn matching(store: &Arc<dyn Store>, filter: Filter) -> Vec<RecordId> {
    let count = store.count_matching(ORG, "Leads", &filter).await.expect("count");
    let ids = ids_of(store, &Select::new(filter.clone(), 100)).await;
    assert_eq!(count, ids.len() as u64, "count agrees with the selection for {filter:?}");
    ids
}

pub async fn selects_compare_typed_values(store: Arc<dyn Store>) {
    let (ids, t0) = seed(&store).await;
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    use Comparator::{
        Between, Contains, EndsWith, Equal, GreaterEqual, GreaterThan, In, IsEmpty, LessThan, Like, NotBetween,
        NotEqual, NotIn, NotLike, StartsWith,
    };
    let cases: Vec<(&str, Filter, Vec<RecordId>)> = vec![
        ("text equal folds case", compare("Email", Equal, json!("ALPHA@example.COM")), vec![a]),
        ("text in", compare("Last_Name", In, json!(["BETA", "gamma"])), vec![b, c]),
        ("starts_with", compare("Last_Name", StartsWith, json!("AL")), vec![a]),
        ("ends_with", compare("Last_Name", EndsWith, json!("MA")), vec![c]),
        ("contains", compare("Last_Name", Contains, json!("et")), vec![b]),
        ("contains a literal %", compare("Description", Contains, json!("%")), vec![a]),
        ("like with %", compare("Description", Like, json!("50%now")), vec![a]),
        ("like keeps _ literal", compare("Description", Like, json!("%_now")), vec![a]),
        ("like _ is no wildcard", compare("Description", Like, json!("5_%")), vec![]),
        ("not_like", compare("Description", NotLike, json!("50 p%")), vec![a, c]),
        ("integers compare as numbers", compare("No_of_Employees", GreaterThan, json!(9)), vec![b, c]),
        ("bigints (strings) compare as numbers", compare("Big", LessThan, json!("11")), vec![a, b]),
        ("decimals between", compare("Annual_Revenue", Between, json!([1, "20.25"])), vec![a, b]),
        ("decimal greater_equal", compare("Annual_Revenue", GreaterEqual, json!(20.25)), vec![b]),
        ("not_between keeps empty", compare("Annual_Revenue", NotBetween, json!([1, 2])), vec![b, c]),
        ("dates", compare("Birth", LessThan, json!("1990-01-01")), vec![b]),
        ("date-times as instants", compare("Met_At", GreaterThan, json!("2024-01-01T10:15:00+05:30")), vec![b]),
        ("date-time equal across offsets", compare("Met_At", Equal, json!("2024-01-01T04:30:00Z")), vec![a]),
        ("boolean true", compare("Email_Opt_Out", Equal, json!(true)), vec![a]),
        ("boolean false", compare("Email_Opt_Out", Equal, json!("false")), vec![b]),
        ("lookup id", compare("Account", Equal, json!("501")), vec![a]),
        ("lookup in", compare("Account", In, json!([501, {"id": "502"}])), vec![a, b]),
        ("lookup not_equal keeps empty", compare("Account", NotEqual, json!("501")), vec![b, c]),
        ("lookup by name (search)", search("Account", Equal, json!("ZYLKER")), vec![a]),
        ("lookup by id or name (search)", search("Account", In, json!(["zylker", "502"])), vec![a, b]),
        ("lookup not by name (search)", search("Account", NotEqual, json!("Zylker")), vec![b, c]),
        ("multi-select equal any value", compare("Tags", Equal, json!("blue")), vec![a]),
        ("multi-select not_equal", compare("Tags", NotEqual, json!("RED")), vec![b, c]),
        ("multi-select contains", compare("Tags", Contains, json!("ree")), vec![b]),
        ("empty string", compare("Email", Equal, json!("${EMPTY}")), vec![c]),
        ("not empty", compare("Email", NotEqual, json!("${EMPTY}")), vec![a, b]),
        ("empty array", compare("Tags", IsEmpty, json!([])), vec![c]),
        ("missing value", compare("Birth", IsEmpty, json!([])), vec![c]),
        ("null value", compare("Annual_Revenue", IsEmpty, json!([])), vec![c]),
        ("not_equal keeps empty", compare("Email", NotEqual, json!("alpha@example.com")), vec![b, c]),
        ("not_in", compare("No_of_Employees", NotIn, json!([9, 100])), vec![b]),
        ("owner", compare("Owner", Equal, json!(SECOND_OWNER.to_string())), vec![c]),
        ("owner not_in", compare("Owner", NotIn, json!([SECOND_OWNER.to_string()])), vec![a, b]),
        ("id", compare("id", In, json!([a.to_string(), c.to_string()])), vec![a, c]),
        ("system columns are never empty", compare("Owner", IsEmpty, json!([])), vec![]),
        (
            "created time in whole seconds",
            compare(
                "Created_Time",
                GreaterEqual,
                json!((t0 + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ),
            vec![b, c],
        ),
        (
            "created time equal to the second",
            compare("Created_Time", Equal, json!(t0.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())),
            vec![a],
        ),
    ];
    for (name, filter, expected) in cases {
        assert_eq!(matching(&store, filter).await, expected, "{name}");
    }
    let alpha = compare("Email", Equal, json!("alpha@example.com"));
    let hundred = compare("No_of_Employees", Equal, json!(100));
    let either = Filter::Or(vec![alpha.clone(), hundred.clone()]);
    assert_eq!(matching(&store, either.clone()).await, vec![a, c]);
    assert_eq!(matching(&store, Filter::Not(Box::new(either))).await, vec![b]);
    assert_eq!(matching(&store, Filter::And(vec![alpha.clone(), hundred])).await, vec![]);
    assert_eq!(matching(&store, Filter::And(Vec::new())).await, vec![a, b, c]);
    assert_eq!(matching(&store, Filter::Or(Vec::new())).await, vec![]);
    assert_eq!(matching(&store, Filter::All).await, vec![a, b, c], "only ORG's Leads");
    assert_eq!(store.count_matching(OTHER_ORG, "Leads", &alpha).await.unwrap(), 1);
    assert_eq!(store.count_matching(ORG, "Contacts", &Filter::All).await.unwrap(), 1);
}

pub async fn selects_sort_page_and_count(store: Arc<dyn Store>) {
    let (ids, _) = seed(&store).await;
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    let module = module();
    let sorted = |field: &str, direction: Direction| {
        let key = SortKey::build(&module, field, direction).unwrap();
        Select { order_by: vec![key], ..Select::new(Filter::All, 100) }
    };
    assert_eq!(ids_of(&store, &sorted("No_of_Employees", Direction::Desc)).await, vec![c, b, a]);
    assert_eq!(ids_of(&store, &sorted("Big", Direction::Asc)).await, vec![a, b, c], "bigints sort as numbers");
    assert_eq!(ids_of(&store, &sorted("Annual_Revenue", Direction::Asc)).await, vec![a, b, c], "empty last");
    assert_eq!(ids_of(&store, &sorted("Annual_Revenue", Direction::Desc)).await, vec![b, a, c], "empty last");
    assert_eq!(ids_of(&store, &sorted("Last_Name", Direction::Asc)).await, vec![a, b, c], "text ignores case");
    assert_eq!(ids_of(&store, &sorted("Met_At", Direction::Asc)).await, vec![a, b, c], "instants, not text");
    assert_eq!(ids_of(&store, &sorted("Created_Time", Direction::Desc)).await, vec![c, b, a]);
    assert_eq!(ids_of(&store, &sorted("Email_Opt_Out", Direction::Asc)).await, vec![b, a, c]);
    let page = Select { offset: 1, limit: 1, ..Select::new(Filter::All, 1) };
    assert_eq!(ids_of(&store, &page).await, vec![b]);
    let after = Select { after_id: Some(a), ..Select::new(Filter::All, 100) };
    assert_eq!(ids_of(&store, &after).await, vec![b, c]);
    let after_limited = Select { after_id: Some(a), ..Select::new(Filter::All, 1) };
    assert_eq!(ids_of(&store, &after_limited).await, vec![b]);
    let filtered = Select {
        after_id: Some(a),
        ..Select::new(compare("No_of_Employees", Comparator::GreaterEqual, json!(10)), 100)
    };
    assert_eq!(ids_of(&store, &filtered).await, vec![b, c]);
    assert_eq!(ids_of(&store, &Select::new(Filter::All, 0)).await, vec![]);
    let records = store.select_records(ORG, "Leads", &Select::new(Filter::All, 1)).await.unwrap();
    assert_eq!(records[0].values["Account"], json!({"name": "Zylker", "id": "501"}), "whole records come back");
    assert_eq!(records[0].owner, ADMIN);
}
