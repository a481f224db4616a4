//! The record and metadata routes beside the bulk API: their refusals in the same shape.

use serde_json::json;

use super::fixture::*;

#[tokio::test]
async fn record_listing_refusals() {
    let api = Api::new().await;
    let answer = api.get("/crm/v2/Spaceships", FULL).await;
    let message = "the module name given seems to be invalid";
    assert_error(&answer, 400, "INVALID_MODULE", message, json!({"api_name": "module"}));

    let answer = api.get("/crm/v3/Leads", FULL).await;
    let message = "One of the expected parameter is missing";
    assert_error(&answer, 400, "REQUIRED_PARAM_MISSING", message, json!({"param": "fields"}));

    let answer = api.get("/crm/v3/Leads?fields=Last_Name&page=11&per_page=200", FULL).await;
    let message = "The number of records you can get through page and per_page is limited; use page_token";
    assert_error(&answer, 400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED", message, json!({"limit": 2000}));

    for (param, value) in [("sort_by", "Colour"), ("sort_order", "sideways"), ("per_page", "201"), ("page", "0")] {
        let answer = api.get(&format!("/crm/v2/Leads?{param}={value}"), FULL).await;
        assert_error(&answer, 400, "INVALID_DATA", "invalid data", json!({"api_name": param, "param_name": param}));
    }
    // Reading records needs a module scope.
    let answer = api.get("/crm/v2/Leads", BULK_ONLY).await;
    let message = "invalid oauth scope to access this URL";
    assert_error(&answer, 401, "OAUTH_SCOPE_MISMATCH", message, json!({}));
}

#[tokio::test]
async fn settings_refusals() {
    let api = Api::new().await;
    let message = "One of the expected parameter is missing";
    let answer = api.get("/crm/v2/settings/fields", FULL).await;
    assert_error(&answer, 400, "REQUIRED_PARAM_MISSING", message, json!({"param": "module"}));
    let answer = api.get("/crm/v8/settings/fields", FULL).await;
    assert_error(&answer, 400, "REQUIRED_PARAM_MISSING", message, json!({"param_name": "module"}));
    let answer = api.get("/crm/v2/settings/layouts?module=Spaceships", FULL).await;
    assert_error(&answer, 400, "INVALID_MODULE", "the module name given seems to be invalid", json!({}));
}
