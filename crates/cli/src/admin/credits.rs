//! `bulkwrite admin orgs credits ORG [--edition E --users N --addon-credits N | --off | --inherit]`:
//! shows an org's API credits, or sets the plan its Zoho API calls are metered by (see
//! `bulkwrite_api::credits`), straight on the store, so every node sees it at once.

use anyhow::Context;
use bulkwrite_api::admin::Admin;
use bulkwrite_api::credits::{setting_from_request, CreditsRequest, OrgCredits};
use bulkwrite_core::ids::OrgId;
use clap::{Args, Subcommand};
use serde_json::Value;

/// What `bulkwrite admin orgs …` does besides listing the orgs.
#[derive(Debug, Clone, Subcommand)]
pub enum OrgsCommand {
    /// Shows an org's API credits, or sets the plan its calls are metered by (Zoho's editions).
    Credits(CreditsArgs),
}

/// `bulkwrite admin orgs credits`.
#[derive(Debug, Clone, Args)]
pub struct CreditsArgs {
    /// The org (zgid).
    #[arg(value_name = "ORG")]
    pub org_id: String,
    /// Meter the org as this Zoho CRM edition: free, standard, professional, enterprise, ultimate.
    #[arg(long)]
    pub edition: Option<String>,
    /// User licences of the edition [default: 1].
    #[arg(long, requires = "edition")]
    pub users: Option<u32>,
    /// Add-on credits on top of the edition's [default: 0].
    #[arg(long, requires = "edition")]
    pub addon_credits: Option<u64>,
    /// Never meter the org, whatever the server's --api-credits says.
    #[arg(long, conflicts_with_all = ["edition", "users", "addon_credits", "inherit"])]
    pub off: bool,
    /// Drop the org's own setting: the server's --api-credits applies again.
    #[arg(long, conflicts_with_all = ["edition", "users", "addon_credits", "off"])]
    pub inherit: bool,
}

impl CreditsArgs {
    /// The setting asked for; `None`: only show.
    fn setting(&self) -> anyhow::Result<Option<OrgCredits>> {
        if self.inherit {
            return Ok(Some(OrgCredits::Inherit));
        }
        if self.off {
            return Ok(Some(OrgCredits::Off));
        }
        if self.edition.is_none() {
            return Ok(None);
        }
        let request = CreditsRequest {
            edition: self.edition.clone(),
            users: self.users,
            addon_credits: self.addon_credits,
            metered: None,
        };
        setting_from_request(&request).map(Some).map_err(anyhow::Error::msg)
    }
}

/// Sets the org's plan if asked; answers its setting and usage.
pub async fn run(admin: &Admin, args: &CreditsArgs) -> anyhow::Result<Value> {
    let org = OrgId::parse(&args.org_id).with_context(|| format!("'{}' is not an org id", args.org_id))?;
    Ok(admin.org_credits(org, args.setting()?).await?)
}
