//! `bulkwrite import FILE.csv --module M`: zip, upload, create the job, watch it, download the
//! result, summarise, and write the result CSV beside the input (and, from a bulkwrite server's
//! report, `FILE.errors.csv`: the failing rows to fix and import again). A file over the row limit is
//! split into several jobs, run one after the other, whose results are joined back in input
//! order. Only one part and one result are held in memory at a time. Ctrl-C offers to cancel
//! the job running on the server (see `job_control::interrupted`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use bulkwrite_client::{Progress, ResultRow, RowStatus, UploadSource, WaitOptions};
use bulkwrite_core::csvread::CsvRows;
use clap::Args;
use serde_json::json;

use crate::connect::{connect, ConnectArgs, Connection};
use crate::jobargs::JobArgs;
use crate::output::{grouped, Colour, Output, ProgressLine};

/// Columns a header may have when the CLI reads a file (Zoho's own limit is checked by the server).
const MAX_COLUMNS: usize = 100_000;

/// Options of `bulkwrite import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The CSV to import.
    pub file: PathBuf,
    #[command(flatten)]
    pub job: JobArgs,
    /// A URL the server posts the job details to when the job ends.
    #[arg(long)]
    pub callback: Option<String>,
    /// Rows per job; a larger file is split into several jobs (Zoho's limit is 25,000).
    #[arg(long, default_value_t = bulkwrite_core::limits::ZOHO_MAX_ROWS_PER_FILE, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_rows: u64,
    /// Where the result CSV goes [default: beside FILE, named FILE.result.csv, or
    /// FILE.dry-run.csv for a dry run].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Run the job as a dry run: every check, the same result file, no record written.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Reads the header and counts the data rows (streaming, any supported encoding).
fn survey(path: &Path) -> anyhow::Result<(Vec<String>, u64)> {
    let mut rows = open_rows(path)?;
    let header = rows.header().to_vec();
    let mut record = csv::StringRecord::new();
    while rows.read_row(&mut record).with_context(|| format!("reading {}", path.display()))? {}
    Ok((header, rows.rows_read()))
}

fn open_rows(path: &Path) -> anyhow::Result<CsvRows<BufReader<File>>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    CsvRows::open(BufReader::new(file), None, MAX_COLUMNS).with_context(|| format!("reading {}", path.display()))
}

/// Cuts a CSV into UTF-8 parts of at most `max_rows` data rows, each with the header.
struct Splitter {
    rows: CsvRows<BufReader<File>>,
    stem: String,
    max_rows: u64,
    parts: usize,
    record: csv::StringRecord,
}

impl Splitter {
    fn open(path: &Path, max_rows: u64) -> anyhow::Result<Splitter> {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("import").to_string();
        Ok(Splitter { rows: open_rows(path)?, stem, max_rows, parts: 0, record: csv::StringRecord::new() })
    }

    /// The next part's file name and bytes, or `None` at the end of the file.
    fn next_part(&mut self) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(self.rows.header())?;
        let mut count = 0;
        while count < self.max_rows && self.rows.read_row(&mut self.record)? {
            writer.write_record(&self.record)?;
            count += 1;
        }
        if count == 0 {
            return Ok(None);
        }
        self.parts += 1;
        let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        Ok(Some((format!("{}.part{}.csv", self.stem, self.parts), bytes)))
    }
}

fn result_path(args: &ImportArgs) -> PathBuf {
    if let Some(output) = &args.output {
        return output.clone();
    }
    let stem = args.file.file_stem().and_then(|s| s.to_str()).unwrap_or("import");
    let suffix = if args.dry_run { "dry-run" } else { "result" };
    args.file.with_file_name(format!("{stem}.{suffix}.csv"))
}

/// The joined result CSV, written job by job; created when the first result arrives.
struct ResultWriter {
    path: PathBuf,
    writer: Option<csv::Writer<File>>,
}

