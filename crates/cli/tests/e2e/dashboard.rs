//! The browser dashboard at `/bulkwrite/ui/`, driven in a real headless Chromium: sign in with a
//! token, watch the jobs list move by itself, check a file with bad rows on the server, try it as
//! a dry run, import it, watch it finish, read its errors grouped by code and column, download
//! its result, and keep the console free of errors, at desktop and phone width.
//! The screenshots the README shows are taken here (`docs/screenshots/`). Without chromium and
//! chromedriver on `PATH` these tests are built ignored (build.rs sets `browser_tests`).

use std::io::{Cursor, Read};

use fantoccini::key::Key;
use fantoccini::Locator;

use crate::browser::Browser;
use crate::harness::{Server, TOKEN};

/// Two good rows, one without its mandatory last name, one with a month 13.
const LEADS: &str = "Last_Name,Email,Date_3,Company\nBoyle,patricia@example.com,2026/01/15,Zylker\n,nameless@example.com,2026/02/01,Zylker\nQuist,quist@example.com,2026/13/01,Zylker\nMoss,moss@example.com,2026/03/09,Zylker\n";

/// Signs in by typing the token and pressing Enter (the keyboard path).
pub(crate) async fn sign_in(browser: &Browser, server: &Server) {
    browser.client.goto(&server.url("/bulkwrite/ui/")).await.expect("open the dashboard");
    let input = browser.wait("#token").await;
    input.send_keys(&format!("{TOKEN}{}", char::from(Key::Enter))).await.expect("type the token");
    browser.wait("#jobs-holder").await;
}

/// The jobs list's reads of the list (`GET /bulkwrite/v1/jobs?per_page=50`) since the page loaded.
const LIST_READS: &str = "return performance.getEntriesByType('resource').filter((e) => e.name.includes('/bulkwrite/v1/jobs?per_page=50')).length";

