//! Profiles and roles in the shapes of Zoho's Profiles and Roles APIs, and the permissions a
//! caller's profile gives it (see `bulkwrite_core::perms`).
//!
//! Roles are not stored: an org has Zoho's two default roles, `CEO` (the admin's) and `Manager`
//! reporting to it, plus any other role a user names, reporting to `CEO`.

use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::jobspec::{JobSpec, ID_FIELD};
use bulkwrite_core::perms::{
    permission_name, with_built_ins, FieldAccess, ModuleAction, Profile, ProfilePerms, ADMINISTRATOR,
};
use bulkwrite_core::schema::settings::derived_id;
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_store::{Org, Store, StoreResult, User};
use bulkwrite_wire::{ApiError, ApiVersion, ErrorCode, Operation};
use serde_json::{json, Value};

use super::{profile_id, role_id};

/// The roles every org has, in Zoho's order.
const BUILT_IN_ROLES: &[&str] = &["CEO", "Manager"];

/// Zoho's description of a built-in profile (`None` for a custom one).
fn description(profile: &Profile) -> Value {
    match (profile.custom, profile.name.as_str()) {
        (false, ADMINISTRATOR) => json!("This profile will have all the permissions. Users with Administrator profile will be able to view and manage all the data within the organization account by default."),
        (false, _) => json!("This profile will have all the permissions except administrative privileges."),
        (true, _) => Value::Null,
    }
}

/// The org's profiles: the built-in ones, the stored custom ones, then any other a user names.
pub async fn org_profiles(store: &dyn Store, org: OrgId, users: &[User]) -> StoreResult<Vec<Profile>> {
    let mut all = with_built_ins(store.stored_profiles(org).await?);
    for user in users {
        if !all.iter().any(|p| p.name.eq_ignore_ascii_case(&user.profile)) {
            all.push(Profile { name: user.profile.clone(), custom: true, perms: ProfilePerms::default() });
        }
    }
    Ok(all)
}

/// The permissions of the user's profile (every permission for the Administrator, or a user
/// the org no longer has).
pub async fn user_perms(store: &dyn Store, org: OrgId, user: UserId) -> StoreResult<ProfilePerms> {
    let Some(user) = store.get_user(org, user).await? else { return Ok(ProfilePerms::default()) };
    let all = with_built_ins(store.stored_profiles(org).await?);
    Ok(all.iter().find(|p| p.name.eq_ignore_ascii_case(&user.profile)).map(Profile::effective).unwrap_or_default())
}

/// Zoho's `NO_PERMISSION` (403) for `action` on `module`, naming the permission.
pub fn no_permission(action: ModuleAction, module: &str) -> ApiError {
    let verb = action.word().to_ascii_lowercase();
    ApiError::with_message(ErrorCode::NoPermission, format!("Permission denied to {verb}"))
        .detail("permissions", json!([permission_name(action, module)]))
}

/// Removes the fields the profile hides from `module`.
pub fn drop_hidden(module: &mut Module, perms: &ProfilePerms) {
    let name = module.api_name.clone();
    module.fields.retain(|field| perms.field(&name, &field.api_name) != FieldAccess::Hidden);
}

/// Removes the fields the profile hides from every module of `schema`.
pub fn drop_hidden_everywhere(schema: &mut OrgSchema, perms: &ProfilePerms) {
    for module in &mut schema.modules {
        drop_hidden(module, perms);
    }
}

/// Notes on each resource of a validated job the mapped fields the profile makes read-only or
/// hides (`ResourceSpec::denied_fields`): rows giving them a value fail with `INVALID_DATA`.
/// An update's `find_by` field only finds the record, so it is never denied.
pub fn mark_denied(spec: &mut JobSpec, perms: &ProfilePerms) {
    let update = spec.operation == Operation::Update;
    for resource in &mut spec.resources {
        let key = resource.find_by.clone().filter(|_| update);
        let names = resource
            .mappings
            .iter()
            .map(|m| m.api_name.as_str())
            .filter(|name| *name != ID_FIELD && key.as_deref().is_none_or(|key| !key.eq_ignore_ascii_case(name)));
        resource.denied_fields = perms.denied_of(&resource.module, names);
    }
}

/// The fields of `module` the profile makes read-only or hides (the records API answers a
/// record giving one a value with `INVALID_DATA`).
pub fn denied_fields(module: &Module, perms: &ProfilePerms) -> Vec<String> {
    perms.denied_of(&module.api_name, module.fields.iter().map(|f| f.api_name.as_str()))
}

/// One profile as the list answers it, in `version`'s shape (Zoho's samples): v2 names
/// custom profiles with `category`; v2.1 on with `custom`; v4 on adds `type`.
fn render_profile(org: &Org, profile: &Profile, version: ApiVersion) -> Value {
    let mut body = json!({
        "display_label": profile.name,
        "created_time": null,
        "modified_time": null,
        "name": profile.name,
        "modified_by": null,
        "description": description(profile),
        "id": profile_id(org, &profile.name),
        "created_by": null,
    });
    if version == ApiVersion::V2 {
        body["category"] = json!(profile.custom);
    } else {
        body["custom"] = json!(profile.custom);
    }
    if version >= ApiVersion::V4 {
        body["type"] = json!("normal_profile");
    }
    body
}

