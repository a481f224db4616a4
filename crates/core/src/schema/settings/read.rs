//! Mirroring a real Zoho org: the JSON its `settings/modules`, `settings/fields?module=X` and
//! `settings/layouts?module=X` answer with → an [`OrgSchema`]. (The other way round, the
//! rendering of a schema in those shapes, is the sibling module `render`.)
//!
//! What is read (everything else is ignored, so a real org's answers can be fed unchanged):
//!
//! * modules: `api_name`, `id`, `module_name`, `singular_label`, `plural_label`,
//!   `generated_type`, `creatable`, `api_supported`. Only API-supported modules (a missing
//!   `api_supported` counts as supported) that have a fields document become modules; Zoho's own
//!   ids are kept. `static_subform` (v8's name) is read as `subform`. A module takes bulk writes
//!   unless it is not creatable, is not a record module by type (`field_tracker`, `web`, …) or is
//!   one of [`NON_RECORD_MODULES`] (`Users`, `Notes`, `Attachments`, `Emails`, `Activities`, …).
//! * fields: `api_name`, `id`, `field_label`, `data_type` (unknown types become
//!   [`DataType::Unsupported`]), `length` (for types with a length limit), `decimal_place`
//!   (decimals), `system_mandatory`, `custom_field`, `unique` (non-empty object = duplicate check;
//!   `casesensitive` or `case_sensitive`, boolean or `"true"`/`"false"`), `pick_list_values[].actual_value`
//!   (values of `type: "unused"` skipped), the lookup module (`lookup.module.api_name`, or
//!   `lookup.module` as a string in v2), the subform module (`associated_module.module` or
//!   `subform.module`), the multi-select lookup's `multiselectlookup.connected_module`, and
//!   `display_field`. A field is read-only when it is computed (formula, auto-number, roll-up) or
//!   when its `operation_type` allows neither `api_create` nor `api_update`; without
//!   `operation_type`, when `read_only || field_read_only`. (Zoho marks `Owner` with
//!   `field_read_only: true` although the API writes it, so `operation_type` wins.) A picklist is
//!   restricted when it carries our `restricted_picklist: true` or belongs to a global picklist
//!   (`global_picklist` non-null), whose values an import cannot extend.
//! * layouts: `id`, `name`, and `sections[].fields[]` with `required: true`: those that are not
//!   system-mandatory become the layout's mandatory fields, in section order.
//!
//! The display field is the one flagged `display_field: true`, else the module's usual one
//! (`Full_Name`, `Account_Name`, `Deal_Name`, `Name`, `Subject`, …).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::schema::{DataType, Field, Layout, Module, OrgSchema, Relation, GENERATED_TYPE_SUBFORM};

/// Modules Zoho lists as API-supported that hold no importable records.
pub const NON_RECORD_MODULES: &[&str] = &[
    "Users",
    "Notes",
    "Attachments",
    "Emails",
    "Activities",
    "Visits",
    "Approvals",
    "Actions_Performed",
    "Feeds",
    "Home",
    "Reports",
    "Dashboards",
    "Analytics",
    "Documents",
    "Forecasts",
    "Social",
    "SalesInbox",
];

/// `generated_type`s of modules that hold records a bulk write can create.
const RECORD_GENERATED_TYPES: &[&str] = &["default", "custom", "subform", "linking_module"];

/// The usual display field per module, when no field is flagged `display_field`.
const DEFAULT_DISPLAY_FIELDS: &[(&str, &str)] = &[
    ("Leads", "Full_Name"),
    ("Contacts", "Full_Name"),
    ("Accounts", "Account_Name"),
    ("Deals", "Deal_Name"),
    ("Campaigns", "Campaign_Name"),
    ("Products", "Product_Name"),
    ("Vendors", "Vendor_Name"),
    ("Price_Books", "Price_Book_Name"),
    ("Solutions", "Solution_Title"),
    ("Notes", "Note_Title"),
    ("Attachments", "File_Name"),
    ("Events", "Event_Title"),
];

