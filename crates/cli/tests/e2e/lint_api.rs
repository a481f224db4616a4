//! `POST /bulkwrite/v1/lint` through the real binary: what it says of each row is what the job
//! made from the same body then does with it (the rows it flags are the rows skipped, with the
//! same codes and columns), a refusal is the one the create call answers, and it writes nothing.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::harness::Server;

const LEADS: &str = "Last_Name,Company,Email,Date_3\n\
Boyle,Zylker,patricia@example.com,2026/01/15\n\
,Zylker,nameless@example.com,2026/02/01\n\
Quist,Zylker,quist@example.com,2026/13/01\n\
Moss,Zylker,moss@example,2026/03/09\n\
Park,Zylker,PATRICIA@example.com,2026/04/01\n\
Lind,Zylker,lind@example.com,2026/05/02\n";

pub(crate) async fn lint(server: &Server, body: &Value) -> Value {
    let response = server.auth(server.http.post(server.url("/bulkwrite/v1/lint"))).json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn body(file_id: &str, mappings: Value) -> Value {
    json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id, "field_mappings": mappings}]})
}

#[tokio::test]
async fn lint_flags_exactly_the_rows_the_job_skips() {
    let server = Server::start(&[]).await;
    let file_id = server.upload_csv("leads.csv", LEADS).await;
    let mappings = json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Company", "index": 1},
        {"api_name": "Email", "index": 2}, {"api_name": "Date_3", "index": 3, "format": "yyyy/MM/dd"}]);
    let linted = lint(&server, &body(&file_id, mappings.clone())).await;
    assert_eq!((linted["ok"].as_bool(), &linted["refusal"]), (Some(false), &Value::Null), "{linted}");
    let check = &linted["resources"][0]["check"];
    assert_eq!(check["rows"], 6, "{check}");
    let mut flagged: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for problem in check["problems"].as_array().unwrap() {
        assert_eq!(problem["warning"], false, "{problem}");
        let entry = format!("{}-{}", problem["code"].as_str().unwrap(), problem["column"].as_str().unwrap());
        flagged.entry(problem["row"].as_u64().unwrap()).or_default().push(entry);
    }
    assert_eq!(server.get_json("/crm/v2.1/Leads/actions/count").await.1["count"], 0, "lint wrote nothing");
    assert_eq!(server.get_json("/bulkwrite/v1/jobs").await.1["jobs"], json!([]), "lint queued nothing");

    let (status, created) = server.create_job(&body(&file_id, mappings)).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    let (_, rows) = server.result_rows(&job).await;
    let mut skipped: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (index, row) in rows[1..].iter().enumerate() {
        if row[3] == "SKIPPED" {
            skipped.insert(index as u64 + 1, row[5].split(':').map(str::to_string).collect());
        } else {
            assert_eq!(row[3], "ADDED", "{row:?}");
        }
    }
    assert_eq!(flagged, skipped, "lint flagged the rows the job skipped, with their codes and columns");
    assert_eq!(flagged.keys().copied().collect::<Vec<_>>(), [2, 3, 4, 5]);
}

#[tokio::test]
async fn a_refusal_is_the_create_calls_and_headers_are_matched_to_fields() {
    let server = Server::start(&[]).await;
    let file_id = server
        .upload_csv("leads.csv", "Last Name,Company,E-mail,Date_3\nBoyle,Zylker,p@example.com,2026-01-15\n")
        .await;
    let auto = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let linted = lint(&server, &auto).await;
    let (status, created) = server.create_job(&auto).await;
    assert_eq!(status, 400);
    let refusal = &linted["refusal"];
    for key in ["code", "message", "details"] {
        assert_eq!(refusal[key], created[key], "{key}: {refusal} vs {created}");
    }
    assert!(
        refusal["explanation"].as_str().unwrap().contains("'Last Name' is not a field API name of Leads"),
        "{refusal}"
    );
    let fields: Vec<&Value> =
        linted["resources"][0]["columns"].as_array().unwrap().iter().map(|c| &c["field"]).collect();
    assert_eq!(fields, [&json!("Last_Name"), &json!("Company"), &json!("Email"), &json!("Date_3")]);
}
