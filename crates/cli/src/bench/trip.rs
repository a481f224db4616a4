//! One server process of this binary and one timed HTTP round trip through it: upload → create
//! (with a callback) → the job's callback → result downloaded.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::callbacks::CallbackReceiver;
use super::cpu::CpuSnapshot;
use super::TOKEN;

pub struct ServerProcess {
    child: Child,
    /// The database it runs on (`None`: the embedded SQLite).
    pub database_url: Option<String>,
    pub base: String,
    pub org: String,
    pub user: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    pub fn start(dir: &Path, max_rows: usize, database_url: Option<&str>) -> anyhow::Result<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        if let Some(url) = database_url {
            command.env("BULKWRITE_DATABASE_URL", url);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("BULKWRITE_BOOTSTRAP_TOKEN", TOKEN)
            .env("BULKWRITE_MAX_ROWS_PER_FILE", max_rows.to_string())
            // One Bulk Read page holds every record the benchmark writes.
            .env("BULKWRITE_READ_PAGE_RECORDS", max_rows.max(200_000).to_string())
            .env("BULKWRITE_MAX_UPLOAD_BYTES", (1u64 << 30).to_string())
            .env("BULKWRITE_MAX_ENTRY_BYTES", (4u64 << 30).to_string())
            .env("BULKWRITE_MAX_UNZIPPED_BYTES", (4u64 << 30).to_string())
            // The benchmark's own callback receiver listens on loopback.
            .env("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1")
            .env("RUST_LOG", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().context("server exited")??;
        let base = first.strip_prefix("bulkwrite listening on ").context("unexpected server output")?.to_string();
        std::thread::spawn(move || for _ in lines {});
        let bootstrap: Value = serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json"))?)?;
        Ok(ServerProcess {
            child,
            database_url: database_url.map(str::to_string),
            base,
            org: bootstrap["org_id"].as_str().unwrap_or_default().to_string(),
            user: bootstrap["user_id"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Starts the server's peak resident memory (`VmHWM`) again from what it holds now (Linux's
    /// `clear_refs` 5), so that the next `peak_rss_mib` is the peak of what ran since; `false`
    /// where the kernel does not allow it (the peak then stays the peak since the start).
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }

    /// What the server and its database sessions have used of the CPU so far.
    pub async fn cpu(&self) -> CpuSnapshot {
        CpuSnapshot::take(self.child.id(), self.database_url.as_deref()).await
    }

    /// Peak resident memory of the server process so far, in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

/// The mappings of the bench's own generated file (`generate_csv`), by column index.
pub fn generated_mappings() -> Vec<Value> {
    mappings_for(super::GENERATED_COLUMNS.iter().copied(), &[])
}

/// One mapping per column, its index the column's, `Date_3` read as `yyyy/MM/dd`; columns named in
/// `skip` stay unmapped.
pub fn mappings_for<'a>(header: impl Iterator<Item = &'a str>, skip: &[&str]) -> Vec<Value> {
    header
        .enumerate()
        .filter(|(_, name)| !skip.contains(name))
        .map(|(index, name)| match name {
            "Date_3" => json!({"api_name": name, "index": index, "format": "yyyy/MM/dd"}),
            _ => json!({"api_name": name, "index": index}),
        })
        .collect()
}

fn job_body(file_id: &str, operation: &str, callback: &str, mappings: &[Value]) -> Value {
    let mut resource = json!({"type": "data", "module": "Leads", "file_id": file_id, "field_mappings": mappings});
    if operation != "insert" {
        resource["find_by"] = json!("Email");
    }
    json!({"operation": operation, "resource": [resource], "callback": {"url": callback, "method": "post"}})
}

/// How long the benchmark waits for a job's callback before it looks at the job itself.
const CALLBACK_PATIENCE: Duration = Duration::from_secs(1);

/// Timings of one round trip, in milliseconds.
pub struct Trip {
    /// The bulk write job's id.
    pub id: String,
    pub upload: f64,
    pub create: f64,
    pub run: f64,
    pub download: f64,
    pub total: f64,
    pub server_job: f64,
    /// CPU time the server used over the round trip, and its PostgreSQL sessions (see `cpu`).
    pub server_cpu: Option<f64>,
    pub database_cpu: Option<f64>,
    /// MiB of PostgreSQL's write-ahead log written over the round trip (see `cpu::wal_position`).
    pub wal_mib: Option<f64>,
    /// The job's counts: rows that added, updated, or were skipped (with their errors).
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
}

impl Trip {
    /// The round trip's parts, for the progress line: upload, create, run (to the callback and
    /// the job's details), download.
    pub fn phases(&self) -> String {
        let mut phases = format!(
            "upload {:.0}, create {:.0}, run {:.0}, download {:.0} ms",
            self.upload, self.create, self.run, self.download
        );
        if let Some(server) = self.server_cpu {
            phases += &format!("; CPU: server {server:.0} ms");
        }
        if let Some(database) = self.database_cpu {
            phases += &format!(", PostgreSQL {database:.0} ms");
        }
        if let Some(wal) = self.wal_mib {
            phases += &format!("; WAL {wal:.0} MiB");
        }
        phases
    }
}

pub async fn round_trip(
    http: &reqwest::Client,
    server: &ServerProcess,
    callbacks: &mut CallbackReceiver,
    zip: Vec<u8>,
    operation: &str,
    mappings: &[Value],
) -> anyhow::Result<Trip> {
    let auth = format!("Zoho-oauthtoken {TOKEN}");
    let cpu_before = server.cpu().await;
    let started = Instant::now();
    let part = reqwest::multipart::Part::bytes(zip).file_name("bench.zip");
    let uploaded: Value = http
        .post(format!("{}/crm/v2/upload", server.base))
        .header("Authorization", &auth)
        .header("feature", "bulk-write")
        .header("X-CRM-ORG", &server.org)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?
        .json()
        .await?;
    let file_id = uploaded["details"]["file_id"].as_str().context("upload failed")?.to_string();
    let upload = started.elapsed();
    // The job's end is learnt from its callback, on a path of this round trip's own.
    let callback_path = format!("/done/{file_id}");
    let callback = format!("{}{callback_path}", callbacks.base);
    let created: Value = http
        .post(format!("{}/crm/bulk/v2/write", server.base))
        .header("Authorization", &auth)
        .json(&job_body(&file_id, operation, &callback, mappings))
        .send()
        .await?
        .json()
        .await?;
    let id = created["details"]["id"].as_str().context("create failed")?.to_string();
    let create = started.elapsed();
    // A slow poll stands by in case the callback never comes (then the run fails, saying so).
    let mut polls_after_end = 0;
    while callbacks.wait_for(&callback_path, CALLBACK_PATIENCE).await.is_err() {
        let job = job_details(http, server, &auth, &id).await?;
        if job["status"] == "COMPLETED" || job["status"] == "FAILED" {
            polls_after_end += 1;
            if polls_after_end > 5 {
                bail!("job {id} ended ({}) but its callback never came", job["status"]);
            }
        }
    }
    let job = job_details(http, server, &auth, &id).await?;
    if job["status"] != "COMPLETED" {
        bail!("the job failed: {job}");
    }
    let run = started.elapsed();
    let file = &job["resource"][0]["file"];
    let count = |name: &str| file[name].as_u64().unwrap_or(0);
    let (added, updated, skipped) = (count("added_count"), count("updated_count"), count("skipped_count"));
    let url = job["result"]["download_url"].as_str().context("no download_url")?;
    let bytes = http.get(url).header("Authorization", &auth).send().await?.bytes().await?;
    if bytes.len() < 100 {
        bail!("the result file is too small");
    }
    let total = started.elapsed();
    let used = server.cpu().await.since(&cpu_before);
    let state: Value = http
        .get(format!("{}/bulkwrite/v1/jobs/{id}", server.base))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    let server_job = match (state["created_at"].as_str(), state["finished_at"].as_str()) {
        (Some(a), Some(b)) => {
            let a = chrono_ms(a)?;
            let b = chrono_ms(b)?;
            (b - a) as f64
        }
        _ => f64::NAN,
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Trip {
        id,
        upload: ms(upload),
        create: ms(create - upload),
        run: ms(run - create),
        download: ms(total - run),
        total: ms(total),
        server_job,
        server_cpu: used.server_cpu,
        database_cpu: used.database_cpu,
        wal_mib: used.wal_mib,
        added,
        updated,
        skipped,
    })
}

/// `GET /crm/bulk/v2/write/{id}`.
async fn job_details(http: &reqwest::Client, server: &ServerProcess, auth: &str, id: &str) -> anyhow::Result<Value> {
    let url = format!("{}/crm/bulk/v2/write/{id}", server.base);
    Ok(http.get(url).header("Authorization", auth).send().await?.json().await?)
}

fn chrono_ms(text: &str) -> anyhow::Result<i64> {
    Ok(chrono::DateTime::parse_from_rfc3339(text)?.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::Trip;

    fn trip(server_cpu: Option<f64>, database_cpu: Option<f64>, wal_mib: Option<f64>) -> Trip {
        Trip {
            id: "1".into(),
            upload: 21.4,
            create: 8.0,
            run: 312.6,
            download: 3.5,
            total: 345.5,
            server_job: 300.0,
            server_cpu,
            database_cpu,
            wal_mib,
            added: 1,
            updated: 0,
            skipped: 0,
        }
    }

    #[test]
    fn the_phases_name_each_part_and_the_cpu_and_log_where_measured() {
        assert_eq!(
            trip(Some(240.0), Some(260.0), Some(41.6)).phases(),
            "upload 21, create 8, run 313, download 4 ms; CPU: server 240 ms, PostgreSQL 260 ms; WAL 42 MiB"
        );
        assert_eq!(
            trip(Some(240.0), None, None).phases(),
            "upload 21, create 8, run 313, download 4 ms; CPU: server 240 ms"
        );
        assert_eq!(trip(None, None, None).phases(), "upload 21, create 8, run 313, download 4 ms");
    }
}