#[tokio::test]
#[cfg_attr(not(browser_tests), ignore = "needs chromium and chromedriver on PATH")]
async fn an_import_with_bad_rows_linted_tried_imported_and_followed_to_its_errors() {
    let server = Server::start(&[("BULKWRITE_CHUNK_ROWS", "50")]).await;
    let browser = Browser::start(1280, 900).await;
    browser.client.goto(&server.url("/bulkwrite/ui/")).await.unwrap();
    browser.wait("#token-form").await;
    browser.screenshot("sign-in").await;
    sign_in(&browser, &server).await;
    browser.wait_text("#no-jobs", "No jobs").await;
    browser.wait_text("#live-note", "Live").await;

    // The jobs list is live: a job queued elsewhere appears and moves to its end in place, with
    // one read of the list for the new job and none after (the org's event stream moves it).
    let mut csv = String::from("Last_Name,Company,Email\n");
    for n in 0..400 {
        csv.push_str(&format!("Lead {n},Co,l{n}@elsewhere.example\n"));
    }
    let file_id = server.upload_csv("elsewhere.csv", &csv).await;
    let body = serde_json::json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let elsewhere = created["details"]["id"].as_str().unwrap().to_string();
    browser.wait(&format!("#jobs tr[data-job='{elsewhere}'][data-state='SUCCEEDED']")).await;
    browser.wait_text(&format!("#jobs tr[data-job='{elsewhere}'] .rows"), "400 ok, 0 skipped").await;
    let reads = browser.client.execute(LIST_READS, vec![]).await.unwrap();
    assert_eq!(
        reads.as_u64(),
        Some(2),
        "the list was read when the page opened and once for the new job, never polled"
    );

    let folder = tempfile::tempdir().unwrap();
    let csv = folder.path().join("leads.csv");
    std::fs::write(&csv, LEADS).unwrap();
    browser.client.goto(&server.url("/bulkwrite/ui/#/import")).await.unwrap();
    browser.wait("#module").await.select_by_value("Leads").await.unwrap();
    browser.wait("#file").await.send_keys(csv.to_str().unwrap()).await.unwrap();
    // The server maps each column by its header; the date column gets a format box.
    browser.wait_value("#map-2", "Date_3").await;
    browser.wait_value("#map-0", "Last_Name").await;
    browser.wait_value("#map-1", "Email").await;
    let format = browser.wait("#format-2").await;
    format.clear().await.unwrap();
    format.send_keys("yyyy/MM/dd").await.unwrap();
    // The mapping is the user's: without a column for Last_Name the job would be refused, and
    // the server says why.
    browser.wait("#map-0").await.select_by_value("").await.unwrap();
    browser.press_enter("#lint-button").await;
    let refusal = browser.wait_text("#lint-result", "MANDATORY_FIELDS_NOT_MAPPED").await;
    assert!(refusal.contains("Leads requires Last_Name, but no column is mapped to it"), "{refusal}");
    browser.wait("#map-0").await.select_by_value("Last_Name").await.unwrap();
    // Checked on the server with the job's own rules (keyboard: Enter on the button).
    browser.press_enter("#lint-button").await;
    let findings = browser.wait_text("#lint-result", "error(s)").await;
    assert!(findings.contains("4 rows checked: 2 error(s) in 2 row(s), 0 warning(s)."), "{findings}");
    assert!(
        findings
            .contains("row 2, column \"Last_Name\": MANDATORY_NOT_FOUND the cell is empty, but the field is mandatory"),
        "{findings}"
    );
    assert!(
        findings.contains("row 3, column \"Date_3\": INVALID_DATA '2026/13/01' does not match the format 'yyyy/MM/dd'"),
        "{findings}"
    );
    browser.screenshot("new-import").await;

    // The dry run: the exact job, run to its end on the page, writing nothing.
    browser.press_enter("#dry-run-button").await;
    browser.wait("#dry-run-done").await;
    let state = browser.wait_text("#dry-run-state", "SUCCEEDED").await;
    assert!(
        state.contains("4 of 4 rows checked: 2 would be added, 0 would be updated, 2 would be skipped."),
        "{state}"
    );
    let groups = browser.wait_text("#dry-run #error-groups", "MANDATORY_NOT_FOUND").await;
    assert!(groups.contains("'2026/13/01' does not match the format 'yyyy/MM/dd'"), "{groups}");
    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], 400, "the dry run wrote no records (the 400 are the job queued elsewhere)");
    browser.client.execute("document.getElementById('dry-run').scrollIntoView()", vec![]).await.unwrap();
    browser.screenshot("dry-run").await;

    // Then the real job, followed on its page to its errors.
    browser.press_enter("#submit").await;
    browser.wait("#state .badge.succeeded").await;
    assert_eq!(browser.wait("#count-added").await.text().await.unwrap(), "2");
    assert_eq!(browser.wait("#count-skipped").await.text().await.unwrap(), "2");
    let groups = browser.wait_text("#error-groups", "MANDATORY_NOT_FOUND").await;
    assert!(groups.contains("INVALID_DATA"), "{groups}");
    let rows = browser.client.find_all(Locator::Css("#error-groups tbody tr")).await.unwrap();
    let mut seen = Vec::new();
    for row in rows {
        seen.push((row.attr("data-code").await.unwrap().unwrap(), row.attr("data-column").await.unwrap().unwrap()));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("INVALID_DATA".to_string(), "Date_3".to_string()),
            ("MANDATORY_NOT_FOUND".to_string(), "Last_Name".to_string())
        ]
    );
    assert!(groups.contains("row 3: Date_3=\"2026/13/01\""), "{groups}");
    // Each example carries the report's sentence.
    assert!(groups.contains("'2026/13/01' does not match the format 'yyyy/MM/dd'"), "{groups}");
    assert!(groups.contains("a value is required here and the cell is empty"), "{groups}");
    browser.client.execute("document.getElementById('errors').scrollIntoView()", vec![]).await.unwrap();
    browser.screenshot("job-errors").await;

    browser.wait("#download-result").await.click().await.unwrap();
    let zip = browser.downloaded(".zip").await;
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("the download is a zip");
    let mut text = String::new();
    archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    assert!(text.contains("MANDATORY_NOT_FOUND-Last_Name"), "{text}");
    browser.wait("#download-report").await.click().await.unwrap();
    let report = String::from_utf8(browser.downloaded("-report.csv").await).unwrap();
    assert!(report.contains("2026/13/01"), "{report}");
    assert!(report.lines().count() >= 5, "a header and the four rows: {report}");

    browser.client.goto(&server.url("/bulkwrite/ui/#/jobs")).await.unwrap();
    let list = browser.wait_text("#jobs", "(dry run)").await;
    assert_eq!(list.matches("SUCCEEDED").count(), 3, "the job queued elsewhere, the dry run and the import: {list}");
    browser.screenshot("jobs").await;
    browser.client.goto(&server.url("/bulkwrite/ui/#/modules/Leads")).await.unwrap();
    browser.wait_text("#fields", "Date_3").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[cfg_attr(not(browser_tests), ignore = "needs chromium and chromedriver on PATH")]
