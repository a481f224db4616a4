//! Profiles and permissions through the real binary: `bulkwrite admin profiles` on the data
//! directory, Zoho's profiles and roles APIs, `NO_PERMISSION` for a profile without create,
//! hidden fields absent from reads and field metadata.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;
use crate::isolation::send_as;

const SCOPES: &str = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL";

/// `bulkwrite admin --data-dir DIR ARGS`: its JSON answer.
fn admin(server: &Server, args: &[&str]) -> Value {
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
    assert_eq!(body["profiles"][0]["custom"], false);
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

    // Create given back: a mapping of a field the profile makes read-only is refused as one of a
    // read-only field.
    admin(
        &server,
        &["profiles", "module", "--profile", "Sales", "--module", "Leads", "--actions", "create", "--allow"],
    );
    admin(
        &server,
        &["profiles", "field", "--profile", "Sales", "--module", "Leads", "--field", "Phone", "--access", "read_only"],
    );
    let mut with_phone = leads_body(&file_id);
    with_phone["resource"][0]["field_mappings"][1] = json!({"api_name": "Phone", "index": 1});
    let (status, refused) = send_as(&server, &token, Method::POST, "/crm/bulk/v2/write", with_phone).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_FIELD")), "{refused}");
    assert_eq!(refused["message"], "invalid mapping. field Phone is read only.");

    // The admin may: the job runs, and the Sales user reads the record without the hidden field.
    let (status, created) = server.create_job(&leads_body(&file_id)).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let (status, records) = send_as(&server, &token, Method::GET, "/crm/v2/Leads", Value::Null).await;
    assert_eq!(status, 200, "{records}");
    let lead = &records["data"][0];
    assert_eq!(lead["Last_Name"], "Quist");
    assert!(lead.get("Email").is_none(), "hidden from the Sales user: {lead}");
    let (_, mine) = server.get_json("/crm/v2/Leads").await;
    assert_eq!(mine["data"][0]["Email"], "mara@example.com", "the admin sees it");
    let (status, fields) =
        send_as(&server, &token, Method::GET, "/crm/v2/settings/fields?module=Leads", Value::Null).await;
    assert_eq!(status, 200);
    let api_names: Vec<&str> =
        fields["fields"].as_array().unwrap().iter().map(|f| f["api_name"].as_str().unwrap()).collect();
    assert!(api_names.contains(&"Last_Name") && !api_names.contains(&"Email"), "{api_names:?}");
}
