use bulkwrite_wire::{DefaultValue, FieldMapping};

use super::*;
use crate::jobspec::ResourceSpec;
use crate::schema::standard::standard_schema;

const OWNER: u64 = 5725767000000000101;

fn users() -> UserDirectory {
    UserDirectory::new([UserEntry {
        id: UserId::new(OWNER),
        full_name: "Mara Quist".into(),
        email: "mara@example.com".into(),
    }])
}

fn mapping(api_name: &str, index: u32) -> FieldMapping {
    FieldMapping { api_name: api_name.into(), index: Some(index), ..FieldMapping::default() }
}

fn resource(mappings: Vec<FieldMapping>, header: &[&str], find_by: Option<&str>, ignore_empty: bool) -> ResourceSpec {
    ResourceSpec {
        module: "Leads".into(),
        module_id: "1".into(),
        file_id: "1".into(),
        csv_name: "leads.csv".into(),
        file_names: None,
        find_by: find_by.map(str::to_string),
        ignore_empty: None,
        effective_ignore_empty: ignore_empty,
        echo_columns: vec![0, 1, 2],
        parent_link: None,
        denied_fields: Vec::new(),
        mappings,
        auto_mapped: false,
        header: header.iter().map(|h| h.to_string()).collect(),
    }
}

fn mapper(resource: &ResourceSpec, operation: Operation) -> RowMapper {
    let schema = standard_schema();
    RowMapper::new(resource, schema.module("Leads").unwrap(), operation, chrono_tz::UTC, users())
}

fn row(cells: &[&str]) -> csv::StringRecord {
    csv::StringRecord::from(cells.to_vec())
}

fn leads_resource() -> ResourceSpec {
    resource(
        vec![
            mapping("Last_Name", 0),
            mapping("Email", 1),
            mapping("Company", 2),
            mapping("Owner", 3),
            mapping("Layout", 4),
        ],
        &["Name", "Mail", "Org", "Owner", "Layout"],
        None,
        false,
    )
}

#[test]
fn a_valid_row_maps_values_owner_layout_and_keys() {
    let mapper = mapper(&leads_resource(), Operation::Insert);
    let draft = mapper.map_row(1, &row(&["Smith", "A@B.co", "Acme", &OWNER.to_string(), "standard"]));
    assert!(draft.errors.is_empty(), "{:?}", draft.errors);
    assert_eq!(draft.echo, ["Smith", "A@B.co", "Acme"]);
    assert_eq!(draft.values["Last_Name"], "Smith");
    assert_eq!(draft.owner, Some(UserId::new(OWNER)));
    assert!(draft.layout_id.is_some());
    assert_eq!(draft.unique_keys, [UniqueKey { field: "Email".into(), value: "a@b.co".into(), column: "Mail".into() }]);
}

#[test]
fn errors_name_the_csv_column() {
    let mapper = mapper(&leads_resource(), Operation::Insert);
    let draft = mapper.map_row(2, &row(&["", "not-an-email", "", "42", ""]));
    let errors: Vec<(RowErrorCode, &str)> = draft.errors.iter().map(|e| (e.code, e.column.as_str())).collect();
    assert_eq!(
        errors,
        [
            (RowErrorCode::MandatoryNotFound, "Name"),
            (RowErrorCode::InvalidData, "Mail"),
            (RowErrorCode::InvalidData, "Owner"),
        ]
    );
}

#[test]
fn layout_mandatory_fields_apply_only_when_no_layout_is_mapped() {
    let mut without_layout = leads_resource();
    without_layout.mappings.pop();
    let draft = mapper(&without_layout, Operation::Insert).map_row(1, &row(&["Smith", "", "", "", ""]));
    assert_eq!(
        draft.errors.iter().map(|e| (e.code, e.column.as_str())).collect::<Vec<_>>(),
        [(RowErrorCode::MandatoryNotFound, "Org")]
    );
    let with_layout = mapper(&leads_resource(), Operation::Insert).map_row(1, &row(&["Smith", "", "", "", "Standard"]));
    assert!(
        with_layout.errors.is_empty(),
        "a bulk insert into a named layout does not enforce its extra mandatory fields"
    );
}

