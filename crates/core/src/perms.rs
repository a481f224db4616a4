//! Profiles and their permissions, as Zoho's profiles have them: per module view, create, edit
//! and delete; per field read-only or hidden. Every org has the built-in `Administrator` (every
//! permission, always) and `Standard` profiles; custom profiles start with every permission too,
//! and an admin takes permissions away.
//!
//! A profile's permissions are stored as [`ProfilePerms`] (JSON): only what differs from "every
//! permission" is recorded, so a module or field a profile never mentions is fully allowed (a
//! module added later is allowed until someone restricts it, as in Zoho).

mod mirror;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use mirror::mirror_profiles;

/// The built-in profile with every permission; it cannot be restricted.
pub const ADMINISTRATOR: &str = "Administrator";
/// The built-in profile new users get.
pub const STANDARD: &str = "Standard";
/// The built-in profiles, in Zoho's order.
pub const BUILT_IN: &[&str] = &[ADMINISTRATOR, STANDARD];

/// What a bulk write or records call asks of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleAction {
    /// Reading records.
    View,
    /// Creating records (insert).
    Create,
    /// Editing records (update).
    Edit,
    /// Deleting records.
    Delete,
}

impl ModuleAction {
    /// The word of Zoho's permission names (`Crm_Implied_Create_Leads`).
    pub fn word(self) -> &'static str {
        match self {
            ModuleAction::View => "View",
            ModuleAction::Create => "Create",
            ModuleAction::Edit => "Edit",
            ModuleAction::Delete => "Delete",
        }
    }

    /// Parses `view`, `create`, `edit` or `delete` (any case).
    pub fn parse(word: &str) -> Option<ModuleAction> {
        ModuleAction::ALL.into_iter().find(|a| a.word().eq_ignore_ascii_case(word.trim()))
    }

    /// Every action, in Zoho's order.
    pub const ALL: [ModuleAction; 4] =
        [ModuleAction::View, ModuleAction::Create, ModuleAction::Edit, ModuleAction::Delete];
}

/// Zoho's name of a module permission: `Crm_Implied_<Action>_<Module>`.
pub fn permission_name(action: ModuleAction, module: &str) -> String {
    format!("Crm_Implied_{}_{}", action.word(), module)
}

/// A profile's permissions on one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleAccess {
    /// May read records.
    pub view: bool,
    /// May create records.
    pub create: bool,
    /// May edit records.
    pub edit: bool,
    /// May delete records.
    pub delete: bool,
}

impl ModuleAccess {
    /// Every permission.
    pub const FULL: ModuleAccess = ModuleAccess { view: true, create: true, edit: true, delete: true };

    /// Whether `action` is allowed.
    pub fn allows(&self, action: ModuleAction) -> bool {
        match action {
            ModuleAction::View => self.view,
            ModuleAction::Create => self.create,
            ModuleAction::Edit => self.edit,
            ModuleAction::Delete => self.delete,
        }
    }
}

/// A profile's access to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccess {
    /// Read and written.
    ReadWrite,
    /// Read, never written.
    ReadOnly,
    /// Neither read nor written: absent from reads and field metadata.
    Hidden,
}

impl FieldAccess {
    /// Parses `read_write`, `read_only` or `hidden`.
    pub fn parse(word: &str) -> Option<FieldAccess> {
        match word {
            "read_write" => Some(FieldAccess::ReadWrite),
            "read_only" => Some(FieldAccess::ReadOnly),
            "hidden" => Some(FieldAccess::Hidden),
            _ => None,
        }
    }
}

/// What a profile is denied; anything not listed is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePerms {
    /// Per module API name: its permissions, when not every one.
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleAccess>,
    /// Per module API name, per field API name: its access, when not read-write.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, FieldAccess>>,
}

