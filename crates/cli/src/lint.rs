//! `bulkwrite lint FILE.csv --module M [--map …]`: checks a file against the org's metadata and
//! Zoho's rules without writing anything. The job is validated exactly as the server validates a
//! create call (header, mappings, formats, mandatory fields, limits); then every row goes through
//! the worker's own row mapping (types, dates, picklists, mandatory cells, owners), and the file
//! is searched for unique values it holds twice. Lookup values and clashes with records already
//! in the org depend on the org's data, which only the import itself consults.

mod explain;
mod facts;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context;
use bulkwrite_core::csvread::CsvRows;
use bulkwrite_core::jobspec::{validate, Limits, ValidationContext};
use bulkwrite_core::limits;
use bulkwrite_core::lint::{check_rows, Problem, RowReport};
use bulkwrite_core::mapping::RowMapper;
use bulkwrite_core::zipfile::CsvEntry;
use clap::Args;
use serde_json::json;

use crate::connect::{connect, ConnectArgs};
use crate::jobargs::JobArgs;
use crate::output::{counted, grouped, Colour, Output};
use explain::api_error_text;

/// Zoho's limits that a file, rather than a job, can break.
const MAX_ROWS_PER_JOB: u64 = limits::ZOHO_MAX_ROWS_PER_FILE;
const MAX_ZIP_BYTES: u64 = limits::ZOHO_MAX_UPLOAD_BYTES;
/// Stands in for the upload's file id: the job is validated, never created.
const LINT_FILE_ID: &str = "1000000000000000001";

/// Options of `bulkwrite lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The CSV to check.
    pub file: PathBuf,
    #[command(flatten)]
    pub job: JobArgs,
    /// Problems listed in full (all are counted).
    #[arg(long, default_value_t = 50)]
    pub max_problems: usize,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Everything lint found.
struct Report {
    /// The job-level refusal, if the create call would fail.
    refusal: Option<Problem>,
    file_notes: Vec<Problem>,
    rows: RowReport,
}

/// Runs lint; the exit code is 0 when nothing would fail, 2 when something would.
pub async fn run(args: LintArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    let facts = facts::fetch(&connection.client, &args.job.module).await?;
    let version = connection.client.version();
    let report = tokio::task::block_in_place(|| lint(&args, &facts, version))?;
    let failing = report.refusal.is_some() || report.rows.errors > 0 || report.file_notes.iter().any(|n| !n.warning);
    if output.json {
        output.json(&json!({
            "file": args.file.display().to_string(),
            "module": args.job.module,
            "operation": args.job.operation,
            "ok": !failing,
            "rows": report.rows.rows,
            "rows_with_errors": report.rows.rows_with_errors,
            "errors": report.rows.errors + u64::from(report.refusal.is_some()),
            "warnings": report.rows.warnings + report.file_notes.len() as u64,
            "lookup_cells_unchecked": report.rows.lookup_cells,
            "problems": report.refusal.iter().chain(&report.file_notes).chain(&report.rows.problems).collect::<Vec<_>>(),
        }));
    } else {
        print(&args, &report, output);
    }
    Ok(if failing { 2 } else { 0 })
}

fn open(path: &PathBuf) -> anyhow::Result<Result<CsvRows<BufReader<File>>, String>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(CsvRows::open(BufReader::new(file), None, 100_000).map_err(|e| e.to_string()))
}

