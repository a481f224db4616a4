//! Runs the real `bulkwrite` binary on `127.0.0.1:0` with a fresh data directory and talks to it
//! over HTTP, as a client would.

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TOKEN: &str = "1000.e2etesttoken.e2etesttoken";

/// A running server process.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub org: String,
    pub user: String,
    pub user_name: String,
    pub dir: PathBuf,
    /// `bootstrap.json` as the server wrote it.
    pub bootstrap: Value,
    env: Vec<(String, String)>,
    pub http: reqwest::Client,
    /// The server's stderr lines, when started with [`Server::start_capturing_stderr`].
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    capture_stderr: bool,
    /// Whether dropping the server removes `dir` (a fresh directory it made, not one it was given).
    owns_dir: bool,
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub async fn start(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Server::launch(dir, env, false, true).await
    }

    /// Starts a server on a fresh data directory and keeps its stderr lines in `stderr` (they are
    /// echoed to the test's stderr too).
    pub async fn start_capturing_stderr(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Server::launch(dir, env, true, true).await
    }

    /// Starts a server on an existing data directory.
    pub async fn start_in(dir: PathBuf, env: Vec<(String, String)>) -> Server {
        Server::launch(dir, env, false, false).await
    }

    async fn launch(dir: PathBuf, env: Vec<(String, String)>, capture_stderr: bool, owns_dir: bool) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwrite"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env("BULKWRITE_BOOTSTRAP_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(if capture_stderr { Stdio::piped() } else { Stdio::inherit() });
        for (key, value) in &env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn bulkwrite");
        let captured = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let captured = std::sync::Arc::clone(&captured);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    captured.lock().unwrap().push(line);
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a line").expect("readable");
        let base = first
            .strip_prefix("bulkwrite listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        let bootstrap: Value =
            serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).expect("bootstrap.json")).expect("json");
        assert_eq!(bootstrap["base_url"], json!(base));
        assert_eq!(bootstrap["access_token"], json!(TOKEN));
        let server = Server {
            child: Some(child),
            base,
            org: bootstrap["org_id"].as_str().unwrap().to_string(),
            user: bootstrap["user_id"].as_str().unwrap().to_string(),
            user_name: bootstrap["user_name"].as_str().unwrap().to_string(),
            dir,
            bootstrap: bootstrap.clone(),
            env,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            stderr: captured,
            capture_stderr,
            owns_dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = self.http.get(format!("{}/healthz", self.base)).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server never became healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The server process's peak resident memory so far (`VmHWM` of `/proc/PID/status`), in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("kB");
        kib / 1024
    }

    /// Bytes the data directory holds (the SQLite database, its WAL and the blobs).
    pub fn data_bytes(&self) -> u64 {
        fn walk(path: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(path) else { return 0 };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }

    /// Sends a signal (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Pauses the process (SIGSTOP) and returns once every one of its threads is stopped.
    pub fn stop(&self) {
        self.signal("STOP");
        let pid = self.child.as_ref().expect("running").id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let stopped = |task: std::fs::DirEntry| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some(Some('T' | 't')))
        };
        loop {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
            if tasks.flatten().all(stopped) {
                return;
            }
            assert!(Instant::now() < deadline, "process {pid} did not stop");
            std::thread::yield_now();
        }
    }

    /// Kills the process without warning (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// Waits for the process to exit (after a signal) and returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("running").wait().expect("wait")
    }

    /// Starts the server again on the same data directory.
    pub async fn restart(mut self) -> Server {
        self.kill();
        let owns_dir = std::mem::take(&mut self.owns_dir);
        Server::launch(self.dir.clone(), self.env.clone(), self.capture_stderr, owns_dir).await
    }

    /// Kills the process and hands its data directory to the caller, who then owns it (to change
    /// files while the server is down and start another on it with [`Server::start_in`]).
    pub fn into_dir(mut self) -> PathBuf {
        self.kill();
        self.owns_dir = false;
        self.dir.clone()
    }

    /// A value of `bootstrap.json`.
    pub fn boot(&self, key: &str) -> String {
        self.bootstrap[key].as_str().unwrap_or_else(|| panic!("bootstrap.json has no {key}")).to_string()
    }

    /// Calls the admin API.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let request = self
            .http
            .request(method, self.url(&format!("/bulkwrite/v1/admin{path}")))
            .bearer_auth(self.boot("admin_key"))
            .json(&body);
        let response = request.send().await.expect("admin call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Calls any path with the admin key (no body).
    pub async fn admin_call(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.boot("admin_key"))
            .send()
            .await
            .expect("admin call");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// `GET` with another access token.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header("Authorization", format!("Zoho-oauthtoken {TOKEN}"))
    }

    /// Uploads a zip the way the SDKs do; returns status and body.
    pub async fn upload_raw(&self, zip: Vec<u8>, file_name: &str) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(zip).file_name(file_name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let request = self
            .auth(self.http.post(self.url("/crm/v2/upload")))
            .header("feature", "bulk-write")
            .header("X-CRM-ORG", &self.org)
            .multipart(form);
        let response = request.send().await.expect("upload");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    /// Uploads a CSV zipped as `name`; returns the file id.
    pub async fn upload_csv(&self, name: &str, csv: &str) -> String {
        let (status, body) = self.upload_raw(zip_of(&[(name, csv.as_bytes())]), "upload.zip").await;
        assert_eq!(status, 200, "{body}");
        body["details"]["file_id"].as_str().expect("file_id").to_string()
    }

    /// Posts a create-job body; returns status and body.
    /// Uploads `csv` as `leads.csv` and creates an auto-mapped insert job of it into Leads (with a
    /// callback to `callback` when given); returns the job's id.
    pub async fn insert_job(&self, csv: &str, callback: Option<&str>) -> String {
        self.insert_job_named("leads.csv", csv, callback).await
    }

    /// [`Server::insert_job`] with the CSV's name in the zip (it names the result file's entry).
    pub async fn insert_job_named(&self, name: &str, csv: &str, callback: Option<&str>) -> String {
        let file_id = self.upload_csv(name, csv).await;
        let mut body =
            json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
        if let Some(url) = callback {
            body["callback"] = json!({"url": url, "method": "post"});
        }
        let (status, created) = self.create_job(&body).await;
        assert_eq!(status, 201, "{created}");
        created["details"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_job(&self, body: &Value) -> (u16, Value) {
        let response =
            self.auth(self.http.post(self.url("/crm/bulk/v2/write"))).json(body).send().await.expect("create");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.auth(self.http.get(self.url(path))).send().await.expect("get");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") })
    }

    pub async fn job(&self, id: &str) -> Value {
        let (status, body) = self.get_json(&format!("/crm/bulk/v2/write/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Polls until the job is `COMPLETED` or `FAILED`.
    pub async fn wait_job(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let job = self.job(id).await;
            if job["status"] == "COMPLETED" || job["status"] == "FAILED" {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} never finished: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Downloads the result zip and returns its only CSV as rows of cells (header first).
    pub async fn result_rows(&self, job: &Value) -> (String, Vec<Vec<String>>) {
        let url = job["result"]["download_url"].as_str().expect("download_url");
        assert!(url.starts_with(&self.base), "{url}");
        let response = self.auth(self.http.get(url)).send().await.expect("download");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/zip");
        let id = job["id"].as_str().unwrap();
        assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"{id}.zip\"").as_str());
        let bytes = response.bytes().await.expect("bytes").to_vec();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).expect("entry");
        let name = entry.name().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("utf-8");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let rows = reader.records().map(|r| r.expect("csv").iter().map(str::to_string).collect()).collect();
        (name, rows)
    }

    /// Every record of a module, following pages.
    pub async fn all_records(&self, module: &str, fields: &str) -> Vec<Value> {
        let mut records = Vec::new();
        for page in 1.. {
            let (status, body) =
                self.get_json(&format!("/crm/v2/{module}?fields={fields}&page={page}&per_page=200")).await;
            if status == 204 {
                break;
            }
            assert_eq!(status, 200, "{body}");
            records.extend(body["data"].as_array().unwrap().iter().cloned());
            if body["info"]["more_records"] != true {
                break;
            }
        }
        records
    }
}

impl Drop for Server {
    /// Kills the process and removes the data directory it made, unless the test failed (the
    /// directory is then kept for a look, and its path printed) or `BULKWRITE_KEEP_TEST_DIRS` is
    /// set: thousands of tests each leaving a data directory would fill the disk.
    fn drop(&mut self) {
        self.kill();
        if !self.owns_dir {
            return;
        }
        if std::thread::panicking() || std::env::var_os("BULKWRITE_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept the server's data directory {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A zip holding the given entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The seed's create-job body with a given file id and callback URL.
pub fn seed_body(file_id: &str, callback_url: &str) -> Value {
    json!({
        "operation": "insert",
        "ignore_empty": true,
        "callback": {"url": callback_url, "method": "post"},
        "resource": [{
            "type": "data",
            "module": "Leads",
            "file_id": file_id,
            "field_mappings": [
                {"api_name": "Last_Name", "index": 0},
                {"api_name": "Owner", "index": 1},
                {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                {"api_name": "Mobile", "index": 3},
                {"api_name": "Layout", "index": 4}
            ]
        }]
    })
}

/// The recorded seed document, for reading its bodies verbatim.
pub fn seed_document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/fixtures/seed-responses.json");
    std::fs::read_to_string(path).expect("seed fixture")
}
