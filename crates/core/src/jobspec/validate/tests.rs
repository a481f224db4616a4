use std::collections::HashMap;

use serde_json::{json, Value};

use super::*;
use crate::jobspec::parse_request;
use crate::schema::standard::standard_schema;
use crate::schema::{CustomFieldSpec, OrgSchema};

const FILE_ID: &str = "5725767000000009001";

fn schema() -> OrgSchema {
    let mut schema = standard_schema();
    let date_3 = CustomFieldSpec {
        module: "Leads".into(),
        api_name: "Date_3".into(),
        field_label: None,
        data_type: DataType::Date,
        length: None,
        decimal_place: None,
        unique: false,
        mandatory: false,
        pick_list_values: vec![],
        restricted_picklist: false,
        lookup_module: None,
    };
    schema.apply_custom_field(&date_3, "5725767000000099001".into()).unwrap();
    schema
}

fn files(header: &[&str]) -> HashMap<String, Vec<CsvEntry>> {
    let entry = CsvEntry {
        name: "leads.csv".into(),
        header: header.iter().map(|h| h.to_string()).collect(),
        encoding: "UTF-8".into(),
        problem: None,
    };
    HashMap::from([(FILE_ID.to_string(), vec![entry])])
}

fn seed() -> Value {
    json!({
        "operation": "insert",
        "ignore_empty": true,
        "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
        "resource": [{
            "type": "data",
            "module": "Leads",
            "file_id": FILE_ID,
            "field_mappings": [
                {"api_name": "Last_Name", "index": 0},
                {"api_name": "Owner", "index": 1},
                {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                {"api_name": "Mobile", "index": 3},
                {"api_name": "Layout", "index": 4}
            ]
        }]
    })
}

const SEED_HEADER: &[&str] = &["Last_Name", "Owner", "Date_3", "Mobile", "Layout"];

fn run(body: Value, header: &[&str]) -> Result<JobSpec, ApiError> {
    let schema = schema();
    let files = files(header);
    let expired_files = std::collections::HashSet::new();
    let ctx =
        ValidationContext { schema: &schema, files: &files, expired_files: &expired_files, limits: Limits::default() };
    validate(&parse_request(&body)?, &ctx)
}

#[test]
fn an_expired_upload_is_not_found_after_the_module_check() {
    let schema = schema();
    let files = HashMap::new();
    let expired_files = std::collections::HashSet::from([FILE_ID.to_string()]);
    let ctx =
        ValidationContext { schema: &schema, files: &files, expired_files: &expired_files, limits: Limits::default() };
    let error = validate(&parse_request(&seed()).unwrap(), &ctx).unwrap_err();
    assert_eq!(error.code, ErrorCode::FileNotFound);
    let mut unknown_module = seed();
    unknown_module["resource"][0]["module"] = json!("Widgets");
    let error = validate(&parse_request(&unknown_module).unwrap(), &ctx).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModuleNotAvailable, "the module is checked first");
}

fn code(body: Value, header: &[&str]) -> String {
    run(body, header).unwrap_err().code.as_str().to_string()
}

#[test]
fn the_seed_validates() {
    let spec = run(seed(), SEED_HEADER).unwrap();
    let resource = &spec.resources[0];
    assert_eq!(resource.module, "Leads");
    assert_eq!(resource.csv_name, "leads.csv");
    assert!(resource.effective_ignore_empty);
    assert_eq!(resource.echo_columns, [0, 1, 2]);
    assert_eq!(resource.echo_headers(), ["Last_Name", "Owner", "Date_3"]);
}

#[test]
fn unknown_file_is_file_not_supported_and_malformed_is_invalid_file_id() {
    let mut body = seed();
    body["resource"][0]["file_id"] = json!("415086800000537900");
    assert_eq!(code(body, SEED_HEADER), "FILE_NOT_SUPPORTED");
    let mut body = seed();
    body["resource"][0]["file_id"] = json!("abc");
    assert_eq!(code(body, SEED_HEADER), "INVALID_FILE_ID");
}

