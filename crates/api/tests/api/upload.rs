//! `POST /crm/{v}/upload`: the gateway's header checks, a missing part, a file that is not a zip,
//! and the bounds' refusals, each naming its bound in `details`.

use bulkwrite_api::ApiConfig;
use bulkwrite_core::limits::Limits;
use serde_json::json;

use super::fixture::*;

const HEADERS_MESSAGE: &str = "check if headers [feature, X-CRM-ORG] are present and valid";

#[tokio::test]
async fn the_gateway_headers_are_checked() {
    let api = Api::new().await;
    let zip = zip_of(&[("leads.csv", LEADS_CSV.as_bytes())]);
    let answer = api.upload_with(FULL, &[("X-CRM-ORG", "111222333")], "file", &zip).await;
    assert_error(&answer, 400, "MANDATORY_NOT_FOUND", HEADERS_MESSAGE, json!({"api_name": "feature"}));
    let answer = api.upload_with(FULL, &[("feature", "bulk-write")], "file", &zip).await;
    assert_error(&answer, 400, "MANDATORY_NOT_FOUND", HEADERS_MESSAGE, json!({"api_name": "X-CRM-ORG"}));
    let answer = api.upload_with(FULL, &[("feature", "bulk-read"), ("X-CRM-ORG", "111222333")], "file", &zip).await;
    assert_error(&answer, 400, "NOT_SUPPORTED_FEATURE", "Feature is not supported", json!({"api_name": "feature"}));
    let answer = api.upload_with(FULL, &[("feature", "bulk-write"), ("X-CRM-ORG", "444555666")], "file", &zip).await;
    assert_error(&answer, 400, "INVALID_DATA", HEADERS_MESSAGE, json!({"api_name": "X-CRM-ORG"}));
}

#[tokio::test]
async fn a_missing_part_and_a_file_that_is_not_a_zip_are_refused() {
    let api = Api::new().await;
    let headers = [("feature", "bulk-write"), ("X-CRM-ORG", "111222333")];
    let zip = zip_of(&[("leads.csv", LEADS_CSV.as_bytes())]);
    let answer = api.upload_with(FULL, &headers, "attachment", &zip).await;
    assert_error(
        &answer,
        400,
        "MANDATORY_NOT_FOUND",
        "the form-data part file is missing",
        json!({"api_name": "file"}),
    );

    for bytes in [&b"Last_Name\nQuist\n"[..], b"PK\x03\x04 but then nothing a zip has"] {
        let answer = api.upload(bytes).await;
        let body = answer.json();
        let created = body["details"]["created_time"].as_str().expect("created_time in the org's zone").to_string();
        assert!(created.ends_with("+05:30"), "{created}");
        let details = json!({"created_time": created});
        assert_error(&answer, 400, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", details);
    }
}

#[tokio::test]
async fn each_bound_refuses_with_its_name_value_and_setting() {
    let limits = Limits {
        max_upload_bytes: 4096,
        max_zip_entries: 2,
        max_entry_bytes: 600,
        max_header_bytes: 64,
        ..Limits::default()
    };
    let api = Api::with_config(ApiConfig { limits, ..ApiConfig::default() }).await;
    let check = |answer: &Answer, code: &str, message: &str, bound: bulkwrite_core::limits::Bound| {
        let details = json!({"limit": bound.what, "maximum": bound.maximum, "setting": bound.setting});
        assert_error(answer, if code == "FILE_TOO_LARGE" { 413 } else { 400 }, code, message, details);
    };

    // Stored uncompressed, so the bytes sent pass the upload bound.
    let noise: Vec<u8> = (0..6000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let mut big = b"Last_Name\n".to_vec();
    big.extend_from_slice(&noise);
    let answer = api.upload(&big).await;
    check(&answer, "FILE_TOO_LARGE", "File size too large to process", limits.upload_bytes());

    let three = zip_of(&[("a.csv", b"Last_Name\n"), ("b.csv", b"Last_Name\n"), ("c.csv", b"Last_Name\n")]);
    let answer = api.upload(&three).await;
    check(&answer, "LIMIT_EXCEEDED", "the zip holds too many files", limits.zip_entries());

    let long_csv = format!("Last_Name\n{}", "Quist\n".repeat(200));
    let answer = api.upload(&zip_of(&[("leads.csv", long_csv.as_bytes())])).await;
    check(&answer, "FILE_TOO_LARGE", "File size too large to process", limits.entry_bytes());

    let two = zip_of(&[("a.csv", &long_csv.as_bytes()[..400]), ("b.csv", &long_csv.as_bytes()[..400])]);
    let api_small_total =
        Api::with_config(ApiConfig { limits: Limits { max_unzipped_bytes: 700, ..limits }, ..ApiConfig::default() })
            .await;
    let answer = api_small_total.upload(&two).await;
    let total = Limits { max_unzipped_bytes: 700, ..limits }.unzipped_bytes();
    check(&answer, "FILE_TOO_LARGE", "File size too large to process", total);

    let wide = format!("{}\nQuist\n", "Last_Name,".repeat(10));
    let answer = api.upload(&zip_of(&[("wide.csv", wide.as_bytes())])).await;
    check(&answer, "HEADER_LIMIT_EXCEEDED", "the header row of wide.csv is too long", limits.header_bytes());
}

#[tokio::test]
async fn a_declared_length_past_the_bound_is_refused_before_the_body_is_read() {
    let limits = Limits { max_upload_bytes: 1024, ..Limits::default() };
    let api = Api::with_config(ApiConfig { limits, ..ApiConfig::default() }).await;
    let request = axum::http::Request::post("/crm/v2/upload")
        .header("authorization", format!("Zoho-oauthtoken {FULL}"))
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", "111222333")
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", "1099511627776")
        .body(axum::body::Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    let bound = limits.upload_bytes();
    let details = json!({"limit": bound.what, "maximum": bound.maximum, "setting": bound.setting});
    assert_error(&answer, 413, "FILE_TOO_LARGE", "File size too large to process", details);
}
