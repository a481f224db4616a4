//! Profiles and permissions through the real binary: `bulkwrite admin profiles` on the data
//! directory, Zoho's profiles and roles APIs, `NO_PERMISSION` for a profile without create,
//! rows giving a read-only or hidden field a value failing with `INVALID_DATA` (jobs and the
//! records API), hidden fields absent from reads and field metadata.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;
use crate::isolation::send_as;

const SCOPES: &str = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL";

/// `bulkwrite admin --data-dir DIR ARGS`: its JSON answer.
pub(crate) fn admin(server: &Server, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .arg("admin")
        .arg("--data-dir")
        .arg(&server.dir)
        .args(args)
        .output()
        .expect("run bulkwrite admin");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// A Standard user of the server's org and an access token acting as them.
async fn standard_user(server: &Server) -> (String, String) {
    let (status, user) = server
        .admin(
            Method::POST,
            &format!("/orgs/{}/users", server.org),
            json!({"email": "sam@example.com", "last_name": "Sam", "profile": "Standard"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["user_id"].as_str().or(user["id"].as_str()).expect("user id").to_string();
    let (status, minted) = server
        .admin(Method::POST, &format!("/orgs/{}/tokens", server.org), json!({"scopes": SCOPES, "user_id": id}))
        .await;
    assert!(status == 200 || status == 201, "{minted}");
    (id, minted["access_token"].as_str().expect("access_token").to_string())
}

fn leads_body(file_id: &str) -> Value {
    json!({
        "operation": "insert",
        "resource": [{
            "type": "data",
            "module": "Leads",
            "file_id": file_id,
            "field_mappings": [
                {"api_name": "Last_Name", "index": 0},
                {"api_name": "Email", "index": 1},
                {"api_name": "Company", "index": 2}
            ]
        }]
    })
}

#[tokio::test]
async fn a_profile_without_create_is_refused_and_hidden_fields_are_absent() {
    let server = Server::start(&[]).await;
    let (_, token) = standard_user(&server).await;

    let (status, body) = send_as(&server, &token, Method::GET, "/crm/v2/settings/profiles", Value::Null).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["profiles"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Administrator", "Standard"]);
    assert_eq!(body["profiles"][0]["category"], false, "v2 names custom profiles with category");
    let (status, roles) = send_as(&server, &token, Method::GET, "/crm/v2/settings/roles", Value::Null).await;
    assert_eq!(status, 200, "{roles}");
    assert_eq!(roles["roles"][1]["reporting_to"]["name"], "CEO");

    let listed = admin(&server, &["profiles", "create", "--name", "Sales", "--from", "Standard"]);
    assert_eq!(listed[2]["name"], "Sales", "{listed}");
    admin(&server, &["profiles", "module", "--profile", "Sales", "--module", "Leads", "--actions", "create"]);
    admin(
        &server,
        &["profiles", "field", "--profile", "Sales", "--module", "Leads", "--field", "Email", "--access", "hidden"],
    );
    let assigned = admin(&server, &["profiles", "assign", "--user", "sam@example.com", "--profile", "sales"]);
    assert_eq!(assigned["profile"], "Sales");

    let (status, sales) = send_as(&server, &token, Method::GET, "/crm/v2/settings/profiles", Value::Null).await;
    assert_eq!(status, 200);
    let sales_id = sales["profiles"][2]["id"].as_str().unwrap().to_string();
    let (status, one) =
        send_as(&server, &token, Method::GET, &format!("/crm/v2/settings/profiles/{sales_id}"), Value::Null).await;
    assert_eq!(status, 200, "{one}");
    let create_leads = one["profiles"][0]["permissions_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Crm_Implied_Create_Leads")
        .cloned()
        .expect("Crm_Implied_Create_Leads");
    assert_eq!(create_leads["enabled"], false);

    let file_id = server.upload_csv("leads.csv", "Last_Name,Email,Company\nQuist,mara@example.com,Acme\n").await;
    let (status, refused) = send_as(&server, &token, Method::POST, "/crm/bulk/v2/write", leads_body(&file_id)).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(
        refused,
        json!({"code": "NO_PERMISSION", "message": "Permission denied to create", "status": "error",
               "details": {"permissions": ["Crm_Implied_Create_Leads"]}})
    );

    let record = json!({"data": [{"Last_Name": "Quist", "Company": "Acme"}]});
    let (status, refused) = send_as(&server, &token, Method::POST, "/crm/v2/Leads", record).await;
    assert_eq!((status, &refused["code"]), (403, &json!("NO_PERMISSION")), "the records API too: {refused}");

    // Create given back, Phone made read-only: the job is accepted; a row giving Phone a value is
    // skipped with INVALID_DATA on its column, a row leaving it empty is added.
    admin(
        &server,
        &["profiles", "module", "--profile", "Sales", "--module", "Leads", "--actions", "create", "--allow"],
    );
    admin(
        &server,
        &["profiles", "field", "--profile", "Sales", "--module", "Leads", "--field", "Phone", "--access", "read_only"],
    );
    let phones = server.upload_csv("phones.csv", "Name,Tel,Company\nRowOne,555-0100,Acme\nRowTwo,,Acme\n").await;
    let mut with_phone = leads_body(&phones);
    with_phone["resource"][0]["field_mappings"][1] = json!({"api_name": "Phone", "index": 1});
    // Server-side lint says so before the job runs: one row of two would be skipped, on Tel.
    let (status, linted) = send_as(&server, &token, Method::POST, "/bulkwrite/v1/lint", with_phone.clone()).await;
    assert_eq!(status, 200, "{linted}");
    let check = &linted["resources"][0]["check"];
    assert_eq!((&linted["ok"], &check["rows_with_errors"]), (&json!(false), &json!(1)), "{linted}");
    assert_eq!(check["problems"][0]["column"], "Tel", "{linted}");
    let (status, created) = send_as(&server, &token, Method::POST, "/crm/bulk/v2/write", with_phone).await;
    assert_eq!(status, 201, "a read-only field may be mapped: {created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let (_, rows) = server.result_rows(&job).await;
    let column = |name: &str| rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("{name}: {rows:?}"));
    let (state, errors) = (column("STATUS"), column("ERRORS"));
    assert_eq!((rows[1][state].as_str(), rows[1][errors].as_str()), ("SKIPPED", "INVALID_DATA-Tel"), "{rows:?}");
    assert_eq!((rows[2][state].as_str(), rows[2][errors].as_str()), ("ADDED", ""), "{rows:?}");
    let (_, added) = server.get_json(&format!("/crm/v2/Leads/{}", rows[2][column("RECORD_ID")])).await;
    assert_eq!(added["data"][0]["Last_Name"], "RowTwo", "{added}");
    assert_eq!(added["data"][0]["Phone"], Value::Null);

    // The admin may: the job runs, and the Sales user reads the record without the hidden field.
    let (status, created) = server.create_job(&leads_body(&file_id)).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let (status, records) = send_as(&server, &token, Method::GET, "/crm/v2/Leads", Value::Null).await;
    assert_eq!(status, 200, "{records}");
    let quist = |list: &Value| list["data"].as_array().unwrap().iter().find(|l| l["Last_Name"] == "Quist").cloned();
    let lead = quist(&records).expect("the admin's record");
    assert!(lead.get("Email").is_none(), "hidden from the Sales user: {lead}");
    let (_, mine) = server.get_json("/crm/v2/Leads").await;
    assert_eq!(quist(&mine).expect("Quist")["Email"], "mara@example.com", "the admin sees it");
    let (status, fields) =
        send_as(&server, &token, Method::GET, "/crm/v2/settings/fields?module=Leads", Value::Null).await;
    assert_eq!(status, 200);
    let api_names: Vec<&str> =
        fields["fields"].as_array().unwrap().iter().map(|f| f["api_name"].as_str().unwrap()).collect();
    assert!(api_names.contains(&"Last_Name") && !api_names.contains(&"Email"), "{api_names:?}");

    // The records API answers each record that gives a read-only (Phone) or hidden (Email)
    // field a value with INVALID_DATA naming it; one leaving them empty is added.
    let records = json!({"data": [
        {"Last_Name": "Tel", "Company": "Acme", "Phone": "555-0101"},
        {"Last_Name": "Mail", "Company": "Acme", "Email": "mail@example.com"},
        {"Last_Name": "Plain", "Company": "Acme", "Phone": ""}
    ]});
    let (status, answer) = send_as(&server, &token, Method::POST, "/crm/v2/Leads", records).await;
    assert_eq!(status, 207, "{answer}");
    assert_eq!(
        answer["data"][0],
        json!({"code": "INVALID_DATA", "message": "invalid data", "status": "error",
               "details": {"api_name": "Phone", "json_path": "$.data[0].Phone"}})
    );
    assert_eq!(answer["data"][1]["details"]["api_name"], "Email", "{answer}");
    assert_eq!(answer["data"][2]["code"], "SUCCESS", "{answer}");
}

/// A user of `profile` (given through the admin API) and an access token acting as them.
async fn user_with_profile(server: &Server, email: &str, profile: &str) -> String {
    let org = &server.org;
    let (status, user) =
        server.admin(Method::POST, &format!("/orgs/{org}/users"), json!({"email": email, "last_name": "Rep"})).await;
    assert_eq!(status, 201, "{user}");
    let (status, assigned) =
        server.admin(Method::PUT, &format!("/orgs/{org}/users/{email}/profile"), json!({"profile": profile})).await;
    assert_eq!((status, &assigned["profile"]), (200, &json!(profile)), "{assigned}");
    let body = json!({"scopes": SCOPES, "user_id": user["user_id"]});
    let (status, minted) = server.admin(Method::POST, &format!("/orgs/{org}/tokens"), body).await;
    assert_eq!(status, 201, "{minted}");
    minted["access_token"].as_str().expect("access_token").to_string()
}

#[tokio::test]
async fn a_mirrored_org_brings_its_profiles_and_the_admin_api_sets_them() {
    let server = Server::start(&[]).await;
    let org = server.org.clone();
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mirror");
    let mirrored = admin(&server, &["mirror", "--dir", export.to_str().unwrap()]);
    let names: Vec<&str> =
        mirrored["profiles"].as_array().expect("profiles").iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Administrator", "Standard", "Sales Rep"], "{mirrored}");
    assert!(mirrored["modules"].as_array().is_some_and(|m| !m.is_empty()), "{mirrored}");

    // The admin API lists what the mirror stored.
    let (status, listed) = server.admin(Method::GET, &format!("/orgs/{org}/profiles"), Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    let sales = &listed["profiles"][2];
    assert_eq!((&sales["name"], &sales["custom"]), (&json!("Sales Rep"), &json!(true)), "{listed}");
    assert_eq!(sales["denied"]["modules"]["Leads"]["delete"], false, "{sales}");
    assert_eq!(sales["denied"]["fields"]["Leads"]["Phone"], "read_only", "{sales}");

    // A Sales Rep: Annual_Revenue hidden, Phone read-only to it in the fields API, deleting
    // Leads and creating Deals refused.
    let token = user_with_profile(&server, "rep@example.com", "Sales Rep").await;
    let (status, fields) =
        send_as(&server, &token, Method::GET, "/crm/v2/settings/fields?module=Leads", Value::Null).await;
    assert_eq!(status, 200, "{fields}");
    let fields = fields["fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["api_name"] != "Annual_Revenue"), "hidden from the Sales Rep");
    let phone = fields.iter().find(|f| f["api_name"] == "Phone").expect("Phone");
    let rep = phone["profiles"].as_array().unwrap().iter().find(|p| p["name"] == "Sales Rep").expect("Sales Rep entry");
    assert_eq!(rep["permission_type"], "read_only", "{phone}");
    let (status, refused) = send_as(&server, &token, Method::DELETE, "/crm/v2/Leads?ids=1", Value::Null).await;
    assert_eq!((status, &refused["details"]["permissions"]), (403, &json!(["Crm_Implied_Delete_Leads"])), "{refused}");

    // The admin API changes them: deletes given back, Phone writable, a new profile.
    let path = format!("/orgs/{org}/profiles/Sales Rep/modules/Leads");
    let (status, changed) = server.admin(Method::PUT, &path, json!({"actions": ["delete"], "allow": true})).await;
    assert_eq!(status, 200, "{changed}");
    let path = format!("/orgs/{org}/profiles/Sales Rep/fields/Leads/Phone");
    let (status, changed) = server.admin(Method::PUT, &path, json!({"access": "read_write"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["profiles"][2]["denied"]["modules"].get("Leads"), None, "{changed}");
    let (status, _) = send_as(&server, &token, Method::DELETE, "/crm/v2/Leads?ids=1", Value::Null).await;
    assert_ne!(status, 403, "delete given back");
    let (status, made) = server
        .admin(Method::POST, &format!("/orgs/{org}/profiles"), json!({"name": "Support", "from": "Sales Rep"}))
        .await;
    assert_eq!((status, &made["profiles"][3]["name"]), (201, &json!("Support")), "{made}");

    // Refusals are Zoho-shaped.
    let path = format!("/orgs/{org}/profiles/Administrator/modules/Leads");
    let (status, refused) = server.admin(Method::PUT, &path, json!({"actions": ["view"]})).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_DATA")), "{refused}");
    let path = format!("/orgs/{org}/profiles/Support/fields/Leads/Phone");
    let (status, refused) = server.admin(Method::PUT, &path, json!({"access": "sometimes"})).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_DATA")), "{refused}");
    let path = format!("/orgs/{org}/profiles/Nobody/fields/Leads/Phone");
    let (status, refused) = server.admin(Method::PUT, &path, json!({"access": "hidden"})).await;
    assert_eq!(refused["code"], "RESOURCE_NOT_FOUND", "{status} {refused}");
    let (status, refused) =
        server.admin(Method::POST, &format!("/orgs/{org}/profiles"), json!({"name": "support"})).await;
    assert_eq!((status, &refused["code"]), (400, &json!("DUPLICATE_DATA")), "{refused}");
    let unauthorized =
        server.http.get(server.url(&format!("/bulkwrite/v1/admin/orgs/{org}/profiles"))).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}
