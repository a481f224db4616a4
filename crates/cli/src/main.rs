//! `bulkwrite`: runs the server, and (as a client) drives bulk write jobs.

mod admin;
mod bench;

/// The import pipeline allocates many small values; mimalloc handles that far better than the
/// system allocator (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bulkwrite", version, about = "A Zoho CRM Bulk Write API compatible import server")]
struct Cli {
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
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            bulkwrite_server::init_tracing();
            let config = bulkwrite_server::Config::resolve(&args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(bulkwrite_server::serve(config))
        }
        Command::Bench(args) => bench::run(args),
        Command::Admin(args) => admin::run(args),
    }
}
