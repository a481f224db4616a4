//! `bulkwrite records get MODULE ID`, `records search MODULE (--criteria|--email|--phone|--word)`
//! and `records coql QUERY`.

use anyhow::bail;
use bulkwrite_client::{Record, SearchBy};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
    /// Searches a module (GET /crm/{v}/{module}/search): one of --criteria, --email, --phone,
    /// --word.
    Search {
        /// Module API name, e.g. Leads.
        module: String,
        /// Zoho criteria, e.g. '((Email:equals:a@x.com)and(Company:starts_with:Zyl))'.
        #[arg(long, group = "by")]
        criteria: Option<String>,
        #[arg(long, group = "by")]
        email: Option<String>,
        #[arg(long, group = "by")]
        phone: Option<String>,
        #[arg(long, group = "by")]
        word: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, default_value_t = 200)]
        per_page: u32,
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Runs a COQL query (POST /crm/{v}/coql), e.g. "select Last_Name from Leads where Email is not null".
    Coql {
        /// The select_query.
        query: String,
        #[command(flatten)]
        connect: ConnectArgs,
    },
}

pub async fn run(args: RecordsArgs, output: Output) -> anyhow::Result<i32> {
    match args.command {
        RecordsCommand::Get { module, id, connect: connect_args } => {
            let connection = connect(&connect_args)?;
            let Some(record) = connection.client.get_record(&module, &id).await? else {
                bail!("no {module} record has id {id}");
            };
            if output.json {
                output.json(&Value::Object(record));
                return Ok(0);
            }
            print_record(&record);
            Ok(0)
        }
        RecordsCommand::Search { module, criteria, email, phone, word, page, per_page, connect: connect_args } => {
            let by = match (criteria, email, phone, word) {
                (Some(text), ..) => SearchBy::Criteria(text),
                (_, Some(text), ..) => SearchBy::Email(text),
                (_, _, Some(text), _) => SearchBy::Phone(text),
                (.., Some(text)) => SearchBy::Word(text),
                _ => bail!("give one of --criteria, --email, --phone or --word"),
            };
            let connection = connect(&connect_args)?;
            let found = connection.client.search(&module, &by, page, per_page).await?;
            print_found(output, found.data, found.more_records);
            Ok(0)
        }
        RecordsCommand::Coql { query, connect: connect_args } => {
            let connection = connect(&connect_args)?;
            let found = connection.client.coql(&query).await?;
            print_found(output, found.data, found.more_records);
            Ok(0)
        }
    }
}

fn print_found(output: Output, data: Vec<Record>, more_records: bool) {
    if output.json {
        let count = data.len();
        output.json(&json!({"data": data, "info": {"count": count, "more_records": more_records}}));
        return;
    }
    if data.is_empty() {
        println!("no records match");
        return;
    }
    for (index, record) in data.iter().enumerate() {
        if index > 0 {
            println!();
        }
        print_record(record);
    }
    if more_records {
        println!("\n(more records match: ask for the next page)");
    }
}

fn print_record(record: &Record) {
    let width = record.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, value) in record {
        let text = match value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        println!("{key:<width$}  {text}");
    }
}
