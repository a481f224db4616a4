//! Surviving faults on PostgreSQL (issue 15): a node paused mid-job (idle in a transaction or
//! mid-`COPY`) is taken over within the lease and a second, and fenced when it resumes; a node
//! whose sessions the database ends goes on within seconds, not a lease later. Run when
//! BULKWRITE_TEST_DATABASE_URL names a PostgreSQL server.

use std::time::{Duration, Instant};

use crate::faults::queue_view;
use crate::harness::zip_of;

/// Where the holder is paused.
#[derive(Debug, Clone, Copy)]
enum PausePoint {
    /// Wherever it is once its first rows are counted (between chunks, or in one).
    AfterFirstRows,
    /// While its `COPY` of a chunk is on the wire, confirmed by PostgreSQL after the pause.
    MidCopy,
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_paused_node_is_taken_over_within_the_bound_and_fenced_when_it_resumes() {
    paused_node_is_taken_over(PausePoint::AfterFirstRows).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_node_paused_mid_copy_is_taken_over_within_the_bound_and_fenced_when_it_resumes() {
    paused_node_is_taken_over(PausePoint::MidCopy).await;
}

/// Pauses the holder when the database shows one of its `COPY`s in flight, and checks that the
/// `COPY` then waits for the paused node's data (its backend reads from the client with nothing
/// left to read); else, the `COPY` having ended, resumes the node and tries again.
async fn stop_mid_copy(holder: &crate::harness::Server, database: &str) {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let copying = "SELECT count(*), count(*) FILTER (WHERE wait_event = 'ClientRead') FROM pg_stat_activity
                   WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY%'";
    let look = || async {
        client.query_one(copying, &[]).await.map(|row| (row.get::<_, i64>(0), row.get::<_, i64>(1))).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "never caught a COPY in flight");
        if look().await.0 == 0 {
            continue;
        }
        holder.stop();
        // The backend may still be reading what the node sent before it stopped.
        loop {
            match look().await {
                (_, waiting) if waiting > 0 => return,
                (0, _) => break,
                _ => {
                    assert!(Instant::now() < deadline, "the paused node's COPY never waited for its data");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        holder.signal("CONT");
    }
}

async fn paused_node_is_taken_over(pause_at: PausePoint) {
    let database = crate::multinode::fresh_database().await;
    // The session bounds, tightened through the URL's options as an operator may: a paused
    // node's transaction is ended 1 s idle, or 2 s into a statement (a COPY it stopped feeding).
    let separator = if database.contains('?') { '&' } else { '?' };
    let url = format!(
        "{database}{separator}options=-c%20idle_in_transaction_session_timeout%3D1000%20-c%20statement_timeout%3D2000"
    );
    const ROWS: usize = 100_000;
    const BROKEN: usize = 100;
    let settings =
        [("BULKWRITE_LEASE_SECONDS", "2"), ("BULKWRITE_CHUNK_ROWS", "200"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];
    let holder = crate::multinode::node(&url, "all", &settings).await;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        let email = if i % (ROWS / BROKEN) == 0 { "broken".to_string() } else { format!("row{i}@pause.example") };
        csv.push_str(&format!("Row {i},Co,{email}\n"));
    }
    let (status, uploaded) = holder.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = holder.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let processed = |job: &serde_json::Value| job["resource"][0]["file"]["total_count"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while processed(&holder.job(&id).await) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = crate::multinode::node(&url, "all", &settings).await;

    match pause_at {
        PausePoint::AfterFirstRows => holder.stop(),
        PausePoint::MidCopy => stop_mid_copy(&holder, &database).await,
    }
    let paused = Instant::now();
    let before = processed(&other.job(&id).await);
    assert!(before < ROWS as u64, "the job finished before the pause; make it larger");
    // Lease 2 s, a 1 s poll, then the other node ends the paused node's transactions (idle in
    // one, or in a COPY it stopped feeding) and claims the job; 3 s of slack.
    let bound = Duration::from_secs(2 + 1 + 3);
    loop {
        let view = queue_view(&other, &id).await;
        if view["attempts"].as_u64() >= Some(2) {
            break;
        }
        assert!(
            paused.elapsed() < bound,
            "{pause_at:?}: not taken over {:?} after the pause: {view}",
            paused.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took_over = paused.elapsed();
    holder.signal("CONT");

    let done = other.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let view = queue_view(&other, &id).await;
    assert_eq!(view["attempts"], 2, "the resumed node was fenced and claimed nothing again: {view}");
    let file = &done["resource"][0]["file"];
    let counts = (file["total_count"].as_u64(), file["added_count"].as_u64(), file["skipped_count"].as_u64());
    assert_eq!(counts, (Some(ROWS as u64), Some((ROWS - BROKEN) as u64), Some(BROKEN as u64)));
    let (_, count) = other.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(
        count["count"],
        serde_json::json!(ROWS - BROKEN),
        "every valid row stored exactly once (paused at {before}, taken over after {took_over:?})"
    );
    let (_, rows) = other.result_rows(&done).await;
    assert_eq!(rows.len(), ROWS + 1);
    drop(holder);
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_job_whose_sessions_are_terminated_resumes_in_seconds_not_a_lease_later() {
    let database = crate::multinode::fresh_database().await;
    const ROWS: usize = 60_000;
    // A 20 s lease: resuming within a few seconds shows the job was given back, not left to expire.
    let settings =
        [("BULKWRITE_LEASE_SECONDS", "20"), ("BULKWRITE_CHUNK_ROWS", "200"), ("BULKWRITE_MAX_ROWS_PER_FILE", "100000")];
    let server = crate::multinode::node(&database, "all", &settings).await;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        csv.push_str(&format!("Row {i},Co,row{i}@terminate.example\n"));
    }
    let (status, uploaded) = server.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (_, created) = server.create_job(&body).await;
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let rows_done = |view: &serde_json::Value| view["resources"][0]["rows_done"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows_done(&queue_view(&server, &id).await) == 0 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let admin = crate::multinode::database_url();
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = database.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let ended = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'bulkwrite-%'",
            &[&name],
        )
        .await
        .unwrap();
    assert!(!ended.is_empty(), "the node's sessions were ended");
    let terminated = Instant::now();
    // A request that meets one of the ended connections answers 500 INTERNAL_ERROR (the pool
    // then drops it); the next one gets a fresh connection.
    let view_now = || async {
        loop {
            let (status, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
            if status == 200 {
                return view;
            }
            assert_eq!(view["code"], "INTERNAL_ERROR", "{view}");
        }
    };
    let at_termination = rows_done(&view_now().await);
    let view = loop {
        let view = view_now().await;
        // Five more chunks committed: the job went on (on fresh connections, or given back
        // and claimed again), not a lease later.
        if rows_done(&view) >= at_termination + 1000 {
            break view;
        }
        assert!(terminated.elapsed() < Duration::from_secs(8), "not resumed {:?} after: {view}", terminated.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view["error"], serde_json::Value::Null, "{view}");
    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], serde_json::json!(ROWS), "every row stored exactly once");
}

/// A loopback TCP proxy in front of PostgreSQL that can be shut (its open connections dropped,
/// new ones refused: nothing listens on its port) and opened again on the same port.
struct Proxy {
    port: u16,
    upstream: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy { port, upstream, task: None };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when the task is aborted) aborts every connection's task,
            // which closes both of its sockets.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let upstream = upstream.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }));
    }

    /// Drops every open connection and stops listening.
    async fn shut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        assert!(std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err(), "the proxy refuses connections");
    }

    /// Listens again on the same port.
    async fn open(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("the proxy's port again");
        self.serve(listener);
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url_through(&self, url: &str) -> String {
        let start = url.find("://").map(|i| i + 3).unwrap_or(0);
        let end = url[start..].find(['/', '?']).map(|i| start + i).unwrap_or(url.len());
        let host_start = url[start..end].rfind('@').map(|i| start + i + 1).unwrap_or(start);
        format!("{}127.0.0.1:{}{}", &url[..host_start], self.port, &url[end..])
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The `host:port` of a PostgreSQL URL (`127.0.0.1:5432` when it names none).
fn host_port(url: &str) -> String {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[start..].find(['/', '?']).map(|i| start + i).unwrap_or(url.len());
    let authority = &url[start..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    match host {
        "" => "127.0.0.1:5432".to_string(),
        host if host.contains(':') => host.to_string(),
        host => format!("{host}:5432"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_database_that_refuses_connections_for_a_while_is_waited_for_and_the_job_completes() {
    let database = crate::multinode::fresh_database().await;
    let mut proxy = Proxy::start(host_port(&database)).await;
    const ROWS: usize = 100_000;
    const OUTAGE: Duration = Duration::from_secs(8);
    // The backoff's cap, made short so that the bound below is tight: the job goes on within
    // the cap and a 1 s poll of the database answering again (the outage is shorter than the
    // 30 s lease, so the job is given back rather than left to expire).
    const CAP_SECONDS: u64 = 2;
    let cap = CAP_SECONDS.to_string();
    let url = proxy.url_through(&database);
    let env = [
        ("BULKWRITE_DATABASE_URL", url.as_str()),
        ("BULKWRITE_ROLE", "all"),
        ("BULKWRITE_CHUNK_ROWS", "200"),
        ("BULKWRITE_MAX_ROWS_PER_FILE", "100000"),
        ("BULKWRITE_TRANSIENT_RETRY_CAP_SECONDS", cap.as_str()),
    ];
    let server = crate::harness::Server::start_capturing_stderr(&env).await;
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 1..=ROWS {
        csv.push_str(&format!("Row {i},Co,row{i}@outage.example\n"));
    }
    let (status, uploaded) = server.upload_raw(zip_of(&[("big.csv", csv.as_bytes())]), "big.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads",
        "file_id": uploaded["details"]["file_id"]}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let rows_done = |view: &serde_json::Value| view["resources"][0]["rows_done"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows_done(&queue_view(&server, &id).await) < 1000 {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");

    let before = rows_done(&queue_view(&server, &id).await);
    proxy.shut().await;
    let down = Instant::now();
    assert!(before < ROWS as u64, "the job finished before the outage; make it larger");
    // While down, /readyz answers 503: from within a second or two (a pooled connection may
    // take a moment to notice its socket closed) to the end of the outage.
    let mut unready = None;
    while down.elapsed() < OUTAGE {
        let (status, ready) = server.get_json("/readyz").await;
        match (status, unready) {
            (503, None) => unready = Some(down.elapsed()),
            (503, Some(_)) => {}
            (200, None) => {
                assert!(down.elapsed() < Duration::from_secs(2), "/readyz still 200 after {:?}", down.elapsed());
            }
            _ => panic!("/readyz answered {status} {ready} {:?} into the outage, after 503 before", down.elapsed()),
        }
        assert!(status != 503 || ready == serde_json::json!({"status": "unavailable"}), "{ready}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(unready.is_some(), "/readyz never answered 503 while the database was away");

    proxy.open().await;
    let back = Instant::now();
    // Within the backoff's cap, a 1 s poll and the give-back's next try (at most 2 s later),
    // plus 1 s of slack on 2 shared cores, the job has committed five more chunks.
    let bound = Duration::from_secs(CAP_SECONDS + 1 + 3);
    let mut at_return = None;
    let mut reason = None;
    let resumed = loop {
        if let Some(view) = queue_view_while_down(&server, &id).await {
            let done = rows_done(&view);
            let at_return = *at_return.get_or_insert(done);
            if let Some(error) = view["error"].as_str() {
                reason.get_or_insert_with(|| error.to_string());
            }
            if done >= at_return + 1000 || view["state"] == "SUCCEEDED" {
                break back.elapsed();
            }
        }
        assert!(back.elapsed() < bound, "not resumed {:?} after the database came back", back.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (status, ready) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");

    let done = server.wait_job(&id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let file = &done["resource"][0]["file"];
    let counts = (file["total_count"].as_u64(), file["added_count"].as_u64(), file["skipped_count"].as_u64());
    assert_eq!(counts, (Some(ROWS as u64), Some(ROWS as u64), Some(0)), "{done}");
    let (_, rows) = server.result_rows(&done).await;
    assert_eq!(rows.len(), ROWS + 1, "a result row for each row");
    let names: std::collections::HashSet<&str> = rows[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!(names.len(), ROWS, "each row once in the result file");
    assert_eq!(rows[0][..4], ["Last_Name", "Company", "Email", "STATUS"]);
    assert!(rows[1..].iter().all(|row| row[3] == "ADDED"), "every row added");
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], serde_json::json!(ROWS), "stored once (the outage began at row {before})");
    let (client, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let stored = client
        .query_one("SELECT count(*), count(DISTINCT data::json ->> 'Email') FROM records WHERE module = 'Leads'", &[])
        .await
        .unwrap();
    let (all, distinct): (i64, i64) = (stored.get(0), stored.get(1));
    assert_eq!((all, distinct), (ROWS as i64, ROWS as i64), "every row stored exactly once");

    // Why the job stopped, named: in its `error` while it waited, or in the server's log.
    let logged = server.stderr.lock().unwrap().iter().any(|line| line.contains("database busy or unreachable"));
    assert!(
        reason.as_deref().is_some_and(|r| r.starts_with("database busy or unreachable")) || logged,
        "the wait was put down to the database (error {reason:?}); resumed {resumed:?} after it came back"
    );
    // The log lines of the outage give the failure's causes under the store's own words: what
    // the driver or the connection said, not only "the database is busy or unreachable".
    let causes =
        server.stderr.lock().unwrap().iter().any(|line| line.contains("the database is busy or unreachable: "));
    assert!(causes, "no log line of the outage names its causes");
    eprintln!("outage at row {before}: /readyz 503 after {unready:?}, resumed {resumed:?} after, reason {reason:?}");
}

/// The job's queue view, or `None` while the server cannot read it (a 500 from a connection
/// the outage ended, or a 503).
async fn queue_view_while_down(server: &crate::harness::Server, id: &str) -> Option<serde_json::Value> {
    let (status, view) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    (status == 200).then_some(view)
}
