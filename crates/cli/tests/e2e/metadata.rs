//! The org metadata endpoints in Zoho's shapes: org, users, modules, fields,
//! layouts, their errors and their empty (204) answers.

use serde_json::{json, Value};

use crate::harness::Server;

fn is_id(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() == 19 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// Asserts a Zoho error answer and returns its body.
fn error(status: u16, body: &Value, expected_status: u16, code: &str) -> Value {
    assert_eq!((status, body["code"].as_str()), (expected_status, Some(code)), "{body}");
    assert_eq!(body["status"], "error");
    assert!(body["message"].is_string() && body["details"].is_object(), "{body}");
    body["details"].clone()
}

#[tokio::test]
async fn org_and_users() {
    let server = Server::start(&[]).await;
    for version in ["v2", "v2.1", "v8"] {
        let (status, body) = server.get_json(&format!("/crm/{version}/org")).await;
        assert_eq!(status, 200, "{body}");
        let org = &body["org"][0];
        assert_eq!(org["zgid"], json!(server.org));
        assert_eq!(org["domain_name"], json!(format!("org{}", server.org)));
        assert_eq!(org["primary_zuid"], json!(server.user));
        assert!(is_id(&org["id"]), "{org}");
        assert!(org["company_name"].is_string() && org["time_zone"].is_string());
        assert_eq!((org["currency"].as_str(), org["iso_code"].as_str()), (Some("USD"), Some("USD")));
        assert_eq!(org["currency_symbol"], "$");
        assert_eq!((org["mc_status"].as_bool(), org["gapps_enabled"].as_bool()), (Some(false), Some(false)));
        assert!(org["photo_id"].is_null() && org["primary_email"].is_string());
    }

    let (status, body) = server.get_json("/crm/v2/users?type=CurrentUser").await;
    assert_eq!(status, 200, "{body}");
    let me = &body["users"][0];
    assert_eq!(me["id"], json!(server.user));
    assert_eq!(me["full_name"], json!(server.user_name));
    assert_eq!((me["status"].as_str(), me["confirm"].as_bool()), (Some("active"), Some(true)));
    assert_eq!(me["profile"]["name"], "Administrator");
    assert!(is_id(&me["profile"]["id"]) && is_id(&me["role"]["id"]), "{me}");
    assert_eq!((me["locale"].as_str(), me["date_format"].as_str()), (Some("en_US"), Some("MM/dd/yyyy")));
    assert!(me["created_time"].as_str().is_some_and(|t| t.len() == 25), "{me}");
    assert!(me["Modified_Time"].is_string());
    assert_eq!(body["info"], json!({"per_page": 200, "count": 1, "page": 1, "more_records": false}));

    for query in ["", "?type=AllUsers", "?type=AdminUsers&per_page=1", &format!("?ids={}", server.user)] {
        let (status, body) = server.get_json(&format!("/crm/v2.1/users{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["users"][0]["id"], json!(server.user), "{query}");
    }
    for query in ["?type=NotConfirmedUsers", "?type=DeletedUsers", "?type=DeactiveUsers", "?page=2"] {
        let (status, body) = server.get_json(&format!("/crm/v2/users{query}")).await;
        assert_eq!((status, body), (204, Value::Null), "{query}");
    }
    for (query, param) in [("?type=Everyone", "type"), ("?per_page=201", "per_page"), ("?ids=abc", "ids")] {
        let (status, body) = server.get_json(&format!("/crm/v2/users{query}")).await;
        let details = error(status, &body, 400, "INVALID_DATA");
        assert_eq!(details, json!({"param_name": param}), "{query}");
    }
}

#[tokio::test]
async fn modules_fields_and_layouts() {
    let server = Server::start(&[]).await;
    let (status, body) = server.get_json("/crm/v2/settings/modules").await;
    assert_eq!(status, 200, "{body}");
    let modules = body["modules"].as_array().unwrap();
    let leads = modules.iter().find(|m| m["api_name"] == "Leads").expect("Leads");
    assert!(is_id(&leads["id"]));
    assert_eq!((leads["api_supported"].as_bool(), leads["convertable"].as_bool()), (Some(true), Some(true)));
    assert_eq!((leads["singular_label"].as_str(), leads["plural_label"].as_str()), (Some("Lead"), Some("Leads")));
    assert_eq!((leads["generated_type"].as_str(), leads["status"].as_str()), (Some("default"), Some("visible")));
    assert_eq!((leads["visibility"].as_i64(), leads["parent_module"].clone()), (Some(1), json!({})));
    assert!(leads["modified_time"].is_null() && leads["modified_by"].is_null());
    assert!(leads["profiles"].as_array().unwrap().iter().all(|p| is_id(&p["id"])));
    let contacts = modules.iter().find(|m| m["api_name"] == "Contacts").expect("Contacts");
    assert_eq!(contacts["convertable"], false);
    assert!(modules.iter().any(|m| m["api_name"] == "Notes"));
    let sequence: Vec<i64> = modules.iter().map(|m| m["sequence_number"].as_i64().unwrap()).collect();
    assert_eq!(sequence, (1..=modules.len() as i64).collect::<Vec<_>>());
    let (status, body) = server.get_json("/crm/v2/settings/modules?status=user_hidden").await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, body) = server.get_json("/crm/v2/settings/modules?status=hidden").await;
    assert_eq!(error(status, &body, 400, "INVALID_DATA"), json!({"param_name": "status"}));

    for version in ["v2", "v2.1", "v7", "v8"] {
        let (status, body) = server.get_json(&format!("/crm/{version}/settings/fields?module=Leads")).await;
        assert_eq!(status, 200, "{version}: {body}");
        let fields = body["fields"].as_array().unwrap();
        let field = |name: &str| fields.iter().find(|f| f["api_name"] == name).unwrap_or_else(|| panic!("{name}"));
        let date = field("Date_3");
        assert_eq!((date["data_type"].as_str(), date["json_type"].as_str()), (Some("date"), Some("string")));
        assert_eq!((date["custom_field"].as_bool(), date["visible"].as_bool()), (Some(true), Some(true)));
        assert!(is_id(&date["id"]));
        assert_eq!(field("Last_Name")["system_mandatory"], true);
        assert_eq!(field("Last_Name")["length"], 80);
        assert_eq!(field("Email")["unique"], json!({"casesensitive": "false"}));
        assert_eq!(field("Company")["unique"], json!({}));
        assert_eq!(field("Full_Name")["read_only"], true);
        assert_eq!(field("Owner")["operation_type"]["api_create"], true);
        let source = field("Lead_Source")["pick_list_values"][1].clone();
        assert_eq!((source["actual_value"].as_str(), source["type"].as_str()), (Some("Advertisement"), Some("used")));
        assert!(is_id(&source["id"]));
    }
    let (status, body) = server.get_json("/crm/v2/settings/fields?module=deals").await;
    assert_eq!(status, 200, "{body}");
    let account = body["fields"].as_array().unwrap().iter().find(|f| f["api_name"] == "Account_Name").unwrap();
    assert_eq!(account["lookup"]["module"]["api_name"], "Accounts");
    let (status, body) = server.get_json("/crm/v2/settings/fields?module=Leads&type=unused").await;
    assert_eq!((status, body), (204, Value::Null));

    let (status, body) = server.get_json("/crm/v2/settings/layouts?module=Leads").await;
    assert_eq!(status, 200, "{body}");
    let layout = &body["layouts"][0];
    assert_eq!((layout["name"].as_str(), layout["status"].as_str()), (Some("Standard"), Some("active")));
    assert!(is_id(&layout["id"]) && layout["visible"] == true);
    let entries: Vec<&Value> =
        layout["sections"].as_array().unwrap().iter().flat_map(|s| s["fields"].as_array().unwrap()).collect();
    let required: Vec<&str> =
        entries.iter().filter(|f| f["required"] == true).map(|f| f["api_name"].as_str().unwrap()).collect();
    assert_eq!(required, ["Company", "Last_Name"]);
    assert!(entries.iter().any(|f| f["api_name"] == "Date_3" && f["required"] == false));
}

#[tokio::test]
async fn settings_errors() {
    let server = Server::start(&[]).await;
    for endpoint in ["fields", "layouts"] {
        let (status, body) = server.get_json(&format!("/crm/v2/settings/{endpoint}")).await;
        assert_eq!(error(status, &body, 400, "REQUIRED_PARAM_MISSING"), json!({"param": "module"}), "{endpoint}");
        let (status, body) = server.get_json(&format!("/crm/v2.1/settings/{endpoint}?module=")).await;
        assert_eq!(error(status, &body, 400, "REQUIRED_PARAM_MISSING"), json!({"param": "module"}), "{endpoint}");
        let (status, body) = server.get_json(&format!("/crm/v8/settings/{endpoint}")).await;
        assert_eq!(error(status, &body, 400, "REQUIRED_PARAM_MISSING"), json!({"param_name": "module"}));
        let (status, body) = server.get_json(&format!("/crm/v2/settings/{endpoint}?module=Widgets")).await;
        assert_eq!(error(status, &body, 400, "INVALID_MODULE"), json!({}), "{endpoint}");
        let (status, body) = server.get_json(&format!("/crm/v9/settings/{endpoint}?module=Leads")).await;
        error(status, &body, 404, "INVALID_URL_PATTERN");
    }
    let (status, body) = server.get_json("/crm/v2/settings/fields?module=Leads&type=everything").await;
    assert_eq!(error(status, &body, 400, "INVALID_DATA"), json!({"param_name": "type"}));

    let response = server.http.get(server.url("/crm/v2/settings/modules")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    error(401, &body, 401, "AUTHENTICATION_FAILURE");
    let response = server
        .http
        .get(server.url("/crm/v2/org"))
        .header("Authorization", "Zoho-oauthtoken 1000.unknown.token")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    error(status, &response.json().await.unwrap(), 401, "INVALID_TOKEN");
}
