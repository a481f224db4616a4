//! `bulkwrite admin faults add|list|clear`: the fault rules of the test controls, straight on the
//! store the server reads them from (a running server applies a rule at its next request, job or
//! callback, when it runs with `--test-controls`). Without `--org` a rule applies to every org,
//! and `list`/`clear` act on every rule; with it, on that org's.

use anyhow::Context;
use bulkwrite_api::faults::{FaultError, Faults};
use bulkwrite_core::ids::OrgId;
use bulkwrite_wire::faults::{CallbackFault, JobFault, NewFault};
use clap::{Args, Subcommand};

/// `bulkwrite admin faults …`.
#[derive(Debug, Clone, Subcommand)]
pub enum FaultsCommand {
    /// Adds a rule (HTTP: --status/--code and/or --latency-ms; job: --fail-at-row,
    /// --fail-chunk-once, --slow-ms; callback: --callback-status or --callback-timeout);
    /// prints its id.
    Add(Box<AddArgs>),
    /// Lists the rules with how often each fired (JSON).
    List,
    /// Removes every rule, or with --id one.
    Clear {
        /// The rule to remove.
        #[arg(long)]
        id: Option<String>,
    },
}

/// A rule as flags, or whole as `--rule JSON` (the body of `POST /bulkwrite/v1/faults`).
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// The whole rule as JSON, e.g. '{"path": "/crm/bulk/*/write", "status": 429, "times": 2}'.
    #[arg(long, conflicts_with_all = ["method", "path", "status", "code", "latency_ms", "fail_at_row", "fail_chunk_once", "slow_ms", "callback_status", "callback_timeout", "times", "probability", "seed"])]
    pub rule: Option<String>,
    /// The HTTP method matched (any when absent).
    #[arg(long)]
    pub method: Option<String>,
    /// The path matched, `*` for one segment: /crm/bulk/*/write (any Zoho path when absent).
    #[arg(long)]
    pub path: Option<String>,
    /// Answer with this HTTP status (the table's first code for it unless --code says).
    #[arg(long)]
    pub status: Option<u16>,
    /// Answer with this Zoho error code (TOO_MANY_REQUESTS, INTERNAL_ERROR, INVALID_TOKEN, …).
    #[arg(long)]
    pub code: Option<String>,
    /// Delay the answer by this many milliseconds.
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Job fault: the job fails after row N; later rows are UNPROCESSED.
    #[arg(long)]
    pub fail_at_row: Option<u64>,
    /// Job fault: one chunk fails once, transiently; the job still finishes.
    #[arg(long)]
    pub fail_chunk_once: bool,
    /// Job fault: each chunk waits this many milliseconds.
    #[arg(long)]
    pub slow_ms: Option<u64>,
    /// Callback fault: the delivery attempt is answered with this status.
    #[arg(long)]
    pub callback_status: Option<u16>,
    /// Callback fault: the delivery attempt times out.
    #[arg(long)]
    pub callback_timeout: bool,
    /// Fire on the next N matches only.
    #[arg(long)]
    pub times: Option<u64>,
    /// Fire on this share of matches (0 to 1).
    #[arg(long)]
    pub probability: Option<f64>,
    /// The seed of --probability.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl AddArgs {
    fn rule(&self, org: Option<OrgId>) -> anyhow::Result<NewFault> {
        let mut rule = match &self.rule {
            Some(json) => serde_json::from_str(json).context("--rule is not a fault rule")?,
            None => self.flags_rule(),
        };
        if let Some(org) = org {
            rule.org = Some(org.to_string());
        }
        Ok(rule)
    }

    fn flags_rule(&self) -> NewFault {
        let job =
            JobFault { fail_at_row: self.fail_at_row, fail_chunk_once: self.fail_chunk_once, slow_ms: self.slow_ms };
        let callback = CallbackFault { status: self.callback_status, timeout: self.callback_timeout };
        NewFault {
            method: self.method.clone(),
            path: self.path.clone(),
            org: None,
            status: self.status,
            code: self.code.clone(),
            latency_ms: self.latency_ms,
            job: (job != JobFault::default()).then_some(job),
            callback: (callback != CallbackFault::default()).then_some(callback),
            times: self.times,
            probability: self.probability,
            seed: self.seed,
        }
    }
}

fn refused(error: FaultError) -> anyhow::Error {
    match error {
        FaultError::Refused(refusal) => anyhow::anyhow!("{}: {}", refusal.code.as_str(), refusal.message),
        FaultError::Store(error) => anyhow::Error::new(error),
    }
}

/// Runs one faults command; `org` limits it to one org's rules.
pub async fn run(faults: &Faults, org: Option<OrgId>, command: FaultsCommand) -> anyhow::Result<()> {
    match command {
        FaultsCommand::Add(args) => {
            let created = faults.add(None, &args.rule(org)?).await.map_err(refused)?;
            out!("{}", created.id);
        }
        FaultsCommand::List => {
            let list = faults.list(org).await.map_err(refused)?;
            out!("{}", serde_json::to_string_pretty(&list)?);
        }
        FaultsCommand::Clear { id: Some(id) } => {
            faults.remove(org, &id).await.map_err(refused)?;
            out!("removed fault {id}");
        }
        FaultsCommand::Clear { id: None } => {
            let removed = faults.clear(org).await.map_err(refused)?;
            out!("removed {} fault rule(s)", removed.removed);
        }
    }
    Ok(())
}
