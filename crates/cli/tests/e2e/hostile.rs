//! Hostile files against the real server at default settings: each is refused naming its bound,
//! or read only as far as the bounds let it matter, and none takes the server's peak resident
//! memory past 256 MiB or grows the data directory past what the row limit allows.
//!
//! The zips are built by `zipbomb` without inflating them, so a 10 GiB entry costs the test what
//! its 10 MiB zip does.

use serde_json::{json, Value};

use crate::harness::Server;
use crate::zipbomb::{build, Entry};

/// The bound on the server's peak RSS at default settings.
const PEAK_RSS_MIB: u64 = 256;

fn assert_memory_bounded(server: &Server, what: &str) {
    let peak = server.peak_rss_mib();
    eprintln!("{what}: the server's peak RSS was {peak} MiB");
    assert!(peak <= PEAK_RSS_MIB, "{what}: the server's peak RSS reached {peak} MiB");
}

/// Uploads `zip`, expecting a refusal that names `setting`, and checks that nothing of it stayed
/// in the data directory.
async fn assert_upload_refused(server: &Server, zip: Vec<u8>, expected: (u16, &str), setting: &str) -> Value {
    let before = settled_bytes(server).await;
    let (status, body) = server.upload_raw(zip, "hostile.zip").await;
    assert_refused(status, &body, expected, setting);
    let grown = server.data_bytes().saturating_sub(before);
    assert!(grown < 256 * 1024, "a refused upload left {grown} bytes in the data directory");
    body
}

/// The data directory's size once it stopped moving: a new server's first WAL checkpoints copy
/// its startup pages into the database file (every 0.5 s), which no upload is to blame for.
/// Two readings 0.6 s apart that agree (one checkpoint between them) count as settled.
async fn settled_bytes(server: &Server) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = server.data_bytes();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let now = server.data_bytes();
        if now == last || std::time::Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn assert_refused(status: u16, body: &Value, expected: (u16, &str), setting: &str) {
    assert_eq!((status, body["code"].as_str().unwrap_or_default()), expected, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["details"]["setting"], setting, "{body}");
    assert!(body["details"]["maximum"].as_u64().is_some(), "{body}");
    assert!(body["details"]["limit"].as_str().is_some(), "{body}");
}

fn header_cell_csv(name: &str) -> Entry {
    Entry::new(name, &[(&vec![b'x'; 1_000_000], 31), (b"\nSmith\n", 1)])
}

#[tokio::test]
async fn a_31_mb_header_cell_is_refused_at_upload() {
    let server = Server::start(&[]).await;
    let zip = build(&[header_cell_csv("leads.csv")]);
    assert!(zip.len() < 64 * 1024, "{}", zip.len());
    let body = assert_upload_refused(&server, zip, (400, "HEADER_LIMIT_EXCEEDED"), "BULKWRITE_MAX_HEADER_BYTES").await;
    assert!(body["message"].as_str().unwrap().contains("leads.csv"), "{body}");
    assert_memory_bounded(&server, "a 31 MB header cell");
}

#[tokio::test]
async fn four_31_mb_header_cells_in_one_zip_are_refused_at_upload() {
    let server = Server::start(&[]).await;
    let entries: Vec<Entry> = (0..4).map(|i| header_cell_csv(&format!("leads{i}.csv"))).collect();
    assert_upload_refused(&server, build(&entries), (400, "HEADER_LIMIT_EXCEEDED"), "BULKWRITE_MAX_HEADER_BYTES").await;
    assert_memory_bounded(&server, "four 31 MB header cells");
}

fn commas(declared: Option<u64>) -> Vec<u8> {
    let entry = Entry::new("leads.csv", &[(b"Last_Name,Company\n", 1), (&vec![b','; 1024 * 1024], 10 * 1024)]);
    build(&[match declared {
        Some(size) => entry.declaring(size),
        None => entry,
    }])
}

