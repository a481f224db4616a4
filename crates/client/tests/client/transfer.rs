//! Uploads (multipart shape, CSV zipping) and result downloads.

use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use bulkwrite_client::wire::rows::RowErrorCode;
use bulkwrite_client::{
    zip_entries, ApiVersion, Client, Credentials, Error, JobDetails, RowError, RowStatus, UploadSource,
};
use serde_json::json;

use crate::support::{job_details, make_zip, multipart_parts, reply, reply_bytes, token_client, Mock, Seen};

fn upload_ok(seen: &Seen) -> crate::support::Reply {
    assert_eq!(seen.method, "POST");
    reply(
        200,
        json!({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
                      "details": {"file_id": "5725767000000100004", "created_time": "2026-11-28T16:53:39+00:00"}}),
    )
}

/// The single `file` part of an upload: (part headers, zip bytes).
fn file_part(seen: &Seen) -> (String, Vec<u8>) {
    let parts = multipart_parts(seen);
    assert_eq!(parts.len(), 1, "exactly one part");
    parts.into_iter().next().unwrap()
}

fn unzip_one(zip: &[u8]) -> (String, String) {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_index(0).unwrap();
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    (entry.name().to_string(), text)
}

#[tokio::test]
async fn csv_bytes_are_zipped_and_sent_as_the_file_part() {
    let mock = Mock::start(upload_ok).await;
    let csv = "Last_Name,Email\nBoyle,boyle@example.com\n";
    let uploaded = token_client(&mock, ApiVersion::V2)
        .upload("535167919", UploadSource::csv_bytes("leads.csv", csv))
        .await
        .unwrap();
    assert_eq!(uploaded.file_id, "5725767000000100004");
    assert_eq!(uploaded.created_time, "2026-11-28T16:53:39+00:00");

    let seen = &mock.seen()[0];
    assert_eq!(seen.path, "/crm/v2/upload");
    assert_eq!(seen.header("feature"), Some("bulk-write"));
    assert_eq!(seen.header("x-crm-org"), Some("535167919"));
    assert_eq!(seen.header("authorization"), Some("Zoho-oauthtoken fixed"));
    assert!(seen.header("content-type").unwrap().starts_with("multipart/form-data; boundary="));
    assert!(seen.header("content-length").is_some(), "the upload has a known length");
    let (headers, zip) = file_part(seen);
    assert!(headers.contains(r#"name="file""#), "{headers}");
    assert!(headers.contains(r#"filename="leads.csv.zip""#), "{headers}");
    assert!(headers.to_ascii_lowercase().contains("content-type: application/zip"), "{headers}");
    assert_eq!(unzip_one(&zip), ("leads.csv".to_string(), csv.to_string()));
}

#[tokio::test]
async fn zip_and_csv_files_are_uploaded_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("contacts.zip");
    let zip = make_zip(&[("contacts.csv", "Last_Name\nQuist\n")]);
    std::fs::write(&zip_path, &zip).unwrap();
    let csv_path = dir.path().join("deals.csv");
    std::fs::write(&csv_path, "Deal_Name,Stage\nBig,Won\n").unwrap();

    let mock = Mock::start(upload_ok).await;
    let client = token_client(&mock, ApiVersion::V8);
    client.upload("1", UploadSource::path(&zip_path)).await.unwrap();
    client.upload("1", UploadSource::path(&csv_path)).await.unwrap();

    let seen = mock.seen();
    assert_eq!(seen[0].path, "/crm/v8/upload");
    let (headers, sent) = file_part(&seen[0]);
    assert!(headers.contains(r#"filename="contacts.zip""#));
    assert_eq!(sent, zip, "a zip goes out byte for byte");
    let (headers, sent) = file_part(&seen[1]);
    assert!(headers.contains(r#"filename="deals.csv.zip""#));
    assert_eq!(zip_entries(Cursor::new(&sent)).unwrap(), ["deals.csv"]);
    assert_eq!(unzip_one(&sent).1, "Deal_Name,Stage\nBig,Won\n");

    let missing = client.upload("1", UploadSource::path(dir.path().join("nope.zip"))).await.unwrap_err();
    assert!(matches!(missing, Error::Io(_)));
}

const RESULT_CSV: &str = "Last_Name,Owner,Date_3,STATUS,RECORD_ID,ERRORS\n\
Boyle,5725767000000100001,2021/05/13,ADDED,5725767000000101001,\n\
Quist,5725767000000100001,2021/13/01,SKIPPED,,INVALID_DATA-Date_3\n\
,5725767000000100001,2021/05/13,SKIPPED,,\"MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email\"\n\
Lund,5725767000000100001,2021/05/14,UPDATED,5725767000000101002,\n";

fn details_with(url: &str) -> JobDetails {
    serde_json::from_value(job_details("7", "COMPLETED", Some((1, 1, 2)), Some(url))).unwrap()
}

#[tokio::test]
async fn result_zips_are_downloaded_and_parsed() {
    let zip = make_zip(&[("Leads-leads.csv", RESULT_CSV)]);
    let served = zip.clone();
    let mock = Mock::start(move |seen: &Seen| {
        assert_eq!(seen.header("authorization"), Some("Zoho-oauthtoken fixed"));
        reply_bytes(200, "application/zip", served.clone())
    })
    .await;
    let client = token_client(&mock, ApiVersion::V2);
    let details = details_with(&format!("{}/v2/crm/1/bulk-write/7/7.zip", mock.base));
    let result = client.download_result(&details).await.unwrap();
    assert_eq!(mock.seen()[0].path, "/v2/crm/1/bulk-write/7/7.zip");
    assert_eq!(result.zip_bytes, zip);
    assert_eq!(result.files.len(), 1);
    let csv = &result.files[0];
    assert_eq!(csv.name, "Leads-leads.csv");
    assert_eq!(csv.header, ["Last_Name", "Owner", "Date_3", "STATUS", "RECORD_ID", "ERRORS"]);
    let statuses: Vec<_> = csv.rows.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [RowStatus::Added, RowStatus::Skipped, RowStatus::Skipped, RowStatus::Updated]);
    assert_eq!(csv.rows[0].record_id.as_deref(), Some("5725767000000101001"));
    assert_eq!(csv.rows[0].echo, ["Boyle", "5725767000000100001", "2021/05/13"]);
    assert!(csv.rows[0].errors.is_empty());
    assert_eq!(csv.rows[1].errors, [RowError { code: RowErrorCode::InvalidData, columns: vec!["Date_3".into()] }]);
    assert_eq!(
        csv.rows[2].errors,
        [
            RowError { code: RowErrorCode::MandatoryNotFound, columns: vec!["Company".into(), "Last_Name".into()] },
            RowError { code: RowErrorCode::DuplicateData, columns: vec!["Email".into()] },
        ]
    );
    assert_eq!(result.count(&RowStatus::Skipped), 2);

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("7.zip");
    result.write_to(&saved).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), zip);
    let streamed = dir.path().join("streamed.zip");
    let written = client.download_result_to(&details, &streamed).await.unwrap();
    assert_eq!(written, zip.len() as u64);
    assert_eq!(std::fs::read(&streamed).unwrap(), zip);
}

#[tokio::test]
async fn relative_download_urls_use_the_download_base() {
    let zip = make_zip(&[("Leads-a.csv", "Last_Name,STATUS,RECORD_ID,ERRORS\nA,ADDED,1,\n")]);
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = paths.clone();
    let mock = Mock::start(move |seen: &Seen| {
        log.lock().unwrap().push(seen.path.clone());
        reply_bytes(200, "application/zip", zip.clone())
    })
    .await;
    let endpoints = mock.endpoints().with_download(format!("{}/dl/", mock.base));
    let client = Client::builder(endpoints, Credentials::access_token("t")).build().unwrap();
    let result = client.download_result(&details_with("/v7/crm/org1/bulk-write/7/7.zip")).await.unwrap();
    assert_eq!(result.files[0].rows[0].echo, ["A"]);
    assert_eq!(paths.lock().unwrap().as_slice(), ["/dl/v7/crm/org1/bulk-write/7/7.zip"]);
}

#[tokio::test]
async fn download_failures_and_limits() {
    let mock = Mock::start(|_: &Seen| reply(404, json!({"x-info": "Link not valid"}))).await;
    let client = token_client(&mock, ApiVersion::V2);
    let error = client.download_result(&details_with(&format!("{}/gone.zip", mock.base))).await.unwrap_err();
    assert_eq!(error.api_code(), Some("LINK_NOT_VALID"));

    let unfinished: JobDetails = serde_json::from_value(job_details("7", "IN PROGRESS", None, None)).unwrap();
    assert!(matches!(client.download_result(&unfinished).await, Err(Error::Invalid(_))));

    let big = Mock::start(|_: &Seen| reply_bytes(200, "application/zip", vec![0; 4096])).await;
    let small =
        Client::builder(big.endpoints(), Credentials::access_token("t")).max_download_bytes(1024).build().unwrap();
    let error = small.download_result(&details_with(&format!("{}/big.zip", big.base))).await.unwrap_err();
    assert!(matches!(error, Error::Decode(_)), "{error:?}");

    let not_zip = Mock::start(|_: &Seen| reply_bytes(200, "application/zip", b"hello".to_vec())).await;
    let client = token_client(&not_zip, ApiVersion::V2);
    let error = client.download_result(&details_with(&format!("{}/x.zip", not_zip.base))).await.unwrap_err();
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
}