impl ResultWriter {
    fn append(&mut self, header: &[String], rows: &[ResultRow]) -> anyhow::Result<()> {
        let writer = match self.writer.as_mut() {
            Some(writer) => writer,
            None => {
                let file = File::create(&self.path).with_context(|| format!("writing {}", self.path.display()))?;
                let mut fresh = csv::Writer::from_writer(file);
                fresh.write_record(header)?;
                self.writer.insert(fresh)
            }
        };
        for row in rows {
            let mut cells = row.echo.clone();
            cells.push(row.status.as_str().to_string());
            cells.push(row.record_id.clone().unwrap_or_default());
            cells.push(errors_cell(row));
            writer.write_record(&cells)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer.flush().with_context(|| format!("writing {}", self.path.display()))?;
        }
        Ok(())
    }
}

/// Says where the results of jobs that did finish are, for an import that stops part-way.
fn earlier(finished: &[String], path: &Path, what: &str) -> String {
    match finished {
        [] => what.to_string(),
        jobs => format!("{what}; the results of the {} jobs before are in {}", jobs.len(), path.display()),
    }
}

/// The `ERRORS` cell as Zoho writes it: `CODE-col,col:CODE-col`.
fn errors_cell(row: &ResultRow) -> String {
    bulkwrite_client::wire::rows::ErrorsCell { groups: row.errors.clone() }.to_string()
}

/// Runs the import; returns the exit code (0 every row applied, 2 some rows skipped, 130
/// interrupted by Ctrl-C).
pub async fn run(args: ImportArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    // The job running on the server right now, if any: what Ctrl-C offers to cancel.
    let running = Mutex::new(None);
    tokio::select! {
        outcome = import(&args, output, &connection, &running) => outcome,
        _ = tokio::signal::ctrl_c() => {
            let job = running.lock().map(|job| job.clone()).unwrap_or(None);
            crate::job_control::interrupted(&connection.client, job, output).await
        }
    }
}

async fn import(
    args: &ImportArgs,
    output: Output,
    connection: &Connection,
    running: &Mutex<Option<String>>,
) -> anyhow::Result<i32> {
    let org = connection.org_id().await?;
    let (header, total_rows) = survey(&args.file)?;
    if total_rows == 0 {
        bail!("{} has no data rows", args.file.display());
    }
    let file_name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("import.csv").to_string();
    let jobs_needed = total_rows.div_ceil(args.max_rows);
    let mut splitter = if jobs_needed > 1 { Some(Splitter::open(&args.file, args.max_rows)?) } else { None };
    if args.dry_run && jobs_needed > 1 {
        eprintln!(
            "warning: {jobs_needed} dry runs of up to {} rows each: a part's dry run does not see the rows of the parts before it",
            args.max_rows
        );
    }
    let path = result_path(args);
    let mut results = ResultWriter { path: path.clone(), writer: None };
    let mut fixes = crate::fix_file::FixFile::new(crate::fix_file::fix_path(&args.file), header.clone());
    let mut line = ProgressLine::new(output, total_rows);
    let mut summary = Summary::default();
    let mut job_ids = Vec::new();
    for index in 0..jobs_needed {
        let source = match splitter.as_mut() {
            None => UploadSource::path(&args.file),
            Some(splitter) => match splitter.next_part()? {
                Some((name, bytes)) => UploadSource::csv_bytes(name, bytes),
                None => break,
            },
        };
        if jobs_needed > 1 {
            line.label = format!("job {}/{} ", index + 1, jobs_needed);
        }
        let uploaded = connection.client.upload(&org, source).await.context("uploading the file")?;
        let mut job = args.job.job(&header, &uploaded.file_id)?;
        if let Some(callback) = &args.callback {
            job = job.callback(callback.clone());
        }
        let submitted = if args.dry_run {
            connection.client.submit_dry_run(&job).await
        } else {
            connection.client.submit(&job).await
        };
        let created = match submitted {
            Ok(created) => created,
            Err(error) => {
                line.finish();
                results.finish()?;
                return Err(anyhow::Error::new(error).context(earlier(&job_ids, &path, "creating the bulk write job")));
            }
        };
        job_ids.push(created.id.clone());
        set_running(running, Some(created.id.clone()));
        let watcher = line.clone();
        let options = WaitOptions::default().on_progress(move |progress| watcher.update(progress));
        let details = connection.client.wait_for_job(&created.id, options).await?;
        set_running(running, None);
        line.job_done(&Progress::of(&details, 0, Duration::ZERO));
        if !details.status.eq_ignore_ascii_case("COMPLETED") {
            line.finish();
            results.finish()?;
            bail!("job {} ended {}{}", created.id, details.status, earlier(&job_ids[..job_ids.len() - 1], &path, ""));
        }
        let result = connection.client.download_result(&details).await.context("downloading the result")?;
        let mut failing = false;
        for csv in &result.files {
            results.append(&csv.header, &csv.rows)?;
            summary.count(&csv.rows);
            failing |= csv.rows.iter().any(|row| !row.status.is_applied());
        }
        if failing {
            // Zoho has no report: the fix file is a bulkwrite server's extra, skipped elsewhere.
            if let Err(error) = fixes.append_job(&connection.client, &created.id).await {
                eprintln!("warning: no {} ({error:#})", fixes.path().display());
            }
        }
    }
    line.finish();
    results.finish()?;
    fixes.finish()?;
    if output.json {
        output.json(&json!({
            "module": args.job.module,
            "file": args.file.display().to_string(),
            "dry_run": args.dry_run,
            "jobs": job_ids,
            "rows": summary.added + summary.updated + summary.skipped,
            "added": summary.added,
            "updated": summary.updated,
            "skipped": summary.skipped,
            "errors": summary.by_code,
            "result_file": path.display().to_string(),
            "errors_file": (fixes.rows > 0).then(|| fixes.path().display().to_string()),
        }));
    } else {
        summary.print(output, (&args.job.module, args.dry_run), &file_name, &job_ids, &path);
        if fixes.rows > 0 {
            out!("to fix: {} ({} rows, an ERROR column says why)", fixes.path().display(), grouped(fixes.rows));
        }
    }
    Ok(if summary.skipped > 0 { 2 } else { 0 })
}