#[tokio::test]
async fn ten_gib_of_commas_is_refused_at_upload_and_stopped_when_its_size_is_understated() {
    let server = Server::start(&[]).await;
    assert_upload_refused(&server, commas(None), (413, "FILE_TOO_LARGE"), "BULKWRITE_MAX_ENTRY_BYTES").await;

    // The same bytes under a header that claims 1 KB: accepted, and the job reads one record's
    // bound of them and fails naming it.
    let before = server.data_bytes();
    let (status, body) = server.upload_raw(commas(Some(1024)), "commas.zip").await;
    assert_eq!(status, 200, "{body}");
    let file_id = body["details"]["file_id"].as_str().unwrap().to_string();
    let (status, created) = server
        .create_job(
            &json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap();
    let job = server.wait_job(id).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    let error = state["error"].as_str().unwrap_or_default();
    assert!(error.contains("BULKWRITE_MAX_RECORD_BYTES") && error.contains("data row 1"), "{state}");
    assert_memory_bounded(&server, "10 GiB of commas");
    let grown = server.data_bytes().saturating_sub(before);
    assert!(grown < 32 * 1024 * 1024, "the data directory grew by {grown} bytes");
}

#[tokio::test]
async fn wide_headers_and_many_entries_are_bounded_at_upload() {
    let server = Server::start(&[]).await;
    // 40 CSVs of 100,000 columns: each header is longer than its bound.
    let header: Vec<u8> = b"c,".repeat(100_000);
    let wide: Vec<Entry> = (0..40).map(|i| Entry::new(&format!("w{i}.csv"), &[(&header, 1), (b"\n", 1)])).collect();
    assert_upload_refused(&server, build(&wide), (400, "HEADER_LIMIT_EXCEEDED"), "BULKWRITE_MAX_HEADER_BYTES").await;

    // 40 CSVs of 5,000 columns fit the header bound: accepted, stored short, refused at creation.
    let names: Vec<String> = (0..5000).map(|i| format!("Field_{i}")).collect();
    let header = format!("{}\n", names.join(","));
    let wide: Vec<Entry> =
        (0..40).map(|i| Entry::new(&format!("w{i}.csv"), &[(header.as_bytes(), 1), (b"a\n", 1)])).collect();
    let (status, body) = server.upload_raw(build(&wide), "wide.zip").await;
    assert_eq!(status, 200, "{body}");
    let file_id = body["details"]["file_id"].as_str().unwrap();
    let resource = json!({"type": "data", "module": "Leads", "file_id": file_id, "file_names": ["w7.csv"]});
    let (status, body) = server.create_job(&json!({"operation": "insert", "resource": [resource]})).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "HEADER_LIMIT_EXCEEDED"), "{body}");
    assert_eq!(body["details"]["maximum_length"], 200, "{body}");

    // 101 entries: refused before the zip's directory is read.
    let many: Vec<Entry> = (0..101).map(|i| Entry::new(&format!("f{i}.csv"), &[(b"Last_Name\nA\n", 1)])).collect();
    assert_upload_refused(&server, build(&many), (400, "LIMIT_EXCEEDED"), "BULKWRITE_MAX_ZIP_ENTRIES").await;
    assert_memory_bounded(&server, "wide headers and many entries");
}

fn tiny_rows(declared: Option<u64>) -> Vec<u8> {
    // 2.6 billion rows of `a,` in 9,918 pieces of 262,144 rows.
    let piece = b"a,\n".repeat(262_144);
    let entry = Entry::new("rows.csv", &[(b"Last_Name,Company\n", 1), (&piece, 9_918)]);
    build(&[match declared {
        Some(size) => entry.declaring(size),
        None => entry,
    }])
}

