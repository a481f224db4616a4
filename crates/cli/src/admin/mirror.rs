//! `bulkwrite admin mirror --dir DIR`: a real Zoho org's metadata export (see
//! `examples/mirror`) becomes the org's schema and, when the export has them, its profiles.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use bulkwrite_api::admin::Admin;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::perms::mirror_profiles;
use bulkwrite_core::schema::settings::mirror_org;
use bulkwrite_core::schema::OrgSchema;
use serde_json::{json, Value};

/// Replaces the org's schema with DIR/modules.json, DIR/fields/<Module>.json and
/// DIR/layouts/<Module>.json; with DIR/profiles.json (Zoho's settings/profiles answer, and per
/// profile DIR/profiles/<any name>.json, its settings/profiles/{id} answer), creates or updates
/// the profiles, whose field access the fields documents' `profiles` give. Everything is read
/// and checked before anything is stored. Answers the modules summary, or with profiles
/// `{"modules": …, "profiles": …}`.
pub async fn run(admin: &Admin, org: OrgId, dir: &Path, summary: fn(&OrgSchema) -> Value) -> anyhow::Result<Value> {
    let modules = read_json(&dir.join("modules.json"))?;
    let fields = read_per_module(dir, "fields")?;
    let schema = mirror_org(&modules, &fields, &read_per_module(dir, "layouts")?)?;
    let profiles_file = dir.join("profiles.json");
    let profiles = if profiles_file.exists() {
        let list = read_json(&profiles_file)?;
        Some(mirror_profiles(&list, &read_per_module(dir, "profiles")?, &fields)?)
    } else {
        None
    };
    let modules = summary(&admin.replace_schema(org, schema).await?);
    Ok(match profiles {
        Some(profiles) => json!({"modules": modules, "profiles": admin.put_profiles(org, profiles).await?}),
        None => modules,
    })
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// `DIR/<kind>/<name>.json` files by file stem (a module name for fields and layouts).
fn read_per_module(dir: &Path, kind: &str) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    let folder = dir.join(kind);
    if !folder.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(&folder)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let module = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        out.insert(module, read_json(&path)?);
    }
    Ok(out)
}
