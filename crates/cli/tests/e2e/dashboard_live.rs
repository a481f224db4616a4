//! The dashboard's live pages at phone width, in a real headless Chromium: a job's page shows its
//! progress at a partial value before its end (the job is held mid-way by the test holding the
//! SQLite write lock, so the value it must show is known), then moves on; a queued job and a
//! running one are cancelled from their pages and shown `CANCELLED`; the jobs list shows them
//! all moving, without a reload. The console stays free of errors and no page scrolls sideways.

use std::time::Instant;

use serde_json::Value;

use crate::browser::{Browser, PATIENCE};
use crate::crash::WriteLock;
use crate::dashboard::sign_in;
use crate::harness::Server;

/// Rows of the big job: at 20 rows a chunk it is still running when the test cancels it.
const ROWS: u64 = 30_000;

fn many_rows(rows: u64, tag: &str) -> String {
    let mut text = String::from("Last_Name,Company,Email\n");
    for i in 1..=rows {
        text.push_str(&format!("Live {i},Acme,{tag}{i}@example.com\n"));
    }
    text
}

async fn job_state(server: &Server, id: &str) -> Value {
    let (status, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(status, 200, "{state}");
    state
}

/// Waits until the job has committed rows, then takes the write lock and reads it again: from
/// then until the lock is dropped the job cannot move. Answers the lock and the rows done.
async fn hold_mid_way(server: &Server, id: &str) -> (WriteLock, u64) {
    let deadline = Instant::now() + PATIENCE;
    while job_state(server, id).await["resources"][0]["rows_done"].as_u64().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the job never committed a row");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let lock = WriteLock::take(server);
    let state = job_state(server, id).await;
    let done = state["resources"][0]["rows_done"].as_u64().unwrap();
    assert_eq!(state["state"], "RUNNING", "{state}");
    assert!(done > 0 && done < ROWS, "{done} of {ROWS} rows: {state}");
    (lock, done)
}

/// The job the page shows, from its address (`#/job/ID`).
async fn shown_job(browser: &Browser) -> String {
    browser.wait("#summary #state").await;
    let url = browser.client.current_url().await.unwrap();
    url.fragment().and_then(|f| f.strip_prefix("/job/")).expect("a job page").to_string()
}

#[tokio::test]
#[cfg_attr(not(browser_tests), ignore = "needs chromium and chromedriver on PATH")]
async fn progress_moves_live_and_jobs_are_cancelled_from_their_pages_at_phone_width() {
    let env = [
        ("BULKWRITE_CHUNK_ROWS", "20"),
        ("BULKWRITE_MAX_ROWS_PER_FILE", "100000"),
        ("BULKWRITE_MAX_RUNNING_PER_ORG", "1"),
        // For the fault rule that paces the big job.
        ("BULKWRITE_TEST_CONTROLS", "1"),
    ];
    let server = Server::start(&env).await;
    let browser = Browser::start(390, 844).await;
    sign_in(&browser, &server).await;

    // A big import through the page: its job page follows it. Each of its chunks waits 10 ms (a
    // fault rule), so it runs for 15 s at least whatever the machine: the steps below cancel it
    // mid-way, and unpaced it once ended before them.
    crate::fault_rules::add_rule(&server, serde_json::json!({"job": {"slow_ms": 10}, "times": 1})).await;
    let folder = tempfile::tempdir().unwrap();
    let csv = folder.path().join("big.csv");
    std::fs::write(&csv, many_rows(ROWS, "big")).unwrap();
    browser.client.goto(&server.url("/bulkwrite/ui/#/import")).await.unwrap();
    browser.wait("#module").await.select_by_value("Leads").await.unwrap();
    browser.wait("#file").await.send_keys(csv.to_str().unwrap()).await.unwrap();
    browser.wait_value("#map-2", "Email").await;
    browser.assert_fits_width("the import page with its mapping").await;
    browser.press_enter("#submit").await;
    let big = shown_job(&browser).await;
    // A second job waits behind it: the org runs one job at a time.
    let file_id = server.upload_csv("small.csv", &many_rows(5, "small")).await;
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let small = created["details"]["id"].as_str().unwrap().to_string();

    // Held mid-way, the page shows exactly where the job is: a partial value, not its end.
    let (lock, done) = hold_mid_way(&server, &big).await;
    browser.wait_exact("#count-done", &done.to_string()).await;
    browser.wait("#state .badge.running").await;
    let bar =
        browser.client.execute("const p = document.getElementById('progress'); return [p.max, p.value]", vec![]).await;
    assert_eq!(bar.unwrap(), serde_json::json!([ROWS, done]), "the progress bar");
    assert_eq!(job_state(&server, &small).await["state"], "QUEUED");
    browser.assert_fits_width("the job page").await;
    browser.screenshot("job-progress-phone").await;
    // The jobs list shows both as they stand, and keeps them moving.
    browser.client.goto(&server.url("/bulkwrite/ui/#/jobs")).await.unwrap();
    browser.wait(&format!("#jobs tr[data-job='{big}'][data-state='RUNNING']")).await;
    browser.wait(&format!("#jobs tr[data-job='{small}'][data-state='QUEUED']")).await;
    browser.assert_fits_width("the jobs list").await;
    let hidden = browser
        .client
        .execute(
            "const wrap = document.getElementById('jobs').parentElement; return wrap.scrollWidth - wrap.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(hidden.as_i64().unwrap() <= 0, "the jobs table is cut at phone width by {hidden}px");
    browser.screenshot("jobs-phone").await;
    drop(lock);

    // The queued job is cancelled from its page while the big one runs on.
    browser.client.goto(&server.url(&format!("/bulkwrite/ui/#/job/{small}"))).await.unwrap();
    browser.wait("#state .badge.queued").await;
    browser.press_enter("#cancel").await;
    browser.wait("#state .badge.cancelled").await;
    let big_state = job_state(&server, &big).await;
    assert_eq!(big_state["state"], "RUNNING", "the big job must outlast this step; slow its chunks more: {big_state}");

    // The big job's page moves past where it was held, and cancelling it stops it there.
    browser.client.goto(&server.url(&format!("/bulkwrite/ui/#/job/{big}"))).await.unwrap();
    browser
        .wait_script(
            "return Number(document.getElementById('count-done')?.textContent || 0)",
            "progress past the hold",
            |v| v.as_u64().is_some_and(|n| n > done),
        )
        .await;
    browser.press_enter("#cancel").await;
    browser.wait("#state .badge.cancelled").await;
    let state = job_state(&server, &big).await;
    assert_eq!(state["state"], "CANCELLED", "{state}");
    let committed = state["resources"][0]["rows_done"].as_u64().unwrap();
    assert!(committed > done && committed < ROWS, "{committed}");
    browser.wait_exact("#count-done", &committed.to_string()).await;
    browser.wait("#download-result").await;

    // The jobs list shows both cancelled.
    browser.client.goto(&server.url("/bulkwrite/ui/#/jobs")).await.unwrap();
    browser.wait(&format!("#jobs tr[data-job='{big}'][data-state='CANCELLED']")).await;
    browser.wait(&format!("#jobs tr[data-job='{small}'][data-state='CANCELLED']")).await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}
