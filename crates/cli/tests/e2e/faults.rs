//! Surviving faults (issue 15): a callback receiver that hangs or fails delays no other
//! receiver, and retries come at the configured gaps; uploads killed mid-transfer leave no
//! staging file behind; slow clients and stalled bodies are closed; a full disk makes jobs wait
//! and uploads answer 507. The PostgreSQL faults are in `faults_pg`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::harness::{seed_body, zip_of, Server, TOKEN};

fn seed_csv(user: &str) -> String {
    format!("Last_Name,Owner,Date_3,Mobile,Layout\nA,{user},2024/01/02,555 0100,Standard\n")
}

/// A receiver that accepts connections and never answers; reports each accepted connection.
async fn hanging_receiver() -> (String, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hang", listener.local_addr().unwrap());
    let (sender, accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = sender.send(());
        }
    });
    (url, accepted)
}

async fn job_calling(server: &Server, url: &str) -> String {
    let file_id = server.upload_csv("leads.csv", &seed_csv(&server.user)).await;
    let (status, created) = server.create_job(&seed_body(&file_id, url)).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_hanging_receiver_delays_no_other_and_retries_keep_their_gaps() {
    let server = Server::start(&[
        ("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32"),
        ("BULKWRITE_CALLBACK_RETRY_MS", "400"),
        ("BULKWRITE_CALLBACK_ATTEMPTS", "4"),
        ("BULKWRITE_CALLBACK_CONCURRENCY", "4"),
    ])
    .await;
    // Three deliveries to a receiver that never answers: two hang (its share of the four slots),
    // the third waits for them and holds no slot.
    let (hang_url, mut accepted) = hanging_receiver().await;
    for _ in 0..3 {
        job_calling(&server, &hang_url).await;
    }
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(30), accepted.recv()).await.expect("the hanging receiver is called");
    }

    let (failing_url, mut failing) = crate::callback::receiver(vec![500]).await;
    let (healthy_url, mut healthy) = crate::callback::receiver(vec![200]).await;
    let failing_job = job_calling(&server, &failing_url).await;
    let healthy_job = job_calling(&server, &healthy_url).await;
    server.wait_job(&healthy_job).await;
    let done = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), healthy.recv())
        .await
        .expect("the healthy receiver is called within 3 s of its job's end, whatever the hanging one does")
        .unwrap();
    assert!(done.elapsed() < Duration::from_secs(3));

    // 400 ms after an attempt ends, then three times longer each time, plus up to 200 ms of jitter.
    server.wait_job(&failing_job).await;
    for attempt in 1..=4 {
        let got = tokio::time::timeout(Duration::from_secs(20), failing.recv()).await;
        got.unwrap_or_else(|_| panic!("attempt {attempt} of the failing receiver")).unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(6), failing.recv()).await.is_err(),
        "four attempts, then the delivery is given up"
    );
    let (_, report) = server.get_json(&format!("/bulkwrite/v1/jobs/{failing_job}/callback")).await;
    assert_eq!(report["state"], "failed", "{report}");
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{report}");
    let at = |i: usize| chrono::DateTime::parse_from_rfc3339(attempts[i]["at"].as_str().unwrap()).unwrap();
    for (index, expected_ms) in [400i64, 1200, 3600].into_iter().enumerate() {
        let ended = at(index) + chrono::Duration::milliseconds(attempts[index]["duration_ms"].as_i64().unwrap());
        let gap = (at(index + 1) - ended).num_milliseconds();
        assert!(
            (expected_ms..=expected_ms + 200 + 300).contains(&gap),
            "gap {} was {gap} ms, expected {expected_ms} ms plus jitter: {report}",
            index + 1
        );
    }
}

const BOUNDARY: &str = "faultsboundary";

