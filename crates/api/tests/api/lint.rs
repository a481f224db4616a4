//! `POST /bulkwrite/v1/lint`: Zoho's create body checked with the rules a job runs, writing
//! nothing: a refusal is answered (200) with Zoho's error and a sentence; each header column is
//! matched to a field; every row goes through the worker's mapping; the create call's auth.

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use super::fixture::*;

const FILE: &str = "Last_Name,Company,Email,No_of_Employees\n\
Boyle,Zylker,patricia@example.com,12\n\
,Zylker,nameless@example.com,40\n\
Quist,Zylker,quist@example.com,many\n\
Moss,Zylker,PATRICIA@example.com,7\n";

async fn lint(api: &Api, token: &str, query: &str, body: &str) -> Answer {
    let request = Request::post(format!("/bulkwrite/v1/lint{query}"))
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.send(request).await
}

fn mapped(file_id: &str) -> Value {
    json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
        "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Company", "index": 1},
                           {"api_name": "Email", "index": 2}, {"api_name": "No_of_Employees", "index": 3}]}]})
}

#[tokio::test]
async fn every_row_is_checked_by_the_worker_rules_and_nothing_is_written() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", FILE).await;
    let answer = lint(&api, FULL, "", &mapped(&file_id).to_string()).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.json());
    let body = answer.json();
    assert_eq!((body["ok"].as_bool(), &body["refusal"]), (Some(false), &Value::Null), "{body}");
    let resource = &body["resources"][0];
    assert_eq!(resource["module"], "Leads");
    assert_eq!(resource["file_name"], "leads.csv");
    assert_eq!(resource["auto_mapped"], false);
    assert_eq!(resource["field_mappings"][3]["api_name"], "No_of_Employees");
    let check = &resource["check"];
    assert_eq!(
        (check["rows"].as_u64(), check["errors"].as_u64(), check["rows_with_errors"].as_u64()),
        (Some(4), Some(3), Some(3)),
        "{check}"
    );
    let problems: Vec<(u64, &str, &str)> = check["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap(), p["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            (2, "Last_Name", "MANDATORY_NOT_FOUND"),
            (3, "No_of_Employees", "INVALID_DATA"),
            (4, "Email", "DUPLICATE_DATA")
        ]
    );
    assert_eq!(check["problems"][1]["message"], "'many' is not a whole number");
    assert_eq!(resource["notes"], json!([]));

    let jobs = api.get("/bulkwrite/v1/jobs", FULL).await.json();
    assert_eq!(jobs["jobs"], json!([]), "lint queues no job");
    let count = api.get("/crm/v2.1/Leads/actions/count", FULL).await.json();
    assert_eq!(count["count"], 0, "lint writes no record");

    // Problems past max_problems are counted, not listed.
    let answer = lint(&api, FULL, "?max_problems=1", &mapped(&file_id).to_string()).await.json();
    let check = &answer["resources"][0]["check"];
    assert_eq!((check["errors"].as_u64(), check["problems"].as_array().unwrap().len()), (Some(3), 1));
    let refused = lint(&api, FULL, "?max_problems=0", &mapped(&file_id).to_string()).await;
    assert_eq!((refused.status.as_u16(), refused.json()["code"].as_str()), (400, Some("INVALID_DATA")));
}

#[tokio::test]
async fn headers_are_matched_to_fields_and_a_refusal_is_explained() {
    let api = Api::new().await;
    let file_id = api
        .upload_csv("leads.csv", "Last Name,company,E-mail address,No. of Employees\nBoyle,Zylker,p@example.com,12\n")
        .await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let answer = lint(&api, FULL, "", &body.to_string()).await;
    assert_eq!(answer.status.as_u16(), 200);
    let body = answer.json();
    assert_eq!(body["ok"], false);
    let refusal = &body["refusal"];
    assert_eq!(refusal["code"], "INVALID_FIELD", "{refusal}");
    assert_eq!(refusal["details"]["api_name"], "Last Name", "{refusal}");
    assert_eq!(
        refusal["explanation"],
        "the header 'Last Name' is not a field API name of Leads; map the column to a field or leave it out"
    );
    let columns: Vec<(&str, Value, Value)> = body["resources"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["header"].as_str().unwrap(), c["field"].clone(), c["matched_by"].clone()))
        .collect();
    assert_eq!(
        columns,
        [
            ("Last Name", json!("Last_Name"), json!("label")),
            ("company", json!("Company"), json!("api_name")),
            ("E-mail address", Value::Null, Value::Null),
            ("No. of Employees", json!("No_of_Employees"), json!("label")),
        ]
    );
    assert_eq!(body["resources"][0]["check"], Value::Null, "rows are checked once the job is valid");

    let only_email = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id,
        "field_mappings": [{"api_name": "Email", "index": 2}]}]});
    let refusal = lint(&api, FULL, "", &only_email.to_string()).await.json()["refusal"].clone();
    assert_eq!(refusal["code"], "MANDATORY_FIELDS_NOT_MAPPED", "{refusal}");
    assert_eq!(refusal["explanation"], "Leads requires Last_Name, Company, but no column is mapped to them");

    let garbage = lint(&api, FULL, "", "{not json").await;
    assert_eq!(garbage.status.as_u16(), 200);
    assert_eq!(garbage.json()["refusal"]["code"], "REQUEST_BODY_NOT_SUPPORTED");
}

#[tokio::test]
async fn lint_takes_the_create_calls_auth() {
    let api = Api::new().await;
    let file_id = api.upload_csv("leads.csv", FILE).await;
    for token in [NARROW, EXPIRED, "", OTHER] {
        let created = api.create_job(token, &mapped(&file_id)).await;
        let linted = lint(&api, token, "", &mapped(&file_id).to_string()).await;
        if token == OTHER {
            // Another org's token is authorised, but the upload is not its own.
            assert_eq!(created.json()["code"], "FILE_NOT_SUPPORTED", "{}", created.json());
            assert_eq!(linted.json()["refusal"]["code"], "FILE_NOT_SUPPORTED", "{}", linted.json());
            assert_eq!(linted.json()["resources"][0]["file_name"], Value::Null);
            continue;
        }
        assert_eq!(linted.status, created.status, "{token:?}");
        assert_eq!(linted.json(), created.json(), "{token:?}");
    }
}
