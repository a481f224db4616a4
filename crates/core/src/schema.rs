//! The org schema: modules, their fields (type, length, unique, mandatory) and layouts.
//!
//! The schema is data, not code: the built-in standard modules are one default ([`standard`]),
//! custom fields and modules come from configuration or the admin API, and an org's schema is
//! stored as one document per org, so custom fields need no migration.

mod builder;
mod custom_module;
mod facts;
pub mod settings;
pub mod standard;
#[cfg(test)]
mod tests;

pub use custom_module::{CustomModuleSpec, GENERATED_TYPE_CUSTOM, GENERATED_TYPE_LINKING, GENERATED_TYPE_SUBFORM};
pub use facts::{Converter, Relation, TypeFacts, DEFAULT_DECIMAL_PLACES};

use serde::{Deserialize, Serialize};

/// Zoho's `data_type` values, as its fields metadata names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Single-line text.
    Text,
    /// Multi-line text.
    Textarea,
    /// An email address.
    Email,
    /// A phone number (free text, digits and the usual punctuation).
    Phone,
    /// A URL.
    Website,
    /// One value of a list.
    Picklist,
    /// Several values of a list, `;`-separated in a CSV cell.
    #[serde(rename = "multiselectpicklist")]
    MultiSelectPicklist,
    /// A calendar date.
    Date,
    /// A date and time with a zone offset.
    #[serde(rename = "datetime")]
    DateTime,
    /// A whole number (32-bit).
    Integer,
    /// A whole number (64-bit).
    #[serde(rename = "bigint")]
    BigInt,
    /// A decimal number.
    Double,
    /// An amount in the org's currency.
    Currency,
    /// A percentage.
    Percent,
    /// `true` or `false`.
    Boolean,
    /// A reference to a record of another module.
    Lookup,
    /// The record's owner, a user.
    #[serde(rename = "ownerlookup")]
    OwnerLookup,
    /// A reference to a user.
    #[serde(rename = "userlookup")]
    UserLookup,
    /// The record's layout.
    Layout,
    /// A number Zoho assigns; never written by imports.
    #[serde(rename = "autonumber")]
    AutoNumber,
    /// A value Zoho computes from other fields; never written by imports.
    Formula,
    /// A value Zoho aggregates from related records; never written by imports.
    RollupSummary,
    /// Rows of a subform module held by the record.
    Subform,
    /// References to several records of another module (through a linking module).
    #[serde(rename = "multiselectlookup")]
    MultiSelectLookup,
    /// References to several users.
    #[serde(rename = "multiuserlookup")]
    MultiUserLookup,
    /// An attached file; not importable.
    #[serde(rename = "fileupload")]
    FileUpload,
    /// An attached image; not importable.
    #[serde(rename = "imageupload")]
    ImageUpload,
    /// The record's picture; not importable.
    #[serde(rename = "profileimage")]
    ProfileImage,
    /// Any other Zoho type (mirrored orgs may carry types we do not import).
    #[serde(other)]
    Unsupported,
}

/// One field of a module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Zoho's id of the field, a 19-digit string.
    pub id: String,
    /// The name the API uses (`Last_Name`).
    pub api_name: String,
    /// The label shown to people (`Last Name`).
    pub field_label: String,
    /// The field's type, which decides how cells convert.
    pub data_type: DataType,
    /// Maximum length in characters (text-like) or digits (numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Digits after the decimal point (decimal, currency, percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_place: Option<u32>,
    /// Required on every record of the module, whatever the layout.
    #[serde(default)]
    pub system_mandatory: bool,
    /// A duplicate-check field: no two records of the module share a value.
    #[serde(default)]
    pub unique: bool,
    /// Values differ by case for the duplicate check only when set.
    #[serde(default)]
    pub unique_case_sensitive: bool,
    /// Not writable through the API (system or computed fields).
    #[serde(default)]
    pub read_only: bool,
    /// Whether the org added the field (as opposed to a standard one).
    #[serde(default)]
    pub custom_field: bool,
    /// Picklist and multi-select picklist values, in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pick_list_values: Vec<String>,
    /// A restricted picklist refuses new values instead of adding them.
    #[serde(default)]
    pub restricted_picklist: bool,
    /// The related module of a lookup field; for a `subform` field, the subform module whose
    /// records it holds. `None` on a lookup means any module (`Parent_Id` of Notes, Attachments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_module: Option<String>,
}

