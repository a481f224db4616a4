//! Records search, COQL and the single-item metadata routes, in-process: answers whole,
//! refusals in Zoho's shapes.

use axum::body::Body;
use serde_json::{json, Value};

use super::fixture::*;

async fn post(api: &Api, path: &str, body: Value) -> Answer {
    api.call("POST", path, FULL, Body::from(body.to_string())).await
}

/// Inserts records through the records API; returns their ids.
async fn insert(api: &Api, module: &str, records: Value) -> Vec<String> {
    let answer = post(api, &format!("/crm/v2/{module}"), json!({ "data": records })).await;
    assert!(answer.status.is_success(), "{}", String::from_utf8_lossy(&answer.bytes));
    answer.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["details"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn seed_leads(api: &Api) -> Vec<String> {
    insert(
        api,
        "Leads",
        json!([
            {"Last_Name": "Burns,B", "Email": "burns@corp.example", "Phone": "555-0100", "Company": "Zylker (EU)", "No_of_Employees": 9},
            {"Last_Name": "Quist", "Email": "quist@corp.example", "Company": "Acme", "No_of_Employees": 10},
            {"Last_Name": "Olsen", "Email": "olsen@else.example", "Company": "Acme", "No_of_Employees": 100},
        ]),
    )
    .await
}

fn names(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.bytes));
    answer.json()["data"].as_array().unwrap().iter().map(|r| r["Last_Name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn search_by_criteria_email_phone_and_word() {
    let api = Api::new().await;
    seed_leads(&api).await;
    let search = |query: &str| format!("/crm/v2/Leads/search?{query}");
    let answer =
        api.get(&search("criteria=((Last_Name:equals:Burns%5C%2CB)and(No_of_Employees:less_than:10))"), FULL).await;
    assert_eq!(names(&answer), ["Burns,B"]);
    assert_eq!(answer.json()["info"], json!({"per_page": 200, "count": 1, "page": 1, "more_records": false}));
    assert_eq!(answer.json()["data"][0]["Email"], "burns@corp.example", "records render as the records list does");
    let answer = api.get(&search("criteria=(No_of_Employees:greater_than:9)"), FULL).await;
    assert_eq!(names(&answer), ["Quist", "Olsen"], "numbers compare as numbers");
    let answer = api.get(&search("criteria=(Company:equals:Zylker%20%5C(EU%5C))"), FULL).await;
    assert_eq!(names(&answer), ["Burns,B"], "escaped parentheses");
    assert_eq!(names(&api.get(&search("email=QUIST@corp.example"), FULL).await), ["Quist"]);
    assert_eq!(names(&api.get(&search("phone=555-0100"), FULL).await), ["Burns,B"]);
    assert_eq!(names(&api.get(&search("word=corp"), FULL).await), ["Burns,B", "Quist"]);
    let first = api.get(&search("word=example&per_page=2"), FULL).await;
    assert_eq!(names(&first), ["Burns,B", "Quist"]);
    assert_eq!(first.json()["info"]["more_records"], true);
    let second = api.get(&search("word=example&per_page=2&page=2"), FULL).await;
    assert_eq!(names(&second), ["Olsen"]);
    assert_eq!(second.json()["info"], json!({"per_page": 2, "count": 1, "page": 2, "more_records": false}));
    let answer = api.get(&search("criteria=(Last_Name:equals:Nobody)"), FULL).await;
    assert_eq!((answer.status.as_u16(), answer.bytes.len()), (204, 0));
    let answer = api.get(&search("email=quist@corp.example&fields=Email"), FULL).await;
    let record = answer.json()["data"][0].clone();
    assert_eq!(record.as_object().unwrap().keys().collect::<Vec<_>>(), ["Email", "id"]);
    // Another org sees none of them.
    let answer = api.get(&search("word=example"), OTHER).await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn search_refusals() {
    let api = Api::new().await;
    let answer = api.get("/crm/v2/Leads/search", FULL).await;
    let names = json!({"param_names": ["criteria", "email", "phone", "word"]});
    assert_error(&answer, 400, "EXPECTED_PARAM_MISSING", "one of the expected parameter is missing", names);
    let answer = api.get("/crm/v2/Leads/search?criteria=Last_Name:equals:x", FULL).await;
    assert_error(&answer, 400, "INVALID_QUERY", "Invalid query formed", json!({"param_name": "criteria"}));
    let answer = api.get("/crm/v2/Leads/search?criteria=(Email:greater_than:x)", FULL).await;
    let details = json!({"operator": "greater_than", "reason": "The operator is not valid for the field type", "api_name": "Email"});
    assert_error(&answer, 400, "INVALID_QUERY", "invalid operator found", details);
    let answer = api.get("/crm/v2/Leads/search?word=ab&page=11&per_page=200", FULL).await;
    assert_error(&answer, 400, "LIMIT_REACHED", "maximum response iteration limit reached", json!({"limit": "2000"}));
    let answer = api.get("/crm/v2/Leads/search?word=a", FULL).await;
    assert_error(&answer, 400, "INVALID_DATA", "provide atleast 2 letters for search", json!({"param_name": "word"}));
    let answer = api.get("/crm/v2/Spaceships/search?word=ab", FULL).await;
    assert_error(
        &answer,
        400,
        "INVALID_MODULE",
        "the module name given seems to be invalid",
        json!({"api_name": "module"}),
    );
    let answer = api.get("/crm/v2/Leads/search?word=ab", BULK_ONLY).await;
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
}

#[tokio::test]
async fn coql_selects_with_lookups_order_and_limit() {
    let api = Api::new().await;
    let account = insert(&api, "Accounts", json!([{"Account_Name": "Zylker"}])).await.remove(0);
    insert(
        &api,
        "Contacts",
        json!([
            {"Last_Name": "Ng", "Email": "ng@zylker.example", "Account_Name": {"id": account}},
            {"Last_Name": "Abe", "Email": "abe@else.example"},
            {"Last_Name": "Moss", "Email": "moss@zylker.example", "Account_Name": {"id": account}},
        ]),
    )
    .await;
    let query = "select Last_Name, Account_Name, Account_Name.Account_Name, Owner.email from Contacts \
                 where Email like '%@zylker.example' order by Last_Name desc limit 0, 1";
    let answer = post(&api, "/crm/v2/coql", json!({ "select_query": query })).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.bytes));
    let body = answer.json();
    let row = &body["data"][0];
    assert_eq!(row["Last_Name"], "Ng");
    assert_eq!(row["Account_Name"], json!({"id": account}));
    assert_eq!(row["Account_Name.Account_Name"], "Zylker");
    assert_eq!(row["Owner.email"], "mara@example.com");
    assert!(row["id"].is_string());
    assert_eq!(body["info"], json!({"count": 1, "more_records": true}));
    let answer = post(
        &api,
        "/crm/v2/coql",
        json!({"select_query": "select Last_Name from Contacts where Account_Name is null"}),
    )
    .await;
    assert_eq!(answer.json()["data"].as_array().unwrap().len(), 1);
    let answer = post(
        &api,
        "/crm/v2/coql",
        json!({"select_query": "select Last_Name from Contacts where Last_Name = 'nobody'"}),
    )
    .await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn coql_refusals() {
    let api = Api::new().await;
    let answer = post(&api, "/crm/v2/coql", json!({})).await;
    assert_error(&answer, 400, "MANDATORY_NOT_FOUND", "mandatory key not found", json!({"api_name": "select_query"}));
    let answer = post(&api, "/crm/v2/coql", json!({"select_query": 5})).await;
    let details = json!({"expected_data_type": "text", "api_name": "select_query", "json_path": "$.select_query"});
    assert_error(&answer, 400, "INVALID_DATA", "invalid data", details);
    let answer = post(&api, "/crm/v2/coql", json!({"select_query": "select Last_Name from Leads"})).await;
    assert_error(&answer, 400, "SYNTAX_ERROR", "missing clause", json!({"clause": "where"}));
    let answer =
        post(&api, "/crm/v2/coql", json!({"select_query": "select Colour from Leads where id is not null"})).await;
    assert_error(&answer, 400, "INVALID_QUERY", "column given seems to be invalid", json!({"column_name": "Colour"}));
    let answer =
        post(&api, "/crm/v2/coql", json!({"select_query": "select id from Leads where id is not null limit 201"}))
            .await;
    assert_error(&answer, 400, "LIMIT_EXCEEDED", "limit exceeded", json!({"by": "limit", "limit": 200}));
    let answer =
        post(&api, "/crm/v4/coql", json!({"select_query": "select id from Leads where id is not null limit 201"}))
            .await;
    assert_eq!(answer.status, 204, "v4 allows 2,000 a call");
    let answer = api
        .call(
            "POST",
            "/crm/v2/coql",
            BULK_ONLY,
            Body::from(r#"{"select_query":"select id from Leads where id is not null"}"#),
        )
        .await;
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
}

#[tokio::test]
async fn single_module_field_and_user() {
    let api = Api::new().await;
    let answer = api.get("/crm/v2/settings/modules/leads", FULL).await;
    assert_eq!(answer.status, 200);
    let modules = answer.json()["modules"].clone();
    assert_eq!((modules.as_array().unwrap().len(), modules[0]["api_name"].clone()), (1, json!("Leads")));
    let answer = api.get("/crm/v2/settings/modules/Spaceships", FULL).await;
    assert_error(&answer, 400, "INVALID_MODULE", "the module name given seems to be invalid", json!({}));
    let fields = api.get("/crm/v2/settings/fields?module=Leads", FULL).await.json();
    let email = fields["fields"].as_array().unwrap().iter().find(|f| f["api_name"] == "Email").unwrap().clone();
    let id = email["id"].as_str().unwrap();
    let answer = api.get(&format!("/crm/v2/settings/fields/{id}?module=Leads"), FULL).await;
    assert_eq!(answer.json(), json!({ "fields": [email] }));
    let answer = api.get("/crm/v2/settings/fields/123?module=Leads", FULL).await;
    assert_error(&answer, 400, "INVALID_DATA", "the id given seems to be invalid", json!({"api_name": "id"}));
    let answer = api.get(&format!("/crm/v2/users/{ADMIN}"), FULL).await;
    assert_eq!(answer.json()["users"][0]["email"], "mara@example.com");
    assert_eq!(api.get("/crm/v2/users/5725767000000000999", FULL).await.status, 204);
    let answer = api.get(&format!("/crm/v2/users/{ADMIN}"), BULK_ONLY).await;
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}));
}
