//! `bulkwrite export --module M [--fields A,B] [--criteria 'Field:comparator:value']… -o FILE`:
//! a Bulk Read of every page, joined into one CSV (the header once), with a progress line on a
//! terminal and a JSON summary with `--json`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use bulkwrite_client::BulkRead;
use clap::Args;
use serde_json::{json, Value};

use crate::connect::{connect, ConnectArgs};
use crate::output::{grouped, Output};

/// Options of `bulkwrite export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The module's API name, e.g. Leads.
    #[arg(long)]
    pub module: String,
    /// Fields to export, comma-separated (dot notation through lookups, e.g. Owner.last_name);
    /// every field when omitted. `id` is always the first column.
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// A condition `Field:comparator:value` (equal, not_equal, in, not_in, less_than,
    /// less_equal, greater_than, greater_equal, contains, not_contains, starts_with, ends_with,
    /// between, not_between; `in`/`between` values comma-separated; `${EMPTY}` for empty).
    /// Repeat for several; all must hold.
    #[arg(long)]
    pub criteria: Vec<String>,
    /// Where to write the CSV [default: stdout].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Seconds between polls of a running read job.
    #[arg(long, default_value_t = 1.0)]
    pub poll: f64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Reads `Field:comparator:value` (the value may itself hold colons).
pub fn parse_criterion(text: &str) -> anyhow::Result<(String, String, Value)> {
    let mut parts = text.splitn(3, ':');
    let (Some(field), Some(comparator), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("criteria '{text}' is not Field:comparator:value");
    };
    let (field, comparator) = (field.trim(), comparator.trim());
    if field.is_empty() || comparator.is_empty() {
        bail!("criteria '{text}' is not Field:comparator:value");
    }
    let value = match comparator {
        "in" | "not_in" | "between" | "not_between" => {
            Value::Array(value.split(',').map(|v| Value::String(v.trim().to_string())).collect())
        }
        _ => Value::String(value.to_string()),
    };
    Ok((field.to_string(), comparator.to_string(), value))
}

pub async fn run(args: ExportArgs, output: Output) -> anyhow::Result<i32> {
    let connection = connect(&args.connect)?;
    let mut read = BulkRead::module(&args.module).fields(args.fields.iter().map(|f| f.trim().to_string()));
    for text in &args.criteria {
        let (field, comparator, value) = parse_criterion(text)?;
        read = read.criterion(&field, &comparator, value);
    }
    let poll = Duration::from_secs_f64(args.poll.max(0.05));
    let interactive = output.interactive && !output.json;
    let progress = |page: u32, job: &bulkwrite_client::wire::read::ReadJobDetails| {
        if interactive {
            eprint!("\r\x1b[2Kpage {page}: {} (job {})", job.state, job.id);
        }
    };
    let summary = match &args.output {
        Some(path) => {
            let staged = path.with_extension("csv.part");
            let file = std::fs::File::create(&staged).with_context(|| format!("creating {}", staged.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let summary = connection.client.export(&read, &mut writer, poll, progress).await;
            let summary = summary.inspect_err(|_| {
                let _ = std::fs::remove_file(&staged);
            })?;
            writer.flush()?;
            writer.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&staged, path).with_context(|| format!("writing {}", path.display()))?;
            summary
        }
        None => {
            let mut stdout = crate::output::PipeStdout::new();
            connection.client.export(&read, &mut stdout, poll, progress).await?
        }
    };
    if interactive {
        eprintln!();
    }
    if output.json {
        output.json(&json!({
            "module": args.module,
            "records": summary.records,
            "pages": summary.pages,
            "jobs": summary.jobs,
            "output": args.output.as_ref().map(|p| p.display().to_string()),
        }));
    } else if args.output.is_some() {
        let pages = if summary.pages == 1 { "page".to_string() } else { "pages".to_string() };
        eprintln!("exported {} {} records in {} {pages}", grouped(summary.records), args.module, summary.pages);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_read_field_comparator_and_value() {
        let (field, comparator, value) = parse_criterion("Email:ends_with:@corp.example").unwrap();
        assert_eq!((field.as_str(), comparator.as_str(), value), ("Email", "ends_with", json!("@corp.example")));
        assert_eq!(parse_criterion("Website:equal:https://x.example").unwrap().2, json!("https://x.example"));
        assert_eq!(parse_criterion("Rating:in:Hot, Warm").unwrap().2, json!(["Hot", "Warm"]));
        assert!(parse_criterion("Email").is_err());
        assert!(parse_criterion(":equal:x").is_err());
    }
}
