//! The README's "Using bulkwrite in your test suite" examples, run as a user runs them: a server
//! started with `--test-controls`, then `python3 -m pytest examples/test-suite/python` (the official
//! Python SDK) and `node --test examples/test-suite/node` (the official Node SDK) against it, on
//! SQLite and on PostgreSQL. The tests pass only when every test of the example suites passes.
//!
//! `bash .ci/run` installs what they need (pytest and the SDKs, pinned); missing, these fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::Server;

const SWITCH: (&str, &str) = ("BULKWRITE_TEST_CONTROLS", "1");

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/test-suite")
}

/// Runs `program args…` in `dir` against `server` and asserts it exits 0, printing its output.
async fn run_suite(server: &Server, dir: &Path, program: &str, args: &[&str]) -> String {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env("BULKWRITE_URL", &server.base)
        .env("BULKWRITE_DATA_DIR", &server.dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .unwrap_or_else(|e| panic!("cannot start {program} ({e}); run `bash .ci/run`"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "{program} {args:?} in {} failed ({})", dir.display(), output.status);
    stdout
}

async fn pytest(server: &Server) {
    let out =
        run_suite(server, &examples_dir().join("python"), "python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .await;
    assert!(out.contains(" passed"), "pytest printed no summary of passed tests: {out}");
    assert!(!out.contains("skipped") && !out.contains("failed"), "every example test runs and passes: {out}");
}

async fn node_test(server: &Server) {
    let dir = examples_dir().join("node");
    assert!(
        dir.join("node_modules/@zohocrm/nodejs-sdk-2.0").exists(),
        "the example's SDK is not installed: run `bash .ci/run` or `npm ci --prefix examples/test-suite/node`"
    );
    let out = run_suite(server, &dir, "node", &["--test", "--test-concurrency=1"]).await;
    assert!(out.contains("# fail 0") && out.contains("# pass "), "node --test reported failures: {out}");
}

#[tokio::test]
async fn the_pytest_example_passes_against_the_embedded_store() {
    let server = Server::start(&[SWITCH]).await;
    pytest(&server).await;
}

#[tokio::test]
async fn the_node_test_example_passes_against_the_embedded_store() {
    let server = Server::start(&[SWITCH]).await;
    node_test(&server).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn both_examples_pass_against_postgres() {
    let database = crate::multinode::fresh_database().await;
    let server = crate::multinode::node(&database, "all", &[SWITCH]).await;
    pytest(&server).await;
    node_test(&server).await;
}