fn lint(args: &LintArgs, facts: &facts::OrgFacts, version: bulkwrite_client::ApiVersion) -> anyhow::Result<Report> {
    let mut report = Report { refusal: None, file_notes: Vec::new(), rows: RowReport::default() };
    let file_name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("file.csv").to_string();
    let mut rows = match open(&args.file)? {
        Ok(rows) => rows,
        Err(problem) => {
            report.refusal = Some(Problem::file(
                "FILE_NOT_SUPPORTED",
                format!("the file cannot be read as a CSV: {problem}"),
                false,
            ));
            return Ok(report);
        }
    };
    let header = rows.header().to_vec();
    let entry =
        CsvEntry { name: file_name, header: header.clone(), encoding: rows.encoding_name().to_string(), problem: None };
    let files = HashMap::from([(LINT_FILE_ID.to_string(), vec![entry])]);
    let request = args.job.job(&header, LINT_FILE_ID)?.to_request(version);
    let no_expired_files = std::collections::HashSet::new();
    let context = ValidationContext {
        schema: &facts.schema,
        files: &files,
        expired_files: &no_expired_files,
        limits: Limits::default(),
    };
    let spec = match validate(&request, &context) {
        Ok(spec) => spec,
        Err(error) => {
            let auto_mapped = args.job.map.is_none();
            let text = api_error_text(&error, &args.job.module, auto_mapped, header.len());
            report.refusal = Some(Problem::file(error.code.as_str(), text, false));
            return Ok(report);
        }
    };
    let resource = &spec.resources[0];
    let module = facts.schema.module(&resource.module).context("the validated module is in the schema")?;
    let mapper = RowMapper::new(resource, module, spec.operation, facts.time_zone, facts.users.clone());
    report.rows = check_rows(&mut rows, &mapper, spec.operation, args.max_problems, u64::MAX);
    if let Some(error) = report.rows.read_error.take() {
        anyhow::bail!("{}: {error}", args.file.display());
    }
    if report.rows.rows == 0 {
        report.file_notes.push(Problem::file("NO_ROWS", "the file has a header but no data rows".into(), true));
    }
    if report.rows.rows > MAX_ROWS_PER_JOB {
        let jobs = report.rows.rows.div_ceil(MAX_ROWS_PER_JOB);
        let text = format!(
            "{} rows: one job takes at most {}; `bulkwrite import` splits the file into {jobs} jobs, while a single API job would skip the rows past {} with LIMIT_EXCEEDED",
            grouped(report.rows.rows), grouped(MAX_ROWS_PER_JOB), grouped(MAX_ROWS_PER_JOB)
        );
        report.file_notes.push(Problem::file("LIMIT_EXCEEDED", text, true));
    }
    let zipped = zipped_size(&args.file)?;
    if zipped > MAX_ZIP_BYTES {
        let text = format!(
            "zipped, the file is {} bytes; an upload may be at most {} (FILE_TOO_LARGE)",
            grouped(zipped),
            grouped(MAX_ZIP_BYTES)
        );
        report.file_notes.push(Problem::file("FILE_TOO_LARGE", text, report.rows.rows <= MAX_ROWS_PER_JOB));
    }
    Ok(report)
}

/// The size of the zip an upload would send.
fn zipped_size(path: &PathBuf) -> anyhow::Result<u64> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let zipped =
        bulkwrite_client::zip_csv("file.csv", &mut file).with_context(|| format!("zipping {}", path.display()))?;
    Ok(zipped.len() as u64)
}

fn print(args: &LintArgs, report: &Report, output: Output) {
    let name = args.file.display();
    if let Some(refusal) = &report.refusal {
        out!(
            "{} {name} → {} ({}): the job would be refused",
            output.paint("✗", Colour::Red),
            args.job.module,
            args.job.operation
        );
        out!("  {}: {}", output.paint(&refusal.code, Colour::Red), refusal.message);
        out!("  (rows are checked once the job itself is valid)");
        return;
    }
    let rows = &report.rows;
    let (mark, colour) = if rows.errors > 0 { ("✗", Colour::Red) } else { ("✓", Colour::Green) };
    out!(
        "{} {name} → {} ({}): {}, {} in {}, {}",
        output.paint(mark, colour),
        args.job.module,
        args.job.operation,
        counted(rows.rows, "row"),
        counted(rows.errors, "error"),
        counted(rows.rows_with_errors, "row"),
        counted(rows.warnings + report.file_notes.len() as u64, "warning"),
    );
    for note in &report.file_notes {
        let colour = if note.warning { Colour::Yellow } else { Colour::Red };
        out!("  file: {}: {}", output.paint(&note.code, colour), note.message);
    }
    for problem in &rows.problems {
        let place = problem.row.map(|row| format!("row {row}")).unwrap_or_else(|| "file".to_string());
        let column = problem.column.as_deref().map(|c| format!(", column \"{c}\"")).unwrap_or_default();
        let colour = if problem.warning { Colour::Yellow } else { Colour::Red };
        out!("  {place}{column}: {}: {}", output.paint(&problem.code, colour), problem.message);
    }
    let shown = rows.problems.len() as u64;
    if rows.errors + rows.warnings > shown {
        out!("  … and {} more (--max-problems N shows more)", grouped(rows.errors + rows.warnings - shown));
    }
    if rows.lookup_cells > 0 {
        out!(
            "  not checked: {} lookup cells, which the import matches against the org's records",
            grouped(rows.lookup_cells)
        );
    }
}