#[test]
fn module_errors_come_before_file_errors() {
    let mut body = seed();
    body["resource"][0]["module"] = json!({"api_name": "Widgets"});
    body["resource"][0]["file_id"] = json!("1");
    let error = run(body, SEED_HEADER).unwrap_err();
    assert_eq!(error.code.as_str(), "MODULE_NOT_AVAILABLE");
    assert_eq!(error.message, "Requested module 'Widgets' is not available.");
}

#[test]
fn mapping_errors() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/resource/0/field_mappings/0/api_name", json!("Lst_Name"), "INVALID_FIELD"),
        ("/resource/0/field_mappings/3/index", json!(9), "COLUMN_INDEX_NOT_FOUND"),
        ("/resource/0/field_mappings/2/format", json!("HH:mm"), "INVALID_FORMAT"),
        ("/resource/0/field_mappings/3/format", json!("yyyy"), "INVALID_FORMAT"),
        ("/resource/0/field_mappings/3/api_name", json!("Created_Time"), "INVALID_FIELD"),
        ("/resource/0/field_mappings/3/api_name", json!("Last_Name"), "INVALID_DATA"),
    ];
    for (pointer, value, expected) in cases {
        let mut body = seed();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.to_string(), value);
        assert_eq!(code(body, SEED_HEADER), expected, "{pointer}");
    }
}

#[test]
fn invalid_field_message_names_the_field() {
    let mut body = seed();
    body["resource"][0]["field_mappings"][0]["api_name"] = json!("Lst_Name");
    assert_eq!(run(body, SEED_HEADER).unwrap_err().message, "invalid mapping. invalid api_name Lst_Name.");
}

#[test]
fn mandatory_fields_must_be_mapped_unless_updating() {
    let mut body = seed();
    body["resource"][0]["field_mappings"].as_array_mut().unwrap().remove(0);
    assert_eq!(code(body.clone(), SEED_HEADER), "MANDATORY_FIELDS_NOT_MAPPED");
    body["operation"] = json!("update");
    body["resource"][0]["find_by"] = json!("Email");
    assert!(run(body, SEED_HEADER).is_ok());
}

#[test]
fn layout_mandatory_company_is_required_when_no_layout_is_mapped() {
    let mut body = seed();
    body["resource"][0]["field_mappings"].as_array_mut().unwrap().remove(4);
    assert_eq!(code(body.clone(), SEED_HEADER), "MANDATORY_FIELDS_NOT_MAPPED");
    body["resource"][0]["field_mappings"].as_array_mut().unwrap().push(json!({"api_name": "Company", "index": 4}));
    assert!(run(body, SEED_HEADER).is_ok());
}

#[test]
fn find_by_is_required_for_update_and_upsert_and_must_be_unique() {
    let mut body = seed();
    body["operation"] = json!("upsert");
    let error = run(body.clone(), SEED_HEADER).unwrap_err();
    assert_eq!(error.code.as_str(), "MANDATORY_NOT_FOUND");
    assert_eq!(error.message, "Required key find_by is not available");
    body["resource"][0]["find_by"] = json!("Mobile");
    assert_eq!(code(body.clone(), SEED_HEADER), "INVALID_DATA");
    body["resource"][0]["find_by"] = json!("email");
    assert_eq!(run(body, SEED_HEADER).unwrap().resources[0].find_by.as_deref(), Some("Email"));
}

#[test]
fn auto_mapping_reads_the_header() {
    let mut body = seed();
    body["resource"][0].as_object_mut().unwrap().remove("field_mappings");
    let spec = run(body.clone(), &["Last_Name", "Company", "Email", "Phone"]).unwrap();
    let resource = &spec.resources[0];
    assert!(resource.auto_mapped);
    assert_eq!(resource.mappings.len(), 4);
    assert_eq!(resource.echo_headers(), ["Last_Name", "Company", "Email"]);
    assert_eq!(code(body, &["Last_Name", "Company", "Nope"]), "INVALID_FIELD");
}

#[test]
fn too_many_columns_is_header_limit_exceeded() {
    let header: Vec<String> = (0..201).map(|i| format!("C{i}")).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    assert_eq!(code(seed(), &header), "HEADER_LIMIT_EXCEEDED");
}
