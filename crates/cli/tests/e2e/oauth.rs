//! OAuth as Zoho Accounts does it: grant types in both body encodings, Zoho's error words, the
//! consent page, revocation, the configured token lifetime and scopes; and the admin API behind its credential.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{seed_body, Server};

/// `POST /oauth/v2/token` with a form-urlencoded body.
async fn token_form(server: &Server, params: &[(&str, &str)]) -> (u16, Value) {
    let response = server.http.post(server.url("/oauth/v2/token")).form(params).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `POST /oauth/v2/token` with a multipart body, as the Node SDK sends it.
async fn token_multipart(server: &Server, params: &[(&str, &str)]) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in params {
        form = form.text(name.to_string(), value.to_string());
    }
    let response = server.http.post(server.url("/oauth/v2/token")).multipart(form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn assert_token_answer(answer: &Value, server: &Server, with_refresh: bool) {
    assert!(answer["access_token"].as_str().is_some_and(|t| t.starts_with("1000.")), "{answer}");
    assert_eq!(answer["api_domain"], json!(server.base));
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    assert_eq!(answer.get("refresh_token").is_some(), with_refresh, "{answer}");
}

#[tokio::test]
async fn every_grant_type_in_both_encodings_and_zohos_errors() {
    let server = Server::start(&[]).await;
    let (client_id, secret, refresh) =
        (server.boot("client_id"), server.boot("client_secret"), server.boot("refresh_token"));
    let refresh_params = [
        ("grant_type", "refresh_token"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("refresh_token", &refresh),
    ];
    for (status, answer) in
        [token_form(&server, &refresh_params).await, token_multipart(&server, &refresh_params).await]
    {
        assert_eq!(status, 200);
        assert_token_answer(&answer, &server, false);
        let token = answer["access_token"].as_str().unwrap();
        assert_eq!(server.get_as(token, "/crm/bulk/v2/write/1").await.0, 404, "the token works (an unknown job)");
    }

    let (status, grant) = server
        .admin(
            Method::POST,
            &format!("/orgs/{}/grants", server.org),
            json!({"scopes": "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL"}),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    let code = grant["code"].as_str().unwrap();
    let exchange =
        [("grant_type", "authorization_code"), ("client_id", &client_id), ("client_secret", &secret), ("code", code)];
    let (_, answer) = token_multipart(&server, &exchange).await;
    assert_token_answer(&answer, &server, true);
    assert_eq!(answer["scope"], "ZohoCRM.bulk.ALL ZohoFiles.files.ALL");
    assert_eq!(token_form(&server, &exchange).await.1, json!({"error": "invalid_code"}), "a grant code works once");

    let soid = format!("ZohoCRM.{}", server.org);
    let credentials = [
        ("grant_type", "client_credentials"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("scope", "ZohoCRM.modules.ALL"),
        ("soid", &soid),
    ];
    let (_, answer) = token_form(&server, &credentials).await;
    assert_token_answer(&answer, &server, false);

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("client_secret", "wrong"),
                ("refresh_token", &refresh),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "1000.NOPE"),
                ("client_secret", &secret),
                ("refresh_token", &refresh),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("refresh_token", "1000.nope"),
            ],
            "invalid_code",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("code", "1000.nope"),
            ],
            "invalid_code",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("scope", "ZohoCRM.modules.ALL"),
            ],
            "missing_org_info",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("scope", "no good"),
                ("soid", &soid),
            ],
            "invalid_scope",
        ),
        (
            vec![("grant_type", "password"), ("client_id", &client_id), ("client_secret", &secret)],
            "unsupported_grant_type",
        ),
    ];
    for (params, error) in cases {
        let (status, answer) = token_form(&server, &params).await;
        assert_eq!((status, answer), (200, json!({"error": error})), "{params:?}");
    }
}

