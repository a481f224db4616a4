//! `bulkwrite admin …`: orgs, users, OAuth clients, tokens, grant codes, the org schema and the
//! fault rules of the test controls (`faults`), straight on a data directory's store (the server
//! may be running); and the test controls' clock and queue of a running server (`controls`).

mod controls;
mod faults;
mod inbox;

mod credits;
mod mirror;
mod profiles;
mod taxes;

use std::path::PathBuf;

use anyhow::{bail, Context};
use bulkwrite_api::admin::{
    Admin, NewClientRequest, NewGrantRequest, NewLayoutRequest, NewOrgRequest, NewTokenRequest, NewUserRequest,
};
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::schema::{CustomFieldSpec, CustomModuleSpec, DataType, OrgSchema};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// Options shared by every admin command.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The server's data directory.
    #[arg(long, env = "BULKWRITE_DATA_DIR", default_value = "bulkwrite-data", global = true)]
    pub data_dir: PathBuf,
    /// The shared PostgreSQL database of a multi-node deployment (instead of the data directory's SQLite).
    #[arg(long, env = "BULKWRITE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The org (zgid) to act on [default: the org of the first start].
    #[arg(long, global = true)]
    pub org: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Prints a fresh one-time grant code for the org's self client (as Zoho's console does).
    Grant {
        /// Comma-separated scopes, e.g. ZohoCRM.bulk.ALL,ZohoFiles.files.ALL
        #[arg(long)]
        scopes: String,
        /// Another client of the org (a web client's code also needs its redirect URI).
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        redirect_uri: Option<String>,
        /// The user the code acts for [default: the client's owner].
        #[arg(long)]
        user: Option<String>,
    },
    /// Lists orgs; `orgs credits ORG …` shows or sets an org's API credits plan.
    Orgs {
        #[command(subcommand)]
        command: Option<credits::OrgsCommand>,
    },
    /// Creates an org with its admin user, a self client and a refresh token.
    CreateOrg {
        #[arg(long)]
        company: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_last_name: String,
        #[arg(long, default_value = "")]
        admin_first_name: String,
        #[arg(long)]
        admin_password: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Adds a user to the org.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        last_name: String,
        #[arg(long, default_value = "")]
        first_name: String,
        /// `Administrator` or `Standard`.
        #[arg(long)]
        profile: Option<String>,
        /// The consent-page password.
        #[arg(long)]
        password: Option<String>,
    },
    /// Sets a user's consent-page password.
    SetPassword {
        /// User id or email.
        #[arg(long)]
        user: String,
        #[arg(long)]
        password: String,
    },
    /// Registers an OAuth client; prints its id and secret (shown once).
    CreateClient {
        #[arg(long)]
        name: String,
        /// `web` (consent page) or `self_client`.
        #[arg(long, default_value = "web")]
        kind: String,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
    },
    /// Mints an access token (and with --refresh a refresh token).
    CreateToken {
        #[arg(long)]
        scopes: String,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        refresh: bool,
    },
    /// Adds a custom module (or, with --parent, a subform of that module).
    AddModule {
        #[arg(long)]
        api_name: String,
        #[arg(long)]
        parent: Option<String>,
    },
    /// Adds (or redefines) a custom field.
    AddField {
        #[arg(long)]
        module: String,
        #[arg(long)]
        api_name: String,
        /// Zoho data_type: text, email, phone, date, datetime, integer, picklist, lookup, …
        #[arg(long = "type")]
        data_type: String,
        #[arg(long)]
        length: Option<u32>,
        #[arg(long)]
        unique: bool,
        #[arg(long)]
        mandatory: bool,
        /// Picklist values, comma-separated.
        #[arg(long)]
        values: Option<String>,
        #[arg(long)]
        restricted: bool,
        /// The related module of a lookup.
        #[arg(long)]
        lookup: Option<String>,
    },
    /// Adds a layout and the fields it makes mandatory.
    AddLayout {
        #[arg(long)]
        module: String,
        #[arg(long)]
        name: String,
        /// Comma-separated field API names.
        #[arg(long, default_value = "")]
        mandatory: String,
    },
    /// The clock of a server started with --test-controls: show, advance 7d|12h|30m|90s, reset.
    Clock {
        #[command(subcommand)]
        action: controls::ClockAction,
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// The queue of a server started with --test-controls: show, pause, resume, step [--job ID].
    Queue {
        #[command(subcommand)]
        action: controls::QueueAction,
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// The built-in callback receiver of a server started with --test-controls: show|clear NAME.
    Inbox {
        #[command(subcommand)]
        action: inbox::InboxAction,
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// A job's callback attempts (show JOB), or send it again (replay JOB; --test-controls).
    Callback {
        #[command(subcommand)]
        action: inbox::CallbackAction,
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// Deletes the org's records, jobs, uploads, callbacks, inbox, fault rules, credits used and
    /// tokens; keeps its metadata (a server started with --test-controls).
    Reset {
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// The org's snapshots (a server started with --test-controls): create|restore|delete NAME, list.
    Snapshot {
        #[command(subcommand)]
        action: inbox::SnapshotAction,
        #[command(flatten)]
        target: controls::ControlTarget,
    },
    /// Fault rules of the test controls (applied by servers run with --test-controls): without
    /// --org a rule applies to every org, and list/clear act on every rule.
    #[command(subcommand)]
    Faults(faults::FaultsCommand),
    /// Replaces the org's schema with a real Zoho org's metadata: DIR/modules.json,
    /// DIR/fields/<Module>.json and DIR/layouts/<Module>.json (see examples/mirror); with
    /// DIR/profiles.json (and DIR/profiles/<name>.json per profile), creates or updates the
    /// org's profiles too.
    Mirror {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Profiles and permissions: list, create, module, field, assign.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// The org's taxes (applied by inventory records and lines): list, set, delete.
    #[command(subcommand)]
    Taxes(taxes::TaxesCommand),
}

fn print(value: &Value) {
    out!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn org_of(args: &AdminArgs, default: Option<OrgId>) -> anyhow::Result<OrgId> {
    match &args.org {
        Some(text) => OrgId::parse(text).with_context(|| format!("'{text}' is not an org id")),
        None => default.context("no org given and the data directory has no first org"),
    }
}

fn summary(schema: &OrgSchema) -> Value {
    json!(schema.modules.iter().map(|m| json!({"api_name": m.api_name, "fields": m.fields.len()})).collect::<Vec<_>>())
}

async fn run_command(admin: &Admin, args: &AdminArgs, org: Option<OrgId>) -> anyhow::Result<()> {
    match args.command.clone() {
        AdminCommand::Grant { scopes, client_id, redirect_uri, user } => {
            let request = NewGrantRequest { client_id, user_id: user, scopes, redirect_uri };
            out!("{}", admin.create_grant(org_of(args, org)?, request).await?);
        }
        AdminCommand::Orgs { command: Some(credits::OrgsCommand::Credits(credit_args)) } => {
            print(&credits::run(admin, &credit_args).await?);
        }
        AdminCommand::Orgs { command: None } => {
            let orgs = admin.orgs().await?;
            print(&json!(orgs
                .iter()
                .map(
                    |o| json!({"org_id": o.zgid.to_string(), "company_name": o.company_name, "time_zone": o.time_zone})
                )
                .collect::<Vec<_>>()));
        }
        AdminCommand::CreateOrg {
            company,
            admin_email,
            admin_last_name,
            admin_first_name,
            admin_password,
            time_zone,
        } => {
            let user = NewUserRequest {
                first_name: admin_first_name,
                last_name: admin_last_name,
                email: admin_email,
                profile: None,
                role: None,
                password: admin_password,
            };
            let made = admin
                .create_org(
                    NewOrgRequest { company_name: company, time_zone, currency: None, admin: user },
                    bulkwrite_api::ALL_SCOPES,
                )
                .await?;
            print(&serde_json::to_value(made)?);
        }
        AdminCommand::CreateUser { email, last_name, first_name, profile, password } => {
            let user = admin
                .create_user(
                    org_of(args, org)?,
                    NewUserRequest { first_name, last_name, email, profile, role: None, password },
                )
                .await?;
            print(&json!({"user_id": user.id.to_string(), "email": user.email, "full_name": user.full_name()}));
        }
        AdminCommand::SetPassword { user, password } => {
            admin.set_password(org_of(args, org)?, &user, &password).await?;
            out!("password set");
        }
        AdminCommand::CreateClient { name, kind, redirect_uris } => {
            let client = admin
                .create_client(
                    org_of(args, org)?,
                    NewClientRequest { name, kind: Some(kind), redirect_uris, user_id: None },
                )
                .await?;
            print(&serde_json::to_value(client)?);
        }
        AdminCommand::CreateToken { scopes, user, refresh } => {
            let tokens =
                admin.create_token(org_of(args, org)?, NewTokenRequest { user_id: user, scopes, refresh }).await?;
            print(&serde_json::to_value(tokens)?);
        }
        AdminCommand::AddModule { api_name, parent } => {
            let spec = CustomModuleSpec {
                api_name,
                singular_label: None,
                plural_label: None,
                parent_module: parent,
                linking_modules: None,
            };
            print(&summary(&admin.add_module(org_of(args, org)?, spec).await?));
        }
        AdminCommand::AddField {
            module,
            api_name,
            data_type,
            length,
            unique,
            mandatory,
            values,
            restricted,
            lookup,
        } => {
            let data_type: DataType = serde_json::from_value(json!(data_type)).context("unknown data type")?;
            if data_type == DataType::Unsupported {
                bail!("bulk write cannot import fields of that type");
            }
            let spec = CustomFieldSpec {
                module,
                api_name,
                field_label: None,
                data_type,
                length,
                decimal_place: None,
                unique,
                mandatory,
                pick_list_values: values
                    .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                    .unwrap_or_default(),
                restricted_picklist: restricted,
                lookup_module: lookup,
            };
            print(&summary(&admin.add_field(org_of(args, org)?, spec).await?));
        }
        AdminCommand::AddLayout { module, name, mandatory } => {
            let mandatory_fields =
                mandatory.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            print(&summary(
                &admin.add_layout(org_of(args, org)?, NewLayoutRequest { module, name, mandatory_fields }).await?,
            ));
        }
        AdminCommand::Faults(command) => {
            let org = args
                .org
                .as_deref()
                .map(|text| OrgId::parse(text).with_context(|| format!("'{text}' is not an org id")));
            let service = bulkwrite_api::faults::Faults {
                store: admin.store.clone(),
                ids: admin.ids.clone(),
                clock: admin.clock.clone(),
            };
            faults::run(&service, org.transpose()?, command).await?;
        }
        AdminCommand::Mirror { dir } => {
            let org = org_of(args, org)?;
            print(&mirror::run(admin, org, &dir, summary).await?);
        }
        AdminCommand::Profiles(command) => {
            print(&profiles::run(admin, org_of(args, org)?, command).await?);
        }
        AdminCommand::Taxes(command) => {
            print(&taxes::run(admin, org_of(args, org)?, command).await?);
        }
        AdminCommand::Clock { .. }
        | AdminCommand::Queue { .. }
        | AdminCommand::Inbox { .. }
        | AdminCommand::Callback { .. }
        | AdminCommand::Reset { .. }
        | AdminCommand::Snapshot { .. } => {
            bail!("the test controls are the running server's; they are asked over HTTP")
        }
    }
    Ok(())
}

/// Runs `bulkwrite admin …`.
pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // The test controls act on the running server, over HTTP; no store is opened for them.
        match &args.command {
            AdminCommand::Clock { action, target } => {
                print(&controls::clock(target, &args.data_dir, action).await?);
                return Ok(());
            }
            AdminCommand::Queue { action, target } => {
                print(&controls::queue(target, &args.data_dir, action).await?);
                return Ok(());
            }
            _ => {}
        }
        if let Some(answer) = inbox::run(&args.command, &args.data_dir, args.org.as_deref()).await? {
            print(&answer);
            return Ok(());
        }
        let (admin, record) = bulkwrite_server::open_admin(&args.data_dir, args.database_url.as_deref()).await?;
        run_command(&admin, &args, record.map(|r| r.org_id)).await
    })
}
