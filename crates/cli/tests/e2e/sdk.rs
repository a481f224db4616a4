//! Zoho's official SDKs, unmodified, against the real server: the Python SDK (PyPI `zohocrmsdk2-0`) and
//! the Node SDK (npm `@zohocrm/nodejs-sdk-2.0`) run `tests/sdk/{python,node}/bulk_write.*` (upload → job →
//! poll → download → error cases → records) in each of the three token modes, and
//! `tests/sdk/{python,node}/bulk_read.*` (records → read job → poll → download → errors). The v8 SDKs
//! (PyPI `zohocrmsdk8-0`, npm `@zohocrm/nodejs-sdk-8.0`) run `tests/sdk/{python,node}/bulk_write_v8.*`
//! (upload → job with a callback → poll → callback → download → APIExceptions) on SQLite and, one
//! each, on PostgreSQL (see docs/sdk-v8-compatibility.md).
//!
//! The SDKs are installed by `bash .ci/run` (pip and `npm ci`, pinned). A missing or wrong-version SDK
//! fails these tests; it never skips them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::Server;

const INSTALL_HINT: &str = "run `bash .ci/run` (it installs the pinned SDKs: `python3 -m pip install -r \
                            crates/cli/tests/sdk/python/requirements.txt` and `npm ci --prefix crates/cli/tests/sdk/node`)";

/// How long one SDK script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy)]
pub(crate) enum Sdk {
    Python,
    Node,
    PythonV8,
    NodeV8,
}

impl Sdk {
    /// The registry package name (PyPI or npm).
    fn package(self) -> &'static str {
        match self {
            Sdk::Python => "zohocrmsdk2-0",
            Sdk::PythonV8 => "zohocrmsdk8-0",
            Sdk::Node => "@zohocrm/nodejs-sdk-2.0",
            Sdk::NodeV8 => "@zohocrm/nodejs-sdk-8.0",
        }
    }

    /// The interpreter and the script file for `name`.
    fn program(self, name: &str) -> (&'static str, PathBuf) {
        match self {
            Sdk::Python | Sdk::PythonV8 => ("python3", sdk_dir(self).join(format!("{name}.py"))),
            Sdk::Node => ("node", sdk_dir(self).join(format!("{name}.js"))),
            Sdk::NodeV8 => ("node", sdk_dir(self).join(format!("{name}.mjs"))),
        }
    }
}

pub(crate) fn sdk_dir(sdk: Sdk) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    match sdk {
        Sdk::Python | Sdk::PythonV8 => dir.join("python"),
        Sdk::Node | Sdk::NodeV8 => dir.join("node"),
    }
}

/// The version pinned in `requirements.txt` (`<package>==X`).
fn pinned_python_version(package: &str) -> String {
    let text = std::fs::read_to_string(sdk_dir(Sdk::Python).join("requirements.txt")).expect("requirements.txt");
    let prefix = format!("{package}==");
    text.lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("requirements.txt pins {package}==VERSION"))
}

/// The version pinned in `package.json`.
fn pinned_node_version(package: &str) -> String {
    let text = std::fs::read_to_string(sdk_dir(Sdk::Node).join("package.json")).expect("package.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("package.json is JSON");
    json["dependencies"][package].as_str().expect("package.json pins the SDK").to_string()
}

/// Fails (never skips) when the SDK is not installed at the pinned version.
pub(crate) fn require_sdk(sdk: Sdk) {
    let package = sdk.package();
    match sdk {
        Sdk::Python | Sdk::PythonV8 => {
            let pinned = pinned_python_version(package);
            let probe = Command::new("python3")
                .args(["-c", &format!("import importlib.metadata as m; print(m.version('{package}'))")])
                .output()
                .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3, then {INSTALL_HINT}"));
            let installed = String::from_utf8_lossy(&probe.stdout).trim().to_string();
            assert!(
                probe.status.success(),
                "the Python SDK {package} is not installed ({}); {INSTALL_HINT}",
                String::from_utf8_lossy(&probe.stderr).trim().lines().last().unwrap_or("")
            );
            assert_eq!(installed, pinned, "{package} {installed} is installed, {pinned} is pinned; {INSTALL_HINT}");
        }
        Sdk::Node | Sdk::NodeV8 => {
            let pinned = pinned_node_version(package);
            let version = Command::new("node")
                .arg("--version")
                .output()
                .unwrap_or_else(|e| panic!("cannot run node ({e}); install Node.js, then {INSTALL_HINT}"));
            assert!(version.status.success(), "node --version failed; {INSTALL_HINT}");
            let manifest = sdk_dir(sdk).join("node_modules").join(package).join("package.json");
            let text = std::fs::read_to_string(&manifest).unwrap_or_else(|_| {
                panic!("the Node SDK {package} is not installed ({} missing); {INSTALL_HINT}", manifest.display())
            });
            let json: serde_json::Value = serde_json::from_str(&text).expect("SDK package.json");
            let installed = json["version"].as_str().unwrap_or("?");
            assert_eq!(installed, pinned, "{package} {installed} is installed, {pinned} is pinned; {INSTALL_HINT}");
        }
    }
}

/// Echoes a child's stream line by line (captured by the test runner) and keeps the lines.
fn pump(
    stream: impl Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    label: &'static str,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if label == "stderr" {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            lines.lock().unwrap().push(line);
        }
    })
}