/// `GET settings/profiles`.
pub fn render_profiles(org: &Org, profiles: &[Profile], version: ApiVersion) -> Value {
    json!({ "profiles": profiles.iter().map(|p| render_profile(org, p, version)).collect::<Vec<_>>() })
}

/// `GET settings/profiles/{id}`: the profile with its module permissions (`permissions_details`,
/// one entry per module and action, `enabled` as the profile has it).
pub fn render_profile_details(org: &Org, schema: &OrgSchema, profile: &Profile, version: ApiVersion) -> Value {
    let perms = profile.effective();
    let mut details = Vec::new();
    for module in &schema.modules {
        for action in ModuleAction::ALL {
            let name = permission_name(action, &module.api_name);
            details.push(json!({
                "display_label": format!("{} {}", action.word(), module.api_name),
                "module": module.api_name,
                "name": name,
                "id": derived_id(&format!("permission:{}:{}", org.id, name)),
                "enabled": perms.allows(&module.api_name, action),
            }));
        }
    }
    let mut body = render_profile(org, profile, version);
    body["permissions_details"] = Value::Array(details);
    json!({ "profiles": [body] })
}

/// The org's roles: `CEO`, `Manager`, then any other a user names.
fn role_names(users: &[User]) -> Vec<String> {
    let mut names: Vec<String> = BUILT_IN_ROLES.iter().map(|r| r.to_string()).collect();
    for user in users {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&user.role)) {
            names.push(user.role.clone());
        }
    }
    names
}

/// Zoho's description of a default role (`None` for another).
fn role_description(name: &str) -> Value {
    match name {
        "CEO" => json!("Users with this role have access to the data owned by all other users."),
        "Manager" => json!("Users belonging to this role cannot see data for admin users."),
        _ => Value::Null,
    }
}

/// `GET settings/roles`: the top role reports to no one, every other one to it. In `version`'s
/// shape (Zoho's samples and key lists): `admin_user` in v2 and v2.1 only; from v6 on the
/// audit keys `created_by__s`, `modified_by__s`, `created_time__s`, `modified_time__s` (null:
/// the default roles were made by no one).
pub fn render_roles(org: &Org, users: &[User], version: ApiVersion) -> Value {
    let names = role_names(users);
    let top = &names[0];
    let roles: Vec<Value> = names
        .iter()
        .map(|name| {
            let is_top = name == top;
            let mut role = json!({
                "display_label": name,
                "forecast_manager": null,
                "share_with_peers": is_top,
                "name": name,
                "description": role_description(name),
                "id": role_id(org, name),
                "reporting_to": if is_top { Value::Null } else { json!({"name": top, "id": role_id(org, top)}) },
            });
            if version <= ApiVersion::V2_1 {
                role["admin_user"] = json!(is_top);
            }
            if version >= ApiVersion::V6 {
                for key in ["created_by__s", "modified_by__s", "created_time__s", "modified_time__s"] {
                    role[key] = Value::Null;
                }
            }
            role
        })
        .collect();
    json!({ "roles": roles })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{org, user};
    use super::*;

    #[test]
    fn roles_are_ceo_then_manager_reporting_to_it() {
        let org = org();
        let users = [user(1, "Administrator", true), user(2, "Standard", true)];
        let body = render_roles(&org, &users, ApiVersion::V2);
        let roles = body["roles"].as_array().unwrap();
        assert_eq!(roles.len(), 2);
        assert_eq!(roles[0]["name"], "CEO");
        assert_eq!(roles[0]["admin_user"], true);
        assert_eq!(roles[0]["reporting_to"], Value::Null);
        assert_eq!(roles[1]["reporting_to"]["id"], roles[0]["id"]);
        let v8 = render_roles(&org, &users, ApiVersion::V8);
        assert!(v8["roles"][0].get("admin_user").is_none(), "{v8}");
        assert_eq!(v8["roles"][0]["created_by__s"], Value::Null);
    }

    #[test]
    fn profiles_take_each_versions_shape() {
        let org = org();
        let profiles = [
            Profile::built_in(ADMINISTRATOR),
            Profile { name: "Sales".into(), custom: true, perms: ProfilePerms::default() },
        ];
        let v2 = render_profiles(&org, &profiles, ApiVersion::V2);
        assert_eq!((v2["profiles"][1]["category"].clone(), v2["profiles"][1].get("custom")), (json!(true), None));
        let v21 = render_profiles(&org, &profiles, ApiVersion::V2_1);
        assert_eq!((v21["profiles"][1]["custom"].clone(), v21["profiles"][1].get("type")), (json!(true), None));
        let v8 = render_profiles(&org, &profiles, ApiVersion::V8);
        assert_eq!(v8["profiles"][0]["type"], "normal_profile");
        assert!(v8["profiles"][0].get("category").is_none());
    }

    #[test]
    fn a_refusal_names_zohos_permission() {
        let error = no_permission(ModuleAction::Create, "Leads");
        assert_eq!(error.code, ErrorCode::NoPermission);
        assert_eq!(error.message, "Permission denied to create");
        assert_eq!(error.details["permissions"], json!(["Crm_Implied_Create_Leads"]));
    }
}