#[test]
fn an_unknown_layout_falls_back_to_the_default() {
    let mapper = mapper(&leads_resource(), Operation::Insert);
    let draft = mapper.map_row(1, &row(&["Smith", "", "Acme", "", "Nope"]));
    assert!(draft.errors.is_empty());
    assert_eq!(draft.layout_id, standard_schema().module("Leads").unwrap().default_layout().map(|l| l.id.clone()));
}

#[test]
fn default_values_fill_empty_cells_and_constant_mappings() {
    let mut spec = leads_resource();
    spec.mappings[2].default_value = Some(DefaultValue { value: Some("Default Co".into()), ..DefaultValue::default() });
    spec.mappings.push(FieldMapping {
        api_name: "Lead_Source".into(),
        default_value: Some(DefaultValue { value: Some("Web Download".into()), ..DefaultValue::default() }),
        ..FieldMapping::default()
    });
    let draft = mapper(&spec, Operation::Insert).map_row(1, &row(&["Smith", "", "", "", ""]));
    assert!(draft.errors.is_empty(), "{:?}", draft.errors);
    assert_eq!(draft.values["Company"], "Default Co");
    assert_eq!(draft.values["Lead_Source"], "Web Download");
}

#[test]
fn extra_cells_are_an_error_and_missing_trailing_cells_are_empty() {
    let mapper = mapper(&leads_resource(), Operation::Insert);
    let extra = mapper.map_row(1, &row(&["Smith", "", "Acme", "", "", "surplus"]));
    assert_eq!(extra.errors[0].code, RowErrorCode::InvalidData);
    assert_eq!(extra.errors[0].column, "Layout");
    let short = mapper.map_row(2, &row(&["Smith", "", "Acme"]));
    assert!(short.errors.is_empty());
}

#[test]
fn update_with_ignore_empty_leaves_empty_cells_alone() {
    let mut spec = leads_resource();
    spec.find_by = Some("Email".into());
    spec.effective_ignore_empty = true;
    let draft = mapper(&spec, Operation::Update).map_row(1, &row(&["", "a@b.co", "", "", ""]));
    assert!(draft.errors.is_empty());
    assert!(!draft.values.contains_key("Last_Name"));
    assert_eq!(
        draft.find_key,
        Some(FindKey::Unique { field: "Email".into(), value: "a@b.co".into(), column: "Mail".into() })
    );
}

#[test]
fn update_without_ignore_empty_clears_fields_but_not_mandatory_ones() {
    let mut spec = leads_resource();
    spec.find_by = Some("Email".into());
    let draft = mapper(&spec, Operation::Update).map_row(1, &row(&["Smith", "a@b.co", "Acme", "", ""]));
    assert!(draft.errors.is_empty());
    let cleared = mapper(&spec, Operation::Update).map_row(2, &row(&["", "a@b.co", "Acme", "", ""]));
    assert_eq!(cleared.errors[0].code, RowErrorCode::MandatoryNotFound);
    let mut with_phone = spec.clone();
    with_phone.mappings.push(mapping("Phone", 3));
    let phone_cleared = mapper(&with_phone, Operation::Update).map_row(3, &row(&["Smith", "a@b.co", "Acme", "", ""]));
    assert_eq!(phone_cleared.values["Phone"], serde_json::Value::Null);
}

#[test]
fn upsert_defers_mandatory_errors_to_the_insert_path() {
    let mut spec = leads_resource();
    spec.find_by = Some("Email".into());
    spec.effective_ignore_empty = true;
    let draft = mapper(&spec, Operation::Upsert).map_row(1, &row(&["", "a@b.co", "Acme", "", ""]));
    assert!(draft.errors.is_empty());
    assert_eq!(draft.missing_for_insert.len(), 1);
}