impl ProfilePerms {
    /// The permissions on `module` (API names compare case-insensitively).
    pub fn module(&self, module: &str) -> ModuleAccess {
        self.modules
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(module))
            .map(|(_, access)| *access)
            .unwrap_or(ModuleAccess::FULL)
    }

    /// Whether `action` on `module` is allowed.
    pub fn allows(&self, module: &str, action: ModuleAction) -> bool {
        self.module(module).allows(action)
    }

    /// The access to `field` of `module`.
    pub fn field(&self, module: &str, field: &str) -> FieldAccess {
        self.fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(module))
            .and_then(|(_, fields)| fields.iter().find(|(name, _)| name.eq_ignore_ascii_case(field)))
            .map(|(_, access)| *access)
            .unwrap_or(FieldAccess::ReadWrite)
    }

    /// Whether the profile may write `field` of `module` (neither read-only nor hidden to it).
    pub fn may_edit(&self, module: &str, field: &str) -> bool {
        self.field(module, field) == FieldAccess::ReadWrite
    }

    /// The fields of `names` (API names) the profile may not write in `module`, in order.
    pub fn denied_of<'a>(&self, module: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        names.into_iter().filter(|name| !self.may_edit(module, name)).map(str::to_string).collect()
    }

    /// Sets the permissions on `module` (every permission removes the entry).
    pub fn set_module(&mut self, module: &str, access: ModuleAccess) {
        self.modules.retain(|name, _| !name.eq_ignore_ascii_case(module));
        if access != ModuleAccess::FULL {
            self.modules.insert(module.to_string(), access);
        }
    }

    /// Sets the access to `field` of `module` (read-write removes the entry).
    pub fn set_field(&mut self, module: &str, field: &str, access: FieldAccess) {
        let key = self.fields.keys().find(|name| name.eq_ignore_ascii_case(module)).cloned();
        let fields = self.fields.entry(key.unwrap_or_else(|| module.to_string())).or_default();
        fields.retain(|name, _| !name.eq_ignore_ascii_case(field));
        if access != FieldAccess::ReadWrite {
            fields.insert(field.to_string(), access);
        }
        self.fields.retain(|_, fields| !fields.is_empty());
    }
}

/// A profile of an org: its name and what it is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name, unique in the org (case-insensitive).
    pub name: String,
    /// Whether an admin created it (`false` for the built-in ones).
    pub custom: bool,
    /// What it is denied ([`ADMINISTRATOR`] is denied nothing, whatever is stored).
    pub perms: ProfilePerms,
}

impl Profile {
    /// A built-in profile with every permission.
    pub fn built_in(name: &str) -> Profile {
        Profile { name: name.to_string(), custom: false, perms: ProfilePerms::default() }
    }

    /// The permissions that apply: none are ever taken from the Administrator.
    pub fn effective(&self) -> ProfilePerms {
        if self.name.eq_ignore_ascii_case(ADMINISTRATOR) {
            ProfilePerms::default()
        } else {
            self.perms.clone()
        }
    }
}

/// Whether `name` is a built-in profile's.
pub fn is_built_in(name: &str) -> bool {
    BUILT_IN.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// The org's profiles: the built-in ones (with what is stored for them), then the stored custom
/// ones in the order given.
pub fn with_built_ins(stored: Vec<Profile>) -> Vec<Profile> {
    let mut all: Vec<Profile> = BUILT_IN
        .iter()
        .map(|name| {
            stored
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
                .map(|p| Profile { name: name.to_string(), custom: false, perms: p.perms.clone() })
                .unwrap_or_else(|| Profile::built_in(name))
        })
        .collect();
    all.extend(stored.into_iter().filter(|p| !is_built_in(&p.name)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_stored_allows_everything() {
        let perms = ProfilePerms::default();
        assert!(ModuleAction::ALL.iter().all(|a| perms.allows("Leads", *a)));
        assert_eq!(perms.field("Leads", "Email"), FieldAccess::ReadWrite);
    }

    #[test]
    fn restrictions_are_kept_and_cleared_case_insensitively() {
        let mut perms = ProfilePerms::default();
        perms.set_module("Leads", ModuleAccess { create: false, ..ModuleAccess::FULL });
        perms.set_field("Leads", "Email", FieldAccess::ReadOnly);
        perms.set_field("Leads", "Phone", FieldAccess::Hidden);
        assert_eq!(perms.denied_of("Leads", ["Last_Name", "email", "Phone"]), ["email", "Phone"]);
        perms.set_field("Leads", "Phone", FieldAccess::ReadWrite);
        assert!(!perms.allows("leads", ModuleAction::Create));
        assert!(perms.allows("Leads", ModuleAction::Edit));
        assert_eq!(perms.field("LEADS", "email"), FieldAccess::ReadOnly);
        let json = serde_json::to_string(&perms).unwrap();
        assert_eq!(serde_json::from_str::<ProfilePerms>(&json).unwrap(), perms);
        perms.set_module("leads", ModuleAccess::FULL);
        perms.set_field("leads", "EMAIL", FieldAccess::ReadWrite);
        assert_eq!(perms, ProfilePerms::default());
    }

    #[test]
    fn the_administrator_is_never_restricted() {
        let mut perms = ProfilePerms::default();
        perms.set_module("Leads", ModuleAccess { view: false, create: false, edit: false, delete: false });
        let stored = vec![
            Profile { name: "administrator".into(), custom: false, perms: perms.clone() },
            Profile { name: "Sales".into(), custom: true, perms },
        ];
        let all = with_built_ins(stored);
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Administrator", "Standard", "Sales"]);
        assert!(all[0].effective().allows("Leads", ModuleAction::Create));
        assert!(!all[2].effective().allows("Leads", ModuleAction::Create));
    }
}
