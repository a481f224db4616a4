//! Activities through the records API: a task, call or meeting names its related record with
//! `What_Id` and `$se_module` and its contact with `Who_Id`, and reads them back as Zoho returns
//! them (`{"name", "id"}` and the module's API name); an event must end after it starts.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

async fn call(server: &Server, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server.auth(server.http.request(method, server.url(path))).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn insert(server: &Server, module: &str, record: Value) -> Value {
    let (status, answer) = call(server, Method::POST, &format!("/crm/v2/{module}"), json!({"data": [record]})).await;
    assert!(status == 201 || status == 400 || status == 207, "{status} {answer}");
    answer["data"][0].clone()
}

fn id_of(answer: &Value) -> String {
    answer["details"]["id"].as_str().unwrap_or_else(|| panic!("no id in {answer}")).to_string()
}

#[tokio::test]
async fn tasks_calls_and_meetings_link_a_related_record_and_a_contact() {
    let server = Server::start(&[]).await;
    let account = id_of(&insert(&server, "Accounts", json!({"Account_Name": "Zylker"})).await);
    let contact = id_of(&insert(&server, "Contacts", json!({"Last_Name": "Boyle"})).await);
    let links = json!({"What_Id": {"id": account}, "$se_module": "Accounts", "Who_Id": {"id": contact}});
    let mut ids = Vec::new();
    for (module, mut record) in [
        ("Tasks", json!({"Subject": "Send the quote"})),
        (
            "Calls",
            json!({"Subject": "Intro", "Call_Type": "Outbound", "Call_Start_Time": "2024-05-01T10:00:00+00:00", "Call_Duration": "12:30"}),
        ),
        (
            "Events",
            json!({"Event_Title": "Demo", "Start_DateTime": "2024-05-02T10:00:00+00:00", "End_DateTime": "2024-05-02T11:00:00+00:00"}),
        ),
    ] {
        record.as_object_mut().unwrap().extend(links.as_object().unwrap().clone());
        let answer = insert(&server, module, record).await;
        assert_eq!(answer["code"], "SUCCESS", "{module}: {answer}");
        ids.push((module, id_of(&answer)));
    }
    for (module, id) in &ids {
        let (status, read) = server.get_json(&format!("/crm/v2/{module}/{id}")).await;
        assert_eq!(status, 200, "{read}");
        let record = &read["data"][0];
        assert_eq!(record["What_Id"], json!({"name": "Zylker", "id": account}), "{module}");
        assert_eq!(record["$se_module"], json!("Accounts"), "{module}");
        assert_eq!(record["Who_Id"], json!({"name": "Boyle", "id": contact}), "{module}");
    }
    let (_, call_read) = server.get_json(&format!("/crm/v2/Calls/{}", ids[1].1)).await;
    assert_eq!(call_read["data"][0]["Call_Duration_in_seconds"], json!(750));

    // What_Id without $se_module, an event ending before it starts, a duration that is not mm:ss.
    let orphan = insert(&server, "Tasks", json!({"Subject": "Orphan", "What_Id": {"id": account}})).await;
    assert_eq!((&orphan["code"], &orphan["details"]["api_name"]), (&json!("INVALID_DATA"), &json!("What_Id")));
    let backwards = insert(
        &server,
        "Events",
        json!({"Event_Title": "Backwards", "Start_DateTime": "2024-05-02T11:00:00+00:00", "End_DateTime": "2024-05-02T10:00:00+00:00"}),
    )
    .await;
    assert_eq!(
        (&backwards["code"], &backwards["details"]["api_name"]),
        (&json!("INVALID_DATA"), &json!("End_DateTime"))
    );
    let long = insert(
        &server,
        "Calls",
        json!({"Subject": "Long", "Call_Type": "Inbound", "Call_Start_Time": "2024-05-01T10:00:00+00:00", "Call_Duration": "an hour"}),
    )
    .await;
    assert_eq!((&long["code"], &long["details"]["api_name"]), (&json!("INVALID_DATA"), &json!("Call_Duration")));
}