/// Starts a server, runs the SDK's bulk write script in `mode` against it, and asserts it exits 0.
async fn run_sdk(sdk: Sdk, mode: &str) {
    run_script(sdk, "bulk_write", mode).await;
}

/// Starts a server, runs the SDK script `name` (`bulk_write`, `bulk_read`) in `mode` against
/// it, and asserts it exits 0.
async fn run_script(sdk: Sdk, name: &str, mode: &str) {
    require_sdk(sdk);
    let server = Server::start(&[]).await;
    run_script_on(&server, sdk, name, mode).await;
}

/// Runs the SDK script `name` in `mode` against a running `server`, and asserts it exits 0.
pub(crate) async fn run_script_on(server: &Server, sdk: Sdk, name: &str, mode: &str) {
    require_sdk(sdk);
    let work = tempfile::tempdir().expect("temp dir");
    let (program, script) = sdk.program(name);
    let no_proxy = match std::env::var("NO_PROXY") {
        Ok(existing) if !existing.is_empty() => format!("127.0.0.1,localhost,{existing}"),
        _ => "127.0.0.1,localhost".to_string(),
    };
    let mut command = Command::new(program);
    command
        .arg(&script)
        .arg("--base")
        .arg(&server.base)
        .arg("--data-dir")
        .arg(&server.dir)
        .args(["--mode", mode])
        .arg("--workdir")
        .arg(work.path())
        .arg("--bulkwrite")
        .arg(env!("CARGO_BIN_EXE_bulkwrite"))
        .current_dir(work.path())
        .env("NO_PROXY", &no_proxy)
        .env("no_proxy", &no_proxy)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    println!("running {} {} --mode {mode} against {}", program, script.display(), server.base);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {program} ({e}); {INSTALL_HINT}"));
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    let pumps = [
        pump(child.stdout.take().unwrap(), out.clone(), "stdout"),
        pump(child.stderr.take().unwrap(), err.clone(), "stderr"),
    ];
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the SDK script") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for pump in pumps {
        pump.join().ok();
    }
    let success = status.is_some_and(|s| s.success());
    if success {
        return;
    }
    let log = work.path().join("sdk.log");
    if let Ok(text) = std::fs::read_to_string(&log) {
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("---- last lines of the SDK's log {} ----", log.display());
        for line in &lines[lines.len().saturating_sub(30)..] {
            eprintln!("{line}");
        }
    }
    let kept = work.keep();
    let err = err.lock().unwrap();
    let failures: Vec<&String> =
        err.iter().filter(|l| l.contains(": FAIL ") || l.contains("SDK NOT INSTALLED")).collect();
    let reason = match status {
        None => format!("timed out after {} s", SCRIPT_TIMEOUT.as_secs()),
        Some(status) => format!("exited with {status}"),
    };
    if err.iter().any(|l| l.contains("SDK NOT INSTALLED")) {
        panic!("the {program} SDK is not installed; {INSTALL_HINT}");
    }
    panic!(
        "{program} {} --mode {mode} {reason}: {}\n(work dir kept: {}, server data dir: {})",
        script.file_name().unwrap().to_string_lossy(),
        if failures.is_empty() {
            "no FAIL line, see stderr above".to_string()
        } else {
            failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
        },
        kept.display(),
        server.dir.display()
    );
}

#[tokio::test]
async fn python_access_token() {
    run_sdk(Sdk::Python, "access").await;
}

#[tokio::test]
async fn python_refresh_token() {
    run_sdk(Sdk::Python, "refresh").await;
}

#[tokio::test]
async fn python_grant_code() {
    run_sdk(Sdk::Python, "grant").await;
}

#[tokio::test]
async fn node_access_token() {
    run_sdk(Sdk::Node, "access").await;
}

#[tokio::test]
async fn node_refresh_token() {
    run_sdk(Sdk::Node, "refresh").await;
}

#[tokio::test]
async fn node_grant_code() {
    run_sdk(Sdk::Node, "grant").await;
}

#[tokio::test]
async fn python_bulk_read_access_token() {
    run_script(Sdk::Python, "bulk_read", "access").await;
}

#[tokio::test]
async fn python_bulk_read_refresh_token() {
    run_script(Sdk::Python, "bulk_read", "refresh").await;
}

#[tokio::test]
async fn node_bulk_read_access_token() {
    run_script(Sdk::Node, "bulk_read", "access").await;
}

#[tokio::test]
async fn node_bulk_read_refresh_token() {
    run_script(Sdk::Node, "bulk_read", "refresh").await;
}
