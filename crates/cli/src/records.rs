//! `bulkwrite records get MODULE ID`.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::connect::{connect, ConnectArgs};
use crate::output::Output;

#[derive(Debug, Args)]
pub struct RecordsArgs {
    #[command(subcommand)]
    pub command: RecordsCommand,
}

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Shows one record (GET /crm/{v}/{module}/{id}).
    Get {
        /// Module API name, e.g. Leads.
        module: String,
        /// Record id.
        id: String,
        #[command(flatten)]
        connect: ConnectArgs,
    },
}

pub async fn run(args: RecordsArgs, output: Output) -> anyhow::Result<i32> {
    let RecordsCommand::Get { module, id, connect: connect_args } = args.command;
    let connection = connect(&connect_args)?;
    let Some(record) = connection.client.get_record(&module, &id).await? else {
        bail!("no {module} record has id {id}");
    };
    if output.json {
        output.json(&Value::Object(record));
        return Ok(0);
    }
    let width = record.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, value) in &record {
        let text = match value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        println!("{key:<width$}  {text}");
    }
    Ok(0)
}