/// Why an export could not be mirrored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// A document is neither `{"<key>": [...]}` nor a bare array.
    #[error("{document}: expected an object with a '{key}' array (or the bare array)")]
    NotAList {
        /// Which document (`settings/modules`, `settings/fields of Leads`, …).
        document: String,
        /// The key its list should be under (`modules`, `fields`, `layouts`).
        key: &'static str,
    },
    /// A required key is missing or has the wrong type.
    #[error("{at}: '{key}' is missing or is not {expected}")]
    BadKey {
        /// Where in the documents (`settings/modules: modules[3]`).
        at: String,
        /// The key.
        key: &'static str,
        /// What it should be (`a string`, `an object`, …).
        expected: &'static str,
    },
    /// Fields or layouts were given for a module that settings/modules does not list as API-supported.
    #[error("{document} given for module '{module}', which settings/modules does not list as an API-supported module")]
    UnknownModule {
        /// `fields` or `layouts`.
        document: &'static str,
        /// The module the document was given for.
        module: String,
    },
    /// settings/modules lists a module twice.
    #[error("module '{0}' is listed twice in settings/modules")]
    DuplicateModule(String),
    /// A module's fields document lists a field twice.
    #[error("module '{module}' has two fields named '{field}'")]
    DuplicateField {
        /// The module's API name.
        module: String,
        /// The field's API name.
        field: String,
    },
    /// A layout requires a field the module's fields document does not have.
    #[error(
        "layout '{layout}' of module '{module}' requires field '{field}', which the module's fields do not include"
    )]
    UnknownLayoutField {
        /// The module's API name.
        module: String,
        /// The layout's name.
        layout: String,
        /// The field it requires.
        field: String,
    },
    /// A file of an export directory could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A file of an export directory is not JSON.
    #[error("{path} is not valid JSON: {message}")]
    Json {
        /// The file.
        path: String,
        /// The parser's complaint.
        message: String,
    },
}

/// Builds the schema of a real org from its metadata answers. `fields_by_module` and
/// `layouts_by_module` are keyed by module API name; each value is the whole answer
/// (`{"fields":[…]}`, `{"layouts":[…]}`) or its bare array.
pub fn mirror_org(
    modules: &Value,
    fields_by_module: &BTreeMap<String, Value>,
    layouts_by_module: &BTreeMap<String, Value>,
) -> Result<OrgSchema, MirrorError> {
    let listed = list(modules, "modules", "settings/modules")?;
    let mut headers: Vec<Header> = Vec::new();
    for (index, value) in listed.iter().enumerate() {
        let at = format!("settings/modules: modules[{index}]");
        let module = object(value, &at)?;
        if flag(module, "api_supported") == Some(false) {
            continue;
        }
        let header = Header::read(module, &at)?;
        if headers.iter().any(|h| h.api_name == header.api_name) {
            return Err(MirrorError::DuplicateModule(header.api_name));
        }
        headers.push(header);
    }
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.api_name == name)
            .or_else(|| headers.iter().position(|h| h.api_name.eq_ignore_ascii_case(name)))
    };
    let mut fields_of: Vec<Option<&Value>> = vec![None; headers.len()];
    for (name, document) in fields_by_module {
        let index =
            find(name).ok_or_else(|| MirrorError::UnknownModule { document: "fields", module: name.clone() })?;
        fields_of[index] = Some(document);
    }
    let mut layouts_of: Vec<Option<&Value>> = vec![None; headers.len()];
    for (name, document) in layouts_by_module {
        let index =
            find(name).ok_or_else(|| MirrorError::UnknownModule { document: "layouts", module: name.clone() })?;
        layouts_of[index] = Some(document);
    }
    let mut modules = Vec::new();
    for ((header, fields), layouts) in headers.into_iter().zip(fields_of).zip(layouts_of) {
        let Some(fields) = fields else { continue };
        modules.push(header.into_module(fields, layouts)?);
    }
    Ok(OrgSchema { modules })
}

/// Mirrors an export directory: `modules.json`, `fields/<Module>.json` and
/// `layouts/<Module>.json` (the module's API name is the file name), as in `examples/mirror/`.
pub fn mirror_export_dir(dir: &Path) -> Result<OrgSchema, MirrorError> {
    let modules = read_json(&dir.join("modules.json"))?;
    let fields = read_json_dir(&dir.join("fields"))?;
    let layouts = read_json_dir(&dir.join("layouts"))?;
    mirror_org(&modules, &fields, &layouts)
}

fn read_json(path: &Path) -> Result<Value, MirrorError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| MirrorError::Io { path: shown.clone(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| MirrorError::Json { path: shown, message: e.to_string() })
}

/// Every `*.json` of a directory by file stem; a missing directory is empty.
fn read_json_dir(dir: &Path) -> Result<BTreeMap<String, Value>, MirrorError> {
    let mut documents = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(documents);
    }
    let shown = dir.display().to_string();
    let entries =
        std::fs::read_dir(dir).map_err(|e| MirrorError::Io { path: shown.clone(), message: e.to_string() })?;
    for entry in entries {
        let path = entry.map_err(|e| MirrorError::Io { path: shown.clone(), message: e.to_string() })?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        documents.insert(stem.to_string(), read_json(&path)?);
    }
    Ok(documents)
}

/// What settings/modules says about one module.
struct Header {
    id: String,
    api_name: String,
    module_name: String,
    singular_label: String,
    plural_label: String,
    generated_type: String,
    creatable: bool,
}

