//! Reading Bulk Read requests: shapes of each version, defaults, and Zoho's errors.

use serde_json::{json, Value};

use super::*;
use crate::schema::standard::standard_schema;
use crate::schema::OrgSchema;

fn read(body: Value) -> Result<ReadSpec, bulkwrite_wire::ApiError> {
    let schema: OrgSchema = standard_schema();
    let body = parse_read_body(body.to_string().as_bytes())?;
    validate_read(&body, &ReadContext { schema: &schema, user: 7, per_page: 200_000 })
}

fn code(body: Value) -> (String, Value) {
    let error = read(body).expect_err("refused");
    (error.code.as_str().to_string(), Value::Object(error.details))
}

#[test]
fn v2_and_v8_shapes_read_alike() {
    let v2 = read(json!({"query": {"module": "Leads", "fields": ["last_name", "Email"], "page": 1}})).unwrap();
    let v8 = read(json!({"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Email"]}})).unwrap();
    assert_eq!(v2, v8);
    assert_eq!(v2.fields, vec!["Last_Name", "Email"], "canonical names");
    assert_eq!((v2.page, v2.per_page, v2.file_type), (1, 200_000, FileType::Csv));
    assert_eq!(v2.query_echo(ApiVersion::V2)["module"], json!("Leads"));
    assert_eq!(v2.query_echo(ApiVersion::V8)["module"]["api_name"], json!("Leads"));
}

#[test]
fn dot_notation_reaches_through_lookups_and_users() {
    let spec =
        read(json!({"query": {"module": "Contacts", "fields": ["Owner.last_name", "Account_Name.Phone"]}})).unwrap();
    assert_eq!(spec.fields, vec!["Owner.last_name", "Account_Name.Phone"]);
    let (code_word, details) = code(json!({"query": {"module": "Contacts", "fields": ["Account_Name.Nope"]}}));
    assert_eq!(code_word, "FIELD_NOT_AVAILABLE");
    assert_eq!((&details["api_name"], &details["module"]), (&json!("Account_Name.Nope"), &json!("Contacts")));
    assert_eq!(code(json!({"query": {"module": "Contacts", "fields": ["Last_Name.x"]}})).0, "FIELD_NOT_SUPPORTED");
}

#[test]
fn malformed_requests_get_zoho_codes() {
    assert_eq!(code(json!({})).0, "MANDATORY_NOT_FOUND");
    assert_eq!(code(json!({"query": {}})).0, "MANDATORY_NOT_FOUND");
    assert_eq!(code(json!({"query": {"module": "Nope"}})).0, "MODULE_NOT_AVAILABLE");
    assert_eq!(code(json!({"query": {"module": "Notes"}})).0, "MODULE_NOT_SUPPORTED");
    assert_eq!(code(json!({"query": {"module": "Leads", "page": 0}})).0, "PAGE_NOT_SUPPORTED");
    assert_eq!(
        code(json!({"query": {"module": "Leads", "page": 51}})),
        ("PAGE_RANGE_EXCEEDED".to_string(), json!({"max_limit": 50, "json_path": "$.query.page"}))
    );
    assert_eq!(code(json!({"query": {"module": "Leads", "page": "1"}})).0, "INVALID_DATA");
    assert_eq!(code(json!({"query": {"module": "Leads", "fields": "Email"}})).0, "INVALID_DATA");
    assert_eq!(code(json!({"query": {"module": "Leads", "cvid": "1"}})).0, "CVID_NOT_SUPPORTED");
    assert_eq!(code(json!({"query": {"module": "Leads", "page_token": "zz"}})).0, "INVALID_DATA");
    assert_eq!(code(json!({"file_type": "xlsx", "query": {"module": "Leads"}})).0, "INVALID_DATA");
    assert_eq!(code(json!({"file_type": "ics", "query": {"module": "Leads"}})).0, "NOT_SUPPORTED_FEATURE");
    assert_eq!(
        code(json!({"callback": {"url": "https://x.example", "method": "get"}, "query": {"module": "Leads"}})).0,
        "INVALID_CALLBACK_METHOD"
    );
    let error = read(json!([1])).unwrap_err();
    assert_eq!(error.code.as_str(), "REQUEST_BODY_NOT_SUPPORTED");
    let error = parse_read_body(b"{not json").unwrap_err();
    assert_eq!(error.code.as_str(), "REQUEST_BODY_NOT_SUPPORTED");
    assert_eq!(parse_read_body(b"  ").unwrap_err().code.as_str(), "REQUEST_BODY_IS_EMPTY");
}

