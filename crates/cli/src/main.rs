//! `bulkwrite`: runs the server, and (as a client of bulkwrite or of Zoho) drives bulk write jobs.

/// `println!` for client commands: a line on stdout, and a quiet end (status 141, as a shell
/// reports SIGPIPE) when the reader has gone away (`bulkwrite … | head`), as Unix tools end,
/// instead of a panic on the closed pipe. Rust leaves SIGPIPE ignored, and this needs no `unsafe`.
macro_rules! out {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

mod admin;
mod allocator;
/// `bulkwrite bench`: a developer's tool, built only with `--features bench`.
#[cfg(feature = "bench")]
mod bench;
mod connect;
mod export;
mod fix_file;
mod import;
mod job_control;
mod jobargs;
mod jobs;
mod lint;
mod output;
mod records;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use output::Output;

#[derive(Debug, Parser)]
#[command(
    name = "bulkwrite",
    version,
    about = "A Zoho CRM Bulk Write API compatible import server, and a client for it and for Zoho",
    after_help = "Exit status: 0 success; 1 error (or a FAILED job); 2 some rows were (or would be) skipped."
)]
struct Cli {
    /// Machine-readable JSON on stdout instead of text (no colour, no progress line).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (API, worker and callback delivery) on the embedded SQLite default.
    Serve(Box<bulkwrite_server::ServeArgs>),
    /// Administers a data directory: orgs, users, OAuth clients, tokens, grant codes, schema.
    Admin(admin::AdminArgs),
    /// Measures the whole HTTP round trip of a generated Leads import, and the server's peak memory.
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
    /// Imports a CSV: upload, create the job, watch it, download and summarise the result.
    Import(Box<import::ImportArgs>),
    /// Exports records with Bulk Read: every page joined into one CSV.
    Export(Box<export::ExportArgs>),
    /// Shows or waits for a bulk write job.
    Jobs(jobs::JobsArgs),
    /// Downloads a job's result file.
    Result(jobs::ResultArgs),
    /// Reads records.
    Records(records::RecordsArgs),
    /// Checks a CSV against the org's metadata and Zoho's rules, writing nothing.
    Lint(Box<lint::LintArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        allocator::settle_for_server();
    }
    let output = Output::new(cli.json);
    match run(cli.command, output) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            if output.json {
                output.json(&json!({ "error": error_json(&error) }));
            }
            eprintln!("{} {error:#}", output.paint_err("error:", output::Colour::Red));
            ExitCode::from(1)
        }
    }
}

fn run(command: Command, output: Output) -> anyhow::Result<i32> {
    let client_runtime = || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    match command {
        Command::Serve(args) => {
            let config = bulkwrite_server::Config::resolve(&args)?;
            bulkwrite_server::init_tracing(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(bulkwrite_server::serve(config))?;
            Ok(0)
        }
        #[cfg(feature = "bench")]
        Command::Bench(args) => bench::run(args).map(|()| 0),
        Command::Admin(args) => admin::run(args).map(|()| 0),
        Command::Import(args) => client_runtime()?.block_on(import::run(*args, output)),
        Command::Export(args) => client_runtime()?.block_on(export::run(*args, output)),
        Command::Jobs(args) => client_runtime()?.block_on(jobs::run_jobs(args, output)),
        Command::Result(args) => client_runtime()?.block_on(jobs::run_result(args, output)),
        Command::Records(args) => client_runtime()?.block_on(records::run(args, output)),
        Command::Lint(args) => client_runtime()?.block_on(lint::run(*args, output)),
    }
}

/// An error as JSON: Zoho's code, message, details and HTTP status when the server refused.
fn error_json(error: &anyhow::Error) -> serde_json::Value {
    let api = error.chain().find_map(|cause| cause.downcast_ref::<bulkwrite_client::Error>());
    match api {
        Some(bulkwrite_client::Error::Api { http_status, code, message, details }) => json!({
            "code": code,
            "message": message,
            "details": details,
            "http_status": http_status,
            "context": format!("{error:#}"),
        }),
        Some(bulkwrite_client::Error::OAuth { error: oauth, http_status }) => {
            json!({ "code": oauth, "http_status": http_status, "message": format!("{error:#}") })
        }
        _ => json!({ "message": format!("{error:#}") }),
    }
}
