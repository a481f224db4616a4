//! `bulkwrite bench --reads` runs end to end at a tiny size (200 rows, under a second per request
//! stream), so the read benchmark of issue 21 cannot silently break: the load, job details, the
//! records list walked by `page_token`, and the Bulk Read export, as lines and as JSON.
#![cfg(feature = "bench")]

use serde_json::Value;

use crate::cli::{code, stderr, stdout, Workspace};

/// The same figures a reader sees, checked in the JSON: every stream answered, none refused.
fn check_document(document: &Value, backend: &str) {
    assert_eq!(document["tool"], "bulkwrite bench --reads", "{document}");
    assert_eq!(document["backend"], backend);
    assert_eq!(document["connections"], 4);
    let size = &document["sizes"][0];
    assert_eq!(size["rows"], 200);
    // The bench's own file: 170 of its 200 rows are valid (every 20th row is broken three ways).
    assert_eq!(size["loaded"], 170, "{size}");
    for phase in ["job_details", "records_list"] {
        let phase = &size[phase];
        assert_eq!(phase["errors"], 0, "{phase}");
        assert!(phase["requests"].as_u64().unwrap() > 0, "{phase}");
        assert!(phase["requests_per_s"].as_f64().unwrap() > 0.0, "{phase}");
        let (p50, p99) = (phase["p50_ms"].as_f64().unwrap(), phase["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p50 <= p99, "{phase}");
        assert!(phase["peak_rss_mib"].as_f64().unwrap() > 1.0, "{phase}");
    }
    let list = &size["records_list"];
    // The 170 records fit one page of 200: every answer holds them all.
    assert_eq!(list["records"].as_u64().unwrap(), 170 * list["requests"].as_u64().unwrap(), "{list}");
    assert_eq!(size["job_details"].get("records"), None);
    let export = &size["export"];
    assert_eq!(export["records"], 170, "{export}");
    assert!(export["rows_per_s"].as_f64().unwrap() > 0.0 && export["zip_bytes"].as_u64().unwrap() > 100, "{export}");
}

#[test]
fn bench_reads_measures_job_details_the_records_list_and_an_export() {
    let work = Workspace::new();
    let args = ["bench", "--reads", "--rows", "200", "--connections", "4", "--duration", "0.5", "--json"];
    let output = work.run_with(&[], &args);
    let text = stderr(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(text.starts_with("bulkwrite bench --reads on SQLite: rows [200], 4 connections, 0.5 s"), "{text}");
    for label in ["load ", "job details ", "records list ", "export "] {
        let line = text.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label}: {text}"));
        assert!(line.contains("     200 rows") && line.contains("server peak RSS"), "{line}");
    }
    assert!(!text.contains("first error"), "{text}");
    let document: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {text}"));
    check_document(&document, "sqlite");
}

/// The records list walks more than one page by `page_token` when the module holds more (one
/// connection, so that the answers are one walk after another).
#[test]
fn bench_reads_walks_the_records_list_by_page_token() {
    let work = Workspace::new();
    let args = ["bench", "--reads", "--rows", "500", "--connections", "1", "--duration", "0.3", "--list-pages", "3"];
    let output = work.run_with(&[], &args);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    let line = text.lines().find(|l| l.starts_with("records list ")).unwrap_or_else(|| panic!("{text}"));
    // 425 valid records: walks of 200 + 200 + 25, so 425 records every 3 requests.
    let number = |after: &str, before: &str| -> u64 {
        let start = line.find(after).unwrap() + after.len();
        line[start..].split(before).next().unwrap().trim().parse().unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let (records, requests) = (number("/s (", " records"), number("  (", " requests"));
    assert!(requests >= 3, "{line}");
    let walks = requests / 3;
    let rest = [0, 200, 400][(requests % 3) as usize];
    assert_eq!(records, walks * 425 + rest, "{line}");
}

/// On PostgreSQL the same run answers from a scratch database of its own.
#[test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
fn bench_reads_runs_on_postgresql() {
    let url = crate::multinode::database_url();
    let work = Workspace::new();
    let args = [
        "bench",
        "--reads",
        "--rows",
        "200",
        "--connections",
        "4",
        "--duration",
        "0.5",
        "--json",
        "--database-url",
        &url,
    ];
    let output = work.run_with(&[], &args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let document: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    check_document(&document, "postgresql");
}
