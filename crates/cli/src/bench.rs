//! `bulkwrite bench`: the whole HTTP round trip (upload → create → the job's callback → result
//! downloaded) against a server process of this binary, with its peak memory.

mod baseline;
mod callbacks;
mod export;

use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bulkwrite_store_postgres::scratch;
use callbacks::CallbackReceiver;
use serde_json::{json, Value};

const TOKEN: &str = "1000.bench.bench";

/// Options of `bulkwrite bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Data rows per generated file; several values run several sizes.
    #[arg(long, value_delimiter = ',', default_value = "25000")]
    pub rows: Vec<usize>,
    /// Runs per size (the best and the median are reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also run an upsert by Email over the records the insert created.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub upsert: bool,
    /// Runs the server on PostgreSQL: a fresh database is created on this server for each size
    /// (and dropped afterwards) [default: the embedded SQLite].
    #[arg(long)]
    pub database_url: Option<String>,
    /// After the inserts, export every record with Bulk Read (one page), beside a hand-written
    /// `SELECT` → CSV → zip of the same rows (no write baseline then).
    #[arg(long)]
    pub export: bool,
}

/// A database created for one benchmark size, dropped when done.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<ScratchDatabase> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
        let name = format!("bw_bench_{stamp}");
        let url = scratch::create(admin_url, &name).await?;
        Ok(ScratchDatabase { admin_url: admin_url.to_string(), url, name })
    }

    async fn drop_now(self) -> anyhow::Result<()> {
        Ok(scratch::drop(&self.admin_url, &self.name).await?)
    }
}

