//! `bulkwrite bench --reads`: the read side of issue 21. For each size, a server of this binary is
//! loaded with that many Leads through a bulk write job (the bench's own file, `gen_leads.py` with
//! `--perf-dir`, or `--file`), then measured with the in-process load generator (`load`): job
//! details (`GET /crm/bulk/v2/write/{id}`) and the records list (`GET /crm/v3/Leads`, walked by
//! `page_token`), each for `--duration` seconds over `--connections` keep-alive connections; then
//! one Bulk Read export of the whole module (create → completed → download). The server's peak
//! memory is taken for each part on its own (its `VmHWM` started again before each).

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use super::callbacks::CallbackReceiver;
use super::load::{self, Measured, Target};
use super::trip::{generated_mappings, mappings_for, round_trip, ServerProcess};
use super::{beside, export, floor, generate_csv, zip_csv, BenchArgs, Printer, ScratchDatabase, TOKEN};

/// The version of the `--reads --json` document.
pub const FORMAT: u32 = 1;

/// The fields the records list asks for.
const LIST_FIELDS: &str = "Last_Name,Email,Company";

/// One timed stream of requests, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub connections: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_s: f64,
    /// Records the answers held, and per second (records list only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_per_s: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The server's peak RSS during this part alone (`None` where it could not be taken).
    pub peak_rss_mib: Option<f64>,
}

impl Phase {
    fn new(measured: &Measured, with_records: bool, peak_rss_mib: Option<f64>) -> Phase {
        Phase {
            connections: measured.connections,
            seconds: measured.seconds,
            requests: measured.requests,
            errors: measured.errors,
            requests_per_s: measured.per_second(measured.requests),
            records: with_records.then_some(measured.records),
            records_per_s: with_records.then(|| measured.per_second(measured.records)),
            p50_ms: measured.latency.quantile_ms(0.5),
            p99_ms: measured.latency.quantile_ms(0.99),
            peak_rss_mib,
        }
    }
}

/// The Bulk Read export of every record.
#[derive(Debug, Clone, Serialize)]
pub struct ExportPhase {
    pub records: u64,
    pub ms: f64,
    pub rows_per_s: f64,
    pub zip_bytes: u64,
    pub peak_rss_mib: Option<f64>,
}

/// Everything one size measured.
#[derive(Debug, Clone, Serialize)]
pub struct ReadsSize {
    /// Data rows of the file loaded.
    pub rows: usize,
    /// Records the bulk write job added (the bench's own file skips every 20th row's few broken ones).
    pub loaded: u64,
    /// The load's HTTP round trip (upload → create → callback → result downloaded).
    pub load_ms: f64,
    pub load_peak_rss_mib: Option<f64>,
    pub job_details: Phase,
    pub records_list: Phase,
    pub export: ExportPhase,
}

/// The file of one size: a zip, its mappings, and the fields the export reads back.
struct Input {
    zip: Vec<u8>,
    mappings: Vec<Value>,
    fields: Vec<String>,
    label: String,
}

/// The file `--file` or `--perf-dir` gives for this size, if any.
fn given_file(args: &BenchArgs, rows: usize) -> anyhow::Result<Option<floor::InputFile>> {
    Ok(match (&args.file, &args.perf_dir) {
        (Some(file), _) => Some(floor::supplied(file, &args.work_dir)?),
        (None, Some(perf_dir)) => Some(floor::realistic(perf_dir, &args.work_dir, rows)?),
        (None, None) => None,
    })
}

/// The given file, or the bench's own file of `rows` rows owned by `owner`.
fn input(file: Option<floor::InputFile>, rows: usize, owner: &str) -> anyhow::Result<Input> {
    Ok(match file {
        Some(file) => {
            let header = file.header.iter().map(String::as_str);
            Input {
                zip: std::fs::read(&file.zip)?,
                mappings: mappings_for(header, beside::UNMAPPED),
                fields: file.header.iter().filter(|h| !beside::UNMAPPED.contains(&h.as_str())).cloned().collect(),
                label: file.label,
            }
        }
        None => Input {
            zip: zip_csv("bench.csv", &generate_csv(rows, owner, "reads"))?,
            mappings: generated_mappings(),
            fields: super::GENERATED_COLUMNS.iter().map(|c| (*c).to_string()).collect(),
            label: "bulkwrite bench's own file".to_string(),
        },
    })
}

/// Every size of `--rows` (or the one of `--file`), each on its own server and database.
pub async fn run(
    args: &BenchArgs,
    http: &reqwest::Client,
    callbacks: &mut CallbackReceiver,
    printer: &Printer,
) -> anyhow::Result<Vec<ReadsSize>> {
    if args.file.is_some() || args.perf_dir.is_some() {
        std::fs::create_dir_all(&args.work_dir)?;
    }
    let mut sizes = Vec::new();
    for rows in &args.rows {
        let scratch = match &args.database_url {
            Some(url) => Some(ScratchDatabase::create(url).await?),
            None => None,
        };
        let outcome = size(args, *rows, http, callbacks, scratch.as_ref(), printer).await;
        if let Some(scratch) = scratch {
            scratch.drop_now().await?;
        }
        sizes.push(outcome?);
    }
    Ok(sizes)
}

