//! Profiles and their permissions, set by `bulkwrite admin profiles …` (see
//! `bulkwrite_core::perms`): create a custom profile, take module permissions from it or give
//! them back, make fields read-only or hidden, and give a user a profile.

use bulkwrite_core::ids::OrgId;
use bulkwrite_core::perms::{
    is_built_in, with_built_ins, FieldAccess, ModuleAction, Profile, ProfilePerms, ADMINISTRATOR,
};
use serde_json::{json, Value};

use super::{Admin, AdminError};

impl Admin {
    /// The org's profiles with what each is denied.
    pub async fn profiles(&self, org: OrgId) -> Result<Value, AdminError> {
        let all = with_built_ins(self.store.stored_profiles(org).await?);
        Ok(json!(all
            .iter()
            .map(|p| json!({"name": p.name, "custom": p.custom, "denied": serde_json::to_value(&p.perms).unwrap_or_default()}))
            .collect::<Vec<_>>()))
    }

    /// A custom profile named `name`, starting with `from`'s permissions (every permission when
    /// `None`).
    pub async fn create_profile(&self, org: OrgId, name: &str, from: Option<&str>) -> Result<Value, AdminError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 50 {
            return Err(AdminError::Invalid("a profile name is 1 to 50 characters".into()));
        }
        let all = with_built_ins(self.store.stored_profiles(org).await?);
        if all.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(AdminError::Conflict(format!("profile '{name}' exists already")));
        }
        let perms = match from {
            None => ProfilePerms::default(),
            Some(source) => find(&all, source)?.effective(),
        };
        self.store.put_profile(org, Profile { name: name.to_string(), custom: true, perms }).await?;
        self.profiles(org).await
    }

    /// Allows or denies `actions` on `module` to the profile.
    pub async fn set_module_access(
        &self,
        org: OrgId,
        profile: &str,
        module: &str,
        actions: &[ModuleAction],
        allow: bool,
    ) -> Result<Value, AdminError> {
        let schema = self.store.org_schema(org).await?;
        let module = schema.module(module).ok_or_else(|| AdminError::NotFound(format!("module {module}")))?;
        let mut found = self.editable(org, profile).await?;
        let mut access = found.perms.module(&module.api_name);
        for action in actions {
            match action {
                ModuleAction::View => access.view = allow,
                ModuleAction::Create => access.create = allow,
                ModuleAction::Edit => access.edit = allow,
                ModuleAction::Delete => access.delete = allow,
            }
        }
        found.perms.set_module(&module.api_name, access);
        self.store.put_profile(org, found).await?;
        self.profiles(org).await
    }

    /// Sets the profile's access to a field.
    pub async fn set_field_access(
        &self,
        org: OrgId,
        profile: &str,
        module: &str,
        field: &str,
        access: FieldAccess,
    ) -> Result<Value, AdminError> {
        let schema = self.store.org_schema(org).await?;
        let module = schema.module(module).ok_or_else(|| AdminError::NotFound(format!("module {module}")))?;
        let field = module
            .fields
            .iter()
            .find(|f| f.api_name.eq_ignore_ascii_case(field))
            .ok_or_else(|| AdminError::NotFound(format!("field {}.{field}", module.api_name)))?;
        let mut found = self.editable(org, profile).await?;
        found.perms.set_field(&module.api_name, &field.api_name, access);
        self.store.put_profile(org, found).await?;
        self.profiles(org).await
    }

    /// Gives the user (id or email) the profile.
    pub async fn assign_profile(&self, org: OrgId, user: &str, profile: &str) -> Result<Value, AdminError> {
        let all = with_built_ins(self.store.stored_profiles(org).await?);
        let name = find(&all, profile)?.name.clone();
        let found = self.user_or_first(org, Some(user)).await?;
        self.store.set_user_profile(org, found.id, &name).await?;
        Ok(json!({"user_id": found.id.to_string(), "email": found.email, "profile": name}))
    }

    /// Stores a mirrored org's profiles (`bulkwrite_core::perms::mirror_profiles`): each
    /// replaces the profile of its name, or is added; profiles the org has and the mirror does
    /// not name are kept.
    pub async fn put_profiles(&self, org: OrgId, profiles: Vec<Profile>) -> Result<Value, AdminError> {
        for profile in profiles {
            let custom = profile.custom && !is_built_in(&profile.name);
            self.store.put_profile(org, Profile { custom, ..profile }).await?;
        }
        self.profiles(org).await
    }

    /// The profile to change: any but the Administrator.
    async fn editable(&self, org: OrgId, name: &str) -> Result<Profile, AdminError> {
        if name.eq_ignore_ascii_case(ADMINISTRATOR) {
            return Err(AdminError::Invalid("the Administrator profile has every permission".into()));
        }
        let all = with_built_ins(self.store.stored_profiles(org).await?);
        let found = find(&all, name)?.clone();
        Ok(Profile { custom: !is_built_in(&found.name), ..found })
    }
}

fn find<'a>(all: &'a [Profile], name: &str) -> Result<&'a Profile, AdminError> {
    all.iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| AdminError::NotFound(format!("profile {name}")))
}