struct ServerProcess {
    child: Child,
    base: String,
    org: String,
    user: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    fn start(dir: &Path, max_rows: usize, database_url: Option<&str>) -> anyhow::Result<ServerProcess> {
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
            base,
            org: bootstrap["org_id"].as_str().unwrap_or_default().to_string(),
            user: bootstrap["user_id"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Peak resident memory of the server process so far, in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

/// A Leads file of about a dozen columns; every 20th row is invalid in one way or another.
fn generate_csv(rows: usize, owner: &str, tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 160);
    out.extend_from_slice(b"Last_Name,First_Name,Company,Email,Phone,Mobile,Owner,Date_3,No_of_Employees,Annual_Revenue,Email_Opt_Out,Lead_Source,Description\n");
    for i in 1..=rows {
        let last = if i % 20 == 7 { String::new() } else { format!("Last{i}") };
        let email = if i % 20 == 13 { "broken-email".to_string() } else { format!("lead{i}@{tag}.example.com") };
        let date =
            if i % 20 == 17 { "2024/02/30".to_string() } else { format!("2024/{:02}/{:02}", i % 12 + 1, i % 28 + 1) };
        let line = format!(
            "{last},First{i},Company {},{email},+1 555 {:04},+1 555 {:04},{owner},{date},{},{}.50,{},Web Download,\"Imported, row {i}\"\n",
            i % 500,
            i % 10_000,
            (i * 7) % 10_000,
            i % 5000,
            i * 10,
            i % 2 == 0
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn zip_csv(name: &str, csv: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file(name, zip::write::SimpleFileOptions::default())?;
    writer.write_all(csv)?;
    Ok(writer.finish()?.into_inner())
}

fn job_body(file_id: &str, operation: &str, callback: &str) -> Value {
    let names = [
        "Last_Name",
        "First_Name",
        "Company",
        "Email",
        "Phone",
        "Mobile",
        "Owner",
        "Date_3",
        "No_of_Employees",
        "Annual_Revenue",
        "Email_Opt_Out",
        "Lead_Source",
        "Description",
    ];
    let mappings: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(index, name)| match *name {
            "Date_3" => json!({"api_name": name, "index": index, "format": "yyyy/MM/dd"}),
            _ => json!({"api_name": name, "index": index}),
        })
        .collect();
    let mut resource = json!({"type": "data", "module": "Leads", "file_id": file_id, "field_mappings": mappings});
    if operation != "insert" {
        resource["find_by"] = json!("Email");
    }
    json!({"operation": operation, "resource": [resource], "callback": {"url": callback, "method": "post"}})
}

/// How long the benchmark waits for a job's callback before it looks at the job itself.
const CALLBACK_PATIENCE: Duration = Duration::from_secs(1);

/// Timings of one round trip, in milliseconds.
struct Trip {
    upload: f64,
    create: f64,
    run: f64,
    download: f64,
    total: f64,
    server_job: f64,
}

async fn round_trip(
    http: &reqwest::Client,
    server: &ServerProcess,
    callbacks: &mut CallbackReceiver,
    zip: Vec<u8>,
    operation: &str,
) -> anyhow::Result<Trip> {
    let auth = format!("Zoho-oauthtoken {TOKEN}");
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
        .json(&job_body(&file_id, operation, &callback))
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
    let url = job["result"]["download_url"].as_str().context("no download_url")?;
    let bytes = http.get(url).header("Authorization", &auth).send().await?.bytes().await?;
    if bytes.len() < 100 {
        bail!("the result file is too small");
    }
    let total = started.elapsed();
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
        upload: ms(upload),
        create: ms(create - upload),
        run: ms(run - create),
        download: ms(total - run),
        total: ms(total),
        server_job,
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

fn report(label: &str, rows: usize, trips: &[Trip]) {
    let mut totals: Vec<f64> = trips.iter().map(|t| t.total).collect();
    totals.sort_by(f64::total_cmp);
    let best = trips.iter().min_by(|a, b| a.total.total_cmp(&b.total)).expect("at least one run");
    let median = totals[totals.len() / 2];
    out!(
        "{label:<7} {rows:>8} rows  total best {:>8.1} ms  median {:>8.1} ms  (upload {:.1}, create {:.1}, run {:.1}, download {:.1}; server job {:.0} ms)",
        best.total,
        median,
        best.upload,
        best.create,
        best.run,
        best.download,
        best.server_job,
    );
}

/// The insert's server job beside a hand-written binary `COPY` of the rows it wrote.
fn report_baseline(measured: baseline::Measured, inserts: &[Trip]) {
    let job = baseline::best(inserts.iter().map(|t| t.server_job));
    out!(
        "        hand-written binary COPY of the first insert's {} records and {} keys, best of {} (one after each insert):",
        measured.records, measured.keys, measured.rounds
    );
    let targets = [
        ("into a bare table (records only, no index)", measured.bare_ms),
        ("into bulkwrite's tables (indexes, one tx)", measured.schema_ms),
    ];
    for (target, ms) in targets {
        out!("          {target:<44} {ms:>7.1} ms; best server job {job:.0} ms is {:.2}x", job / ms);
    }
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let mut callbacks = CallbackReceiver::start().await?;
        let backend = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
        out!("bulkwrite bench on {backend}: {} run(s) per size, rows {:?}", args.runs, args.rows);
        for rows in &args.rows {
            let scratch = match &args.database_url {
                Some(url) => Some(ScratchDatabase::create(url).await?),
                None => None,
            };
            let outcome = bench_size(&args, *rows, &http, &mut callbacks, scratch.as_ref()).await;
            // The scratch database goes whatever happened to the runs.
            if let Some(scratch) = scratch {
                scratch.drop_now().await?;
            }
            outcome?;
        }
        Ok(())
    })
}

/// The runs of one size, on its own server (and its scratch database, on PostgreSQL), reported.
async fn bench_size(
    args: &BenchArgs,
    rows: usize,
    http: &reqwest::Client,
    callbacks: &mut CallbackReceiver,
    scratch: Option<&ScratchDatabase>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), rows, scratch.map(|s| s.url.as_str()))?;
    let mut inserts = Vec::new();
    let mut upserts = Vec::new();
    let mut baseline = None;
    for run in 0..args.runs {
        let tag = format!("run{run}");
        let zip = zip_csv("bench.csv", &generate_csv(rows, &server.user, &tag))?;
        inserts.push(round_trip(http, &server, callbacks, zip.clone(), "insert").await?);
        if let Some(scratch) = scratch.filter(|_| !args.export) {
            let copies = match &mut baseline {
                Some(copies) => copies,
                None => baseline.insert(baseline::Baseline::prepare(&scratch.url, "run0").await?),
            };
            copies.round().await?;
        }
        if args.upsert {
            upserts.push(round_trip(http, &server, callbacks, zip, "upsert").await?);
        }
    }
    if args.export {
        export::compare(http, &server.base, TOKEN, &server.org, dir.path(), scratch.map(|s| s.url.as_str())).await?;
    }
    let rss = server.peak_rss_mib();
    report("insert", rows, &inserts);
    if args.upsert {
        report("upsert", rows, &upserts);
    }
    out!(
        "        server peak RSS over all runs of this size: {}",
        rss.map(|r| format!("{r:.1} MiB")).unwrap_or_else(|| "n/a".into())
    );
    drop(server);
    if let Some(baseline) = baseline {
        report_baseline(baseline.finish().await?, &inserts);
    }
    Ok(())
}
