//! A real org's profiles, from the answers of Zoho's Profiles and Fields APIs → [`Profile`]s.
//!
//! * `GET settings/profiles` (`{"profiles": [...]}` or the bare array): each profile's `name`
//!   (required), `id` and `custom` (a missing `custom` means custom unless the name is a
//!   built-in one).
//! * `GET settings/profiles/{id}` per profile, when given (keyed by anything; matched to the
//!   list by `id`, else by `name`): its `permissions_details[]`, of which the module permissions
//!   are read: `name` `Crm_Implied_<View|Create|Edit|Delete>_<Module>` with `enabled: false`
//!   denies that action on that module. Other permissions are ignored.
//! * `GET settings/fields?module=X` per module (the documents the schema mirror reads): each
//!   field's `profiles[]` (`name`, `id`, `permission_type` `read_write` | `read_only` | `hidden`)
//!   gives a profile's access to the field. A field the `Administrator` entry does not give
//!   `read_write` is read-only by nature (`Full_Name`, audit fields), not by a profile, and is
//!   skipped.
//!
//! The `Administrator` profile is never restricted (see [`Profile::effective`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{is_built_in, FieldAccess, ModuleAction, Profile, ProfilePerms, ADMINISTRATOR};
use crate::schema::settings::{mirror_list as items, mirror_object as object, MirrorError};

/// The profiles of `list` (the settings/profiles answer) with the module permissions of
/// `details` (settings/profiles/{id} answers) and the field access of `fields_by_module`
/// (settings/fields answers by module API name).
pub fn mirror_profiles(
    list: &Value,
    details: &BTreeMap<String, Value>,
    fields_by_module: &BTreeMap<String, Value>,
) -> Result<Vec<Profile>, MirrorError> {
    let listed = items(list, "profiles", "settings/profiles")?;
    let mut profiles: Vec<(Option<String>, Profile)> = Vec::new();
    for (index, value) in listed.iter().enumerate() {
        let at = format!("settings/profiles: profiles[{index}]");
        let object = object(value, &at)?;
        let name = text(object, "name").filter(|n| !n.trim().is_empty()).ok_or_else(|| MirrorError::BadKey {
            at: at.clone(),
            key: "name",
            expected: "a non-empty string",
        })?;
        let custom = object.get("custom").and_then(Value::as_bool).unwrap_or(!is_built_in(&name));
        let id = id_text(object);
        if profiles.iter().any(|(_, p)| p.name.eq_ignore_ascii_case(&name)) {
            continue;
        }
        profiles.push((id, Profile { name, custom, perms: ProfilePerms::default() }));
    }
    for (key, document) in details {
        let named = format!("settings/profiles/{key}");
        for (index, value) in items(document, "profiles", &named)?.iter().enumerate() {
            let at = format!("{named}: profiles[{index}]");
            let object = object(value, &at)?;
            let Some(profile) = find(&mut profiles, id_text(object).as_deref(), text(object, "name").as_deref()) else {
                continue;
            };
            let Some(permissions) = object.get("permissions_details").and_then(Value::as_array) else { continue };
            for permission in permissions.iter().filter_map(Value::as_object) {
                let Some((action, module)) = text(permission, "name").as_deref().and_then(module_permission) else {
                    continue;
                };
                let enabled = permission.get("enabled").and_then(Value::as_bool).unwrap_or(true);
                let mut access = profile.perms.module(&module);
                match action {
                    ModuleAction::View => access.view = enabled,
                    ModuleAction::Create => access.create = enabled,
                    ModuleAction::Edit => access.edit = enabled,
                    ModuleAction::Delete => access.delete = enabled,
                }
                profile.perms.set_module(&module, access);
            }
        }
    }
    for (module, document) in fields_by_module {
        let named = format!("settings/fields of {module}");
        for field in items(document, "fields", &named)?.iter().filter_map(Value::as_object) {
            let Some(api_name) = text(field, "api_name") else { continue };
            let entries: Vec<&Map<String, Value>> = field
                .get("profiles")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_object).collect())
                .unwrap_or_default();
            let by_nature = entries.iter().any(|entry| {
                text(entry, "name").is_some_and(|n| n.eq_ignore_ascii_case(ADMINISTRATOR))
                    && access_of(entry) != Some(FieldAccess::ReadWrite)
            });
            if by_nature {
                continue;
            }
            for entry in entries {
                let Some(access) = access_of(entry) else { continue };
                if let Some(profile) = find(&mut profiles, id_text(entry).as_deref(), text(entry, "name").as_deref()) {
                    profile.perms.set_field(module, &api_name, access);
                }
            }
        }
    }
    Ok(profiles
        .into_iter()
        .map(|(_, profile)| {
            if profile.name.eq_ignore_ascii_case(ADMINISTRATOR) {
                Profile { perms: ProfilePerms::default(), ..profile }
            } else {
                profile
            }
        })
        .collect())
}

/// `Crm_Implied_Create_Sales_Orders` → (Create, `Sales_Orders`).
fn module_permission(name: &str) -> Option<(ModuleAction, String)> {
    let rest = name.strip_prefix("Crm_Implied_")?;
    let (word, module) = rest.split_once('_')?;
    let action = ModuleAction::ALL.into_iter().find(|a| a.word() == word)?;
    (!module.is_empty()).then(|| (action, module.to_string()))
}