impl Header {
    fn read(module: &Map<String, Value>, at: &str) -> Result<Header, MirrorError> {
        let api_name = required_text(module, "api_name", at)?;
        let text_or = |key: &str, default: &str| text(module, key).unwrap_or_else(|| default.to_string());
        let generated_type = match text_or("generated_type", "default").as_str() {
            "static_subform" => GENERATED_TYPE_SUBFORM.to_string(),
            other => other.to_string(),
        };
        Ok(Header {
            id: required_id(module, "id", at)?,
            module_name: text_or("module_name", &api_name),
            singular_label: text_or("singular_label", &api_name),
            plural_label: text_or("plural_label", &api_name),
            generated_type,
            creatable: flag(module, "creatable").unwrap_or(true),
            api_name,
        })
    }

    fn into_module(self, fields: &Value, layouts: Option<&Value>) -> Result<Module, MirrorError> {
        let document = format!("settings/fields?module={}", self.api_name);
        let mut parsed: Vec<Field> = Vec::new();
        let mut flagged_display = None;
        for (index, value) in list(fields, "fields", &document)?.iter().enumerate() {
            let at = format!("{document}: fields[{index}]");
            let field = object(value, &at)?;
            let mirrored = read_field(field, &at)?;
            if parsed.iter().any(|f| f.api_name == mirrored.api_name) {
                return Err(MirrorError::DuplicateField { module: self.api_name, field: mirrored.api_name });
            }
            if flagged_display.is_none() && flag(field, "display_field") == Some(true) {
                flagged_display = Some(mirrored.api_name.clone());
            }
            parsed.push(mirrored);
        }
        let layouts = match layouts {
            Some(document) => read_layouts(&self.api_name, document, &parsed)?,
            None => Vec::new(),
        };
        let display_field = flagged_display.unwrap_or_else(|| default_display_field(&self.api_name, &parsed));
        let bulk_write = self.creatable
            && RECORD_GENERATED_TYPES.contains(&self.generated_type.as_str())
            && !NON_RECORD_MODULES.iter().any(|m| m.eq_ignore_ascii_case(&self.api_name));
        Ok(Module {
            id: self.id,
            api_name: self.api_name,
            module_name: self.module_name,
            singular_label: self.singular_label,
            plural_label: self.plural_label,
            generated_type: self.generated_type,
            bulk_write,
            display_field,
            fields: parsed,
            layouts,
        })
    }
}

/// One field of a fields document.
fn read_field(field: &Map<String, Value>, at: &str) -> Result<Field, MirrorError> {
    let api_name = required_text(field, "api_name", at)?;
    let type_name = required_text(field, "data_type", at)?;
    let data_type: DataType = serde_json::from_value(Value::String(type_name)).unwrap_or(DataType::Unsupported);
    let facts = data_type.facts();
    let is_picklist = facts.is_picklist();
    let unique = field.get("unique").and_then(Value::as_object).filter(|u| !u.is_empty());
    let unique_case_sensitive = unique
        .and_then(|u| u.get("casesensitive").or_else(|| u.get("case_sensitive")))
        .is_some_and(|v| v.as_bool().unwrap_or_else(|| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))));
    let read_only = facts.computed
        || match field.get("operation_type").and_then(Value::as_object) {
            Some(ops) => !(flag(ops, "api_create") == Some(true) || flag(ops, "api_update") == Some(true)),
            None => flag(field, "read_only") == Some(true) || flag(field, "field_read_only") == Some(true),
        };
    let pick_list_values = if is_picklist { picklist_values(field) } else { Vec::new() };
    let restricted_picklist = is_picklist
        && (flag(field, "restricted_picklist") == Some(true)
            || field.get("global_picklist").is_some_and(|g| g.as_object().is_some_and(|o| !o.is_empty())));
    Ok(Field {
        id: required_id(field, "id", at)?,
        field_label: text(field, "field_label")
            .or_else(|| text(field, "display_label"))
            .unwrap_or_else(|| api_name.clone()),
        length: facts.default_length.and(number(field, "length")),
        decimal_place: facts.decimal_places.and(number(field, "decimal_place")),
        system_mandatory: flag(field, "system_mandatory") == Some(true),
        unique: unique.is_some(),
        unique_case_sensitive,
        read_only,
        custom_field: flag(field, "custom_field") == Some(true),
        pick_list_values,
        restricted_picklist,
        lookup_module: related_module(field, data_type),
        api_name,
        data_type,
    })
}

