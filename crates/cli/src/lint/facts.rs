//! What `lint` needs to know about the org, asked of the server (or Zoho) through its metadata
//! APIs: the schema of the target module and of the modules its lookups point at, the org's time
//! zone, and its active users. Nothing is written.

use std::collections::BTreeMap;

use anyhow::Context;
use bulkwrite_client::Client;
use bulkwrite_core::ids::UserId;
use bulkwrite_core::mapping::{UserDirectory, UserEntry};
use bulkwrite_core::schema::settings::{mirror_org, NON_RECORD_MODULES};
use bulkwrite_core::schema::OrgSchema;
use serde_json::Value;

/// The org as lint sees it.
pub struct OrgFacts {
    pub schema: OrgSchema,
    pub time_zone: chrono_tz::Tz,
    pub users: UserDirectory,
}

/// Fetches modules, the fields and layouts of `module`, the fields of the modules its lookups
/// point at, the org and its users.
pub async fn fetch(client: &Client, module: &str) -> anyhow::Result<OrgFacts> {
    let modules = client.modules().await.context("reading settings/modules")?;
    let listed = listed_modules(&modules);
    let mut fields = BTreeMap::new();
    let mut layouts = BTreeMap::new();
    let target = listed.iter().find(|m| m.eq_ignore_ascii_case(module)).cloned();
    if let Some(target) = &target {
        let document = client.fields(target).await.with_context(|| format!("reading the fields of {target}"))?;
        for related in lookup_modules(&document) {
            let fetchable = listed.contains(&related) && !NON_RECORD_MODULES.contains(&related.as_str());
            if related != *target && fetchable && !fields.contains_key(&related) {
                let related_fields =
                    client.fields(&related).await.with_context(|| format!("reading the fields of {related}"))?;
                fields.insert(related, related_fields);
            }
        }
        fields.insert(target.clone(), document);
        let layout_document =
            client.layouts(target).await.with_context(|| format!("reading the layouts of {target}"))?;
        if !layout_document.is_null() {
            layouts.insert(target.clone(), layout_document);
        }
    }
    let schema = mirror_org(&modules, &fields, &layouts).context("reading the org's metadata")?;
    let org = client.org().await.context("reading the org")?;
    let time_zone = org.time_zone.as_deref().and_then(|tz| tz.parse().ok()).unwrap_or(chrono_tz::UTC);
    let users = client.active_users().await.context("reading the org's users")?;
    Ok(OrgFacts { schema, time_zone, users: UserDirectory::new(users.iter().filter_map(user_entry)) })
}

/// API names of the modules settings/modules lists as API-supported.
fn listed_modules(modules: &Value) -> Vec<String> {
    let list = modules.get("modules").unwrap_or(modules);
    let Some(list) = list.as_array() else { return Vec::new() };
    list.iter()
        .filter(|m| m.get("api_supported").and_then(Value::as_bool) != Some(false))
        .filter_map(|m| m.get("api_name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Modules the lookup fields of a fields document point at (`lookup.module.api_name`, or
/// `lookup.module` as a string in v2).
fn lookup_modules(fields: &Value) -> Vec<String> {
    let list = fields.get("fields").unwrap_or(fields);
    let mut modules: Vec<String> = Vec::new();
    for field in list.as_array().into_iter().flatten() {
        let module = field.pointer("/lookup/module");
        let name = module.and_then(|m| m.get("api_name").and_then(Value::as_str).or(m.as_str()));
        if let Some(name) = name {
            if !modules.iter().any(|m| m == name) {
                modules.push(name.to_string());
            }
        }
    }
    modules
}

fn user_entry(user: &Value) -> Option<UserEntry> {
    let id = match user.get("id")? {
        Value::String(text) => UserId::parse(text)?,
        Value::Number(number) => UserId::parse(&number.to_string())?,
        _ => return None,
    };
    let text = |key: &str| user.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    Some(UserEntry { id, full_name: text("full_name"), email: text("email") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_modules_read_both_shapes() {
        let fields = json!({"fields": [
            {"api_name": "Account_Name", "lookup": {"module": {"api_name": "Accounts", "id": "1"}}},
            {"api_name": "Vendor_Name", "lookup": {"module": "Vendors"}},
            {"api_name": "Parent", "lookup": {"module": "Accounts"}},
            {"api_name": "Email", "lookup": {}},
        ]});
        assert_eq!(lookup_modules(&fields), vec!["Accounts".to_string(), "Vendors".to_string()]);
    }

    #[test]
    fn users_need_a_numeric_id() {
        let user = json!({"id": "4150868000000225013", "full_name": "Patricia Boyle", "email": "p@example.com"});
        assert_eq!(user_entry(&user).unwrap().email, "p@example.com");
        assert!(user_entry(&json!({"id": "abc"})).is_none());
    }
}
