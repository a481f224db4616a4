//! First start: an org, its admin user and an access token with every scope, recorded in the
//! store (so every node on one database shares them) and written to `DIR/bootstrap.json`.

use std::path::Path;

use anyhow::Context;
use bulkwrite_api::ALL_SCOPES;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_store::token::{generate_client_id, generate_client_secret, generate_token, hash_token};
use bulkwrite_store::{
    BootstrapRecord, ClientKind, NewAccessToken, OAuthClient, Org, RefreshToken, Store, StoreError, TokenLookup, User,
};
use serde_json::{json, Map};

use crate::config::Config;

/// The bootstrap values, and whether this start created them.
pub struct Bootstrapped {
    pub record: BootstrapRecord,
    pub created: bool,
}

/// Creates the first org unless one exists, and brings its custom fields up to date.
pub async fn bootstrap(store: &dyn Store, ids: &IdAllocator, config: &Config) -> anyhow::Result<Bootstrapped> {
    if let Some(record) = store.bootstrap_record().await? {
        apply_customisations(store, ids, record.org_id, config).await?;
        ensure_token(store, &record, config.bootstrap_token.as_deref()).await?;
        let record = ensure_self_client(store, record).await?;
        return Ok(Bootstrapped { record, created: false });
    }
    let zgid = OrgId::new(rand::random_range(100_000_000..=999_999_999));
    let user_id = UserId::new(ids.next_id().await?);
    let now = chrono::Utc::now();
    let org = Org {
        zgid,
        id: ids.next_id().await?.to_string(),
        company_name: config.company_name.clone(),
        time_zone: config.time_zone.clone(),
        currency: "USD".to_string(),
        created_at: now,
    };
    let admin = User {
        id: user_id,
        org: zgid,
        first_name: "Admin".to_string(),
        last_name: "User".to_string(),
        email: "admin@bulkwrite.local".to_string(),
        profile: "Administrator".to_string(),
        role: "CEO".to_string(),
        active: true,
        created_at: now,
    };
    let mut schema = standard_schema();
    customise(&mut schema, ids, config).await?;
    let access_token = config.bootstrap_token.clone().unwrap_or_else(generate_token);
    let token = NewAccessToken {
        token_hash: hash_token(&access_token),
        org: zgid,
        user: user_id,
        scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        client_id: None,
        refresh_hash: None,
    };
    let record = BootstrapRecord {
        org_id: zgid,
        user_id,
        user_name: admin.full_name(),
        user_email: admin.email.clone(),
        access_token,
        extra: Map::new(),
    };
    let kept = store.bootstrap(org, admin, schema, token, record.clone()).await?;
    let created = kept == record;
    let kept = ensure_self_client(store, kept).await?;
    Ok(Bootstrapped { record: kept, created })
}

/// The admin user's self client (as Zoho's developer console makes one), its refresh token with
/// every scope, and the admin credential: added to the bootstrap record once, then made to exist.
async fn ensure_self_client(store: &dyn Store, record: BootstrapRecord) -> anyhow::Result<BootstrapRecord> {
    let mut missing = Map::new();
    if !record.extra.contains_key("client_id") {
        missing.insert("client_id".into(), generate_client_id().into());
        missing.insert("client_secret".into(), generate_client_secret().into());
        missing.insert("refresh_token".into(), generate_token().into());
    }
    if !record.extra.contains_key("admin_key") {
        missing.insert("admin_key".into(), format!("bwadmin.{}", generate_client_secret()).into());
    }
    let record = if missing.is_empty() { record } else { store.extend_bootstrap_record(missing).await? };
    let text = |key: &str| record.extra.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let (client_id, secret, refresh) = (text("client_id"), text("client_secret"), text("refresh_token"));
    if store.get_client(&client_id).await?.is_none() {
        let client = OAuthClient {
            client_id: client_id.clone(),
            org: record.org_id,
            user: record.user_id,
            secret_hash: hash_token(&secret),
            name: "Self Client".to_string(),
            kind: ClientKind::SelfClient,
            redirect_uris: Vec::new(),
            created_at: chrono::Utc::now(),
        };
        ignore_conflict(store.create_client(client).await)?;
    }
    let refresh_record = RefreshToken {
        token_hash: hash_token(&refresh),
        client_id,
        org: record.org_id,
        user: record.user_id,
        scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        created_at: chrono::Utc::now(),
    };
    ignore_conflict(store.insert_refresh_token(refresh_record).await)?;
    Ok(record)
}

