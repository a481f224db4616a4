//! Renderers and `mirror_org`: the round trip on our own schema, field and module reading rules
//! (table-driven), errors, and the example export in `examples/mirror/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::schema::standard::standard_schema;
use crate::schema::{CustomFieldSpec, CustomModuleSpec, DataType, Field, Layout, Module, OrgSchema};

fn profiles() -> Vec<ProfileRef> {
    vec![
        ProfileRef {
            name: "Administrator".into(),
            id: derived_id("profile:Administrator"),
            perms: crate::perms::ProfilePerms::default(),
        },
        ProfileRef {
            name: "Standard".into(),
            id: derived_id("profile:Standard"),
            perms: crate::perms::ProfilePerms::default(),
        },
    ]
}

/// Renders every module's three documents, as the endpoints do.
fn render_all(schema: &OrgSchema) -> (Value, BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let profiles = profiles();
    let modules = render_modules(schema, &profiles);
    let fields = schema.modules.iter().map(|m| (m.api_name.clone(), render_fields(schema, m, &profiles))).collect();
    let layouts = schema.modules.iter().map(|m| (m.api_name.clone(), render_layouts(schema, m, &profiles))).collect();
    (modules, fields, layouts)
}

/// The standard schema plus custom fields (a date, a unique text, a restricted picklist), a custom
/// module and a subform module.
fn customised_schema() -> OrgSchema {
    let mut schema = standard_schema();
    let mut next = 9_100_000_000_000_000_000u64;
    let mut next_id = move || {
        next += 1;
        next.to_string()
    };
    schema
        .apply_custom_module(
            &CustomModuleSpec {
                api_name: "Projects".into(),
                singular_label: Some("Project".into()),
                plural_label: None,
                parent_module: None,
                linking_modules: None,
            },
            &mut next_id,
        )
        .unwrap();
    let sub = CustomModuleSpec {
        api_name: "Milestones".into(),
        singular_label: None,
        plural_label: None,
        parent_module: Some("Projects".into()),
        linking_modules: None,
    };
    schema.apply_custom_module(&sub, &mut next_id).unwrap();
    let linking = CustomModuleSpec {
        api_name: "Leads_X_Contacts".into(),
        singular_label: None,
        plural_label: None,
        parent_module: None,
        linking_modules: Some(vec!["Leads".into(), "Contacts".into()]),
    };
    schema.apply_custom_module(&linking, &mut next_id).unwrap();
    let field = |module: &str, api_name: &str, data_type: DataType| CustomFieldSpec {
        module: module.into(),
        api_name: api_name.into(),
        field_label: None,
        data_type,
        length: None,
        decimal_place: None,
        unique: false,
        mandatory: false,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    };
    schema.apply_custom_field(&field("Leads", "Date_3", DataType::Date), next_id()).unwrap();
    let code = CustomFieldSpec { unique: true, length: Some(20), ..field("Projects", "Project_Code", DataType::Text) };
    schema.apply_custom_field(&code, next_id()).unwrap();
    let tier = CustomFieldSpec {
        pick_list_values: vec!["-None-".into(), "Gold".into(), "Silver".into()],
        restricted_picklist: true,
        // A picklist without a length renders Zoho's default 255, which mirrors back as given.
        length: Some(255),
        ..field("Projects", "Tier", DataType::Picklist)
    };
    schema.apply_custom_field(&tier, next_id()).unwrap();
    schema
}

#[test]
fn round_trip_reproduces_the_schema() {
    for schema in [standard_schema(), customised_schema()] {
        let (modules, fields, layouts) = render_all(&schema);
        let mirrored = mirror_org(&modules, &fields, &layouts).expect("mirrors");
        for (mine, theirs) in schema.modules.iter().zip(&mirrored.modules) {
            for (a, b) in mine.fields.iter().zip(&theirs.fields) {
                assert_eq!(a, b, "{}.{}", mine.api_name, a.api_name);
            }
            assert_eq!(mine, theirs, "{}", mine.api_name);
        }
        assert_eq!(mirrored, schema);
    }
    // A mirrored org's linking module is found behind its multi-select lookup, as ours is.
    let (modules, fields, layouts) = render_all(&customised_schema());
    let mirrored = mirror_org(&modules, &fields, &layouts).unwrap();
    let (linking, link) = mirrored.linking_module("Leads", "Contacts").expect("the linking module");
    assert_eq!((linking.api_name.as_str(), link.api_name.as_str()), ("Leads_X_Contacts", "Leads"));
    assert_eq!(linking.generated_type, crate::schema::GENERATED_TYPE_LINKING);
}