/// An upload's multipart body around `zip`.
fn multipart(zip: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Starts an upload of `body` over a raw connection and sends its first `sent` bytes.
async fn start_upload(server: &Server, body: &[u8], sent: usize) -> TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /crm/v2/upload HTTP/1.1\r\nHost: {address}\r\nAuthorization: Zoho-oauthtoken {TOKEN}\r\n\
         feature: bulk-write\r\nX-CRM-ORG: {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        server.org,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// The files of the staging directory.
fn staged(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("staging")).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Sets the file's modification time a minute back.
fn backdate(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(60)).unwrap();
}

async fn wait_for_upload_file(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let upload = staged(dir).into_iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with("upload-"));
        if let Some(upload) = upload {
            return upload;
        }
        assert!(Instant::now() < deadline, "the upload never reached the staging directory");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn big_zip() -> Vec<u8> {
    let mut csv = String::from("Last_Name,Company\n");
    for i in 0..20_000u64 {
        csv.push_str(&format!("N{},{}\n", i.wrapping_mul(2_654_435_761) % 1_000_003, i));
    }
    zip_of(&[("leads.csv", csv.as_bytes())])
}

#[tokio::test]
async fn an_upload_killed_mid_transfer_leaves_no_staging_file_after_a_restart() {
    let mut server = Server::start(&[]).await;
    let body = multipart(&big_zip());
    let _stream = start_upload(&server, &body, body.len() / 2).await;
    let leftover = wait_for_upload_file(&server.dir).await;
    server.kill();
    assert!(leftover.exists(), "SIGKILL leaves the half-written upload behind");
    let server = server.restart().await;
    assert_eq!(staged(&server.dir), Vec::<PathBuf>::new(), "the restart removed it");
    let file_id = server.upload_csv("leads.csv", "Last_Name,Company\nA,B\n").await;
    assert!(!file_id.is_empty(), "uploads work after the sweep");
}

#[tokio::test]
async fn the_periodic_sweep_removes_stale_files_but_never_an_upload_in_progress() {
    let server = Server::start(&[("BULKWRITE_STAGING_GRACE_SECONDS", "2")]).await;
    // A file left by a killed process: unmodified for a minute, well past the grace period.
    let left_behind = |name: &str| {
        let stale = server.dir.join("staging").join(name);
        std::fs::write(&stale, b"left by a killed process").unwrap();
        backdate(&stale);
        stale
    };

    // An upload that stalls with its file open, then completes. Its file is made a minute old
    // too; a stale file put beside it afterwards is swept, so a sweep has looked at both since.
    // Should the server still have been writing the first half (the file's time moved on), the
    // round is repeated.
    let body = multipart(&big_zip());
    let mut stream = start_upload(&server, &body, body.len() / 2).await;
    let in_progress = wait_for_upload_file(&server.dir).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    for round in 0.. {
        backdate(&in_progress);
        let stale = left_behind(&format!("result-stale-{round}.zip"));
        while stale.exists() {
            assert!(Instant::now() < deadline, "the stale file was never swept");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(in_progress.exists(), "the stalled upload's file is open, so it stays");
        let modified = std::fs::metadata(&in_progress).unwrap().modified().unwrap();
        if modified < SystemTime::now() - Duration::from_secs(30) {
            break;
        }
    }
    stream.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("FILE_UPLOAD_SUCCESS") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
}

/// A slowloris client: a request head sent one byte a second, never finished. Resolves with the
/// time the server closed the connection, measured from the connect.
async fn slowloris(address: String) -> Duration {
    let started = Instant::now();
    let stream = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
        for byte in head {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut buffer = [0u8; 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    trickle.abort();
    started.elapsed()
}

#[tokio::test]
async fn slow_clients_are_closed_within_the_header_timeout_and_extra_connections_wait() {
    let server =
        Server::start(&[("BULKWRITE_HTTP_HEADER_TIMEOUT_SECONDS", "2"), ("BULKWRITE_MAX_CONNECTIONS", "4")]).await;
    let address = server.base.trim_start_matches("http://").to_string();
    let fresh = || reqwest::Client::builder().no_proxy().pool_max_idle_per_host(0).build().unwrap();

    // The harness's kept-alive connection holds one of the four slots (a request every 200 ms
    // keeps it from idling out), three slow clients the others.
    assert_eq!(server.http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    let slow: Vec<_> = (0..3).map(|_| tokio::spawn(slowloris(address.clone()))).collect();
    let waiting = tokio::spawn({
        let url = server.url("/healthz");
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let started = Instant::now();
            let response = fresh().get(url).send().await.unwrap();
            (response.status(), started.elapsed())
        }
    });
    for _ in 0..6 {
        let started = Instant::now();
        let response = server.http.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "the existing connection is served while slots are full"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A new connection waited for a slot, which the header timeout freed.
    let (status, waited) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(1000), "the fifth connection waited for a slot ({waited:?})");
    assert!(waited < Duration::from_secs(4), "a slot freed within the header timeout ({waited:?})");

    for client in slow {
        let closed_after = tokio::time::timeout(Duration::from_secs(10), client).await.expect("closed").unwrap();
        assert!(
            closed_after >= Duration::from_millis(1500) && closed_after < Duration::from_millis(3500),
            "a client sending a byte a second is closed at the 2 s header timeout, not after {closed_after:?}"
        );
    }
}

/// A server whose blob writes fail as on a full disk while `switch` exists.
async fn with_disk_switch(extra: &[(&str, &str)]) -> (Server, PathBuf) {
    let switch = tempfile::tempdir().unwrap().keep().join("disk-full");
    let mut env = vec![
        ("BULKWRITE_FAULT_DISK_FULL_SWITCH", switch.to_str().unwrap()),
        ("BULKWRITE_TRANSIENT_RETRY_MS", "200"),
        ("BULKWRITE_TRANSIENT_RETRY_CAP_SECONDS", "1"),
    ];
    env.extend_from_slice(extra);
    (Server::start(&env).await, switch)
}

/// Uploads `rows` rows and creates an insert job of them; `fill` (a disk switch) is turned on
/// between the two.
async fn plain_job(server: &Server, rows: usize, fill: Option<&Path>) -> String {
    let mut csv = String::from("Last_Name,Company\n");
    for i in 0..rows {
        csv.push_str(&format!("Full{i},Disk\n"));
    }
    let file_id = server.upload_csv("leads.csv", &csv).await;
    if let Some(switch) = fill {
        std::fs::write(switch, b"").unwrap();
    }
    let body = serde_json::json!({
        "operation": "insert",
        "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]
    });
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    created["details"]["id"].as_str().unwrap().to_string()
}

pub async fn queue_view(server: &Server, id: &str) -> serde_json::Value {
    let (status, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(status, 200, "{view}");
    view
}

#[tokio::test]
async fn a_full_disk_makes_a_job_wait_saying_why_and_uploads_answer_507() {
    let (server, switch) = with_disk_switch(&[]).await;
    let id = {
        std::fs::write(&switch, b"").unwrap();
        let (status, body) = server.upload_raw(zip_of(&[("a.csv", b"Last_Name\nA\n")]), "a.zip").await;
        assert_eq!(status, 507, "{body}");
        let expected = serde_json::json!({
            "status": "error",
            "code": "INSUFFICIENT_STORAGE",
            "message": "There is not enough storage space to process the request; try again later",
            "details": {}
        });
        assert_eq!(body, expected);
        std::fs::remove_file(&switch).unwrap();
        // The upload is stored; the disk fills before the job writes its result file.
        plain_job(&server, 30, Some(&switch)).await
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let view = queue_view(&server, &id).await;
        if view["error"].as_str().is_some_and(|e| e.starts_with("disk full")) {
            break view;
        }
        assert!(Instant::now() < deadline, "the job never said it waits for the disk: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(waiting["state"], "QUEUED", "{waiting}");
    let first_attempts = waiting["attempts"].as_u64().unwrap();
    // Backing off (200 ms doubling to 1 s, jittered), three seconds hold a handful of claims,
    // not the hundreds a retry loop would make, and the job does not fail.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = queue_view(&server, &id).await;
    let claims = later["attempts"].as_u64().unwrap() - first_attempts;
    assert!((1..=8).contains(&claims), "{claims} claims in 3 s: {later}");
    assert_ne!(later["state"], "FAILED", "{later}");
    // Between claims (a claim clears the error while the job runs again) it still says why.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let view = queue_view(&server, &id).await;
        if view["state"] == "QUEUED" && view["error"].as_str().unwrap_or("").starts_with("disk full") {
            break;
        }
        assert!(Instant::now() < deadline, "{view}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    std::fs::remove_file(&switch).unwrap();
    let freed = Instant::now();
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(freed.elapsed() < Duration::from_secs(4), "resumed within the 1 s cap and a poll: {:?}", freed.elapsed());
    assert_eq!(queue_view(&server, &id).await["error"], serde_json::Value::Null);
    let (_, rows) = server.result_rows(&done).await;
    assert_eq!(rows.len(), 31);
    let records = server.all_records("Leads", "Last_Name").await;
    let stored = records.iter().filter(|r| r["Last_Name"].as_str().is_some_and(|n| n.starts_with("Full"))).count();
    assert_eq!(stored, 30, "every row stored exactly once");
}

#[tokio::test]
async fn a_job_failing_transiently_past_its_budget_fails_naming_the_cause() {
    let (server, switch) = with_disk_switch(&[("BULKWRITE_TRANSIENT_BUDGET_SECONDS", "2")]).await;
    let id = plain_job(&server, 3, Some(&switch)).await;
    let started = Instant::now();
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(started.elapsed() >= Duration::from_secs(2), "failed before its budget: {:?}", started.elapsed());
    let view = queue_view(&server, &id).await;
    assert!(view["error"].as_str().unwrap().starts_with("disk full for longer than 2 s"), "{view}");
}

#[tokio::test]
async fn an_upload_whose_body_stops_arriving_is_ended_after_the_idle_timeout() {
    let server = Server::start(&[("BULKWRITE_HTTP_BODY_IDLE_SECONDS", "1")]).await;
    let body = multipart(&big_zip());
    let mut stream = start_upload(&server, &body, body.len() / 2).await;
    let stalled = wait_for_upload_file(&server.dir).await;
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(tokio::time::error::Elapsed { .. }) => {
                panic!("the stalled upload was never ended: {}", String::from_utf8_lossy(&answer))
            }
        }
    }
    let ended = started.elapsed();
    assert!(ended < Duration::from_secs(3), "ended {ended:?} after the stall, with a 1 s idle timeout");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "a Zoho-shaped refusal: {text}");
    assert!(text.contains("\"status\":\"error\""), "{text}");
    assert!(!stalled.exists(), "the half-written staging file is gone");
}