/// Another node (or an earlier start) made it already.
fn ignore_conflict(result: Result<(), StoreError>) -> anyhow::Result<()> {
    match result {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// A fixed token asked for on a later start is added if the store does not know it yet.
async fn ensure_token(store: &dyn Store, record: &BootstrapRecord, token: Option<&str>) -> anyhow::Result<()> {
    let Some(token) = token else { return Ok(()) };
    if store.lookup_token(&hash_token(token), chrono::Utc::now()).await? != TokenLookup::Unknown {
        return Ok(());
    }
    let new = NewAccessToken {
        token_hash: hash_token(token),
        org: record.org_id,
        user: record.user_id,
        scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        client_id: None,
        refresh_hash: None,
    };
    store.insert_access_token(new).await?;
    Ok(())
}

/// Adds the configured custom modules, then the custom fields; returns whether anything changed.
async fn customise(schema: &mut OrgSchema, ids: &IdAllocator, config: &Config) -> anyhow::Result<bool> {
    let before = schema.clone();
    // Ids are reserved up front (schema changes are synchronous): a custom module takes one id
    // per standard field, its layout and its parent's subform field, well under this bound.
    const IDS_PER_MODULE: usize = 32;
    let new_modules = config.custom_modules.iter().filter(|m| schema.module(&m.api_name).is_none()).count();
    let new_fields = config.custom_fields.len();
    let mut fresh: Vec<String> = Vec::with_capacity(new_modules * IDS_PER_MODULE + new_fields);
    for _ in 0..fresh.capacity() {
        fresh.push(ids.next_id().await?.to_string());
    }
    let mut fresh = fresh.into_iter();
    let mut next_id = || fresh.next().unwrap_or_default();
    for spec in &config.custom_modules {
        schema.apply_custom_module(spec, &mut next_id).with_context(|| format!("custom module {}", spec.api_name))?;
    }
    for spec in &config.custom_fields {
        let existing = schema.module(&spec.module).and_then(|m| m.field(&spec.api_name)).map(|f| f.id.clone());
        let id = existing.unwrap_or_else(&mut next_id);
        schema
            .apply_custom_field(spec, id)
            .with_context(|| format!("custom field {}.{}", spec.module, spec.api_name))?;
    }
    Ok(*schema != before)
}

async fn apply_customisations(store: &dyn Store, ids: &IdAllocator, org: OrgId, config: &Config) -> anyhow::Result<()> {
    let mut schema = store.org_schema(org).await?;
    if customise(&mut schema, ids, config).await? {
        store.save_org_schema(org, &schema).await?;
    }
    Ok(())
}

/// Writes `DIR/bootstrap.json` (owner-only permissions: it holds a token).
pub fn write_bootstrap_file(data_dir: &Path, record: &BootstrapRecord, base_url: &str) -> anyhow::Result<()> {
    let mut document = json!({
        "base_url": base_url,
        "org_id": record.org_id.to_string(),
        "user_id": record.user_id.to_string(),
        "user_name": record.user_name,
        "user_email": record.user_email,
        "access_token": record.access_token,
    });
    if let Some(object) = document.as_object_mut() {
        for (key, value) in &record.extra {
            object.insert(key.clone(), value.clone());
        }
    }
    let path = data_dir.join("bootstrap.json");
    let staged = data_dir.join(".bootstrap.json.tmp");
    std::fs::write(&staged, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", staged.display()))?;
    restrict_permissions(&staged)?;
    std::fs::rename(&staged, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