/// Shows a peak, or why there is none.
fn mib(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.1} MiB"))
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.2} ms"))
}

async fn size(
    args: &BenchArgs,
    rows: usize,
    http: &reqwest::Client,
    callbacks: &mut CallbackReceiver,
    scratch: Option<&ScratchDatabase>,
    printer: &Printer,
) -> anyhow::Result<ReadsSize> {
    let file = given_file(args, rows)?;
    let rows = file.as_ref().map_or(rows, |f| f.rows);
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), rows, scratch.map(|s| s.url.as_str()))?;
    let input = input(file, rows, &server.user)?;
    let load = round_trip(http, &server, callbacks, input.zip.clone(), "insert", &input.mappings).await?;
    let load_peak = server.peak_rss_mib();
    printer.line(format_args!(
        "load          {rows:>8} rows  {} records added in {:.1} ms ({}; {} skipped; server peak RSS {})",
        load.added,
        load.total,
        input.label,
        load.skipped,
        mib(load_peak)
    ));
    let auth = format!("Zoho-oauthtoken {TOKEN}");
    let duration = Duration::from_secs_f64(args.duration);

    let peak_resets = server.reset_peak_rss();
    let details = Target::Fixed(format!("{}/crm/bulk/v2/write/{}", server.base, load.id));
    let measured = load::run(&details, &auth, args.connections, duration).await?;
    let job_details = Phase::new(&measured, false, server.peak_rss_mib().filter(|_| peak_resets));
    report(printer, "job details", rows, &job_details, &measured);

    let peak_resets = server.reset_peak_rss();
    let first = format!("{}/crm/v3/Leads?fields={LIST_FIELDS}&per_page=200", server.base);
    let measured =
        load::run(&Target::Pages { first, pages: args.list_pages }, &auth, args.connections, duration).await?;
    let records_list = Phase::new(&measured, true, server.peak_rss_mib().filter(|_| peak_resets));
    report(printer, "records list", rows, &records_list, &measured);

    let peak_resets = server.reset_peak_rss();
    let fields: Vec<&str> = input.fields.iter().map(String::as_str).collect();
    let exported = export::bulk_read(http, &server.base, TOKEN, &fields, &dir.path().join("export.zip")).await?;
    let export = ExportPhase {
        records: exported.records,
        ms: exported.millis,
        rows_per_s: exported.records as f64 / (exported.millis / 1000.0).max(f64::EPSILON),
        zip_bytes: exported.zip_bytes,
        peak_rss_mib: server.peak_rss_mib().filter(|_| peak_resets),
    };
    if export.records != load.added {
        anyhow::bail!("the export holds {} records, the load added {}", export.records, load.added);
    }
    printer.line(format_args!(
        "export        {rows:>8} rows  {} records in {:.1} ms: {:.0} rows/s ({:.1} MiB zip, {} fields; server peak RSS {})",
        export.records,
        export.ms,
        export.rows_per_s,
        export.zip_bytes as f64 / 1_048_576.0,
        fields.len(),
        mib(export.peak_rss_mib)
    ));
    Ok(ReadsSize {
        rows,
        loaded: load.added,
        load_ms: load.total,
        load_peak_rss_mib: load_peak,
        job_details,
        records_list,
        export,
    })
}

fn report(printer: &Printer, label: &str, rows: usize, phase: &Phase, measured: &Measured) {
    let records = match (phase.records, phase.records_per_s) {
        (Some(records), Some(per_s)) => format!("  {per_s:.0} records/s ({records} records)"),
        _ => String::new(),
    };
    printer.line(format_args!(
        "{label:<13} {rows:>8} rows  {:.0} req/s  p50 {}  p99 {}{records}  ({} requests, {} errors, {} connections, {:.1} s; server peak RSS {})",
        phase.requests_per_s,
        ms(phase.p50_ms),
        ms(phase.p99_ms),
        phase.requests,
        phase.errors,
        phase.connections,
        phase.seconds,
        mib(phase.peak_rss_mib)
    ));
    if let Some(error) = &measured.first_error {
        printer.line(format_args!("              first error: {error}"));
    }
}

/// The whole `--reads` run as one JSON document.
pub fn document(backend: &str, args: &BenchArgs, sizes: &[ReadsSize]) -> Value {
    json!({
        "format": FORMAT,
        "tool": "bulkwrite bench --reads",
        "backend": backend,
        "connections": args.connections,
        "duration_s": args.duration,
        "list_pages": args.list_pages,
        "list_fields": LIST_FIELDS,
        "sizes": sizes,
    })
}
