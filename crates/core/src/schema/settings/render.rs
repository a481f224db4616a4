//! A schema in Zoho's metadata shapes: `settings/modules`, `settings/fields?module=X` and
//! `settings/layouts?module=X` (as Zoho's v2–v8 docs show them). [`super::mirror_org`] reads
//! these back into the same schema.
//!
//! Ids we have no record of are derived, never random, so answers are stable: [`derived_id`]
//! hashes a seed (FNV-1a, 64 bits) into the 19-digit range. Picklist values take
//! `derived_id("picklist:<field id>:<actual value>")`, sections
//! `derived_id("section:<layout id>:<section name>")`, lookup relations
//! `derived_id("lookup:<field id>")`.

use serde_json::{json, Map, Value};

use crate::schema::{DataType, Field, Layout, Module, OrgSchema, Relation, DEFAULT_DECIMAL_PLACES};

/// A profile of the org, as modules, fields and layouts list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    /// The profile's name (`Administrator`).
    pub name: String,
    /// The profile's id, a 19-digit string.
    pub id: String,
    /// What the profile is denied: its `permission_type` on each field (a field read-only by
    /// nature is `read_only` to every profile).
    pub perms: crate::perms::ProfilePerms,
}

/// A stable 19-digit id for `seed`: FNV-1a 64 folded into `1000000000000000000..=9999999999999999999`.
pub fn derived_id(seed: &str) -> String {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    const FLOOR: u64 = 1_000_000_000_000_000_000;
    let hash = seed.bytes().fold(FNV_OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME));
    (FLOOR + hash % (9 * FLOOR)).to_string()
}

/// The id of one picklist value: stable per field and value.
pub fn picklist_value_id(field: &Field, actual_value: &str) -> String {
    derived_id(&format!("picklist:{}:{}", field.id, actual_value))
}

/// A layout's `api_name`: `Standard__s` for the built-in `Standard` layout, else the name with
/// `_` for anything but letters and digits.
pub fn layout_api_name(layout: &Layout) -> String {
    if layout.name == "Standard" {
        return "Standard__s".to_string();
    }
    layout.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// `{"modules":[…]}`: every module of the schema, in schema order.
pub fn render_modules(schema: &OrgSchema, profiles: &[ProfileRef]) -> Value {
    let modules: Vec<Value> = schema
        .modules
        .iter()
        .enumerate()
        .map(|(index, module)| render_module(schema, module, index, profiles))
        .collect();
    json!({ "modules": modules })
}

fn render_module(schema: &OrgSchema, module: &Module, index: usize, profiles: &[ProfileRef]) -> Value {
    let subform = module.is_subform();
    let parent = subform.then(|| parent_module(schema, module)).flatten();
    let parent_module = match parent {
        Some(parent) => json!({"api_name": parent.api_name, "id": parent.id}),
        None => json!({}),
    };
    let profiles: Vec<Value> = profiles.iter().map(|p| json!({"name": p.name, "id": p.id})).collect();
    json!({
        "has_more_profiles": false,
        "access_type": "org_based",
        "global_search_supported": module.bulk_write && !subform,
        "deletable": true,
        "description": null,
        "creatable": true,
        "modified_time": null,
        "plural_label": module.plural_label,
        "presence_sub_menu": false,
        "actual_plural_label": module.plural_label,
        "lookupable": module.bulk_write && !subform,
        "id": module.id,
        "isBlueprintSupported": false,
        "visibility": if subform { 2 } else { 1 },
        "convertable": module.api_name == "Leads",
        "sub_menu_available": false,
        "editable": true,
        "actual_singular_label": module.singular_label,
        "profiles": profiles,
        "show_as_tab": !subform,
        "web_link": null,
        "sequence_number": index + 1,
        "singular_label": module.singular_label,
        "viewable": true,
        "api_supported": true,
        "api_name": module.api_name,
        "quick_create": module.bulk_write && !subform,
        "modified_by": null,
        "generated_type": module.generated_type,
        "feeds_required": false,
        "arguments": [],
        "module_name": module.module_name,
        "business_card_field_limit": 5,
        "parent_module": parent_module,
        "status": "visible",
    })
}

/// The module a subform module's `Parent_Id` points at.
fn parent_module<'a>(schema: &'a OrgSchema, module: &Module) -> Option<&'a Module> {
    let parent = module.field("Parent_Id")?.lookup_module.as_deref()?;
    schema.module(parent)
}

