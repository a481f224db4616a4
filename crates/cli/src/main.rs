//! `bulkwrite`: runs the server, and (as a client) drives bulk write jobs.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bulkwrite",
    version,
    about = "A Zoho CRM Bulk Write API compatible import server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (API, worker and callback delivery) on the embedded SQLite default.
    Serve(bulkwrite_server::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            bulkwrite_server::init_tracing();
            let config = bulkwrite_server::Config::resolve(&args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(bulkwrite_server::serve(config))
        }
    }
}