#[test]
fn the_all_view_and_ics_are_accepted_where_they_exist() {
    let schema = standard_schema();
    let leads = schema.module("Leads").unwrap();
    let cvid = all_view_id(&leads.id);
    let spec = read(json!({"query": {"module": "Leads", "cvid": cvid}})).unwrap();
    assert_eq!(spec.query_echo(ApiVersion::V8)["cvid"], json!(cvid.parse::<u64>().unwrap()));
    assert_eq!(spec.query_echo(ApiVersion::V2)["cvid"], json!(cvid));
    // The standard schema has Events (Meetings), so it exports as ics; an org without a
    // calendar module (a mirrored one) refuses it.
    let body = parse_read_body(br#"{"file_type":"ics","query":{"module":"Events"}}"#).unwrap();
    let mut without_events = schema.clone();
    without_events.modules.retain(|m| m.api_name != "Events");
    let refused = validate_read(&body, &ReadContext { schema: &without_events, user: 7, per_page: 10 }).unwrap_err();
    assert_eq!(refused.code.as_str(), "MODULE_NOT_AVAILABLE");
    let spec = validate_read(&body, &ReadContext { schema: &schema, user: 7, per_page: 10 }).unwrap();
    assert_eq!((spec.file_type, spec.per_page), (FileType::Ics, 10));
}

#[test]
fn page_tokens_continue_for_their_user_only() {
    let token = PageToken { page: 2, after: 99, user: 7 }.encode();
    let spec = read(json!({"query": {"module": "Leads", "page_token": token}})).unwrap();
    assert_eq!((spec.page, spec.start_after, spec.skip()), (2, Some(99), 0));
    let foreign = PageToken { page: 2, after: 99, user: 8 }.encode();
    assert_eq!(code(json!({"query": {"module": "Leads", "page_token": foreign}})).0, "INVALID_DATA");
    let spec = read(json!({"query": {"module": "Leads", "page": 3}})).unwrap();
    assert_eq!(spec.skip(), 400_000);
}

#[test]
fn criteria_refusals_use_bulk_reads_codes_and_sentences() {
    let schema = standard_schema();
    let leads = schema.module("Leads").unwrap();
    let refuse = |criteria: Value| criteria_filter(leads, Some(&criteria), chrono_tz::UTC).expect_err("refused");
    let cmp = |field: &str, comparator: &str, value: Value| json!({"api_name": field, "comparator": comparator, "value": value});
    let cases = [
        (json!("Email"), "INVALID_CRITERIA", "Invalid criteria $.query.criteria for the query."),
        (
            json!({"api_name": "Email", "comparator": "equal", "value": "a", "group_operator": "and"}),
            "AMBIGUOUS_CRITERIA",
            "Ambiguous criteria $.query.criteria. Criteria can have either {group, group_operator} or {api_name, comparator, value}.",
        ),
        (
            json!({"group_operator": "and", "group": [cmp("Email", "equal", json!("a"))]}),
            "AMBIGUOUS_GROUP_IN_CRITERIA",
            "Ambiguous group in criteria $.query.criteria. Group should be used only when there are more than one criteria",
        ),
        (
            json!({"group_operator": "xor", "group": [cmp("Email", "equal", json!("a")), cmp("Email", "equal", json!("b"))]}),
            "GROUP_OPERATOR_NOT_SUPPORTED",
            "Criteria $.query.criteria doesn't support this logical group operator 'xor'. Supported operators are 'and', 'or'.",
        ),
        (
            cmp("Colour", "equal", json!("red")),
            "FIELD_IN_CRITERIA_NOT_AVAILABLE",
            "Field api name 'Colour' is not available for criteria $.query.criteria. Check visibility and permission for the field",
        ),
        (
            cmp("Email", "like", json!("a%")),
            "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
            "Field api name 'Email' doesn't support this comparator 'like' for criteria $.query.criteria.",
        ),
        (
            cmp("Email", "greater_than", json!("a")),
            "FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE",
            "Field api name 'Email' is not supported with comparator 'greater_than' for criteria $.query.criteria.",
        ),
        (
            cmp("Annual_Revenue", "equal", json!("lots")),
            "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
            "Field 'Annual_Revenue' is not supported with value 'lots' for criteria $.query.criteria.",
        ),
        (
            cmp("Created_Time", "between", json!("2024-01-01T00:00:00+00:00")),
            "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
            "Comparator 'between' is not supported with value '2024-01-01T00:00:00+00:00' for criteria $.query.criteria.",
        ),
        (
            cmp("Email", "contains", json!("${EMPTY}")),
            "VALUE_IN_CRITERIA_NOT_SUPPORTED",
            "Value '${EMPTY}' is not supported for criteria $.query.criteria.",
        ),
    ];
    for (criteria, code, message) in cases {
        let error = refuse(criteria.clone());
        assert_eq!((error.code.as_str(), error.message.as_str()), (code, message), "{criteria}");
    }
    let error = refuse(
        json!({"group_operator": "or", "group": [cmp("Email", "equal", json!("a")), cmp("Email", "between", json!(["a", "b"]))]}),
    );
    assert_eq!(error.code.as_str(), "FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE");
    assert_eq!(error.details["json_path"], json!("$.query.criteria.group[1].comparator"), "the comparison at fault");
    assert_eq!(
        error.details["supported"],
        json!(["equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"])
    );
    let many: Vec<Value> = (0..=MAX_COMPARISONS).map(|n| cmp("Email", "equal", json!(format!("{n}")))).collect();
    let error = refuse(json!({"group_operator": "or", "group": many}));
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("CRITERIA_LIMIT_EXCEEDED", "Number of criteria exceeded the maximum limit of 100")
    );
}