impl Field {
    /// Whether a mapping may write this field.
    pub fn is_writable(&self) -> bool {
        !self.read_only && self.data_type.is_importable()
    }
}

/// A layout: its name and the fields it makes mandatory beyond the system-mandatory ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Zoho's id of the layout.
    pub id: String,
    /// The layout's name (`Standard`).
    pub name: String,
    /// API names of the fields this layout makes mandatory.
    #[serde(default)]
    pub mandatory_fields: Vec<String>,
}

/// A module of the org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// Zoho's id of the module.
    pub id: String,
    /// The name the API uses (`Leads`).
    pub api_name: String,
    /// The module's name as Zoho lists it.
    pub module_name: String,
    /// The label of one record (`Lead`).
    pub singular_label: String,
    /// The label of several records (`Leads`).
    pub plural_label: String,
    /// `default` for standard modules, `custom` for custom ones, `subform` for subform modules.
    pub generated_type: String,
    /// Whether bulk write may target the module.
    pub bulk_write: bool,
    /// The field whose value names a record (lookup display and `find_by` by name).
    pub display_field: String,
    /// Every field of the module.
    pub fields: Vec<Field>,
    /// Every layout, the default one first.
    pub layouts: Vec<Layout>,
}

impl Module {
    /// A field by API name (exact, then case-insensitive).
    pub fn field(&self, api_name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.api_name == api_name)
            .or_else(|| self.fields.iter().find(|f| f.api_name.eq_ignore_ascii_case(api_name)))
    }

    /// A field by API name, exact match only, for editing.
    pub fn field_mut(&mut self, api_name: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.api_name == api_name)
    }

    /// The default layout (the first one, named `Standard` for built-in modules).
    pub fn default_layout(&self) -> Option<&Layout> {
        self.layouts.first()
    }

    /// A layout by id or by name (case-insensitive).
    pub fn layout(&self, id_or_name: &str) -> Option<&Layout> {
        self.layouts
            .iter()
            .find(|l| l.id == id_or_name)
            .or_else(|| self.layouts.iter().find(|l| l.name.eq_ignore_ascii_case(id_or_name)))
    }

    /// Fields every record needs whatever its layout.
    pub fn system_mandatory_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.system_mandatory)
    }

    /// Duplicate-check fields.
    pub fn unique_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.unique)
    }
}

/// All modules of one org.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OrgSchema {
    /// Every module of the org.
    pub modules: Vec<Module>,
}

impl OrgSchema {
    /// A module by API name (exact, then case-insensitive).
    pub fn module(&self, api_name: &str) -> Option<&Module> {
        self.modules
            .iter()
            .find(|m| m.api_name == api_name)
            .or_else(|| self.modules.iter().find(|m| m.api_name.eq_ignore_ascii_case(api_name)))
    }

    /// A module by API name (case-insensitive), for editing.
    pub fn module_mut(&mut self, api_name: &str) -> Option<&mut Module> {
        self.modules.iter_mut().find(|m| m.api_name.eq_ignore_ascii_case(api_name))
    }
}

