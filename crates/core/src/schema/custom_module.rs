//! Custom modules declared in configuration or through the admin API: regular record modules
//! and subform modules whose records hang under a parent record.

use serde::{Deserialize, Serialize};

use super::builder::{audit_fields, f, system_fields_head, system_fields_tail};
use super::standard::OTHER_STANDARD_MODULES;
use super::{is_valid_api_name, DataType, Field, Layout, Module, OrgSchema, SchemaError};

/// `generated_type` of a regular custom module.
pub const GENERATED_TYPE_CUSTOM: &str = "custom";
/// `generated_type` of a subform module.
pub const GENERATED_TYPE_SUBFORM: &str = "subform";
/// `generated_type` of a linking module (the records behind multi-select and multi-user lookups).
pub const GENERATED_TYPE_LINKING: &str = "linking_module";
/// The users of the org, as the second module of a multi-user lookup's linking module.
const USERS: &str = "Users";

/// A custom module declared in configuration or through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomModuleSpec {
    /// The module's API name, e.g. `Projects`; must pass [`is_valid_api_name`].
    pub api_name: String,
    /// Defaults to the API name with `_` shown as spaces.
    #[serde(default)]
    pub singular_label: Option<String>,
    /// Defaults to the API name with `_` shown as spaces.
    #[serde(default)]
    pub plural_label: Option<String>,
    /// Makes this module a subform of that module: its records hang under a parent record.
    #[serde(default)]
    pub parent_module: Option<String>,
    /// Makes this module the linking module of two modules (the records behind a multi-select
    /// lookup of the first module to the second): a mandatory lookup named after each, and on
    /// the first module a `multiselectlookup` field named like this module. `Users` as the second
    /// makes a multi-user lookup (a user lookup `Users`, a `multiuserlookup` field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linking_modules: Option<Vec<String>>,
}

impl Module {
    /// Whether the module was declared as a custom or subform module (not a standard one).
    pub fn is_custom(&self) -> bool {
        self.generated_type == GENERATED_TYPE_CUSTOM || self.generated_type == GENERATED_TYPE_SUBFORM
    }

    /// Whether the module is a subform module (its records need a `Parent_Id`).
    pub fn is_subform(&self) -> bool {
        self.generated_type == GENERATED_TYPE_SUBFORM
    }
}

impl OrgSchema {
    /// Adds the module (or leaves an existing custom module of that name as it is); `next_id` yields fresh 19-digit ids.
    ///
    /// Ids are drawn in this order: the module, its fields in order, its layout, then (for a
    /// subform) the parent's new subform field. Nothing is changed when an error is returned.
    ///
    /// Errors: [`SchemaError::BadApiName`] for an invalid name, [`SchemaError::StandardModule`]
    /// for the name of a standard module, [`SchemaError::UnknownModule`] for a missing parent,
    /// [`SchemaError::InvalidParentModule`] for a parent that cannot hold subforms (a subform
    /// module or a non-record module), and [`SchemaError::FieldConflict`] when the parent already
    /// has a field named like the subform module.
    pub fn apply_custom_module(
        &mut self,
        spec: &CustomModuleSpec,
        next_id: &mut dyn FnMut() -> String,
    ) -> Result<(), SchemaError> {
        let name = spec.api_name.as_str();
        if !is_valid_api_name(name) {
            return Err(SchemaError::BadApiName(name.to_string()));
        }
        if let Some(existing) = self.module(name) {
            return if existing.is_custom() { Ok(()) } else { Err(SchemaError::StandardModule(name.to_string())) };
        }
        if OTHER_STANDARD_MODULES.iter().any(|m| m.eq_ignore_ascii_case(name)) {
            return Err(SchemaError::StandardModule(name.to_string()));
        }
        let default_label = name.replace('_', " ");
        let singular = spec.singular_label.clone().unwrap_or_else(|| default_label.clone());
        let plural = spec.plural_label.clone().unwrap_or(default_label);
        if let Some(linked) = &spec.linking_modules {
            return self.add_linking_module(name, singular, plural, linked, next_id);
        }
        let Some(parent_name) = spec.parent_module.as_deref() else {
            let module = regular_module(name, singular, plural, next_id);
            self.modules.push(module);
            return Ok(());
        };
        let parent = self.module(parent_name).ok_or_else(|| SchemaError::UnknownModule(parent_name.to_string()))?;
        if parent.is_subform() || !parent.bulk_write {
            return Err(SchemaError::InvalidParentModule(parent.api_name.clone()));
        }
        if parent.field(name).is_some() {
            return Err(SchemaError::FieldConflict { module: parent.api_name.clone(), field: name.to_string() });
        }
        let parent_api_name = parent.api_name.clone();
        let module = subform_module(name, &parent_api_name, singular, plural, next_id);
        let mut subform_field = f(name, &module.plural_label, DataType::Subform).lookup(name).0;
        subform_field.custom_field = true;
        subform_field.id = next_id();
        self.modules.push(module);
        if let Some(parent) = self.modules.iter_mut().find(|m| m.api_name == parent_api_name) {
            parent.fields.push(subform_field);
        }
        Ok(())
    }
}

