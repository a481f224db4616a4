//! `bulkwrite jobs show|wait|cancel ID`, `bulkwrite jobs list` and `bulkwrite result ID -o FILE`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bulkwrite_client::{JobDetails, Progress, ResultFile, RowStatus, WaitOptions};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::connect::{connect, ConnectArgs};
use crate::output::{grouped, Colour, Output, ProgressLine};

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: JobsCommand,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Shows a job's status and counts (GET /crm/bulk/{v}/write/{id}).
    Show(JobRef),
    /// Waits until a job finishes, with a progress line on a terminal.
    Wait(JobRef),
    /// Stops a queued or running job (POST /bulkwrite/v1/jobs/{id}/cancel; bulkwrite only).
    Cancel(JobRef),
    /// Lists the org's jobs, newest first (GET /bulkwrite/v1/jobs; bulkwrite only).
    List(crate::job_control::ListArgs),
    /// Undoes a finished write job: deletes the records it added, gives the fields it updated
    /// their previous values back (POST /bulkwrite/v1/jobs/{id}/undo; bulkwrite only).
    Undo(crate::job_control::UndoArgs),
}

#[derive(Debug, Args)]
pub struct JobRef {
    /// The job id.
    pub id: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of `bulkwrite result`.
#[derive(Debug, Args)]
pub struct ResultArgs {
    /// The job id.
    pub id: String,
    /// Where to write the result: a `.zip` as Zoho serves it, or a `.csv` (the result CSV itself)
    /// [default: ID.zip].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub async fn run_jobs(args: JobsArgs, output: Output) -> anyhow::Result<i32> {
    match args.command {
        JobsCommand::Show(job) => {
            let connection = connect(&job.connect)?;
            let details = connection.client.get_job(&job.id).await?;
            show(&details, output);
            Ok(exit_code(&details))
        }
        JobsCommand::Wait(job) => {
            let connection = connect(&job.connect)?;
            let first = connection.client.get_job(&job.id).await?;
            let total = first.resource.iter().filter_map(|r| r.file.total_count).sum::<u64>();
            let line = ProgressLine::new(output, total);
            let watcher = line.clone();
            let options = WaitOptions::default().on_progress(move |progress: &Progress| watcher.update(progress));
            let details = connection.client.wait_for_job(&job.id, options).await?;
            line.finish();
            show(&details, output);
            Ok(exit_code(&details))
        }
        JobsCommand::Cancel(job) => crate::job_control::cancel(&job.id, &job.connect, output).await,
        JobsCommand::List(list) => crate::job_control::list(&list, output).await,
        JobsCommand::Undo(undo) => crate::job_control::undo(&undo, output).await,
    }
}

/// 0 finished with every row applied (or still running), 2 some rows skipped, 1 the job failed.
fn exit_code(details: &JobDetails) -> i32 {
    if details.status.eq_ignore_ascii_case("FAILED") {
        return 1;
    }
    let skipped = details.resource.iter().filter_map(|r| r.file.skipped_count).sum::<u64>();
    if skipped > 0 {
        2
    } else {
        0
    }
}

fn show(details: &JobDetails, output: Output) {
    if output.json {
        output.json(&serde_json::to_value(details).unwrap_or_default());
        return;
    }
    let colour = match details.status.as_str() {
        "COMPLETED" => Colour::Green,
        "FAILED" => Colour::Red,
        _ => Colour::Yellow,
    };
    out!(
        "job {}  {}  {}  created {}",
        details.id,
        output.paint(&details.status, colour),
        details.operation,
        details.created_time
    );
    for resource in &details.resource {
        let count = |n: Option<u64>| n.map(grouped).unwrap_or_else(|| "-".to_string());
        out!(
            "  {:<16} {:<12} rows {:>8}  added {:>8}  updated {:>8}  skipped {:>8}",
            resource.module.api_name(),
            resource.status,
            count(resource.file.total_count),
            count(resource.file.added_count),
            count(resource.file.updated_count),
            count(resource.file.skipped_count),
        );
    }
    if let Some(result) = &details.result {
        out!("result: {}", result.download_url);
    }
}

pub async fn run_result(args: ResultArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    let details = connection.client.get_job(&args.id).await?;
    if details.result.is_none() {
        bail!(
            "job {} has no result yet (status {}); `bulkwrite jobs wait {}` waits for it",
            args.id,
            details.status,
            args.id
        );
    }
    let result = connection.client.download_result(&details).await.context("downloading the result")?;
    let path = args.output.clone().unwrap_or_else(|| PathBuf::from(format!("{}.zip", args.id)));
    write_result(&result, &path)?;
    let rows = result.rows().count();
    let added = result.count(&RowStatus::Added);
    let updated = result.count(&RowStatus::Updated);
    let skipped = result.count(&RowStatus::Skipped);
    if output.json {
        output.json(&json!({
            "job": args.id,
            "file": path.display().to_string(),
            "rows": rows,
            "added": added,
            "updated": updated,
            "skipped": skipped,
        }));
    } else {
        out!(
            "wrote {} ({} rows: added {added}, updated {updated}, skipped {skipped})",
            path.display(),
            grouped(rows as u64)
        );
    }
    Ok(0)
}

/// Writes the zip as served, or (for a `.csv` path) the one result CSV inside it.
fn write_result(result: &ResultFile, path: &Path) -> anyhow::Result<()> {
    let wants_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !wants_csv {
        return std::fs::write(path, &result.zip_bytes).with_context(|| format!("writing {}", path.display()));
    }
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(&result.zip_bytes)).context("reading the result zip")?;
    if archive.len() != 1 {
        bail!("the result holds {} CSV files (one per resource); give a .zip path to keep them all", archive.len());
    }
    let mut entry = archive.by_index(0).context("reading the result zip")?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut bytes).context("reading the result zip")?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