/// A custom field declared in configuration or through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldSpec {
    /// The module the field is added to.
    pub module: String,
    /// The field's API name (letters, digits, `_`, starting with a letter).
    pub api_name: String,
    /// The label; the API name with `_` as spaces when absent.
    #[serde(default)]
    pub field_label: Option<String>,
    /// The field's type.
    pub data_type: DataType,
    /// Maximum length; the type's default when absent.
    #[serde(default)]
    pub length: Option<u32>,
    /// Digits after the decimal point; the type's default when absent.
    #[serde(default)]
    pub decimal_place: Option<u32>,
    /// Whether the field is a duplicate check.
    #[serde(default)]
    pub unique: bool,
    /// Whether the field is system-mandatory.
    #[serde(default)]
    pub mandatory: bool,
    /// Picklist values, in display order.
    #[serde(default)]
    pub pick_list_values: Vec<String>,
    /// Whether the picklist refuses values it does not list.
    #[serde(default)]
    pub restricted_picklist: bool,
    /// The related module of a lookup field.
    #[serde(default)]
    pub lookup_module: Option<String>,
}

/// Why a custom field or custom module could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// No module has that API name.
    #[error("module '{0}' does not exist")]
    UnknownModule(String),
    /// The declaration names a standard field, which cannot be redefined.
    #[error("field '{field}' of module '{module}' is a standard field and cannot be redefined")]
    StandardField {
        /// The module named.
        module: String,
        /// The standard field's API name.
        field: String,
    },
    /// The API name has characters Zoho does not allow, or starts with something other than a letter.
    #[error("'{0}' is not a valid field API name (letters, digits and '_', starting with a letter)")]
    BadApiName(String),
    /// A custom module was declared with the name of a standard module.
    #[error("'{0}' is the name of a standard module and cannot be declared as a custom module")]
    StandardModule(String),
    /// A subform module was declared under a module that cannot hold subforms.
    #[error("module '{0}' cannot hold subforms (it is a subform module or not a record module)")]
    InvalidParentModule(String),
    /// The field already exists and cannot be replaced by this declaration.
    #[error("module '{module}' already has a field '{field}' that this declaration would replace")]
    FieldConflict {
        /// The module named.
        module: String,
        /// The field's API name.
        field: String,
    },
}

impl OrgSchema {
    /// Adds a custom field, or replaces an earlier definition of the same custom field.
    pub fn apply_custom_field(&mut self, spec: &CustomFieldSpec, id: String) -> Result<(), SchemaError> {
        if !is_valid_api_name(&spec.api_name) {
            return Err(SchemaError::BadApiName(spec.api_name.clone()));
        }
        let module = self.module_mut(&spec.module).ok_or_else(|| SchemaError::UnknownModule(spec.module.clone()))?;
        let field = Field {
            id,
            api_name: spec.api_name.clone(),
            field_label: spec.field_label.clone().unwrap_or_else(|| spec.api_name.replace('_', " ")),
            data_type: spec.data_type,
            length: spec.length,
            decimal_place: spec.decimal_place,
            system_mandatory: spec.mandatory,
            unique: spec.unique,
            unique_case_sensitive: false,
            read_only: false,
            custom_field: true,
            pick_list_values: spec.pick_list_values.clone(),
            restricted_picklist: spec.restricted_picklist,
            lookup_module: spec.lookup_module.clone(),
        };
        match module.fields.iter_mut().find(|f| f.api_name == spec.api_name) {
            // A subform field belongs to its subform module, not to a field declaration.
            Some(existing) if existing.data_type == DataType::Subform => {
                Err(SchemaError::FieldConflict { module: module.api_name.clone(), field: spec.api_name.clone() })
            }
            Some(existing) if !existing.custom_field => {
                Err(SchemaError::StandardField { module: module.api_name.clone(), field: spec.api_name.clone() })
            }
            Some(existing) => {
                let kept_id = existing.id.clone();
                *existing = Field { id: kept_id, ..field };
                Ok(())
            }
            None => {
                module.fields.push(field);
                Ok(())
            }
        }
    }
}

/// Zoho API names: a letter, then letters, digits or underscores.
pub fn is_valid_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {}
        _ => return false,
    }
    name.len() <= 100 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