/// The `actual_value`s of the used picklist values, in order.
fn picklist_values(field: &Map<String, Value>) -> Vec<String> {
    let Some(values) = field.get("pick_list_values").and_then(Value::as_array) else { return Vec::new() };
    values
        .iter()
        .filter_map(Value::as_object)
        .filter(|v| v.get("type").and_then(Value::as_str) != Some("unused"))
        .filter_map(|v| text(v, "actual_value").or_else(|| text(v, "display_value")))
        .collect()
}

/// The related module of a lookup, subform or multi-select lookup field.
fn related_module(field: &Map<String, Value>, data_type: DataType) -> Option<String> {
    let module_of =
        |key: &str, inner: &str| field.get(key).and_then(Value::as_object).and_then(|o| module_name(o.get(inner)?));
    match data_type.relation() {
        Relation::Lookup => module_of("lookup", "module"),
        Relation::Subform => module_of("associated_module", "module").or_else(|| module_of("subform", "module")),
        Relation::MultiSelectLookup => module_of("multiselectlookup", "connected_module"),
        Relation::None => None,
    }
}

/// A module named by a string or by `{"api_name": …}`.
fn module_name(value: &Value) -> Option<String> {
    match value {
        Value::String(name) if !name.is_empty() => Some(name.clone()),
        Value::Object(object) => text(object, "api_name"),
        _ => None,
    }
}

/// A module's layouts with their mandatory fields.
fn read_layouts(module: &str, document: &Value, fields: &[Field]) -> Result<Vec<Layout>, MirrorError> {
    let name = format!("settings/layouts?module={module}");
    let mut layouts = Vec::new();
    for (index, value) in list(document, "layouts", &name)?.iter().enumerate() {
        let at = format!("{name}: layouts[{index}]");
        let layout = object(value, &at)?;
        let layout_name = required_text(layout, "name", &at)?;
        let mut mandatory_fields: Vec<String> = Vec::new();
        let sections = layout.get("sections").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for entry in sections.iter().filter_map(|s| s.get("fields")?.as_array()).flatten() {
            let Some(entry) = entry.as_object() else { continue };
            if flag(entry, "required") != Some(true) {
                continue;
            }
            let Some(api_name) = text(entry, "api_name") else { continue };
            let field =
                fields.iter().find(|f| f.api_name == api_name).ok_or_else(|| MirrorError::UnknownLayoutField {
                    module: module.to_string(),
                    layout: layout_name.clone(),
                    field: api_name.clone(),
                })?;
            if !field.system_mandatory && !mandatory_fields.contains(&api_name) {
                mandatory_fields.push(api_name);
            }
        }
        layouts.push(Layout { id: required_id(layout, "id", &at)?, name: layout_name, mandatory_fields });
    }
    Ok(layouts)
}

/// The module's usual display field, else `Name`, `Subject` or `Full_Name` when present, else none.
fn default_display_field(module: &str, fields: &[Field]) -> String {
    let has = |name: &str| fields.iter().any(|f| f.api_name == name);
    let usual = DEFAULT_DISPLAY_FIELDS.iter().find(|(m, _)| m.eq_ignore_ascii_case(module)).map(|(_, f)| *f);
    usual
        .into_iter()
        .chain(["Name", "Subject", "Full_Name"])
        .find(|name| has(name))
        .map(str::to_string)
        .unwrap_or_default()
}

/// The array under `key`, or the document itself when it is an array.
pub(crate) fn list<'a>(document: &'a Value, key: &'static str, name: &str) -> Result<&'a Vec<Value>, MirrorError> {
    let found = match document {
        Value::Array(items) => Some(items),
        Value::Object(object) => object.get(key).and_then(Value::as_array),
        _ => None,
    };
    found.ok_or_else(|| MirrorError::NotAList { document: name.to_string(), key })
}

pub(crate) fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, MirrorError> {
    value.as_object().ok_or_else(|| MirrorError::BadKey { at: at.to_string(), key: "(item)", expected: "an object" })
}

fn flag(object: &Map<String, Value>, key: &str) -> Option<bool> {
    object.get(key).and_then(Value::as_bool)
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A non-negative number, also when written as a digit string.
fn number(object: &Map<String, Value>, key: &str) -> Option<u32> {
    match object.get(key)? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn required_text(object: &Map<String, Value>, key: &'static str, at: &str) -> Result<String, MirrorError> {
    text(object, key).filter(|t| !t.is_empty()).ok_or_else(|| MirrorError::BadKey {
        at: at.to_string(),
        key,
        expected: "a non-empty string",
    })
}

/// An id: a digit string (Zoho's form) or a number.
fn required_id(object: &Map<String, Value>, key: &'static str, at: &str) -> Result<String, MirrorError> {
    let id = match object.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(s.clone()),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        _ => None,
    };
    id.ok_or_else(|| MirrorError::BadKey { at: at.to_string(), key, expected: "an id (a digit string)" })
}
