//! The small DSL the built-in schema and custom modules are written in: `f(...)` starts a field,
//! chained calls (`.len()`, `.mandatory()`, `.unique()`, ...) refine it, and [`build`] assembles a
//! standard module with its system fields, sequential ids and a `Standard` layout.

use super::{DataType, Field, Layout, Module};

/// Sequential metadata ids (19 digits for the built-in range).
pub(super) struct IdSeq(pub(super) u64);

impl IdSeq {
    /// The next id, as Zoho's string form.
    pub(super) fn next(&mut self) -> String {
        let id = self.0;
        self.0 += 1;
        id.to_string()
    }
}

/// A field under construction.
pub(super) struct F(pub(super) Field);

/// Starts a field with the default length and decimal places of its type.
pub(super) fn f(api_name: &str, label: &str, data_type: DataType) -> F {
    let facts = data_type.facts();
    let (length, decimal_place) = (facts.default_length, facts.decimal_places);
    F(Field {
        id: String::new(),
        api_name: api_name.to_string(),
        field_label: label.to_string(),
        data_type,
        length,
        decimal_place,
        system_mandatory: false,
        unique: false,
        unique_case_sensitive: false,
        read_only: false,
        custom_field: false,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    })
}

impl F {
    /// Sets the maximum length.
    pub(super) fn len(mut self, length: u32) -> F {
        self.0.length = Some(length);
        self
    }
    /// Makes the field system-mandatory.
    pub(super) fn mandatory(mut self) -> F {
        self.0.system_mandatory = true;
        self
    }
    /// Makes the field a duplicate-check field.
    pub(super) fn unique(mut self) -> F {
        self.0.unique = true;
        self
    }
    /// Makes the field read-only.
    pub(super) fn read_only(mut self) -> F {
        self.0.read_only = true;
        self
    }
    /// Sets the picklist values, in display order.
    pub(super) fn values(mut self, values: &[&str]) -> F {
        self.0.pick_list_values = values.iter().map(|v| v.to_string()).collect();
        self
    }
    /// Sets the related module of a lookup (or the subform module of a subform field).
    pub(super) fn lookup(mut self, module: &str) -> F {
        self.0.lookup_module = Some(module.to_string());
        self
    }
}

/// A standard module's definition: everything but its ids and system fields.
pub(super) struct ModuleDef<'a> {
    pub(super) api_name: &'a str,
    pub(super) singular: &'a str,
    pub(super) display_field: &'a str,
    pub(super) layout_mandatory: &'a [&'a str],
    pub(super) fields: Vec<F>,
}

/// A standard record module: `Owner`, the defined fields, the system tail, one `Standard` layout.
pub(super) fn build(ids: &mut IdSeq, def: ModuleDef<'_>) -> Module {
    let module_id = ids.next();
    let mut fields: Vec<Field> = system_fields_head();
    fields.extend(def.fields.into_iter().map(|f| f.0));
    fields.extend(system_fields_tail());
    for field in &mut fields {
        field.id = ids.next();
    }
    let layout = Layout {
        id: ids.next(),
        name: "Standard".to_string(),
        mandatory_fields: def.layout_mandatory.iter().map(|s| s.to_string()).collect(),
    };
    Module {
        id: module_id,
        api_name: def.api_name.to_string(),
        module_name: def.api_name.to_string(),
        singular_label: def.singular.to_string(),
        plural_label: def.api_name.replace('_', " "),
        generated_type: "default".to_string(),
        bulk_write: true,
        display_field: def.display_field.to_string(),
        fields,
        layouts: vec![layout],
    }
}

/// The fields every record module starts with.
pub(super) fn system_fields_head() -> Vec<Field> {
    vec![f("Owner", "Owner", DataType::OwnerLookup).0]
}

/// The fields every record module ends with.
pub(super) fn system_fields_tail() -> Vec<Field> {
    let mut tail = vec![f("Layout", "Layout", DataType::Layout).0];
    tail.extend(audit_fields());
    tail
}

/// The read-only creation and modification fields (also on subform records).
pub(super) fn audit_fields() -> Vec<Field> {
    vec![
        f("Created_By", "Created By", DataType::OwnerLookup).read_only().0,
        f("Modified_By", "Modified By", DataType::OwnerLookup).read_only().0,
        f("Created_Time", "Created Time", DataType::DateTime).read_only().0,
        f("Modified_Time", "Modified Time", DataType::DateTime).read_only().0,
    ]
}

/// Street, City, State, Zip_Code and Country, each prefixed with `prefix_` unless `prefix` is empty.
pub(super) fn address(prefix: &str) -> Vec<F> {
    let p = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}_{name}")
        }
    };
    vec![
        f(&p("Street"), "Street", DataType::Text).len(250),
        f(&p("City"), "City", DataType::Text).len(100),
        f(&p("State"), "State", DataType::Text).len(100),
        f(&p("Zip_Code"), "Zip Code", DataType::Text).len(30),
        f(&p("Country"), "Country", DataType::Text).len(100),
    ]
}