/// The binary takes the access-token lifetime from its environment; that tokens stop working
/// once it has passed is checked in-process (crates/api/tests/api/expiry.rs) with a clock the
/// test moves.
#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_tokens_and_the_lifetime_is_configured() {
    let server = Server::start(&[("BULKWRITE_ACCESS_TOKEN_SECONDS", "2")]).await;
    let (client_id, secret, refresh) =
        (server.boot("client_id"), server.boot("client_secret"), server.boot("refresh_token"));
    let params = [
        ("grant_type", "refresh_token"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("refresh_token", &refresh),
    ];
    let (_, answer) = token_form(&server, &params).await;
    assert_eq!(answer["expires_in"], 2);
    let token = answer["access_token"].as_str().unwrap().to_string();
    assert_eq!(server.get_as(&token, "/crm/bulk/v2/write/1").await.0, 404);

    let (_, answer) = token_form(&server, &params).await;
    let fresh = answer["access_token"].as_str().unwrap().to_string();
    // Used once, the token's principal is in the node's token cache; the revocation empties it.
    assert_eq!(server.get_as(&fresh, "/crm/bulk/v2/write/1").await.0, 404);
    let revoke = server.http.post(server.url(&format!("/oauth/v2/token/revoke?token={refresh}"))).send().await.unwrap();
    assert_eq!(revoke.status(), 200);
    assert_eq!(revoke.json::<Value>().await.unwrap(), json!({"status": "success"}));
    assert_eq!(server.get_as(&fresh, "/crm/bulk/v2/write/1").await.0, 401, "minted from a revoked refresh token");
    assert_eq!(token_form(&server, &params).await.1, json!({"error": "invalid_code"}));
    let again = server.http.post(server.url(&format!("/oauth/v2/token/revoke?token={refresh}"))).send().await.unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn the_consent_page_issues_a_grant_code_to_the_redirect_uri() {
    let server = Server::start(&[]).await;
    let redirect = "http://127.0.0.1:9/callback";
    let (_, client) = server
        .admin(
            Method::POST,
            &format!("/orgs/{}/clients", server.org),
            json!({"name": "Example App", "redirect_uris": [redirect]}),
        )
        .await;
    let client_id = client["client_id"].as_str().unwrap().to_string();
    let secret = client["client_secret"].as_str().unwrap().to_string();
    let (status, _) = server
        .admin(
            Method::PUT,
            &format!("/orgs/{}/users/{}/password", server.org, server.boot("user_email")),
            json!({"password": "s3cret"}),
        )
        .await;
    assert_eq!(status, 200);

    let query = format!("scope=ZohoCRM.modules.ALL,ZohoCRM.bulk.ALL&client_id={client_id}&response_type=code&access_type=offline&redirect_uri={redirect}&state=st4te");
    let page = server.http.get(server.url(&format!("/oauth/v2/auth?{query}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Example App") && html.contains("ZohoCRM.bulk.ALL"), "{html}");
    let unknown = server
        .http
        .get(server.url(&format!("/oauth/v2/auth?{}", query.replace(redirect, "http://evil.example/cb"))))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400, "unregistered redirect URI");

    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = |decision: &str, password: &str| {
        vec![
            ("client_id", client_id.clone()),
            ("scope", "ZohoCRM.modules.ALL,ZohoCRM.bulk.ALL".to_string()),
            ("redirect_uri", redirect.to_string()),
            ("state", "st4te".to_string()),
            ("response_type", "code".to_string()),
            ("email", server.boot("user_email")),
            ("password", password.to_string()),
            ("decision", decision.to_string()),
        ]
    };
    let denied = no_redirects.post(server.url("/oauth/v2/auth")).form(&form("deny", "")).send().await.unwrap();
    assert_eq!(denied.headers()["location"], format!("{redirect}?error=access_denied&state=st4te").as_str());
    let wrong = no_redirects.post(server.url("/oauth/v2/auth")).form(&form("accept", "nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let accepted =
        no_redirects.post(server.url("/oauth/v2/auth")).form(&form("accept", "s3cret")).send().await.unwrap();
    assert_eq!(accepted.status(), 302);
    let location = accepted.headers()["location"].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = url_pairs(query);
    let code = pairs.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    assert!(pairs.contains(&("state".into(), "st4te".into())));
    assert!(pairs.contains(&("accounts-server".into(), server.base.clone())));

    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:9/other"),
    ];
    assert_eq!(token_form(&server, &exchange).await.1, json!({"error": "invalid_redirect_uri"}));
    let accepted =
        no_redirects.post(server.url("/oauth/v2/auth")).form(&form("accept", "s3cret")).send().await.unwrap();
    let location = accepted.headers()["location"].to_str().unwrap().to_string();
    let code = url_pairs(location.split_once('?').unwrap().1).into_iter().find(|(k, _)| k == "code").unwrap().1;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("code", &code),
        ("redirect_uri", redirect),
    ];
    let (_, answer) = token_form(&server, &exchange).await;
    assert_token_answer(&answer, &server, true);
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).expect("a query string")
}

