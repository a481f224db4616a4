//! `bulkwrite jobs cancel ID`, `bulkwrite jobs list`, and what Ctrl-C during `bulkwrite import`
//! does about the job it started. These use bulkwrite's own endpoints (`/bulkwrite/v1/jobs…`),
//! which real Zoho does not have.

use std::io::{IsTerminal, Write};

use bulkwrite_client::{Client, JobListFilter, JobSummary};
use clap::Args;
use serde_json::json;

use crate::connect::{connect, ConnectArgs};
use crate::output::{grouped, Colour, Output};

/// Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;

/// Options of `bulkwrite jobs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs with this Zoho status: ADDED, "IN PROGRESS", COMPLETED, FAILED.
    #[arg(long)]
    pub status: Option<String>,
    /// Only jobs of this module (a write job's resource, the module a read job exports).
    #[arg(long)]
    pub module: Option<String>,
    /// Only jobs of this operation: insert, update, upsert, read.
    #[arg(long)]
    pub operation: Option<String>,
    /// Only Bulk Write jobs (`write`) or Bulk Read jobs (`read`).
    #[arg(long)]
    pub kind: Option<String>,
    /// The page (from 1).
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// Jobs per page (at most 200).
    #[arg(long, default_value_t = 200)]
    pub per_page: u32,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of `bulkwrite jobs undo`.
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The job to undo.
    pub id: String,
    /// Wait for the undo to finish and print what it did.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Queues an undo of a job; prints the undo job's id, or with `--wait` what it did (JSON: the
/// undo's document). Exit status 2 when records were left alone (conflicts).
pub async fn undo(args: &UndoArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    let queued = connection.client.undo_job(&args.id).await?;
    if !args.wait {
        if output.json {
            output.json(&serde_json::to_value(&queued).unwrap_or_default());
        } else {
            out!("undo of job {} queued as job {}; `bulkwrite jobs undo --wait` waits for it", args.id, queued.id);
        }
        return Ok(0);
    }
    let every = std::time::Duration::from_millis(250);
    let done = connection.client.wait_for_job_state(&queued.id, every).await?;
    if output.json {
        output.json(&serde_json::to_value(&done).unwrap_or_default());
    }
    let count = |name: &str| done.rest.get("undo").and_then(|undo| undo.get(name)).and_then(|n| n.as_u64());
    let conflicts = count("conflicts").unwrap_or(0);
    if !output.json {
        let (deleted, restored) = (count("deleted").unwrap_or(0), count("restored").unwrap_or(0));
        out!(
            "undo {} of job {}: {} — {deleted} deleted, {restored} restored, {conflicts} left alone (changed since)",
            done.id,
            args.id,
            done.state
        );
        if let Some(error) = &done.error {
            out!("{error}");
        }
    }
    Ok(match (done.state.as_str(), conflicts) {
        ("SUCCEEDED", 0) => 0,
        ("SUCCEEDED", _) => 2,
        _ => 1,
    })
}

/// Cancels a job; prints its state (JSON: the job's document).
pub async fn cancel(id: &str, connect_args: &ConnectArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(connect_args)?;
    let cancelled = connection.client.cancel_job(id).await?;
    if output.json {
        output.json(&serde_json::to_value(&cancelled.job).unwrap_or_default());
        return Ok(0);
    }
    if cancelled.stopped {
        let state = output.paint(&cancelled.job.state, Colour::Red);
        let error = cancelled.job.error.clone().unwrap_or_default();
        out!("job {id} {state} (Zoho status {}): {error}", cancelled.job.status);
    } else {
        out!("job {id} is stopping (now {}); `bulkwrite jobs show {id}` follows it", cancelled.job.state);
    }
    Ok(0)
}

/// Lists jobs as a table (JSON: the list as the server answers it).
pub async fn list(args: &ListArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    let filter = JobListFilter {
        status: args.status.clone(),
        module: args.module.clone(),
        operation: args.operation.clone(),
        kind: args.kind.clone(),
        page: Some(args.page),
        per_page: Some(args.per_page),
    };
    let list = connection.client.list_jobs(&filter).await?;
    if output.json {
        output.json(&serde_json::to_value(&list).unwrap_or_default());
        return Ok(0);
    }
    if list.jobs.is_empty() {
        out!("no jobs");
        return Ok(0);
    }
    out!(
        "{:<19}  {:<11}  {:<9}  {:<6}  {:<16}  {:<25}  {:>8}  {:>8}  {:>8}  {:>8}",
        "ID",
        "STATUS",
        "STATE",
        "OP",
        "MODULES",
        "CREATED",
        "ROWS",
        "ADDED",
        "UPDATED",
        "SKIPPED"
    );
    for job in &list.jobs {
        out!("{}", table_row(job, output));
    }
    if list.info.more_records {
        out!("more on page {} (--page {})", list.info.page + 1, list.info.page + 1);
    }
    Ok(0)
}

fn table_row(job: &JobSummary, output: Output) -> String {
    let colour = match job.status.as_str() {
        "COMPLETED" => Colour::Green,
        "FAILED" => Colour::Red,
        _ => Colour::Yellow,
    };
    // Pad before painting, so colour codes do not upset the columns.
    let status = output.paint(&format!("{:<11}", job.status), colour);
    let counts = job.counts;
    format!(
        "{:<19}  {status}  {:<9}  {:<6}  {:<16}  {:<25}  {:>8}  {:>8}  {:>8}  {:>8}",
        job.id,
        job.state,
        job.operation,
        job.modules.join(","),
        job.created_time,
        grouped(counts.total),
        grouped(counts.added),
        grouped(counts.updated),
        grouped(counts.skipped),
    )
}

/// After Ctrl-C during an import: on a terminal, asks whether to cancel the job it started (a
/// second Ctrl-C leaves it running); without one, says how to cancel it. Returns the exit status.
pub async fn interrupted(client: &Client, job: Option<String>, output: Output) -> anyhow::Result<i32> {
    eprintln!();
    let Some(id) = job else {
        eprintln!("interrupted before a job was started");
        return Ok(INTERRUPTED);
    };
    let asked = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !asked {
        eprintln!("interrupted: job {id} keeps running on the server; cancel it with `bulkwrite jobs cancel {id}`");
        if output.json {
            output.json(&json!({"interrupted": true, "job": id, "cancelled": false}));
        }
        return Ok(INTERRUPTED);
    }
    eprint!("interrupted: cancel job {id} on the server? [y/N] ");
    let _ = std::io::stderr().flush();
    let answer = tokio::select! {
        line = tokio::task::spawn_blocking(read_answer) => line.unwrap_or_default(),
        _ = tokio::signal::ctrl_c() => String::new(),
    };
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        eprintln!(
            "job {id} keeps running; `bulkwrite jobs wait {id}` follows it, `bulkwrite jobs cancel {id}` stops it"
        );
        return Ok(INTERRUPTED);
    }
    let cancelled = client.cancel_job(&id).await?;
    let state = if cancelled.stopped { cancelled.job.state.clone() } else { "stopping".to_string() };
    eprintln!("job {id} {state}; its result lists the rows it never reached as UNPROCESSED");
    if output.json {
        output.json(&json!({"interrupted": true, "job": id, "cancelled": true, "state": cancelled.job.state}));
    }
    Ok(INTERRUPTED)
}

fn read_answer() -> String {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    line
}
