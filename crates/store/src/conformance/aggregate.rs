//! Aggregates and filters through lookups, run inside the store: groups counted, summed,
//! averaged and bounded per backend alike (empty values last, text as stored, empty groups
//! NULL); a filter on the record a lookup points at.

use std::sync::Arc;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::query::aggregate::{Aggregate, AggregateKey, Cell, Function, Measure};
use bulkwrite_core::query::{Builder, Column, Comparator, Direction, Filter, Surface};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_wire::Operation;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::*;

async fn write(store: &Arc<dyn Store>, module: &str, rows: Vec<Value>) -> Vec<RecordId> {
    let drafts = rows
        .into_iter()
        .enumerate()
        .map(|(index, values)| {
            let Value::Object(values) = values else { panic!("an object") };
            RowDraft { values: values.into(), owner: Some(ADMIN), ..RowDraft::new(index as u64 + 1, Vec::new()) }
        })
        .collect();
    let write = RecordWrite {
        module: module.into(),
        operation: Operation::Insert,
        rows: drafts,
        default_owner: ADMIN,
        default_layout: None,
        actor: ADMIN,
        now: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        full_name: false,
    };
    store.write_records(ORG, write).await.unwrap().iter().map(|row| row.record_id.expect("inserted")).collect()
}

fn column(name: &str) -> Column {
    Column::resolve(standard_schema().module("Leads").unwrap(), name).unwrap()
}

fn measure(function: Function, name: Option<&str>) -> Measure {
    Measure { function, column: name.map(column) }
}

pub async fn aggregates_group_count_sum_and_order(store: Arc<dyn Store>) {
    with_org(&store).await;
    write(
        &store,
        "Leads",
        vec![
            json!({"Last_Name": "A", "Lead_Source": "Web", "Annual_Revenue": 10.5, "No_of_Employees": 5}),
            json!({"Last_Name": "B", "Lead_Source": "Web", "Annual_Revenue": 20, "No_of_Employees": 7}),
            json!({"Last_Name": "C", "Lead_Source": "Cold Call", "No_of_Employees": 1}),
            json!({"Last_Name": "D"}),
            json!({"Last_Name": "E", "Lead_Source": "web", "Annual_Revenue": 1}),
        ],
    )
    .await;
    let aggregate = Aggregate {
        filter: Filter::All,
        group_by: vec![column("Lead_Source")],
        measures: vec![
            measure(Function::Count, None),
            measure(Function::Sum, Some("Annual_Revenue")),
            measure(Function::Max, Some("No_of_Employees")),
            measure(Function::Avg, Some("No_of_Employees")),
        ],
        order_by: Vec::new(),
        offset: 0,
        limit: 10,
    };
    let rows = store.aggregate_records(ORG, "Leads", &aggregate).await.unwrap();
    let text = |t: &str| Cell::Text(t.into());
    assert_eq!(
        rows,
        vec![
            vec![text("Cold Call"), Cell::Integer(1), Cell::Null, Cell::Decimal(1.0), Cell::Decimal(1.0)],
            vec![text("Web"), Cell::Integer(2), Cell::Decimal(30.5), Cell::Decimal(7.0), Cell::Decimal(6.0)],
            vec![text("web"), Cell::Integer(1), Cell::Decimal(1.0), Cell::Null, Cell::Null],
            vec![Cell::Null, Cell::Integer(1), Cell::Null, Cell::Null, Cell::Null],
        ],
        "groups by the stored text, ascending, the empty group last; SUM of nothing is NULL"
    );
    let by_count =
        Aggregate { order_by: vec![(AggregateKey::Measure(0), Direction::Desc)], limit: 1, ..aggregate.clone() };
    let rows = store.aggregate_records(ORG, "Leads", &by_count).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0][0], &rows[0][1]), (&text("Web"), &Cell::Integer(2)), "ordered by a measure, paged");
    let leads = standard_schema().module("Leads").unwrap().clone();
    let filter = Builder::new(&leads, Surface::Coql, chrono_tz::UTC)
        .compare("No_of_Employees", Comparator::GreaterThan, &[json!(2)])
        .unwrap();
    let whole = Aggregate {
        filter,
        group_by: Vec::new(),
        measures: vec![measure(Function::Count, None), measure(Function::Min, Some("Created_Time"))],
        order_by: Vec::new(),
        offset: 0,
        limit: 10,
    };
    let rows = store.aggregate_records(ORG, "Leads", &whole).await.unwrap();
    assert_eq!(
        rows,
        vec![vec![Cell::Integer(2), Cell::Instant(DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap())]],
        "no groups: one row over the matching records"
    );
    let other = store.aggregate_records(OTHER_ORG, "Leads", &whole).await.unwrap();
    assert_eq!(other, vec![vec![Cell::Integer(0), Cell::Null]], "scoped by org");
}

pub async fn a_related_filter_reaches_the_looked_up_record(store: Arc<dyn Store>) {
    with_org(&store).await;
    let accounts = write(
        &store,
        "Accounts",
        vec![json!({"Account_Name": "Zylker", "Phone": "555-0199"}), json!({"Account_Name": "Acme"})],
    )
    .await;
    let contacts = write(
        &store,
        "Contacts",
        vec![
            json!({"Last_Name": "Ng", "Account_Name": {"id": accounts[0].to_string()}}),
            json!({"Last_Name": "Moss", "Account_Name": {"id": accounts[1].to_string()}}),
            json!({"Last_Name": "Abe"}),
        ],
    )
    .await;
    let schema = standard_schema();
    let phone = |comparator: Comparator, values: &[Value]| {
        Builder::new(schema.module("Accounts").unwrap(), Surface::Coql, chrono_tz::UTC)
            .compare("Phone", comparator, values)
            .unwrap()
    };
    let related = |inner: Filter| Filter::Related {
        lookup: "Account_Name".into(),
        module: "Accounts".into(),
        filter: Box::new(inner),
    };
    let matching = |filter: Filter| {
        let store = Arc::clone(&store);
        async move {
            let select = bulkwrite_core::query::Select::new(filter, 10);
            store.select_records(ORG, "Contacts", &select).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    let equal = related(phone(Comparator::Equal, &[json!("555-0199")]));
    assert_eq!(matching(equal.clone()).await, [contacts[0]]);
    assert_eq!(
        matching(Filter::Not(Box::new(equal))).await,
        [contacts[1], contacts[2]],
        "a missing account counts as not equal"
    );
    assert_eq!(matching(related(phone(Comparator::IsNotEmpty, &[]))).await, [contacts[0]]);
    assert_eq!(matching(related(phone(Comparator::IsEmpty, &[]))).await, [contacts[1]], "only looked-up records");
    assert_eq!(store.count_matching(ORG, "Contacts", &related(Filter::All)).await.unwrap(), 2);
    assert!(store
        .select_records(OTHER_ORG, "Contacts", &bulkwrite_core::query::Select::new(related(Filter::All), 10))
        .await
        .unwrap()
        .is_empty());
}
