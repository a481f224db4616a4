//! Several orgs in one server: nothing of one org is visible to another org's tokens — files,
//! jobs, results, callbacks, records, metadata — walked as a matrix.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

/// A second org and an all-scopes token of its admin.
pub(crate) async fn second_org(server: &Server) -> (String, String) {
    let request = json!({"company_name": "Other Org", "admin": {"first_name": "Oli", "last_name": "Other", "email": "oli@other.example"}});
    let (status, created) = server.admin(Method::POST, "/orgs", request).await;
    assert_eq!(status, 201, "{created}");
    let org = created["org_id"].as_str().unwrap().to_string();
    let scopes = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL";
    let (_, minted) = server.admin(Method::POST, &format!("/orgs/{org}/tokens"), json!({"scopes": scopes})).await;
    (org, minted["access_token"].as_str().unwrap().to_string())
}

pub(crate) async fn send_as(server: &Server, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .request(method, server.url(path))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

#[tokio::test]
async fn nothing_of_one_org_is_visible_to_another() {
    let server = Server::start(&[]).await;
    let (other_org, other) = second_org(&server).await;
    let (status, _) = server
        .admin(
            Method::POST,
            &format!("/orgs/{}/fields", server.org),
            json!({"module": "Leads", "api_name": "Secret_Field", "data_type": "text"}),
        )
        .await;
    assert_eq!(status, 201);

    // The first org: an upload, a finished job with a result, records.
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company,Email\nBoyle,Zylker,pat@zylker.com\n").await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (_, created) = server.create_job(&body).await;
    let job_id = created["details"]["id"].as_str().unwrap().to_string();
    let job = server.wait_job(&job_id).await;
    let download = job["result"]["download_url"].as_str().unwrap().replace(&server.base, "");
    let (_, rows) = server.result_rows(&job).await;
    let record = rows[1][4].clone();

    // The second org's token sees none of it.
    let not_found = |(status, body): (u16, Value)| status == 404 && body["code"] == "RESOURCE_NOT_FOUND";
    assert!(
        not_found(send_as(&server, &other, Method::GET, &format!("/crm/bulk/v2/write/{job_id}"), Value::Null).await),
        "job"
    );
    assert!(
        not_found(send_as(&server, &other, Method::GET, &format!("/crm/bulk/v2.1/write/{job_id}"), Value::Null).await),
        "job v2.1"
    );
    assert!(not_found(send_as(&server, &other, Method::GET, &download, Value::Null).await), "result download");
    let own_path = download.replace(&format!("/crm/{}/", server.org), &format!("/crm/{other_org}/"));
    assert!(
        not_found(send_as(&server, &other, Method::GET, &own_path, Value::Null).await),
        "result under its own zgid"
    );
    assert!(
        not_found(send_as(&server, &other, Method::GET, &format!("/bulkwrite/v1/jobs/{job_id}"), Value::Null).await),
        "queue state"
    );
    assert!(
        not_found(
            send_as(&server, &other, Method::GET, &format!("/bulkwrite/v1/jobs/{job_id}/callback"), Value::Null).await
        ),
        "callback"
    );

    let (status, answer) = send_as(&server, &other, Method::POST, "/crm/bulk/v2/write", body.clone()).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("FILE_NOT_SUPPORTED")), "another org's file");

    let upload = server
        .http
        .post(server.url("/crm/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {other}"))
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", &server.org)
        .multipart(
            reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(vec![b'P', b'K', 5, 6]).file_name("a.zip")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 400, "uploading into another org's zgid");

    assert_eq!(
        send_as(&server, &other, Method::GET, &format!("/crm/v2/Leads/{record}"), Value::Null).await.0,
        204,
        "record"
    );
    assert_eq!(
        send_as(&server, &other, Method::GET, "/crm/v2/Leads?fields=Last_Name", Value::Null).await.0,
        204,
        "listing"
    );
    assert_eq!(
        send_as(&server, &other, Method::GET, "/crm/v2.1/Leads/actions/count", Value::Null).await.1,
        json!({"count": 0})
    );
    let (status, _) =
        send_as(&server, &other, Method::PUT, &format!("/crm/v2/Leads/{record}"), json!({"data": [{"Phone": "1"}]}))
            .await;
    assert_eq!(status, 400, "updating another org's record");
    let (_, deleted) = send_as(&server, &other, Method::DELETE, &format!("/crm/v2/Leads/{record}"), Value::Null).await;
    assert_eq!(deleted["data"][0]["status"], "error", "deleting another org's record");
    assert_eq!(server.get_json(&format!("/crm/v2/Leads/{record}")).await.0, 200, "it is still there");

    let (_, org) = send_as(&server, &other, Method::GET, "/crm/v2/org", Value::Null).await;
    assert_eq!(org["org"][0]["zgid"], json!(other_org));
    let (_, users) = send_as(&server, &other, Method::GET, "/crm/v2/users?type=AllUsers", Value::Null).await;
    let emails: Vec<&str> = users["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["oli@other.example"]);
    let (_, fields) = send_as(&server, &other, Method::GET, "/crm/v2/settings/fields?module=Leads", Value::Null).await;
    let names: Vec<&str> =
        fields["fields"].as_array().unwrap().iter().map(|f| f["api_name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"Secret_Field") && names.contains(&"Last_Name"), "custom fields stay in their org");
    let (_, own_fields) = server.get_json("/crm/v2/settings/fields?module=Leads").await;
    assert!(own_fields["fields"].as_array().unwrap().iter().any(|f| f["api_name"] == "Secret_Field"));

    // Unique values are unique per org.
    let (status, _) = send_as(
        &server,
        &other,
        Method::POST,
        "/crm/v2/Leads",
        json!({"data": [{"Last_Name": "B", "Company": "Z", "Email": "pat@zylker.com"}]}),
    )
    .await;
    assert_eq!(status, 201);
    // And the first org's token sees nothing of the second.
    let (_, mine) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(mine, json!({"count": 1}));
}
