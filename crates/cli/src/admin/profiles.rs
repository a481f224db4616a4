//! `bulkwrite admin profiles …`: lists the org's profiles, creates a custom one, allows or denies
//! module permissions, makes fields read-only or hidden, and gives a user a profile, straight on
//! the store (see `bulkwrite_core::perms`; README "Profiles and permissions"). A running
//! server offers the same over HTTP: `/bulkwrite/v1/admin/orgs/{org}/profiles…`.

use anyhow::bail;
use bulkwrite_api::admin::Admin;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::perms::{FieldAccess, ModuleAction};
use clap::Subcommand;
use serde_json::Value;

/// `bulkwrite admin profiles …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ProfilesCommand {
    /// Lists the profiles with what each is denied.
    List,
    /// Creates a custom profile (with every permission, or a copy of --from's).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        from: Option<String>,
    },
    /// Denies (or with --allow gives back) module permissions: view, create, edit, delete.
    Module {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        module: String,
        /// Comma-separated: view, create, edit, delete.
        #[arg(long)]
        actions: String,
        /// Give the permissions back instead of denying them.
        #[arg(long)]
        allow: bool,
    },
    /// Sets a field's access: read_write, read_only or hidden.
    Field {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        module: String,
        #[arg(long)]
        field: String,
        #[arg(long)]
        access: String,
    },
    /// Gives a user (id or email) a profile.
    Assign {
        #[arg(long)]
        user: String,
        #[arg(long)]
        profile: String,
    },
}

fn actions(text: &str) -> anyhow::Result<Vec<ModuleAction>> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let Some(action) = ModuleAction::parse(word) else {
            bail!("'{word}' is not one of view, create, edit, delete");
        };
        out.push(action);
    }
    if out.is_empty() {
        bail!("name at least one of view, create, edit, delete");
    }
    Ok(out)
}

/// Runs the command; answers what to print.
pub async fn run(admin: &Admin, org: OrgId, command: ProfilesCommand) -> anyhow::Result<Value> {
    Ok(match command {
        ProfilesCommand::List => admin.profiles(org).await?,
        ProfilesCommand::Create { name, from } => admin.create_profile(org, &name, from.as_deref()).await?,
        ProfilesCommand::Module { profile, module, actions: list, allow } => {
            admin.set_module_access(org, &profile, &module, &actions(&list)?, allow).await?
        }
        ProfilesCommand::Field { profile, module, field, access } => {
            let Some(access) = FieldAccess::parse(&access) else {
                bail!("'{access}' is not one of read_write, read_only, hidden");
            };
            admin.set_field_access(org, &profile, &module, &field, access).await?
        }
        ProfilesCommand::Assign { user, profile } => admin.assign_profile(org, &user, &profile).await?,
    })
}
