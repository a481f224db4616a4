//! `bulkwrite bench`: the whole HTTP round trip (upload → create → the job's callback → result
//! downloaded) against a server process of this binary, with its peak memory; beside the floor
//! (`--floor`, `--perf-dir`) on a realistic file, with the ratios; as JSON with `--json`.

mod baseline;
mod beside;
mod callbacks;
mod cpu;
mod export;
mod floor;
mod keepalive;
mod load;
mod reads;
mod summary;
mod trip;

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::bail;
use bulkwrite_store_postgres::scratch;
use callbacks::CallbackReceiver;
use summary::Size;
use trip::{generated_mappings, round_trip, ServerProcess, Trip};

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
    /// The floor's binary (`limits`, built from `../shared/perf/floor`): it runs its whole job on
    /// the same file before each run of the job, and the ratios are printed.
    #[arg(long)]
    pub floor: Option<PathBuf>,
    /// `../shared/perf`: its `gen_leads.py N --seed 42` makes the file of each size, and, without
    /// `--floor`, the floor is built from its `floor/` (`cargo build --release`).
    #[arg(long)]
    pub perf_dir: Option<PathBuf>,
    /// Runs on this file (CSV or zip of Leads columns named by their API names) instead of a
    /// generated one; its own row count is the size.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Where generated files and the floor's build are kept between runs.
    #[arg(long, default_value = "target/floor")]
    pub work_dir: PathBuf,
    /// Prints one JSON document (every run, medians, ratios) on stdout; progress goes to stderr.
    #[arg(long)]
    pub json: bool,
    /// Measures the reads instead (issue 21): each size is loaded through a bulk write job, then
    /// job details and the records list are driven by `--connections` keep-alive connections for
    /// `--duration` seconds each, and every record is exported with Bulk Read.
    #[arg(long, conflicts_with_all = ["runs", "upsert", "export", "floor"])]
    pub reads: bool,
    /// Concurrent keep-alive connections of `--reads`.
    #[arg(long, default_value_t = 32, requires = "reads")]
    pub connections: usize,
    /// Seconds each `--reads` request stream runs.
    #[arg(long, default_value_t = 10.0, requires = "reads")]
    pub duration: f64,
    /// Pages of 200 records one walk of the records list reads (following `page_token`) before
    /// it starts again from the first page.
    #[arg(long, default_value_t = 10, requires = "reads")]
    pub list_pages: usize,
}

impl BenchArgs {
    /// The job beside the floor on a realistic (or supplied) file, instead of the bench's own file.
    fn beside_floor(&self) -> bool {
        self.floor.is_some() || self.perf_dir.is_some() || self.file.is_some()
    }

    /// Refuses what cannot be measured together.
    fn check(&self) -> anyhow::Result<()> {
        if self.runs == 0 {
            bail!("--runs must be at least 1");
        }
        if self.rows.contains(&0) {
            bail!("--rows must be at least 1");
        }
        if self.connections == 0 || self.list_pages == 0 {
            bail!("--connections and --list-pages must be at least 1");
        }
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 3600.0) {
            bail!("--duration must be more than 0 and at most 3600 seconds");
        }
        if self.export && (self.json || self.beside_floor()) {
            bail!("--export runs on the bench's own file and prints its own lines: leave out --json, --floor, --perf-dir and --file");
        }
        if self.floor.is_some() && self.file.is_none() && self.perf_dir.is_none() {
            bail!("--floor needs a realistic file: give --perf-dir (for gen_leads.py) or --file");
        }
        if self.file.is_some() && self.rows.len() > 1 {
            bail!("--file is one size: leave out --rows");
        }
        Ok(())
    }
}

/// Where the human lines go: stdout, or stderr when stdout carries the JSON.
pub struct Printer {
    json: bool,
}

impl Printer {
    fn line(&self, args: std::fmt::Arguments<'_>) {
        if self.json {
            eprintln!("{args}");
        } else {
            out!("{args}");
        }
    }
}