/// `{"fields":[…]}`: every field of the module.
pub fn render_fields(schema: &OrgSchema, module: &Module, profiles: &[ProfileRef]) -> Value {
    let fields: Vec<Value> =
        module.fields.iter().map(|field| Value::Object(render_field(schema, module, field, profiles))).collect();
    json!({ "fields": fields })
}

/// One field in the fields-metadata shape.
fn render_field(schema: &OrgSchema, module: &Module, field: &Field, profiles: &[ProfileRef]) -> Map<String, Value> {
    let writable = !field.read_only;
    let related = field.lookup_module.as_deref().map(|name| {
        let id = schema.module(name).map(|m| m.id.clone());
        (schema.module(name).map(|m| m.api_name.clone()).unwrap_or_else(|| name.to_string()), id)
    });
    let (mut lookup, mut associated, mut multiselectlookup) = (json!({}), Value::Null, json!({}));
    if let Some((api_name, id)) = &related {
        match field.data_type.relation() {
            Relation::Lookup => {
                lookup = json!({
                    "display_label": field.field_label,
                    "api_name": field.api_name,
                    "module": {"api_name": api_name, "id": id},
                    "id": derived_id(&format!("lookup:{}", field.id)),
                });
            }
            Relation::Subform => associated = json!({"module": api_name, "id": id}),
            Relation::MultiSelectLookup => {
                multiselectlookup = json!({
                    "display_label": field.field_label,
                    "api_name": field.api_name,
                    "connected_module": {"api_name": api_name, "id": id},
                    "id": derived_id(&format!("lookup:{}", field.id)),
                });
            }
            Relation::None => {}
        }
    }
    let unique =
        if field.unique { json!({"casesensitive": field.unique_case_sensitive.to_string()}) } else { json!({}) };
    let pick_list_values: Vec<Value> = field
        .pick_list_values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            json!({
                "display_value": value,
                "sequence_number": index + 1,
                "reference_value": value,
                "colour_code": null,
                "actual_value": value,
                "id": picklist_value_id(field, value),
                "type": "used",
            })
        })
        .collect();
    let currency = if field.data_type == DataType::Currency {
        json!({"rounding_option": "normal", "precision": field.decimal_place.unwrap_or(DEFAULT_DECIMAL_PLACES)})
    } else {
        json!({})
    };
    let permission = |profile: &ProfileRef| match profile.perms.field(&module.api_name, &field.api_name) {
        _ if !writable => "read_only",
        crate::perms::FieldAccess::ReadWrite => "read_write",
        crate::perms::FieldAccess::ReadOnly => "read_only",
        crate::perms::FieldAccess::Hidden => "hidden",
    };
    let profiles: Vec<Value> =
        profiles.iter().map(|p| json!({"permission_type": permission(p), "name": p.name, "id": p.id})).collect();
    let layouts: Vec<Value> =
        module.layouts.iter().map(|l| json!({"api_name": layout_api_name(l), "name": l.name, "id": l.id})).collect();
    let mut out = json!({
        "associated_module": associated.clone(),
        "webhook": true,
        "operation_type": {"web_update": writable, "api_create": writable, "web_create": writable, "api_update": writable},
        "colour_code_enabled_by_system": false,
        "field_label": field.field_label,
        "tooltip": null,
        "type": "used",
        "field_read_only": field.read_only,
        "display_label": field.field_label,
        "read_only": field.read_only,
        "association_details": null,
        "businesscard_supported": false,
        "multi_module_lookup": {},
        "id": field.id,
        "created_time": null,
        "filterable": true,
        "visible": true,
        "profiles": profiles,
        "view_type": {"view": true, "edit": writable, "quick_create": field.system_mandatory, "create": writable},
        "separator": false,
    });
    let rest = json!({
        "searchable": true,
        "history_tracking": null,
        "external": null,
        "api_name": field.api_name,
        "parent_field": null,
        "unique": unique,
        "enable_colour_code": false,
        "pick_list_values": pick_list_values,
        "system_mandatory": field.system_mandatory,
        "private": null,
        "virtual_field": false,
        "json_type": field.data_type.json_type(),
        "crypt": null,
        "display_type": -1,
        "modified_time": null,
        "currency": currency,
        "custom_field": field.custom_field,
        "lookup": lookup,
        "rollup_summary": {},
        "length": field.length.unwrap_or(field.data_type.facts().shown_length),
        "display_field": field.api_name == module.display_field,
        "pick_list_values_sorted_lexically": false,
        "sortable": true,
        "layout_associations": layouts,
        "global_picklist": null,
        "data_type": field.data_type.as_str(),
        "formula": {},
        "decimal_place": field.decimal_place,
        "mass_update": false,
        "multiselectlookup": multiselectlookup,
        "multiuserlookup": {},
        "auto_number": {},
        "subform": associated,
    });
    let mut map = std::mem::take(out.as_object_mut().expect("an object literal"));
    if let Value::Object(rest) = rest {
        map.extend(rest);
    }
    if field.data_type.facts().is_picklist() {
        map.insert("restricted_picklist".to_string(), Value::Bool(field.restricted_picklist));
    }
    map
}