#[test]
fn find_by_id_reads_the_id_column() {
    let spec = resource(vec![mapping("id", 0), mapping("Last_Name", 1)], &["Record Id", "Name"], Some("id"), false);
    let draft = mapper(&spec, Operation::Update).map_row(1, &row(&["5725767000000200001", "Smith"]));
    assert_eq!(
        draft.find_key,
        Some(FindKey::Id { id: RecordId::new(5725767000000200001), column: "Record Id".into() })
    );
    let bad = mapper(&spec, Operation::Update).map_row(2, &row(&["abc", "Smith"]));
    assert_eq!(bad.errors[0].code, RowErrorCode::InvalidData);
    let empty = mapper(&spec, Operation::Update).map_row(3, &row(&["", "Smith"]));
    assert!(matches!(empty.find_key, Some(FindKey::Missing { .. })));
}

#[test]
fn owner_by_email() {
    let mut spec = leads_resource();
    spec.mappings[3].find_by = Some("email".into());
    let draft = mapper(&spec, Operation::Insert).map_row(1, &row(&["Smith", "", "Acme", "MARA@example.com", ""]));
    assert_eq!(draft.owner, Some(UserId::new(OWNER)));
}

#[test]
fn a_field_the_profile_may_not_edit_fails_rows_that_give_it_a_value() {
    let mut spec = leads_resource();
    spec.mappings.push(mapping("Phone", 5));
    spec.header.push("Tel".into());
    spec.denied_fields = vec!["Phone".into()];
    let given = mapper(&spec, Operation::Insert).map_row(1, &row(&["Smith", "a@b.co", "Acme", "", "", "555"]));
    assert_eq!(given.errors.len(), 1);
    assert_eq!(given.errors[0].code, RowErrorCode::InvalidData);
    assert_eq!(given.errors[0].column, "Tel");
    assert!(!given.values.contains_key("Phone"));
    let empty = mapper(&spec, Operation::Insert).map_row(2, &row(&["Smith", "a@b.co", "Acme", "", "", ""]));
    assert!(empty.errors.is_empty());
    // An update without ignore_empty does not clear it either: clearing would edit it.
    spec.find_by = Some("Email".into());
    let update = mapper(&spec, Operation::Update).map_row(3, &row(&["Smith", "a@b.co", "Acme", "", "", ""]));
    assert!(update.errors.is_empty());
    assert!(!update.values.contains_key("Phone"));
    // A default value is a value.
    spec.mappings[5].default_value =
        Some(DefaultValue { value: Some(serde_json::json!("000")), ..DefaultValue::default() });
    let defaulted = mapper(&spec, Operation::Update).map_row(4, &row(&["Smith", "a@b.co", "Acme", "", "", ""]));
    assert_eq!(defaulted.errors[0].column, "Tel");
}

#[test]
fn a_field_mapped_twice_holds_the_later_columns_value_in_the_first_ones_place() {
    let resource = resource(
        vec![mapping("Last_Name", 0), mapping("Company", 1), mapping("Last_Name", 2)],
        &["Name", "Org", "Other name"],
        None,
        false,
    );
    let draft = mapper(&resource, Operation::Insert).map_row(1, &row(&["Boyle", "Zylker", "Okafor"]));
    assert!(draft.errors.is_empty(), "{:?}", draft.errors);
    let fields: Vec<(&str, &Value)> = draft.values.iter().collect();
    assert_eq!(fields, [("Last_Name", &Value::from("Okafor")), ("Company", &Value::from("Zylker"))]);

    assert!(!mapper(&resource, Operation::Insert).distinct_fields);
    assert!(
        mapper(&leads_resource(), Operation::Insert).distinct_fields,
        "distinct fields are appended without a scan"
    );
}