#[tokio::test]
async fn scopes_are_enforced_on_every_endpoint() {
    let server = Server::start(&[]).await;
    let (status, minted) = server
        .admin(Method::POST, &format!("/orgs/{}/tokens", server.org), json!({"scopes": "ZohoCRM.modules.leads.READ"}))
        .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["access_token"].as_str().unwrap().to_string();
    let mismatch = |(status, body): (u16, Value)| status == 401 && body["code"] == "OAUTH_SCOPE_MISMATCH";
    let create = server
        .http
        .post(server.url("/crm/bulk/v2/write"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&seed_body("1", "https://www.zoho.com/in/crm/"));
    let response = create.send().await.unwrap();
    assert!(mismatch((response.status().as_u16(), response.json().await.unwrap())));
    for path in [
        "/crm/bulk/v2/write/1",
        "/crm/v2/Contacts?fields=Last_Name",
        "/crm/v2/org",
        "/crm/v2/users?type=CurrentUser",
        "/crm/v2/settings/modules",
    ] {
        assert!(mismatch(server.get_as(&token, path).await), "{path}");
    }
    assert_eq!(server.get_as(&token, "/crm/v2/Leads?fields=Last_Name").await.0, 204, "the granted scope works");
    let upload = server
        .http
        .post(server.url("/crm/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", &server.org)
        .multipart(
            reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("a.zip")),
        )
        .send()
        .await
        .unwrap();
    assert!(mismatch((upload.status().as_u16(), upload.json().await.unwrap())));
}

#[tokio::test]
async fn the_admin_api_needs_its_credential_and_creates_orgs() {
    let server = Server::start(&[]).await;
    for header in [None, Some("Bearer wrong"), Some(format!("Zoho-oauthtoken {}", crate::harness::TOKEN).as_str())] {
        let mut request = server.http.get(server.url("/bulkwrite/v1/admin/orgs"));
        if let Some(header) = header {
            request = request.header("Authorization", header);
        }
        assert_eq!(request.send().await.unwrap().status(), 401, "{header:?}");
    }
    let (status, created) = server
        .admin(
            Method::POST,
            "/orgs",
            json!({"company_name": "Second Org", "time_zone": "Asia/Kolkata", "admin": {"first_name": "Ada", "last_name": "Okafor", "email": "ada@second.example"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, orgs) = server.admin(Method::GET, "/orgs", Value::Null).await;
    assert_eq!(orgs["orgs"].as_array().unwrap().len(), 2);
    let client_id = created["client_id"].as_str().unwrap();
    let params = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("client_secret", created["client_secret"].as_str().unwrap()),
        ("refresh_token", created["refresh_token"].as_str().unwrap()),
    ];
    let (_, answer) = token_form(&server, &params).await;
    let token = answer["access_token"].as_str().unwrap();
    let (status, org) = server.get_as(token, "/crm/v2/org").await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["org"][0]["zgid"], created["org_id"]);
    let (status, body) = server.admin(Method::POST, "/orgs", json!({"company_name": "x"})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_DATA")));
}