/// A database created for one benchmark size, dropped when done.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<ScratchDatabase> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
        let name = format!("bw_bench_{stamp}_{}", MADE.fetch_add(1, Ordering::Relaxed));
        let url = scratch::create(admin_url, &name).await?;
        Ok(ScratchDatabase { admin_url: admin_url.to_string(), url, name })
    }

    async fn drop_now(self) -> anyhow::Result<()> {
        Ok(scratch::drop(&self.admin_url, &self.name).await?)
    }
}

/// The columns of `generate_csv`'s file, each a Leads field's API name: the job maps them all and
/// the export benchmark reads them back.
pub(crate) const GENERATED_COLUMNS: &[&str] = &[
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

/// A Leads file of the `GENERATED_COLUMNS`; every 20th row is invalid in one way or another.
fn generate_csv(rows: usize, owner: &str, tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 160);
    out.extend_from_slice(GENERATED_COLUMNS.join(",").as_bytes());
    out.push(b'\n');
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

fn report(printer: &Printer, label: &str, rows: usize, trips: &[Trip]) {
    let mut totals: Vec<f64> = trips.iter().map(|t| t.total).collect();
    totals.sort_by(f64::total_cmp);
    let Some(best) = trips.iter().min_by(|a, b| a.total.total_cmp(&b.total)) else { return };
    let median = totals[totals.len() / 2];
    printer.line(format_args!(
        "{label:<7} {rows:>8} rows  total best {:>8.1} ms  median {:>8.1} ms  (upload {:.1}, create {:.1}, run {:.1}, download {:.1}; server job {:.0} ms)",
        best.total,
        median,
        best.upload,
        best.create,
        best.run,
        best.download,
        best.server_job,
    ));
}

/// The insert's server job beside a hand-written binary `COPY` of the rows it wrote.
fn report_baseline(printer: &Printer, measured: &baseline::Measured, inserts: &[Trip]) {
    let job = baseline::best(inserts.iter().map(|t| t.server_job));
    printer.line(format_args!(
        "        hand-written binary COPY of the first insert's {} records and {} keys, best of {} (one after each insert):",
        measured.records, measured.keys, measured.rounds
    ));
    let targets = [
        ("into a bare table (records only, no index)", measured.bare_ms),
        ("into bulkwrite's tables (indexes, one tx)", measured.schema_ms),
    ];
    for (target, ms) in targets {
        printer
            .line(format_args!("          {target:<44} {ms:>7.1} ms; best server job {job:.0} ms is {:.2}x", job / ms));
    }
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let printer = Printer { json: args.json };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let mut callbacks = CallbackReceiver::start().await?;
        let backend = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
        if args.reads {
            printer.line(format_args!(
                "bulkwrite bench --reads on {backend}: rows {:?}, {} connections, {} s per request stream",
                args.rows, args.connections, args.duration
            ));
            let sizes = reads::run(&args, &http, &mut callbacks, &printer).await?;
            if args.json {
                let document = reads::document(&backend.to_ascii_lowercase(), &args, &sizes);
                out!("{}", serde_json::to_string_pretty(&document)?);
            }
            return Ok(());
        }
        let mut sizes = Vec::new();
        let mut file_label = "bulkwrite bench's own file (lead{i}@…, in order)".to_string();
        let mut floor_binary = None;
        if args.beside_floor() {
            std::fs::create_dir_all(&args.work_dir)?;
            floor_binary = floor::locate(args.floor.as_deref(), args.perf_dir.as_deref(), &args.work_dir)?;
            let inputs = match (&args.file, &args.perf_dir) {
                (Some(file), _) => vec![floor::supplied(file, &args.work_dir)?],
                (None, Some(perf_dir)) => args
                    .rows
                    .iter()
                    .map(|rows| floor::realistic(perf_dir, &args.work_dir, *rows))
                    .collect::<Result<_, _>>()?,
                (None, None) => bail!("no file: give --perf-dir or --file"),
            };
            file_label = inputs.iter().map(|i| i.label.as_str()).collect::<Vec<_>>().join(", ");
            printer.line(format_args!(
                "bulkwrite bench on {backend} beside the floor ({}): {} run(s) per size, {file_label}",
                floor_binary.as_ref().map_or_else(|| "none".into(), |p| p.display().to_string()),
                args.runs
            ));
            for input in &inputs {
                let size =
                    beside::bench_file(&args, input, floor_binary.as_deref(), &http, &mut callbacks, &printer).await?;
                for line in size.lines() {
                    printer.line(format_args!("{line}"));
                }
                printer.line(format_args!(
                    "        server peak RSS (max over {} servers): {}",
                    size.peak_rss_mib.len(),
                    size.peak_rss_mib
                        .iter()
                        .copied()
                        .reduce(f64::max)
                        .map_or_else(|| "n/a".into(), |r| format!("{r:.1} MiB"))
                ));
                sizes.push(size);
            }
        } else {
            printer.line(format_args!(
                "bulkwrite bench on {backend}: {} run(s) per size, rows {:?}",
                args.runs, args.rows
            ));
            for rows in &args.rows {
                let scratch = match &args.database_url {
                    Some(url) => Some(ScratchDatabase::create(url).await?),
                    None => None,
                };
                let outcome = bench_size(&args, *rows, &http, &mut callbacks, scratch.as_ref(), &printer).await;
                // The scratch database goes whatever happened to the runs.
                if let Some(scratch) = scratch {
                    scratch.drop_now().await?;
                }
                sizes.push(outcome?);
            }
        }
        if args.json {
            let floor = floor_binary.as_ref().map(|p| p.display().to_string());
            let backend = backend.to_ascii_lowercase();
            let document = summary::document(&backend, args.runs, &file_label, floor.as_deref(), &sizes);
            out!("{}", serde_json::to_string_pretty(&document)?);
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
    printer: &Printer,
) -> anyhow::Result<Size> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), rows, scratch.map(|s| s.url.as_str()))?;
    let mappings = generated_mappings();
    let mut inserts = Vec::new();
    let mut upserts = Vec::new();
    let mut baseline = None;
    for run in 0..args.runs {
        let tag = format!("run{run}");
        let zip = zip_csv("bench.csv", &generate_csv(rows, &server.user, &tag))?;
        inserts.push(round_trip(http, &server, callbacks, zip.clone(), "insert", &mappings).await?);
        if let Some(scratch) = scratch.filter(|_| !args.export) {
            let copies = match &mut baseline {
                Some(copies) => copies,
                None => baseline.insert(baseline::Baseline::prepare(&scratch.url, "run0").await?),
            };
            copies.round().await?;
        }
        if args.upsert {
            upserts.push(round_trip(http, &server, callbacks, zip, "upsert", &mappings).await?);
        }
    }
    if args.export {
        export::compare(http, &server.base, TOKEN, &server.org, dir.path(), scratch.map(|s| s.url.as_str())).await?;
    }
    let rss = server.peak_rss_mib();
    report(printer, "insert", rows, &inserts);
    report(printer, "upsert", rows, &upserts);
    printer.line(format_args!(
        "        server peak RSS over all runs of this size: {}",
        rss.map_or_else(|| "n/a".into(), |r| format!("{r:.1} MiB"))
    ));
    drop(server);
    if let Some(baseline) = baseline {
        report_baseline(printer, &baseline.finish().await?, &inserts);
    }
    Ok(Size {
        rows,
        insert_ms: inserts.iter().map(|t| t.total).collect(),
        insert_server_job_ms: inserts.iter().map(|t| t.server_job).collect(),
        upsert_ms: upserts.iter().map(|t| t.total).collect(),
        upsert_server_job_ms: upserts.iter().map(|t| t.server_job).collect(),
        peak_rss_mib: rss.into_iter().collect(),
        skipped: inserts.iter().map(|t| t.skipped).collect(),
        ..Size::default()
    })
}

#[cfg(test)]
mod tests;