impl OrgSchema {
    /// The linking module behind a multi-select lookup of `module` to `connected`, with its
    /// lookup field that points at `module` (the link of its records to a `module` record).
    pub fn linking_module(&self, module: &str, connected: &str) -> Option<(&Module, &Field)> {
        let lookup_to = |m: &'_ Module, target: &str| {
            m.fields.iter().any(|f| {
                matches!(f.data_type, DataType::Lookup | DataType::UserLookup)
                    && f.lookup_module.as_deref() == Some(target)
            })
        };
        self.modules.iter().filter(|m| m.generated_type == GENERATED_TYPE_LINKING && lookup_to(m, connected)).find_map(
            |m| {
                let link = m.fields.iter().find(|f| {
                    f.data_type == DataType::Lookup
                        && f.lookup_module.as_deref() == Some(module)
                        && (module != connected || f.api_name != connected)
                })?;
                Some((m, link))
            },
        )
    }

    fn add_linking_module(
        &mut self,
        name: &str,
        singular: String,
        plural: String,
        linked: &[String],
        next_id: &mut dyn FnMut() -> String,
    ) -> Result<(), SchemaError> {
        let [first, second] = linked else {
            return Err(SchemaError::InvalidParentModule(linked.join(",")));
        };
        // `Users` as the second module makes a multi-user lookup: a user lookup `Users`.
        let users = second.eq_ignore_ascii_case(USERS);
        let mut names = Vec::with_capacity(2);
        for linked_name in [first, second] {
            if users && linked_name == second {
                names.push(USERS.to_string());
                continue;
            }
            let module = self.module(linked_name).ok_or_else(|| SchemaError::UnknownModule(linked_name.clone()))?;
            if module.is_subform() || !module.bulk_write {
                return Err(SchemaError::InvalidParentModule(module.api_name.clone()));
            }
            names.push(module.api_name.clone());
        }
        if names[0] == names[1] || self.module(&names[0]).is_some_and(|m| m.field(name).is_some()) {
            return Err(SchemaError::FieldConflict { module: names[0].clone(), field: name.to_string() });
        }
        let mut fields: Vec<Field> = names
            .iter()
            .map(|linked| {
                let label = linked.replace('_', " ");
                if users && linked == USERS {
                    f(linked, &label, DataType::UserLookup).lookup(USERS).mandatory().0
                } else {
                    f(linked, &label, DataType::Lookup).lookup(linked).mandatory().0
                }
            })
            .collect();
        fields.extend(audit_fields());
        let module = assemble(name, GENERATED_TYPE_LINKING, &names[0], singular, plural, fields, next_id);
        let data_type = if users { DataType::MultiUserLookup } else { DataType::MultiSelectLookup };
        let mut field = f(name, &module.plural_label, data_type).lookup(&names[1]).0;
        field.custom_field = true;
        field.id = next_id();
        self.modules.push(module);
        if let Some(first) = self.modules.iter_mut().find(|m| m.api_name == names[0]) {
            first.fields.push(field);
        }
        Ok(())
    }
}

/// A regular custom module: Owner, Name (the duplicate check), emails, the system tail.
fn regular_module(name: &str, singular: String, plural: String, next_id: &mut dyn FnMut() -> String) -> Module {
    let mut fields = system_fields_head();
    fields.extend([
        f("Name", &format!("{singular} Name"), DataType::Text).len(120).mandatory().unique().0,
        f("Email", "Email", DataType::Email).0,
        f("Secondary_Email", "Secondary Email", DataType::Email).0,
        f("Email_Opt_Out", "Email Opt Out", DataType::Boolean).0,
    ]);
    fields.extend(system_fields_tail());
    assemble(name, GENERATED_TYPE_CUSTOM, "Name", singular, plural, fields, next_id)
}

/// A subform module: a mandatory `Parent_Id` lookup to the parent, then the audit fields.
fn subform_module(
    name: &str,
    parent: &str,
    singular: String,
    plural: String,
    next_id: &mut dyn FnMut() -> String,
) -> Module {
    let mut fields = vec![f("Parent_Id", "Parent Id", DataType::Lookup).lookup(parent).mandatory().0];
    fields.extend(audit_fields());
    assemble(name, GENERATED_TYPE_SUBFORM, "Parent_Id", singular, plural, fields, next_id)
}

fn assemble(
    name: &str,
    generated_type: &str,
    display_field: &str,
    singular_label: String,
    plural_label: String,
    mut fields: Vec<Field>,
    next_id: &mut dyn FnMut() -> String,
) -> Module {
    let id = next_id();
    for field in &mut fields {
        field.id = next_id();
    }
    let layout = Layout { id: next_id(), name: "Standard".to_string(), mandatory_fields: Vec::new() };
    Module {
        id,
        api_name: name.to_string(),
        module_name: name.to_string(),
        singular_label,
        plural_label,
        generated_type: generated_type.to_string(),
        bulk_write: true,
        display_field: display_field.to_string(),
        fields,
        layouts: vec![layout],
    }
}
