//! `bulkwrite admin inbox|callback|reset|snapshot …`: the test controls' callback inbox, a job's
//! callback attempts and replay, and an org's reset and snapshots, on a running server started
//! with `--test-controls`, over HTTP with its admin key (see `controls` for the server and key).

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};

use super::controls::{client, ControlTarget};
use super::AdminCommand;

/// What to do with a built-in receiver.
#[derive(Debug, Clone, Subcommand)]
pub enum InboxAction {
    /// Prints what inbox NAME was sent, oldest first.
    Show { name: String },
    /// Empties inbox NAME.
    Clear { name: String },
}

/// What to do with a job's callback.
#[derive(Debug, Clone, Subcommand)]
pub enum CallbackAction {
    /// Prints the callback's state and every attempt (request sent, answer received).
    Show { job: String },
    /// Sends a finished job's callback again.
    Replay { job: String },
}

/// What to do with the org's snapshots.
#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotAction {
    /// Copies the org's state into snapshot NAME.
    Create { name: String },
    /// Makes the org's state snapshot NAME's again.
    Restore { name: String },
    /// Lists the org's snapshots.
    List,
    /// Deletes snapshot NAME.
    Delete { name: String },
}

/// The org to act on: `--org`, else the data directory's first org.
fn org(org: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(org) = org {
        return Ok(org.to_string());
    }
    let path = data_dir.join("bootstrap.json");
    let bootstrap: Option<Value> = std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let found = bootstrap.as_ref().and_then(|value| match &value["org_id"] {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    });
    found.with_context(|| {
        format!("no org: give --org ORG, or a --data-dir whose bootstrap.json names one ({})", path.display())
    })
}

/// Runs an inbox, callback, reset or snapshot command; `None` for any other command.
pub async fn run(command: &AdminCommand, data_dir: &Path, org: Option<&str>) -> anyhow::Result<Option<Value>> {
    Ok(Some(match command {
        AdminCommand::Inbox { action, target } => inbox(target, data_dir, action).await?,
        AdminCommand::Callback { action, target } => callback(target, data_dir, action).await?,
        AdminCommand::Reset { target } => reset(target, data_dir, org).await?,
        AdminCommand::Snapshot { action, target } => snapshot(target, data_dir, org, action).await?,
        _ => return Ok(None),
    }))
}

const SWITCH: &str = "(is the server started with --test-controls?)";

/// Runs `bulkwrite admin inbox ACTION`.
async fn inbox(target: &ControlTarget, data_dir: &Path, action: &InboxAction) -> anyhow::Result<Value> {
    let client = client(target, data_dir)?;
    match action {
        InboxAction::Show { name } => {
            let deliveries = client.inbox(name).await.with_context(|| format!("inbox {name} {SWITCH}"))?;
            Ok(json!({"deliveries": deliveries}))
        }
        InboxAction::Clear { name } => {
            let removed = client.clear_inbox(name).await.with_context(|| format!("inbox {name} {SWITCH}"))?;
            Ok(json!({"removed": removed}))
        }
    }
}

/// Runs `bulkwrite admin callback ACTION`.
async fn callback(target: &ControlTarget, data_dir: &Path, action: &CallbackAction) -> anyhow::Result<Value> {
    let client = client(target, data_dir)?;
    let report = match action {
        CallbackAction::Show { job } => {
            client.callback_report(job).await.with_context(|| format!("job {job}'s callback"))?
        }
        CallbackAction::Replay { job } => {
            client.replay_callback(job).await.with_context(|| format!("replaying job {job}'s callback {SWITCH}"))?
        }
    };
    Ok(serde_json::to_value(report)?)
}

/// Runs `bulkwrite admin reset`.
async fn reset(target: &ControlTarget, data_dir: &Path, org_arg: Option<&str>) -> anyhow::Result<Value> {
    let org = org(org_arg, data_dir)?;
    let client = client(target, data_dir)?;
    let summary = client.reset_org(&org).await.with_context(|| format!("resetting org {org} {SWITCH}"))?;
    Ok(serde_json::to_value(summary)?)
}

/// Runs `bulkwrite admin snapshot ACTION`.
async fn snapshot(
    target: &ControlTarget,
    data_dir: &Path,
    org_arg: Option<&str>,
    action: &SnapshotAction,
) -> anyhow::Result<Value> {
    let org = org(org_arg, data_dir)?;
    let client = client(target, data_dir)?;
    let context = || format!("org {org}'s snapshots {SWITCH}");
    Ok(match action {
        SnapshotAction::Create { name } => {
            serde_json::to_value(client.create_snapshot(&org, name).await.with_context(context)?)?
        }
        SnapshotAction::Restore { name } => {
            serde_json::to_value(client.restore_snapshot(&org, name).await.with_context(context)?)?
        }
        SnapshotAction::List => json!({"snapshots": client.snapshots(&org).await.with_context(context)?}),
        SnapshotAction::Delete { name } => {
            client.delete_snapshot(&org, name).await.with_context(context)?;
            json!({"removed": 1})
        }
    })
}