/// `{"layouts":[…]}`: every layout of the module, each with its sections and fields; a field is
/// `required` when system-mandatory or mandatory in that layout.
pub fn render_layouts(schema: &OrgSchema, module: &Module, profiles: &[ProfileRef]) -> Value {
    let layouts: Vec<Value> = module
        .layouts
        .iter()
        .enumerate()
        .map(|(index, layout)| render_layout(schema, module, layout, index == 0, profiles))
        .collect();
    json!({ "layouts": layouts })
}

fn render_layout(
    schema: &OrgSchema,
    module: &Module,
    layout: &Layout,
    default: bool,
    profiles: &[ProfileRef],
) -> Value {
    let layout_profiles: Vec<Value> = profiles
        .iter()
        .map(|p| {
            json!({
                "default": default,
                "name": p.name,
                "id": p.id,
                "_default_view": {"name": layout.name, "id": layout.id, "type": "layout"},
            })
        })
        .collect();
    let sections: Vec<Value> = sections(module)
        .into_iter()
        .enumerate()
        .map(|(index, (name, subform, fields))| {
            let fields: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(position, field)| {
                    let mut rendered = render_field(schema, module, field, profiles);
                    let required = field.system_mandatory || layout.mandatory_fields.contains(&field.api_name);
                    rendered.insert("required".to_string(), Value::Bool(required));
                    rendered.insert("sequence_number".to_string(), json!(position + 1));
                    Value::Object(rendered)
                })
                .collect();
            json!({
                "display_label": name,
                "sequence_number": index + 1,
                "issubformsection": subform,
                "tab_traversal": "left_to_right",
                "api_name": name.replace(' ', "_"),
                "column_count": if subform { 1 } else { 2 },
                "name": name,
                "generated_type": "default",
                "type": "used",
                "id": derived_id(&format!("section:{}:{}", layout.id, name)),
                "fields": fields,
            })
        })
        .collect();
    json!({
        "created_time": null,
        "convert_mapping": {},
        "visible": true,
        "created_for": null,
        "profiles": layout_profiles,
        "name": layout.name,
        "display_label": layout.name,
        "api_name": layout_api_name(layout),
        "modified_time": null,
        "has_more_profiles": false,
        "id": layout.id,
        "source": "crm",
        "created_by": null,
        "modified_by": null,
        "generated_type": "default",
        "sections": sections,
        "status": "active",
    })
}

/// The sections of a module's layout: `<Singular> Information` (most fields), `Address
/// Information` (address parts), `Description Information` (`Description`), and one section per
/// subform field. Empty sections are left out.
fn sections(module: &Module) -> Vec<(String, bool, Vec<&Field>)> {
    const ADDRESS_PARTS: &[&str] = &["Street", "City", "State", "Zip_Code", "Country"];
    let is_address =
        |f: &&Field| ADDRESS_PARTS.iter().any(|part| f.api_name == *part || f.api_name.ends_with(&format!("_{part}")));
    let is_description = |f: &&Field| f.api_name == "Description";
    let is_subform = |f: &&Field| f.data_type == DataType::Subform;
    let main: Vec<&Field> =
        module.fields.iter().filter(|f| !is_address(f) && !is_description(f) && !is_subform(f)).collect();
    let mut sections = vec![
        (format!("{} Information", module.singular_label), false, main),
        ("Address Information".to_string(), false, module.fields.iter().filter(is_address).collect()),
        ("Description Information".to_string(), false, module.fields.iter().filter(is_description).collect()),
    ];
    for field in module.fields.iter().filter(is_subform) {
        sections.push((field.field_label.clone(), true, vec![field]));
    }
    sections.retain(|(_, _, fields)| !fields.is_empty());
    sections
}