#[test]
fn rendered_shapes_follow_zoho() {
    let schema = customised_schema();
    let (modules, fields, layouts) = render_all(&schema);
    let listed = modules["modules"].as_array().unwrap();
    let leads = listed.iter().find(|m| m["api_name"] == "Leads").unwrap();
    assert_eq!(leads["convertable"], true);
    assert_eq!(leads["parent_module"], json!({}));
    assert_eq!(leads["api_supported"], true);
    assert!(listed.iter().filter(|m| m["api_name"] != "Leads").all(|m| m["convertable"] == false));
    let milestones = listed.iter().find(|m| m["api_name"] == "Milestones").unwrap();
    let projects_id = schema.module("Projects").unwrap().id.clone();
    assert_eq!(milestones["parent_module"], json!({"api_name": "Projects", "id": projects_id}));

    let lead_fields = fields["Leads"]["fields"].as_array().unwrap();
    let by_name = |name: &str| lead_fields.iter().find(|f| f["api_name"] == name).unwrap().clone();
    assert_eq!(by_name("Email")["unique"], json!({"casesensitive": "false"}));
    assert_eq!(by_name("Phone")["unique"], json!({}));
    assert_eq!(by_name("Date_3")["data_type"], "date");
    assert_eq!(by_name("Date_3")["custom_field"], true);
    assert_eq!(by_name("Full_Name")["operation_type"]["api_create"], false);
    assert_eq!(by_name("Last_Name")["system_mandatory"], true);
    let salutation = by_name("Salutation");
    let values = salutation["pick_list_values"].as_array().unwrap();
    assert_eq!(values[1]["actual_value"], "Mr.");
    assert_eq!(values[1]["sequence_number"], 2);
    assert_eq!(values[1]["id"].as_str().unwrap().len(), 19);
    assert_eq!(salutation["restricted_picklist"], false);
    let deal_fields = fields["Deals"]["fields"].as_array().unwrap();
    let account = deal_fields.iter().find(|f| f["api_name"] == "Account_Name").unwrap();
    assert_eq!(account["lookup"]["module"]["api_name"], "Accounts");
    assert_eq!(account["lookup"]["module"]["id"], json!(schema.module("Accounts").unwrap().id));
    let project_fields = fields["Projects"]["fields"].as_array().unwrap();
    let subform = project_fields.iter().find(|f| f["api_name"] == "Milestones").unwrap();
    assert_eq!(subform["associated_module"]["module"], "Milestones");

    let layout = &layouts["Leads"]["layouts"][0];
    assert_eq!((layout["name"].as_str(), layout["status"].as_str()), (Some("Standard"), Some("active")));
    let required: Vec<&str> = layout["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["fields"].as_array().unwrap())
        .filter(|f| f["required"] == true)
        .map(|f| f["api_name"].as_str().unwrap())
        .collect();
    assert_eq!(required, ["Company", "Last_Name"]);
}

#[test]
fn derived_ids_are_stable_nineteen_digit_strings() {
    for seed in ["", "a", "profile:Administrator", "picklist:1:Mr."] {
        let id = derived_id(seed);
        assert_eq!(id.len(), 19, "{seed:?}");
        assert_eq!(id, derived_id(seed));
    }
    assert_ne!(derived_id("a"), derived_id("b"));
}

/// One module `Widgets` with the given fields and no layouts.
fn mirror_fields(fields: Value) -> Result<Module, MirrorError> {
    let modules =
        json!({"modules": [{"api_name": "Widgets", "id": "1", "api_supported": true, "generated_type": "custom"}]});
    let fields = BTreeMap::from([("Widgets".to_string(), json!({ "fields": fields }))]);
    let mut schema = mirror_org(&modules, &fields, &BTreeMap::new())?;
    Ok(schema.modules.remove(0))
}

#[test]
fn field_reading_rules() {
    let all_ops = json!({"web_update": true, "api_create": true, "web_create": true, "api_update": true});
    let no_ops = json!({"web_update": false, "api_create": false, "web_create": false, "api_update": false});
    type Check = fn(&Field) -> bool;
    let cases: Vec<(&str, Value, Check)> = vec![
        (
            "operation_type beats field_read_only",
            json!({"api_name": "Owner", "id": "2", "data_type": "ownerlookup", "field_read_only": true, "read_only": false, "operation_type": all_ops}),
            |f| !f.read_only,
        ),
        (
            "no API operation is read-only",
            json!({"api_name": "Full_Name", "id": "2", "data_type": "text", "operation_type": no_ops}),
            |f| f.read_only,
        ),
        (
            "without operation_type, field_read_only",
            json!({"api_name": "A", "id": "2", "data_type": "text", "field_read_only": true}),
            |f| f.read_only,
        ),
        (
            "without operation_type, read_only",
            json!({"api_name": "A", "id": "2", "data_type": "text", "read_only": true}),
            |f| f.read_only,
        ),
        (
            "formula is read-only",
            json!({"api_name": "F", "id": "2", "data_type": "formula", "operation_type": all_ops}),
            |f| f.read_only && f.data_type == DataType::Formula,
        ),
        ("autonumber is read-only", json!({"api_name": "N", "id": "2", "data_type": "autonumber"}), |f| f.read_only),
        (
            "unique with case_sensitive",
            json!({"api_name": "U", "id": "2", "data_type": "text", "unique": {"case_sensitive": true}}),
            |f| f.unique && f.unique_case_sensitive,
        ),
        (
            "unique with casesensitive string",
            json!({"api_name": "U", "id": "2", "data_type": "text", "unique": {"casesensitive": "false"}}),
            |f| f.unique && !f.unique_case_sensitive,
        ),
        ("empty unique", json!({"api_name": "U", "id": "2", "data_type": "text", "unique": {}}), |f| !f.unique),
        ("length kept for text", json!({"api_name": "T", "id": "2", "data_type": "text", "length": 80}), |f| {
            f.length == Some(80)
        }),
        ("length dropped for dates", json!({"api_name": "D", "id": "2", "data_type": "date", "length": 20}), |f| {
            f.length.is_none()
        }),
        (
            "decimal places of currency",
            json!({"api_name": "C", "id": "2", "data_type": "currency", "length": 16, "decimal_place": 3}),
            |f| f.decimal_place == Some(3),
        ),
        (
            "decimal places ignored on text",
            json!({"api_name": "T", "id": "2", "data_type": "text", "decimal_place": 3}),
            |f| f.decimal_place.is_none(),
        ),
        (
            "v2.1 lookup module object",
            json!({"api_name": "L", "id": "2", "data_type": "lookup", "lookup": {"module": {"api_name": "Accounts", "id": "9"}}}),
            |f| f.lookup_module.as_deref() == Some("Accounts"),
        ),
        (
            "v2 lookup module string",
            json!({"api_name": "L", "id": "2", "data_type": "lookup", "lookup": {"module": "Contacts"}}),
            |f| f.lookup_module.as_deref() == Some("Contacts"),
        ),
        (
            "lookup to any module",
            json!({"api_name": "Parent_Id", "id": "2", "data_type": "lookup", "lookup": {}}),
            |f| f.lookup_module.is_none(),
        ),
        (
            "subform by associated_module",
            json!({"api_name": "S", "id": "2", "data_type": "subform", "associated_module": {"module": "Items", "id": "7"}}),
            |f| f.lookup_module.as_deref() == Some("Items"),
        ),
        (
            "subform by subform",
            json!({"api_name": "S", "id": "2", "data_type": "subform", "subform": {"module": {"api_name": "Items"}}}),
            |f| f.lookup_module.as_deref() == Some("Items"),
        ),
        (
            "picklist skips unused values",
            json!({"api_name": "P", "id": "2", "data_type": "picklist", "pick_list_values": [{"actual_value": "A", "display_value": "a"}, {"actual_value": "B", "type": "unused"}, {"display_value": "C"}]}),
            |f| f.pick_list_values == ["A", "C"] && !f.restricted_picklist,
        ),
        (
            "global picklist is restricted",
            json!({"api_name": "P", "id": "2", "data_type": "picklist", "global_picklist": {"api_name": "Tiers", "id": "5"}, "pick_list_values": []}),
            |f| f.restricted_picklist,
        ),
        (
            "restricted_picklist flag",
            json!({"api_name": "P", "id": "2", "data_type": "multiselectpicklist", "restricted_picklist": true}),
            |f| f.restricted_picklist,
        ),
        (
            "unknown type",
            json!({"api_name": "X", "id": "2", "data_type": "territories", "pick_list_values": [{"actual_value": "A"}]}),
            |f| f.data_type == DataType::Unsupported && f.pick_list_values.is_empty(),
        ),
        (
            "numeric id and label fallback",
            json!({"api_name": "X_Y", "id": 42, "data_type": "text", "display_label": "X Y"}),
            |f| f.id == "42" && f.field_label == "X Y",
        ),
    ];
    for (name, field, check) in cases {
        let module = mirror_fields(json!([field])).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(check(&module.fields[0]), "{name}: {:?}", module.fields[0]);
    }
}

#[test]
fn module_reading_rules() {
    let modules = json!({"modules": [
        {"api_name": "Home", "id": "1", "api_supported": false, "extra": {"ignored": true}},
        {"api_name": "Leads", "id": "2", "api_supported": true, "generated_type": "default", "creatable": true},
        {"api_name": "Users", "id": "3", "api_supported": true, "generated_type": "default"},
        {"api_name": "DealHistory", "id": "4", "api_supported": true, "generated_type": "field_tracker"},
        {"api_name": "Items", "id": "5", "api_supported": true, "generated_type": "static_subform", "module_name": "LinkingModule2"},
        {"api_name": "Visitors", "id": "6", "api_supported": true, "generated_type": "custom", "creatable": false},
        {"api_name": "Orphans", "id": "7", "api_supported": true},
    ]});
    let text = json!({"fields": [{"api_name": "Name", "id": "10", "data_type": "text"}]});
    let fields: BTreeMap<String, Value> =
        ["Leads", "Users", "DealHistory", "Items", "Visitors"].iter().map(|m| (m.to_string(), text.clone())).collect();
    let schema = mirror_org(&modules, &fields, &BTreeMap::new()).unwrap();
    let names: Vec<(&str, bool)> = schema.modules.iter().map(|m| (m.api_name.as_str(), m.bulk_write)).collect();
    assert_eq!(
        names,
        [("Leads", true), ("Users", false), ("DealHistory", false), ("Items", true), ("Visitors", false)]
    );
    let items = schema.module("Items").unwrap();
    assert_eq!((items.generated_type.as_str(), items.module_name.as_str()), ("subform", "LinkingModule2"));
    assert!(items.is_subform());
    assert_eq!(schema.module("Leads").unwrap().display_field, "Name");
    assert!(schema.module("Leads").unwrap().layouts.is_empty());
}

#[test]
fn display_field_and_layout_mandatory() {
    let modules = json!([{"api_name": "Deals", "id": "1"}]);
    let fields = json!([
        {"api_name": "Deal_Name", "id": "2", "data_type": "text", "system_mandatory": true},
        {"api_name": "Stage", "id": "3", "data_type": "picklist", "system_mandatory": true},
        {"api_name": "Amount", "id": "4", "data_type": "currency"},
        {"api_name": "Code", "id": "5", "data_type": "text", "display_field": true},
    ]);
    let layouts = json!({"layouts": [{"id": "9", "name": "Standard", "status": "active", "sections": [
        {"name": "Deal Information", "fields": [
            {"api_name": "Deal_Name", "id": "2", "required": true},
            {"api_name": "Amount", "id": "4", "required": true},
            {"api_name": "Code", "id": "5", "required": false},
        ]},
        {"name": "More", "fields": [{"api_name": "Stage", "required": true}, {"api_name": "Amount", "required": true}]},
    ]}]});
    let schema = mirror_org(
        &modules,
        &BTreeMap::from([("Deals".to_string(), fields.clone())]),
        &BTreeMap::from([("deals".to_string(), layouts)]),
    )
    .unwrap();
    let deals = &schema.modules[0];
    assert_eq!(deals.display_field, "Code");
    assert_eq!(
        deals.layouts,
        [Layout { id: "9".into(), name: "Standard".into(), mandatory_fields: vec!["Amount".into()] }]
    );
    let mut unflagged = fields;
    unflagged[3]["display_field"] = json!(false);
    let schema = mirror_org(&modules, &BTreeMap::from([("Deals".to_string(), unflagged)]), &BTreeMap::new()).unwrap();
    assert_eq!(schema.modules[0].display_field, "Deal_Name");
}

#[test]
fn errors_name_what_is_wrong() {
    let modules = json!({"modules": [{"api_name": "Leads", "id": "1"}]});
    let one = |module: &str, document: Value| BTreeMap::from([(module.to_string(), document)]);
    let field = json!({"api_name": "Last_Name", "id": "2", "data_type": "text"});
    type Documents = BTreeMap<String, Value>;
    let cases: Vec<(Value, Documents, Documents, MirrorError)> = vec![
        (
            json!({"data": []}),
            BTreeMap::new(),
            BTreeMap::new(),
            MirrorError::NotAList { document: "settings/modules".into(), key: "modules" },
        ),
        (
            json!([{"id": "1"}]),
            BTreeMap::new(),
            BTreeMap::new(),
            MirrorError::BadKey {
                at: "settings/modules: modules[0]".into(),
                key: "api_name",
                expected: "a non-empty string",
            },
        ),
        (
            json!([{"api_name": "Leads", "id": "x1"}]),
            BTreeMap::new(),
            BTreeMap::new(),
            MirrorError::BadKey {
                at: "settings/modules: modules[0]".into(),
                key: "id",
                expected: "an id (a digit string)",
            },
        ),
        (
            json!([{"api_name": "Leads", "id": "1"}, {"api_name": "Leads", "id": "2"}]),
            BTreeMap::new(),
            BTreeMap::new(),
            MirrorError::DuplicateModule("Leads".into()),
        ),
        (
            modules.clone(),
            one("Widgets", json!([])),
            BTreeMap::new(),
            MirrorError::UnknownModule { document: "fields", module: "Widgets".into() },
        ),
        (
            modules.clone(),
            one("Leads", json!([])),
            one("Widgets", json!([])),
            MirrorError::UnknownModule { document: "layouts", module: "Widgets".into() },
        ),
        (
            modules.clone(),
            one("Leads", json!([field, field])),
            BTreeMap::new(),
            MirrorError::DuplicateField { module: "Leads".into(), field: "Last_Name".into() },
        ),
        (
            modules.clone(),
            one("Leads", json!([{"api_name": "A", "id": "2"}])),
            BTreeMap::new(),
            MirrorError::BadKey {
                at: "settings/fields?module=Leads: fields[0]".into(),
                key: "data_type",
                expected: "a non-empty string",
            },
        ),
        (
            modules.clone(),
            one("Leads", json!([field])),
            one(
                "Leads",
                json!([{"id": "3", "name": "Standard", "sections": [{"fields": [{"api_name": "Company", "required": true}]}]}]),
            ),
            MirrorError::UnknownLayoutField {
                module: "Leads".into(),
                layout: "Standard".into(),
                field: "Company".into(),
            },
        ),
    ];
    for (modules, fields, layouts, expected) in cases {
        let error = mirror_org(&modules, &fields, &layouts).unwrap_err();
        assert!(!error.to_string().is_empty());
        assert_eq!(error, expected);
    }
}

#[test]
fn example_export_mirrors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mirror");
    let schema = mirror_export_dir(&dir).expect("the example export mirrors");
    let names: Vec<&str> = schema.modules.iter().map(|m| m.api_name.as_str()).collect();
    assert_eq!(names, ["Leads", "Contacts", "Accounts", "Deals", "Properties"]);
    let leads = schema.module("Leads").unwrap();
    assert_eq!(leads.id, "6100000000000002175");
    assert!(leads.bulk_write);
    assert!(!leads.field("Owner").unwrap().read_only, "Owner stays writable");
    assert!(leads.field("Full_Name").unwrap().read_only);
    assert!(leads.field("Email").unwrap().unique);
    assert_eq!(leads.field("Date_3").unwrap().data_type, DataType::Date);
    assert_eq!(leads.default_layout().unwrap().mandatory_fields, ["Company"]);
    assert_eq!(leads.display_field, "Full_Name");
    let deals = schema.module("Deals").unwrap();
    assert_eq!(deals.field("Account_Name").unwrap().lookup_module.as_deref(), Some("Accounts"));
    assert_eq!(
        deals.system_mandatory_fields().map(|f| f.api_name.as_str()).collect::<Vec<_>>(),
        ["Deal_Name", "Stage"]
    );
    let properties = schema.module("Properties").unwrap();
    assert_eq!((properties.generated_type.as_str(), properties.display_field.as_str()), ("custom", "Name"));
    let code = properties.field("Listing_Code").unwrap();
    assert!(code.unique && code.custom_field && !code.unique_case_sensitive);
    let kind = properties.field("Property_Type").unwrap();
    assert!(kind.restricted_picklist);
    assert_eq!(kind.pick_list_values, ["-None-", "Apartment", "House", "Office"]);
    assert!(properties.field("Price").unwrap().decimal_place == Some(2));
    assert_eq!(properties.field("Listing_Agent").unwrap().lookup_module.as_deref(), Some("Contacts"));
    assert_eq!(properties.layouts.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["Standard", "Rental"]);
    assert_eq!(properties.layout("Rental").unwrap().mandatory_fields, ["Property_Type", "Price"]);
}