fn access_of(entry: &Map<String, Value>) -> Option<FieldAccess> {
    FieldAccess::parse(entry.get("permission_type")?.as_str()?)
}

fn find<'a>(
    profiles: &'a mut [(Option<String>, Profile)],
    id: Option<&str>,
    name: Option<&str>,
) -> Option<&'a mut Profile> {
    let by_id = id.and_then(|id| profiles.iter().position(|(known, _)| known.as_deref() == Some(id)));
    let index = by_id.or_else(|| {
        let name = name?;
        profiles.iter().position(|(_, p)| p.name.eq_ignore_ascii_case(name))
    })?;
    Some(&mut profiles[index].1)
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

/// An `id`, written as a string or a number.
fn id_text(object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(api_name: &str, access: &[(&str, &str)]) -> Value {
        let profiles: Vec<Value> = access
            .iter()
            .map(|(name, kind)| json!({"name": name, "id": format!("id-{name}"), "permission_type": kind}))
            .collect();
        json!({"api_name": api_name, "profiles": profiles})
    }

    #[test]
    fn profiles_bring_module_permissions_and_field_access() {
        let list = json!({"profiles": [
            {"name": "Administrator", "id": "id-Administrator", "custom": false},
            {"name": "Standard", "id": "id-Standard", "custom": false},
            {"name": "Sales Rep", "id": "id-Sales Rep", "custom": true}
        ]});
        let mut details = BTreeMap::new();
        details.insert(
            "sales".to_string(),
            json!({"profiles": [{"id": "id-Sales Rep", "name": "Sales Rep", "permissions_details": [
                {"name": "Crm_Implied_Delete_Leads", "enabled": false, "module": "Leads"},
                {"name": "Crm_Implied_View_Sales_Orders", "enabled": false},
                {"name": "Crm_Implied_Create_Leads", "enabled": true},
                {"name": "Crm_Mass_Update", "enabled": false}
            ]}]}),
        );
        details.insert(
            "admin".to_string(),
            json!({"profiles": [{"id": "id-Administrator", "permissions_details": [
                {"name": "Crm_Implied_Create_Leads", "enabled": false}
            ]}]}),
        );
        let mut fields = BTreeMap::new();
        fields.insert(
            "Leads".to_string(),
            json!({"fields": [
                field("Email", &[("Administrator", "read_write"), ("Sales Rep", "read_only")]),
                field("Phone", &[("Administrator", "read_write"), ("Standard", "hidden")]),
                field("Full_Name", &[("Administrator", "read_only"), ("Sales Rep", "read_only")])
            ]}),
        );
        let profiles = mirror_profiles(&list, &details, &fields).unwrap();
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Administrator", "Standard", "Sales Rep"]);
        assert_eq!(profiles[0].perms, ProfilePerms::default(), "the Administrator keeps every permission");
        let sales = &profiles[2].perms;
        assert!(profiles[2].custom);
        assert!(!sales.allows("Leads", ModuleAction::Delete));
        assert!(sales.allows("Leads", ModuleAction::Create));
        assert!(!sales.allows("Sales_Orders", ModuleAction::View));
        assert_eq!(sales.field("Leads", "Email"), FieldAccess::ReadOnly);
        assert_eq!(sales.field("Leads", "Full_Name"), FieldAccess::ReadWrite, "read-only by nature");
        assert_eq!(profiles[1].perms.field("Leads", "Phone"), FieldAccess::Hidden);
    }

    #[test]
    fn the_example_export_brings_its_sales_rep_profile() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mirror");
        let read = |path: std::path::PathBuf| -> Value {
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        };
        let mut details = BTreeMap::new();
        details.insert("Sales_Rep".to_string(), read(dir.join("profiles/Sales_Rep.json")));
        let mut fields = BTreeMap::new();
        for module in ["Leads", "Contacts", "Accounts", "Deals", "Properties"] {
            fields.insert(module.to_string(), read(dir.join(format!("fields/{module}.json"))));
        }
        let profiles = mirror_profiles(&read(dir.join("profiles.json")), &details, &fields).unwrap();
        let sales = profiles.iter().find(|p| p.name == "Sales Rep").expect("Sales Rep");
        assert!(sales.custom);
        assert!(!sales.perms.allows("Leads", ModuleAction::Delete));
        assert!(!sales.perms.allows("Deals", ModuleAction::Create));
        assert!(sales.perms.allows("Deals", ModuleAction::View));
        assert_eq!(sales.perms.field("Leads", "Phone"), FieldAccess::ReadOnly);
        assert_eq!(sales.perms.field("Leads", "Annual_Revenue"), FieldAccess::Hidden);
        assert_eq!(sales.perms.field("Leads", "Full_Name"), FieldAccess::ReadWrite);
        let standard = profiles.iter().find(|p| p.name == "Standard").expect("Standard");
        assert_eq!(standard.perms, ProfilePerms::default());
    }

    #[test]
    fn a_profile_without_a_name_is_refused() {
        let error = mirror_profiles(&json!([{"id": "1"}]), &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(matches!(error, MirrorError::BadKey { key: "name", .. }), "{error}");
        let error = mirror_profiles(&json!({"roles": []}), &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(matches!(error, MirrorError::NotAList { .. }), "{error}");
    }
}
