//! `bulkwrite admin taxes …`: lists, sets and deletes the org's taxes (the rates inventory
//! records and their lines apply by name; README "Inventory: line items and totals"), straight
//! on the store.

use bulkwrite_api::admin::{Admin, TaxRequest};
use bulkwrite_core::ids::OrgId;
use clap::Subcommand;
use serde_json::Value;

/// `bulkwrite admin taxes …`.
#[derive(Debug, Clone, Subcommand)]
pub enum TaxesCommand {
    /// Lists the org's taxes in their order.
    List,
    /// Sets a tax: a new name goes last; an existing one (any case) gets the new rate.
    Set {
        #[arg(long)]
        name: String,
        /// The rate, a percentage from 0 to 100.
        #[arg(long)]
        value: f64,
    },
    /// Deletes a tax by id.
    Delete {
        #[arg(long)]
        id: String,
    },
}

/// Runs the command; answers what to print.
pub async fn run(admin: &Admin, org: OrgId, command: TaxesCommand) -> anyhow::Result<Value> {
    Ok(match command {
        TaxesCommand::List => admin.taxes(org).await?,
        TaxesCommand::Set { name, value } => admin.set_taxes(org, &[TaxRequest { name, value }]).await?,
        TaxesCommand::Delete { id } => admin.delete_tax(org, &id).await?,
    })
}
