//! `bulkwrite admin clock …` and `bulkwrite admin queue …`: the test controls' time and stepping
//! of a running server started with `--test-controls`, over HTTP with its admin key (these act
//! on the running nodes, not on the store: a step runs one chunk on the server, as its
//! configuration sizes it). The server and key default to the data directory's
//! `bootstrap.json`.

use std::path::Path;

use anyhow::Context;
use bulkwrite_client::{Client, Credentials, Endpoints};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// Which server, and its admin key.
#[derive(Debug, Clone, Args)]
pub struct ControlTarget {
    /// Base URL of the server [default: `base_url` of the data directory's bootstrap.json].
    #[arg(long, env = "BULKWRITE_SERVER")]
    pub server: Option<String>,
    /// The server's admin key [default: `admin_key` of the data directory's bootstrap.json].
    #[arg(long, env = "BULKWRITE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
}

/// What to do with the server's clock.
#[derive(Debug, Clone, Subcommand)]
pub enum ClockAction {
    /// Prints business time and its offset from the real time.
    Show,
    /// Moves the clock of every node forward: 7d, 12h, 30m, 90s.
    Advance {
        /// How far, e.g. 7d (the server refuses a negative amount, with its reason).
        #[arg(allow_hyphen_values = true)]
        by: String,
    },
    /// Sets the clock back to the real time.
    Reset,
}

/// What to do with the server's queue.
#[derive(Debug, Clone, Subcommand)]
pub enum QueueAction {
    /// Prints whether the queue is paused and its jobs queued, running and held.
    Show,
    /// Pauses the queue on every node (running jobs stop before their next chunk).
    Pause,
    /// Lets the queue run again.
    Resume,
    /// Runs exactly one chunk of one job of the paused queue and prints the job.
    Step {
        /// The job to step [default: the oldest queued or held one].
        #[arg(long = "job")]
        job: Option<String>,
    },
}

/// A client of the server `target` names, with its admin key.
pub(super) fn client(target: &ControlTarget, data_dir: &Path) -> anyhow::Result<Client> {
    let bootstrap_path = data_dir.join("bootstrap.json");
    let bootstrap: Option<Value> =
        std::fs::read(&bootstrap_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let from_bootstrap = |key: &str| bootstrap.as_ref().and_then(|b| b[key].as_str()).map(str::to_string);
    let server = target.server.clone().or_else(|| from_bootstrap("base_url")).with_context(|| {
        format!(
            "no server: give --server URL (or BULKWRITE_SERVER), or a --data-dir with bootstrap.json ({} has none)",
            bootstrap_path.display()
        )
    })?;
    let key = target.admin_key.clone().or_else(|| from_bootstrap("admin_key")).with_context(|| {
        format!("no admin key: give --admin-key (or BULKWRITE_ADMIN_KEY), or a --data-dir whose bootstrap.json has one ({})", bootstrap_path.display())
    })?;
    Client::builder(Endpoints::bulkwrite(server), Credentials::admin_key(key))
        .retry(bulkwrite_client::RetryPolicy::none())
        .build()
        .context("building the HTTP client")
}

/// Runs `bulkwrite admin clock ACTION`; returns what the server answered.
pub async fn clock(target: &ControlTarget, data_dir: &Path, action: &ClockAction) -> anyhow::Result<Value> {
    let client = client(target, data_dir)?;
    let state = match action {
        ClockAction::Show => client.clock().await,
        ClockAction::Advance { by } => client.advance_clock(by).await,
        ClockAction::Reset => client.reset_clock().await,
    }
    .context("the server's clock (is it started with --test-controls?)")?;
    Ok(serde_json::to_value(state)?)
}

/// Runs `bulkwrite admin queue ACTION`; returns what the server answered.
pub async fn queue(target: &ControlTarget, data_dir: &Path, action: &QueueAction) -> anyhow::Result<Value> {
    let client = client(target, data_dir)?;
    let context = "the server's queue (is it started with --test-controls?)";
    let state = match action {
        QueueAction::Show => client.queue().await,
        QueueAction::Pause => client.pause_queue().await,
        QueueAction::Resume => client.resume_queue().await,
        QueueAction::Step { job } => {
            let stepped = client.step_queue(job.as_deref()).await.context(context)?;
            return Ok(json!({"job": stepped}));
        }
    }
    .context(context)?;
    Ok(serde_json::to_value(state)?)
}
