//! Profiles and roles in the shapes of Zoho's Profiles and Roles APIs, and the permissions a
//! caller's profile gives it (see `bulkwrite_core::perms`).
//!
//! Roles are not stored: an org has Zoho's two default roles, `CEO` (the admin's) and `Manager`
//! reporting to it, plus any other role a user names, reporting to `CEO`.

use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::perms::{
    permission_name, with_built_ins, FieldAccess, ModuleAction, Profile, ProfilePerms, ADMINISTRATOR,
};
use bulkwrite_core::schema::settings::derived_id;
use bulkwrite_core::schema::{Module, OrgSchema};
use bulkwrite_store::{Org, Store, StoreResult, User};
use bulkwrite_wire::{ApiError, ErrorCode};
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

/// The schema as the profile sees it for writing: hidden fields gone, read-only ones read only
/// (so mapping one is refused as mapping a system read-only field is).
pub fn restrict_schema(schema: &mut OrgSchema, perms: &ProfilePerms) {
    drop_hidden_everywhere(schema, perms);
    for module in &mut schema.modules {
        let name = module.api_name.clone();
        for field in &mut module.fields {
            if perms.field(&name, &field.api_name) == FieldAccess::ReadOnly {
                field.read_only = true;
            }
        }
    }
}

/// One profile as the list answers it.
fn render_profile(org: &Org, profile: &Profile) -> Value {
    json!({
        "created_time": null,
        "modified_time": null,
        "name": profile.name,
        "modified_by": null,
        "description": description(profile),
        "id": profile_id(org, &profile.name),
        "category": false,
        "created_by": null,
        "display_label": profile.name,
        "custom": profile.custom,
    })
}

/// `GET settings/profiles`.
pub fn render_profiles(org: &Org, profiles: &[Profile]) -> Value {
    json!({ "profiles": profiles.iter().map(|p| render_profile(org, p)).collect::<Vec<_>>() })
}

/// `GET settings/profiles/{id}`: the profile with its module permissions (`permissions_details`,
/// one entry per module and action, `enabled` as the profile has it).
pub fn render_profile_details(org: &Org, schema: &OrgSchema, profile: &Profile) -> Value {
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
    let mut body = render_profile(org, profile);
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

/// `GET settings/roles`: the top role reports to no one, every other one to it.
pub fn render_roles(org: &Org, users: &[User]) -> Value {
    let names = role_names(users);
    let top = &names[0];
    let roles: Vec<Value> = names
        .iter()
        .map(|name| {
            let is_top = name == top;
            json!({
                "display_label": name,
                "forecast_manager": null,
                "share_with_peers": is_top,
                "name": name,
                "description": if is_top { json!("Users belonging to this role can see data of all users.") } else { Value::Null },
                "id": role_id(org, name),
                "reporting_to": if is_top { Value::Null } else { json!({"name": top, "id": role_id(org, top)}) },
                "admin_user": is_top,
            })
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
        let body = render_roles(&org, &[user(1, "Administrator", true), user(2, "Standard", true)]);
        let roles = body["roles"].as_array().unwrap();
        assert_eq!(roles.len(), 2);
        assert_eq!(roles[0]["name"], "CEO");
        assert_eq!(roles[0]["reporting_to"], Value::Null);
        assert_eq!(roles[1]["reporting_to"]["id"], roles[0]["id"]);
    }

    #[test]
    fn a_refusal_names_zohos_permission() {
        let error = no_permission(ModuleAction::Create, "Leads");
        assert_eq!(error.code, ErrorCode::NoPermission);
        assert_eq!(error.message, "Permission denied to create");
        assert_eq!(error.details["permissions"], json!(["Crm_Implied_Create_Leads"]));
    }
}