async fn pages_fit_a_phone_and_a_bad_token_is_refused() {
    let server = Server::start(&[]).await;
    let browser = Browser::start(390, 844).await;
    browser.client.goto(&server.url("/bulkwrite/ui/")).await.unwrap();
    let input = browser.wait("#token").await;
    input.send_keys(&format!("1000.not-a-token{}", char::from(Key::Enter))).await.unwrap();
    browser.wait_text("#token-error", "INVALID_TOKEN").await;
    // The refused call is logged by the browser as a failed resource; nothing else may be.
    let entries = browser.console().await;
    assert!(
        entries.iter().all(|e| e["level"] != "SEVERE" || e["message"].as_str().unwrap_or("").contains("401")),
        "{entries:#?}"
    );
    sign_in(&browser, &server).await;
    for page in ["#/jobs", "#/import", "#/modules", "#/modules/Leads"] {
        browser.client.goto(&server.url(&format!("/bulkwrite/ui/{page}"))).await.unwrap();
        browser.wait("main h1").await;
        let overflow = browser
            .client
            .execute("return document.documentElement.scrollWidth - window.innerWidth", vec![])
            .await
            .unwrap();
        assert!(overflow.as_i64().unwrap() <= 0, "{page} scrolls sideways by {overflow}px at phone width");
        let width = browser.client.execute("return window.innerWidth", vec![]).await.unwrap();
        assert_eq!(width.as_i64(), Some(390), "the page is seen at phone width");
    }
    browser.client.goto(&server.url("/bulkwrite/ui/#/modules")).await.unwrap();
    browser.wait_text("#modules", "Leads").await;
    browser.screenshot("modules-phone").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[cfg_attr(not(browser_tests), ignore = "needs chromium and chromedriver on PATH")]
async fn signing_in_through_the_consent_page() {
    let server = Server::start(&[]).await;
    let redirect = server.url("/bulkwrite/ui/");
    let (status, client) = server
        .admin(
            reqwest::Method::POST,
            &format!("/orgs/{}/clients", server.org),
            serde_json::json!({"name": "Dashboard", "redirect_uris": [redirect]}),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let path = format!("/orgs/{}/users/{}/password", server.org, server.boot("user_email"));
    let (status, _) = server.admin(reqwest::Method::PUT, &path, serde_json::json!({"password": "s3cret"})).await;
    assert_eq!(status, 200);

    let browser = Browser::start(1280, 900).await;
    browser.client.goto(&redirect).await.unwrap();
    browser.wait("#client-id").await.send_keys(client["client_id"].as_str().unwrap()).await.unwrap();
    browser.wait("#client-secret").await.send_keys(client["client_secret"].as_str().unwrap()).await.unwrap();
    browser.wait("#oauth-form button[type=submit]").await.click().await.unwrap();
    browser.wait("#email").await.send_keys(&server.boot("user_email")).await.unwrap();
    browser.wait("#password").await.send_keys("s3cret").await.unwrap();
    browser.wait("button[value=accept]").await.click().await.unwrap();
    browser.wait_text("#no-jobs", "No jobs").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.query(), None, "the grant code is wiped from the address: {url}");
    let token: serde_json::Value =
        browser.client.execute("return sessionStorage.getItem('bulkwrite.token')", vec![]).await.unwrap();
    let token = token.as_str().expect("a token kept for the tab");
    assert_ne!(token, TOKEN);
    assert_eq!(server.get_as(token, "/bulkwrite/v1/jobs").await.0, 200, "the minted token works");
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn the_dashboard_is_served_from_the_binary() {
    let server = Server::start(&[]).await;
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let moved = http.get(server.url("/bulkwrite/ui")).send().await.unwrap();
    assert_eq!((moved.status().as_u16(), moved.headers()["location"].to_str().unwrap()), (301, "/bulkwrite/ui/"));
    for (path, media_type) in [
        ("/bulkwrite/ui/", "text/html; charset=utf-8"),
        ("/bulkwrite/ui/app.js", "text/javascript; charset=utf-8"),
        ("/bulkwrite/ui/style.css", "text/css; charset=utf-8"),
    ] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], media_type, "{path}");
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe"), "{policy}");
        assert!(!response.text().await.unwrap().contains("https://"), "{path} loads nothing from elsewhere");
    }
    let missing = http.get(server.url("/bulkwrite/ui/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_URL_PATTERN", "{body}");
}
