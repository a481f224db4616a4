//! What the official Python SDK (PyPI `zohocrmsdk2-0`, unmodified) makes of each HTTP fault
//! (issue 19): `tests/sdk/python/faults.py` adds a rule for the next three requests and makes
//! three SDK calls; these tests assert the object class and fields the SDK gave for each.
//!
//! What they show: the SDK never raises for an error answer, it returns an `APIResponse` whose
//! object is the SDK's `APIException` carrying Zoho's `code`, `message`, `status` and `details`,
//! and whose `get_status_code()` is the HTTP status. The exception is `429 TOO_MANY_REQUESTS` on
//! `upload_file` and `create_bulk_write_job`: that code is not in the SDK's list of error codes,
//! so it scores the body as a `SuccessResponse` whose `status` is `error` (a caller that only
//! checks the class takes it for success); `get_bulk_write_job_details` still gives an
//! `APIException`. The answer's `X-API-CREDITS-REMAINING: 0` reaches `get_headers()`.
//!
//! The other fault kinds, through `tests/sdk/python/fault_jobs.py` (one job of three rows with a
//! callback to the built-in inbox): a latency rule only delays the SDK's call; a job failed at
//! row N reads as a `BulkWriteResponse` with status `FAILED` and a result file whose later rows are
//! `UNPROCESSED`; a chunk failed once sends the job back to `ADDED` before it completes with every
//! row added once; a slowed job is seen `IN PROGRESS`; callback faults leave what the SDK sees
//! alone and show in the server's record of the delivery attempts.

use std::process::Command;

use serde_json::{json, Value};

use crate::fault_rules::{start, Backend};
use crate::harness::Server;
use crate::sdk::{require_sdk, sdk_dir, Sdk};

crate::on_both_backends!(
    the_python_sdk_reads_a_429_as_success_with_status_error_on_writes,
    the_python_sdk_reads_a_500_as_its_api_exception,
    the_python_sdk_reads_a_401_as_its_api_exception,
    the_python_sdk_waits_out_a_latency_fault,
    the_python_sdk_sees_a_job_failed_at_a_row_as_failed_with_unprocessed_rows,
    the_python_sdk_sees_a_job_whose_chunk_failed_once_complete_once,
    the_python_sdk_sees_a_slowed_job_in_progress_then_complete,
    the_python_sdk_is_untouched_by_a_failed_callback,
    the_python_sdk_is_untouched_by_a_callback_timeout,
);

/// Runs `faults.py --status STATUS` against a server with the test controls on; returns its
/// `FAULT_RESULT` lines.
async fn sdk_meets(backend: Backend, status: u16) -> Vec<Value> {
    let (server, _) = start(backend, &[]).await;
    let lines = fault_results(&server, "faults.py", &["--status", &status.to_string()]).await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    let after = &lines[3];
    assert_eq!((&after["type"], &after["code"]), (&json!("SuccessResponse"), &json!("FILE_UPLOAD_SUCCESS")), "{after}");
    lines
}

/// Runs the Python SDK script `script` (`faults.py`, `fault_jobs.py`) with `args` against
/// `server`, asserts it exits 0, and returns its `FAULT_RESULT` lines.
async fn fault_results(server: &Server, script: &str, args: &[&str]) -> Vec<Value> {
    require_sdk(Sdk::Python);
    let work = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new("python3");
    command
        .arg(sdk_dir(Sdk::Python).join(script))
        .arg("--base")
        .arg(&server.base)
        .arg("--data-dir")
        .arg(&server.dir)
        .arg("--workdir")
        .arg(work.path())
        .args(args)
        .current_dir(sdk_dir(Sdk::Python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} {args:?} exited {}:\n{stdout}\n{stderr}", output.status);
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("FAULT_RESULT "))
        .map(|json| serde_json::from_str(json).expect("a FAULT_RESULT line is JSON"))
        .collect()
}

/// Asserts one call's outcome: the SDK's class, and Zoho's fields as the fault sent them.
fn assert_outcome(line: &Value, class: &str, status: u16, code: &str, message: &str) {
    let expected = json!({
        "http_status": status,
        "type": class,
        "status": "error",
        "code": code,
        "message": message,
        "details": {},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&line[key], value, "{key} of {line}");
    }
}

async fn the_python_sdk_reads_a_429_as_success_with_status_error_on_writes(backend: Backend) {
    let lines = sdk_meets(backend, 429).await;
    assert_outcome(&lines[0], "SuccessResponse", 429, "TOO_MANY_REQUESTS", "too many requests");
    assert_outcome(&lines[1], "SuccessResponse", 429, "TOO_MANY_REQUESTS", "too many requests");
    assert_outcome(&lines[2], "APIException", 429, "TOO_MANY_REQUESTS", "too many requests");
    for line in &lines[..3] {
        assert_eq!(line["credits_remaining"], "0", "{line}");
    }
}

