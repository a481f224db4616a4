//! The golden corpus's restricted caller (a case's `as`, see `corpus`): a custom profile made
//! through the admin API (`/bulkwrite/v1/admin/orgs/{org}/profiles…`), a user who has it, and
//! that user's access token, so that a case's job is created as that user.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

/// `request` as the case's caller: the restricted user when the case has one, else the admin.
pub(crate) fn as_caller(
    server: &Server,
    request: reqwest::RequestBuilder,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    match token {
        Some(token) => request.header("Authorization", format!("Zoho-oauthtoken {token}")),
        None => server.auth(request),
    }
}

/// The case's `as`: a custom profile denied what it lists, made through the admin API, and an
/// access token of a new user who has it.
pub(crate) async fn restricted_caller(server: &Server, spec: &Value, name: &str) -> String {
    let org = &server.org;
    let profile = spec["profile"].as_str().expect("as.profile");
    let (status, made) = server
        .admin(Method::POST, &format!("/orgs/{org}/profiles"), json!({"name": profile, "from": "Standard"}))
        .await;
    assert_eq!(status, 201, "{name}: {made}");
    for denied in spec["modules"].as_array().into_iter().flatten() {
        let path = format!("/orgs/{org}/profiles/{profile}/modules/{}", denied["module"].as_str().unwrap());
        let (status, answer) = server.admin(Method::PUT, &path, json!({"actions": denied["actions"]})).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    for field in spec["fields"].as_array().into_iter().flatten() {
        let (module, api_name) = (field["module"].as_str().unwrap(), field["field"].as_str().unwrap());
        let path = format!("/orgs/{org}/profiles/{profile}/fields/{module}/{api_name}");
        let (status, answer) = server.admin(Method::PUT, &path, json!({"access": field["access"]})).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let email = "restricted@example.com";
    let (status, user) = server
        .admin(Method::POST, &format!("/orgs/{org}/users"), json!({"email": email, "last_name": "Restricted"}))
        .await;
    assert_eq!(status, 201, "{name}: {user}");
    let path = format!("/orgs/{org}/users/{email}/profile");
    let (status, assigned) = server.admin(Method::PUT, &path, json!({"profile": profile})).await;
    assert_eq!((status, assigned["profile"].as_str()), (200, Some(profile)), "{name}: {assigned}");
    let scopes = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL";
    let body = json!({"scopes": scopes, "user_id": user["user_id"]});
    let (status, minted) = server.admin(Method::POST, &format!("/orgs/{org}/tokens"), body).await;
    assert_eq!(status, 201, "{name}: {minted}");
    minted["access_token"].as_str().expect("access_token").to_string()
}