#[tokio::test]
async fn a_billion_tiny_rows_are_refused_at_upload_and_cut_after_the_row_limit_when_understated() {
    let server = Server::start(&[]).await;
    let zip = tiny_rows(None);
    assert!(zip.len() < 25 * 1024 * 1024, "{}", zip.len());
    assert_upload_refused(&server, zip, (413, "FILE_TOO_LARGE"), "BULKWRITE_MAX_ENTRY_BYTES").await;

    let before = server.data_bytes();
    let (status, body) = server.upload_raw(tiny_rows(Some(1024 * 1024)), "rows.zip").await;
    assert_eq!(status, 200, "{body}");
    let file_id = body["details"]["file_id"].as_str().unwrap().to_string();
    let (status, created) = server
        .create_job(
            &json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    // The row limit, then the overflow listed as LIMIT_EXCEEDED, then the cut.
    assert_eq!(job["resource"][0]["file"]["total_count"], 26_000, "{job}");
    let (_, rows) = server.result_rows(&job).await;
    assert_eq!(rows.len(), 26_001);
    let status_at = |row: usize| rows[row][rows[0].iter().position(|c| c == "STATUS").unwrap()].clone();
    let errors_at = |row: usize| rows[row].last().unwrap().clone();
    assert!(!errors_at(25_000).starts_with("LIMIT_EXCEEDED"), "{:?}", rows[25_000]);
    assert_eq!(status_at(25_001), "SKIPPED");
    assert!(errors_at(25_001).starts_with("LIMIT_EXCEEDED-"), "{:?}", rows[25_001]);
    assert!(errors_at(26_000).starts_with("LIMIT_EXCEEDED-"), "{:?}", rows[26_000]);
    assert_memory_bounded(&server, "2.6 billion tiny rows");
    let grown = server.data_bytes().saturating_sub(before);
    assert!(grown < 64 * 1024 * 1024, "the data directory grew by {grown} bytes");
}

#[tokio::test]
async fn result_entry_names_keep_only_the_last_component() {
    let server = Server::start(&[]).await;
    for (entry, expected) in [("..\\..\\..\\win.csv", "Leads-win.csv"), ("C:\\Windows\\z.csv", "Leads-z.csv")] {
        let (status, body) =
            server.upload_raw(crate::harness::zip_of(&[(entry, b"Last_Name,Company\nBoyle,Acme\n")]), "x.zip").await;
        assert_eq!(status, 200, "{body}");
        let file_id = body["details"]["file_id"].as_str().unwrap();
        let resource = json!({"type": "data", "module": "Leads", "file_id": file_id});
        let (status, created) = server.create_job(&json!({"operation": "insert", "resource": [resource]})).await;
        assert_eq!(status, 201, "{created}");
        let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
        assert_eq!(job["resource"][0]["file"]["name"], expected.trim_start_matches("Leads-"), "{job}");
        let (name, rows) = server.result_rows(&job).await;
        assert_eq!(name, expected);
        assert_eq!(rows.len(), 2);
    }
}

#[tokio::test]
async fn job_creation_refuses_unknown_encodings_and_non_scalar_default_values() {
    let server = Server::start(&[]).await;
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company\nBoyle,Acme\n").await;
    let resource = json!({"type": "data", "module": "Leads", "file_id": file_id});
    for encoding in [json!("klingon-8"), json!("x".repeat(100_000))] {
        let body = json!({"operation": "insert", "character_encoding": encoding, "resource": [resource.clone()]});
        let (status, body) = server.create_job(&body).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_DATA"), "{body}");
        assert_eq!(body["details"]["api_name"], "character_encoding", "{body}");
    }
    for value in [json!({"a": 1}), json!(["Acme"])] {
        let mut resource = resource.clone();
        resource["field_mappings"] = json!([
            {"api_name": "Last_Name", "index": 0},
            {"api_name": "Company", "default_value": {"value": value}}
        ]);
        let (status, body) = server.create_job(&json!({"operation": "insert", "resource": [resource]})).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (400, "INVALID_DATA"), "{body}");
        assert_eq!(body["details"]["json_path"], "$.resource[0].field_mappings[1].default_value.value", "{body}");
    }
    let body = json!({"operation": "insert", "character_encoding": "ISO-8859-1", "resource": [resource]});
    let (status, body) = server.create_job(&body).await;
    assert_eq!(status, 201, "{body}");
}

/// Sends a chunked multipart upload whose body is `pieces` (each repeated), reading the answer
/// while it writes (the server may answer before the body ends); returns status and body.
async fn chunked_upload(server: &Server, pieces: &[(&[u8], usize)]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /crm/v2/upload HTTP/1.1\r\nHost: {address}\r\nAuthorization: Zoho-oauthtoken {}\r\nfeature: bulk-write\r\n\
         X-CRM-ORG: {}\r\nContent-Type: multipart/form-data; boundary=XB\r\nTransfer-Encoding: chunked\r\n\r\n",
        crate::harness::TOKEN,
        server.org
    );
    let pieces: Vec<(Vec<u8>, usize)> = pieces.iter().map(|(bytes, times)| (bytes.to_vec(), *times)).collect();
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for (bytes, times) in pieces {
            for _ in 0..times {
                writer.write_all(format!("{:x}\r\n", bytes.len()).as_bytes()).await?;
                writer.write_all(&bytes).await?;
                writer.write_all(b"\r\n").await?;
            }
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut answer = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let parsed = loop {
        let read = reader.read(&mut buffer).await.expect("the answer");
        assert!(read > 0, "the server closed without answering: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
        let length: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .expect("content-length");
        if body.len() >= length {
            let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
            break (status, serde_json::from_str(&body[..length]).expect("a JSON body"));
        }
    };
    writing.abort();
    parsed
}

#[tokio::test]
async fn a_chunked_upload_is_bounded_in_its_part_headers_and_its_length() {
    let server = Server::start(&[]).await;
    let megabyte = vec![b'a'; 1024 * 1024];
    let opening: &[u8] = b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";
    // A part whose headers go on for 100 MB.
    let (status, body) = chunked_upload(&server, &[(opening, 1), (&megabyte, 100), (b"\"\r\n\r\nPK", 1)]).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (400, "LIMIT_EXCEEDED"), "{body}");
    assert!(body["details"]["maximum"].as_u64().is_some(), "{body}");
    // A file part of 100 MB with no Content-Length to refuse up front.
    let file: &[u8] = b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n\r\nPK\x03\x04";
    let (status, body) = chunked_upload(&server, &[(file, 1), (&megabyte, 100)]).await;
    assert_refused(status, &body, (413, "FILE_TOO_LARGE"), "BULKWRITE_MAX_UPLOAD_BYTES");
    assert_memory_bounded(&server, "chunked uploads");
}
