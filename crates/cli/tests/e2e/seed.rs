//! The recorded exchange of the seed, replayed against the real server.

use serde_json::{json, Value};

use crate::harness::{seed_body, seed_document, zip_of, Server, TOKEN};

fn recorded() -> Value {
    serde_json::from_str(&seed_document()).expect("fixture")
}

fn seed_csv(user: &str) -> String {
    format!("Last_Name,Owner,Date_3,Mobile,Layout\nPatricia,{user},2021/05/13,+91 98450 00001,Standard\n")
}

/// Same keys, in the same order, at every level; leaf values may differ (ids, names).
fn same_shape(ours: &Value, recorded: &Value) -> bool {
    match (ours, recorded) {
        (Value::Object(a), Value::Object(b)) => {
            a.keys().eq(b.keys()) && a.values().zip(b.values()).all(|(x, y)| same_shape(x, y))
        }
        (Value::String(_), Value::String(_)) => true,
        (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

#[tokio::test]
async fn the_seed_request_gets_the_recorded_success_shape() {
    let server = Server::start(&[]).await;
    let file_id = server.upload_csv("Leads.csv", &seed_csv(&server.user)).await;
    let fixture = recorded();
    let success = &fixture["responses"][0];
    let mut body = success["request_body"].clone();
    body["resource"][0]["file_id"] = json!(file_id);

    // The seed's curl sends `-d`, i.e. form-urlencoded; the body is still JSON.
    let response = server
        .auth(server.http.post(server.url("/crm/bulk/v2/write")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept-Encoding", "identity")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let headers = response.headers().clone();
    let answer: Value = response.json().await.unwrap();
    assert!(same_shape(&answer, &success["body"]), "{answer} vs {}", success["body"]);
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["code"], "SUCCESS");
    assert_eq!(answer["message"], "success");
    let id = answer["details"]["id"].as_str().unwrap();
    assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(answer["details"]["created_by"], json!({"id": server.user, "name": server.user_name}));

    let recorded_headers = &success["headers"];
    for name in [
        "Content-Type",
        "Referrer-Policy",
        "X-Content-Type-Options",
        "X-XSS-Protection",
        "Pragma",
        "Cache-Control",
        "Expires",
        "X-Frame-Options",
    ] {
        let ours = headers.get(name).unwrap_or_else(|| panic!("missing {name}"));
        assert_eq!(ours.to_str().unwrap(), recorded_headers[name].as_str().unwrap(), "{name}");
    }
    assert_eq!(headers["vary"], "accept-encoding");

    let job = server.wait_job(id).await;
    assert_eq!(job["status"], "COMPLETED");
    assert_eq!(job["resource"][0]["file"]["added_count"], 1, "{job}");
}

#[tokio::test]
async fn the_three_recorded_failures_are_reproduced_exactly() {
    let server = Server::start(&[]).await;
    let fixture = recorded();
    for recorded in fixture["responses"].as_array().unwrap().iter().skip(1) {
        let response = server
            .auth(server.http.post(server.url("/crm/bulk/v2/write")))
            .json(&recorded["request_body"])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        let body: Value = response.json().await.unwrap();
        let name = recorded["name"].as_str().unwrap();
        assert_eq!(u64::from(status), recorded["code"].as_u64().unwrap(), "{name}");
        assert_eq!(content_type, "application/json", "{name}");
        assert_eq!(serde_json::to_string(&body).unwrap(), serde_json::to_string(&recorded["body"]).unwrap(), "{name}");
    }
}

#[tokio::test]
async fn answers_are_gzipped_when_the_client_asks() {
    let server = Server::start(&[]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(server.url("/crm/bulk/v2/write"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Accept-Encoding", "gzip")
        .json(&seed_body("415086800000537900", "https://www.zoho.com/in/crm/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["vary"], "accept-encoding");
}

#[tokio::test]
async fn every_version_path_accepts_the_seed_and_v21_writes_objects() {
    let server = Server::start(&[]).await;
    for version in ["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"] {
        let file_id = server.upload_csv("Leads.csv", &seed_csv(&server.user)).await;
        let mut body = seed_body(&file_id, "https://www.zoho.com/in/crm/");
        if version != "v2" {
            body["resource"][0]["module"] = json!({"api_name": "Leads"});
        }
        let response = server
            .auth(server.http.post(server.url(&format!("/crm/bulk/{version}/write"))))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{version}");
        let created: Value = response.json().await.unwrap();
        let id = created["details"]["id"].as_str().unwrap();
        server.wait_job(id).await;
        let (status, details) = server.get_json(&format!("/crm/bulk/{version}/write/{id}")).await;
        assert_eq!(status, 200);
        let resource = &details["resource"][0];
        if version == "v2" {
            assert_eq!(resource["module"], "Leads");
            assert!(resource.get("code").is_none());
        } else {
            assert_eq!(resource["module"]["api_name"], "Leads", "{version}");
            assert!(resource["module"]["id"].as_str().is_some_and(|id| id.len() == 19));
            assert_eq!(resource["code"], "COMPLETED", "{version}");
            assert_eq!(resource["field_mappings"][0]["parent_column_index"], Value::Null);
        }
    }
    let (status, _) = server.get_json("/crm/bulk/v9/write/1").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn uploads_answer_as_zoho_does() {
    let server = Server::start(&[("BULKWRITE_MAX_UPLOAD_BYTES", "2000")]).await;
    let (status, body) = server.upload_raw(zip_of(&[("a.csv", b"Last_Name\nSmith\n")]), "a.zip").await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], "FILE_UPLOAD_SUCCESS");
    assert_eq!(body["message"], "file uploaded.");
    let created_time = body["details"]["created_time"].as_str().unwrap();
    assert!(created_time.ends_with("+00:00") && created_time.len() == 25, "{created_time}");

    let (status, body) = server.upload_raw(b"Last_Name\nSmith\n".to_vec(), "a.csv").await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_FILE_FORMAT"));
    assert_eq!(body["message"], "invalid file format. only zip format is supported");

    let big = "x".repeat(5000);
    let (status, body) = server
        .upload_raw(zip_of(&[("a.csv", big.as_bytes())]).into_iter().chain(vec![0u8; 3000]).collect(), "a.zip")
        .await;
    assert_eq!((status, body["code"].as_str().unwrap()), (413, "FILE_TOO_LARGE"));

    let form = || {
        reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(zip_of(&[("a.csv", b"A\n1\n")])).file_name("a.zip"))
    };
    let upload = server.url("/crm/v2/upload");
    type Case<'a> = (Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("X-CRM-ORG", server.org.clone())], 400, "MANDATORY_NOT_FOUND"),
        (vec![("feature", "bulk-write".into())], 400, "MANDATORY_NOT_FOUND"),
        (vec![("feature", "bulk-read".into()), ("X-CRM-ORG", server.org.clone())], 400, "NOT_SUPPORTED_FEATURE"),
        (vec![("feature", "bulk-write".into()), ("X-CRM-ORG", "123456789".into())], 400, "INVALID_DATA"),
    ];
    for (headers, expected_status, expected_code) in cases {
        let mut request = server.auth(server.http.post(&upload)).multipart(form());
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected_status, "{headers:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], expected_code, "{headers:?}");
        assert_eq!(body["status"], "error");
        assert!(body["details"].is_object());
    }
    let no_file = server
        .auth(server.http.post(&upload))
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", &server.org)
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_file.status(), 400);
}
