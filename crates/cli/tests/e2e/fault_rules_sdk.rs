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

use std::process::Command;

use serde_json::{json, Value};

use crate::fault_rules::{start, Backend};
use crate::sdk::{require_sdk, sdk_dir, Sdk};

crate::on_both_backends!(
    the_python_sdk_reads_a_429_as_success_with_status_error_on_writes,
    the_python_sdk_reads_a_500_as_its_api_exception,
    the_python_sdk_reads_a_401_as_its_api_exception,
);

/// Runs `faults.py --status STATUS` against a server with the test controls on; returns its
/// `FAULT_RESULT` lines.
async fn sdk_meets(backend: Backend, status: u16) -> Vec<Value> {
    require_sdk(Sdk::Python);
    let (server, _) = start(backend, &[]).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new("python3");
    command
        .arg(sdk_dir(Sdk::Python).join("faults.py"))
        .arg("--base")
        .arg(&server.base)
        .arg("--data-dir")
        .arg(&server.dir)
        .arg("--workdir")
        .arg(work.path())
        .args(["--status", &status.to_string()])
        .current_dir(work.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python3 faults.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "faults.py --status {status} exited {}:\n{stdout}\n{stderr}", output.status);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("FAULT_RESULT "))
        .map(|json| serde_json::from_str(json).expect("a FAULT_RESULT line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let after = &lines[3];
    assert_eq!((&after["type"], &after["code"]), (&json!("SuccessResponse"), &json!("FILE_UPLOAD_SUCCESS")), "{after}");
    lines
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