async fn the_python_sdk_reads_a_500_as_its_api_exception(backend: Backend) {
    let lines = sdk_meets(backend, 500).await;
    for line in &lines[..3] {
        assert_outcome(line, "APIException", 500, "INTERNAL_ERROR", "Internal Server Error");
        assert!(line["credits_remaining"].is_null(), "{line}");
    }
}

async fn the_python_sdk_reads_a_401_as_its_api_exception(backend: Backend) {
    let lines = sdk_meets(backend, 401).await;
    for line in &lines[..3] {
        assert_outcome(line, "APIException", 401, "INVALID_TOKEN", "invalid oauth token");
    }
}

/// Runs `fault_jobs.py --rule RULE` against a server with the test controls on (and `env`);
/// returns its `FAULT_RESULT` lines: the details calls, the final state, the callback report.
async fn sdk_job_meets(backend: Backend, rule: Value, env: &[(&str, &str)]) -> (Vec<Value>, Value, Value) {
    let (server, _) = start(backend, env).await;
    let mut lines = fault_results(&server, "fault_jobs.py", &["--rule", &rule.to_string()]).await;
    let callback = lines.pop().expect("the callback report line");
    let last = lines.pop().expect("the final line");
    assert_eq!((&callback["call"], &last["call"]), (&json!("callback report"), &json!("final")), "{lines:?}");
    for details in &lines {
        assert_eq!(
            (&details["type"], &details["http_status"]),
            (&json!("BulkWriteResponse"), &json!(200)),
            "{details}"
        );
    }
    (lines, last, callback["report"].clone())
}

fn counts(added: u64, total: u64) -> Value {
    json!({"added": added, "skipped": 0, "updated": 0, "total": total})
}

async fn the_python_sdk_waits_out_a_latency_fault(backend: Backend) {
    let rule = json!({"method": "GET", "path": "/crm/bulk/*/write/*", "latency_ms": 300, "times": 1});
    let (details, last, _) = sdk_job_meets(backend, rule, &[]).await;
    assert!(details[0]["elapsed_ms"].as_u64().unwrap() >= 300, "the first details call waited: {}", details[0]);
    assert_eq!((&last["status"], &last["counts"]), (&json!("COMPLETED"), &counts(3, 3)), "{last}");
}

async fn the_python_sdk_sees_a_job_failed_at_a_row_as_failed_with_unprocessed_rows(backend: Backend) {
    let (_, last, report) = sdk_job_meets(backend, json!({"job": {"fail_at_row": 1}}), &[]).await;
    assert_eq!((&last["status"], &last["resource_status"]), (&json!("FAILED"), &json!("FAILED")), "{last}");
    assert_eq!(last["result_statuses"], json!(["ADDED", "UNPROCESSED", "UNPROCESSED"]), "{last}");
    assert_eq!(last["counts"]["added"], 1, "{last}");
    assert!(report["attempts"][0]["request"]["body"].as_str().unwrap().contains("\"status\":\"FAILED\""), "{report}");
}

async fn the_python_sdk_sees_a_job_whose_chunk_failed_once_complete_once(backend: Backend) {
    let env = [("BULKWRITE_TRANSIENT_RETRY_MS", "200")];
    let (_, last, _) = sdk_job_meets(backend, json!({"job": {"fail_chunk_once": true}}), &env).await;
    assert_eq!((&last["status"], &last["counts"]), (&json!("COMPLETED"), &counts(3, 3)), "{last}");
    assert_eq!(last["result_statuses"], json!(["ADDED", "ADDED", "ADDED"]), "{last}");
}

async fn the_python_sdk_sees_a_slowed_job_in_progress_then_complete(backend: Backend) {
    let (_, last, _) = sdk_job_meets(backend, json!({"job": {"slow_ms": 500}}), &[]).await;
    // Polled every 50 ms while its one chunk waits 500 ms (it may be seen `ADDED` first, unclaimed).
    let statuses = last["statuses"].as_array().unwrap();
    assert!(statuses.contains(&json!("IN PROGRESS")), "{last}");
    assert_eq!(statuses.last(), Some(&json!("COMPLETED")), "{last}");
    assert_eq!(last["counts"], counts(3, 3), "{last}");
}

async fn the_python_sdk_is_untouched_by_a_failed_callback(backend: Backend) {
    let (_, last, report) = sdk_job_meets(backend, json!({"callback": {"status": 500}, "times": 1}), &[]).await;
    assert_eq!((&last["status"], &last["counts"]), (&json!("COMPLETED"), &counts(3, 3)), "{last}");
    assert_eq!(report["attempts"][0]["status"], 500, "{report}");
}

async fn the_python_sdk_is_untouched_by_a_callback_timeout(backend: Backend) {
    let env = [("BULKWRITE_CALLBACK_TIMEOUT_MS", "300")];
    let (_, last, report) = sdk_job_meets(backend, json!({"callback": {"timeout": true}, "times": 1}), &env).await;
    assert_eq!((&last["status"], &last["counts"]), (&json!("COMPLETED"), &counts(3, 3)), "{last}");
    let first = &report["attempts"][0];
    assert!(first["status"].is_null() && first["error"].as_str().unwrap().contains("timed out"), "{report}");
}