fn set_running(running: &Mutex<Option<String>>, job: Option<String>) {
    if let Ok(mut slot) = running.lock() {
        *slot = job;
    }
}

/// Counts of an import.
#[derive(Default)]
struct Summary {
    added: u64,
    updated: u64,
    skipped: u64,
    /// Skipped rows by error code (a row with two codes counts under both).
    by_code: BTreeMap<String, u64>,
}

impl Summary {
    fn count(&mut self, rows: &[ResultRow]) {
        for row in rows {
            match row.status {
                RowStatus::Added => self.added += 1,
                RowStatus::Updated => self.updated += 1,
                _ => self.skipped += 1,
            }
            let mut codes: Vec<&str> = row.errors.iter().map(|e| e.code.as_str()).collect();
            codes.dedup();
            for code in codes {
                *self.by_code.entry(code.to_string()).or_default() += 1;
            }
        }
    }

    fn print(&self, output: Output, (module, dry_run): (&str, bool), file: &str, jobs: &[String], path: &Path) {
        let rows = self.added + self.updated + self.skipped;
        let jobs_text = match jobs {
            [one] => format!("job {one}"),
            many => format!("{} jobs", many.len()),
        };
        let (verb, note) = if dry_run { ("dry run:", ", no record written") } else { ("imported", "") };
        out!("{} {} rows of {file} into {module} ({jobs_text}{note})", output.paint(verb, Colour::Bold), grouped(rows));
        let green = |n: u64| output.paint(&format!("{:>10}", grouped(n)), Colour::Green);
        out!("  {:<24}{}", "added", green(self.added));
        out!("  {:<24}{}", "updated", green(self.updated));
        let skipped_colour = if self.skipped > 0 { Colour::Yellow } else { Colour::Green };
        out!("  {:<24}{}", "skipped", output.paint(&format!("{:>10}", grouped(self.skipped)), skipped_colour));
        for (code, count) in &self.by_code {
            out!("    {:<22}{:>10}", code, grouped(*count));
        }
        out!("result: {}", path.display());
    }
}
