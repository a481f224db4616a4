//! Table-driven tests of the standard schema and of custom modules.

use super::standard::standard_schema;
use super::*;

/// A fresh-id generator like the server's: 19-digit, sequential.
fn id_gen(start: u64) -> impl FnMut() -> String {
    let mut next = start;
    move || {
        next += 1;
        next.to_string()
    }
}

fn names<'a>(fields: impl Iterator<Item = &'a Field>) -> Vec<&'a str> {
    fields.map(|f| f.api_name.as_str()).collect()
}

/// (module, bulk_write, display field, system-mandatory fields, duplicate-check fields)
type ModuleRow = (&'static str, bool, &'static str, &'static [&'static str], &'static [&'static str]);

#[test]
fn standard_modules_have_the_spec_mandatory_and_unique_fields() {
    let table: &[ModuleRow] = &[
        ("Leads", true, "Full_Name", &["Last_Name"], &["Email"]),
        ("Contacts", true, "Full_Name", &["Last_Name"], &["Email"]),
        ("Accounts", true, "Account_Name", &["Account_Name"], &["Account_Name"]),
        ("Deals", true, "Deal_Name", &["Deal_Name", "Stage"], &["Deal_Name"]),
        ("Campaigns", true, "Campaign_Name", &["Campaign_Name"], &["Campaign_Name"]),
        ("Tasks", true, "Subject", &["Subject"], &[]),
        ("Products", true, "Product_Name", &["Product_Name"], &["Product_Name"]),
        ("Vendors", true, "Vendor_Name", &["Vendor_Name"], &["Vendor_Name"]),
        ("Cases", true, "Subject", &["Subject", "Status", "Case_Origin"], &["Subject"]),
        ("Solutions", true, "Solution_Title", &["Solution_Title"], &["Solution_Title"]),
        ("Price_Books", true, "Price_Book_Name", &["Price_Book_Name"], &["Price_Book_Name"]),
        ("Notes", false, "Note_Title", &[], &[]),
        ("Attachments", false, "File_Name", &[], &[]),
        ("Calls", true, "Subject", &["Subject", "Call_Type", "Call_Start_Time", "Call_Duration"], &[]),
        ("Events", true, "Event_Title", &["Event_Title", "Start_DateTime", "End_DateTime"], &[]),
        ("Quotes", true, "Subject", &["Subject"], &["Subject"]),
        ("Sales_Orders", true, "Subject", &["Subject"], &["Subject"]),
        ("Purchase_Orders", true, "Subject", &["Subject", "Vendor_Name"], &["Subject"]),
        ("Invoices", true, "Subject", &["Subject"], &["Subject"]),
    ];
    let schema = standard_schema();
    // The line items and price ranges (subform modules) follow; see the inventory test.
    let order: Vec<&str> = schema.modules.iter().filter(|m| !m.is_subform()).map(|m| m.api_name.as_str()).collect();
    assert_eq!(order, table.iter().map(|row| row.0).collect::<Vec<_>>(), "module order");
    for &(name, bulk_write, display, mandatory, unique) in table {
        let module = schema.module(name).unwrap();
        assert_eq!(module.bulk_write, bulk_write, "{name} bulk_write");
        assert_eq!(module.generated_type, "default", "{name}");
        assert_eq!(module.display_field, display, "{name} display field");
        assert!(module.field(display).is_some(), "{name} display field exists");
        assert_eq!(names(module.system_mandatory_fields()), mandatory, "{name} mandatory");
        assert_eq!(names(module.unique_fields()), unique, "{name} unique");
        assert_eq!(module.fields[0].api_name, "Owner", "{name} starts with Owner");
        let layout = module.default_layout().unwrap();
        assert_eq!(layout.name, "Standard", "{name}");
        if name != "Leads" {
            assert!(layout.mandatory_fields.is_empty(), "{name} layout mandatory");
        }
        let tail = if bulk_write {
            &["Layout", "Created_By", "Modified_By", "Created_Time", "Modified_Time"][..]
        } else {
            &["Created_By", "Modified_By", "Created_Time", "Modified_Time"][..]
        };
        assert_eq!(names(module.fields[module.fields.len() - tail.len()..].iter()), tail, "{name} tail");
    }
}

#[test]
fn ids_are_unique_nineteen_digit_numbers_across_the_schema() {
    let schema = standard_schema();
    let mut seen = std::collections::HashSet::new();
    for module in &schema.modules {
        let ids = std::iter::once(&module.id)
            .chain(module.fields.iter().map(|f| &f.id))
            .chain(module.layouts.iter().map(|l| &l.id));
        for id in ids {
            assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()), "{} id {id}", module.api_name);
            assert!(seen.insert(id.clone()), "duplicate id {id} in {}", module.api_name);
        }
    }
}

#[test]
fn the_first_four_modules_keep_their_ids() {
    // Captured from the schema before Campaigns and later modules were appended.
    // (module, module id, layout id, field count, field, field id)
    let table = [
        ("Leads", "5725767000000002001", "5725767000000002035", 33, "Email", "5725767000000002009"),
        ("Contacts", "5725767000000002036", "5725767000000002076", 39, "Email", "5725767000000002044"),
        ("Accounts", "5725767000000002077", "5725767000000002110", 32, "Account_Name", "5725767000000002079"),
        ("Deals", "5725767000000002111", "5725767000000002130", 18, "Stage", "5725767000000002118"),
    ];
    let schema = standard_schema();
    for (name, module_id, layout_id, count, field, field_id) in table {
        let module = schema.module(name).unwrap();
        assert_eq!(module.id, module_id, "{name}");
        assert_eq!(module.layouts[0].id, layout_id, "{name}");
        assert_eq!(module.fields.len(), count, "{name}");
        assert_eq!(module.field(field).unwrap().id, field_id, "{name}.{field}");
    }
}

#[test]
fn activities_link_a_related_record_and_a_contact() {
    let schema = standard_schema();
    for name in ["Tasks", "Calls", "Events"] {
        let module = schema.module(name).unwrap();
        let what = module.field("What_Id").unwrap();
        assert_eq!((what.data_type, what.lookup_module.as_deref()), (DataType::Lookup, None), "{name}");
        let se_module = module.field("$se_module").unwrap();
        assert!(se_module.restricted_picklist, "{name}");
        for target in &se_module.pick_list_values {
            assert!(schema.module(target).is_some_and(|m| m.bulk_write), "{name}: {target}");
        }
        let who = module.field("Who_Id").unwrap();
        assert_eq!(who.lookup_module.as_deref(), Some("Contacts"), "{name}");
    }
    assert_eq!(schema.module("Events").unwrap().plural_label, "Meetings");
}

#[test]
fn lookups_name_existing_modules() {
    let schema = standard_schema();
    for module in &schema.modules {
        for field in module.fields.iter().filter(|f| f.data_type == DataType::Lookup) {
            match &field.lookup_module {
                Some(target) => assert!(schema.module(target).is_some(), "{}.{}", module.api_name, field.api_name),
                None => assert!(["Parent_Id", "What_Id"].contains(&field.api_name.as_str()), "{}", module.api_name),
            }
        }
    }
}

#[test]
fn picklists_and_read_only_fields_of_the_new_modules() {
    // (module, field, data type, read-only, picklist values or empty)
    let table: &[(&str, &str, DataType, bool, &[&str])] = &[
        (
            "Tasks",
            "Status",
            DataType::Picklist,
            false,
            &["Not Started", "Deferred", "In Progress", "Completed", "Waiting for input"],
        ),
        ("Tasks", "Priority", DataType::Picklist, false, &["High", "Highest", "Low", "Lowest", "Normal"]),
        ("Cases", "Case_Number", DataType::AutoNumber, true, &[]),
        ("Cases", "Status", DataType::Picklist, false, &["New", "On Hold", "Escalated", "Closed"]),
        ("Cases", "Case_Origin", DataType::Picklist, false, &["Email", "Phone", "Web"]),
        ("Cases", "No_of_comments", DataType::Integer, true, &[]),
        ("Solutions", "Solution_Number", DataType::AutoNumber, true, &[]),
        ("Solutions", "Status", DataType::Picklist, false, &["Draft", "Reviewed", "Published"]),
        ("Price_Books", "Pricing_Model", DataType::Picklist, false, &["None", "Flat", "Differential"]),
        ("Products", "Unit_Price", DataType::Currency, false, &[]),
        ("Campaigns", "Expected_Response", DataType::Integer, false, &[]),
    ];
    let schema = standard_schema();
    for &(module, field, data_type, read_only, values) in table {
        let f = schema.module(module).unwrap().field(field).unwrap();
        assert_eq!((f.data_type, f.read_only), (data_type, read_only), "{module}.{field}");
        assert_eq!(f.pick_list_values, values, "{module}.{field}");
    }
    let pricing = schema.module("Price_Books").unwrap().field("Pricing_Details").unwrap();
    assert_eq!((pricing.data_type, pricing.lookup_module.as_deref()), (DataType::Subform, Some("Pricing_Details")));
}

#[test]
fn inventory_modules_hold_their_line_items_and_computed_totals() {
    let schema = standard_schema();
    for (parent, lines) in crate::inventory::LINE_ITEM_MODULES {
        let module = schema.module(parent).unwrap();
        assert!(module.bulk_write, "{parent}");
        let field = module.field(lines).unwrap();
        assert_eq!((field.data_type, field.lookup_module.as_deref()), (DataType::Subform, Some(*lines)));
        for total in crate::inventory::RECORD_COMPUTED_FIELDS {
            assert!(module.field(total).unwrap().read_only, "{parent}.{total}");
        }
        assert!(!module.field("Adjustment").unwrap().read_only);
        let line = schema.module(lines).unwrap();
        assert!(line.is_subform());
        assert_eq!(line.field("Parent_Id").unwrap().lookup_module.as_deref(), Some(*parent));
        let mandatory: Vec<&str> = line.system_mandatory_fields().map(|f| f.api_name.as_str()).collect();
        assert_eq!(mandatory, ["Parent_Id", "Product_Name", "Quantity"], "{lines}");
        for computed in crate::inventory::LINE_COMPUTED_FIELDS {
            assert!(line.field(computed).unwrap().read_only, "{lines}.{computed}");
        }
    }
    let vendor = schema.module("Purchase_Orders").unwrap().field("Vendor_Name").unwrap();
    assert!(vendor.system_mandatory);
}

#[test]
fn a_linking_module_has_a_lookup_to_each_module_and_a_multi_select_lookup_on_the_first() {
    let mut schema = standard_schema();
    let mut next = id_gen(5_725_767_000_000_090_000);
    let linking = CustomModuleSpec {
        linking_modules: Some(vec!["Leads".into(), "Contacts".into()]),
        ..spec("Leads_X_Contacts", None)
    };
    schema.apply_custom_module(&linking, &mut next).unwrap();
    let module = schema.module("Leads_X_Contacts").unwrap();
    assert_eq!(module.generated_type, crate::schema::GENERATED_TYPE_LINKING);
    let lookups: Vec<(&str, Option<&str>)> = module
        .fields
        .iter()
        .filter(|f| f.data_type == DataType::Lookup)
        .map(|f| (f.api_name.as_str(), f.lookup_module.as_deref()))
        .collect();
    assert_eq!(lookups, [("Leads", Some("Leads")), ("Contacts", Some("Contacts"))]);
    let msl = schema.module("Leads").unwrap().field("Leads_X_Contacts").unwrap();
    assert_eq!((msl.data_type, msl.lookup_module.as_deref()), (DataType::MultiSelectLookup, Some("Contacts")));
    let bad = CustomModuleSpec { linking_modules: Some(vec!["Leads".into(), "Nope".into()]), ..spec("L2", None) };
    assert!(schema.apply_custom_module(&bad, &mut next).is_err());
    let users =
        CustomModuleSpec { linking_modules: Some(vec!["Deals".into(), "Users".into()]), ..spec("Deals_X_Users", None) };
    schema.apply_custom_module(&users, &mut next).unwrap();
    let user = schema.module("Deals_X_Users").unwrap().field("Users").unwrap();
    assert_eq!(user.data_type, DataType::UserLookup);
    let mul = schema.module("Deals").unwrap().field("Deals_X_Users").unwrap();
    assert_eq!((mul.data_type, mul.lookup_module.as_deref()), (DataType::MultiUserLookup, Some("Users")));
    let (linking, link) = schema.linking_module("Deals", "Users").unwrap();
    assert_eq!((linking.api_name.as_str(), link.api_name.as_str()), ("Deals_X_Users", "Deals"));
}

fn spec(api_name: &str, parent: Option<&str>) -> CustomModuleSpec {
    CustomModuleSpec {
        api_name: api_name.to_string(),
        singular_label: None,
        plural_label: None,
        parent_module: parent.map(str::to_string),
        linking_modules: None,
    }
}

#[test]
fn a_regular_custom_module_has_owner_name_emails_and_the_system_tail() {
    let mut schema = standard_schema();
    let mut next = id_gen(5_725_767_000_000_090_000);
    let projects = CustomModuleSpec { singular_label: Some("Project".into()), ..spec("Projects", None) };
    schema.apply_custom_module(&projects, &mut next).unwrap();
    let module = schema.module("Projects").unwrap();
    assert_eq!(module.id, "5725767000000090001");
    assert_eq!((module.generated_type.as_str(), module.bulk_write), ("custom", true));
    assert!(module.is_custom() && !module.is_subform());
    assert_eq!((module.singular_label.as_str(), module.plural_label.as_str()), ("Project", "Projects"));
    let expected = [
        "Owner",
        "Name",
        "Email",
        "Secondary_Email",
        "Email_Opt_Out",
        "Layout",
        "Created_By",
        "Modified_By",
        "Created_Time",
        "Modified_Time",
    ];
    assert_eq!(names(module.fields.iter()), expected);
    assert_eq!(names(module.system_mandatory_fields()), ["Name"]);
    assert_eq!(names(module.unique_fields()), ["Name"]);
    let name = module.field("Name").unwrap();
    assert_eq!((name.data_type, name.length, name.field_label.as_str()), (DataType::Text, Some(120), "Project Name"));
    assert_eq!(module.display_field, "Name");
    assert_eq!(module.layouts.len(), 1);
    assert_eq!(module.layouts[0].name, "Standard");
    assert_eq!(module.layouts[0].id, "5725767000000090012");
}

#[test]
fn a_subform_module_hangs_under_its_parent() {
    let mut schema = standard_schema();
    let mut next = id_gen(5_725_767_000_000_090_000);
    schema.apply_custom_module(&spec("Projects", None), &mut next).unwrap();
    schema.apply_custom_module(&spec("Milestones", Some("projects")), &mut next).unwrap();
    let sub = schema.module("Milestones").unwrap();
    assert_eq!((sub.generated_type.as_str(), sub.bulk_write), ("subform", true));
    assert!(sub.is_custom() && sub.is_subform());
    let expected = ["Parent_Id", "Created_By", "Modified_By", "Created_Time", "Modified_Time"];
    assert_eq!(names(sub.fields.iter()), expected);
    let parent_id = sub.field("Parent_Id").unwrap();
    assert_eq!(parent_id.data_type, DataType::Lookup);
    assert_eq!(parent_id.lookup_module.as_deref(), Some("Projects"));
    assert!(parent_id.system_mandatory && !parent_id.read_only);
    assert!(sub.fields[1..].iter().all(|f| f.read_only));
    assert_eq!(sub.display_field, "Parent_Id");
    assert_eq!(sub.layouts.len(), 1);
    assert!(sub.layouts[0].mandatory_fields.is_empty());
    let field = schema.module("Projects").unwrap().field("Milestones").unwrap();
    assert_eq!((field.data_type, field.read_only), (DataType::Subform, false));
    assert_eq!(field.lookup_module.as_deref(), Some("Milestones"));
    assert!(!field.is_writable());
    // A subform of a standard module works too.
    schema.apply_custom_module(&spec("Deal_Items", Some("Deals")), &mut next).unwrap();
    assert_eq!(schema.module("Deals").unwrap().field("Deal_Items").unwrap().data_type, DataType::Subform);
}

#[test]
fn applying_a_custom_module_twice_changes_nothing() {
    for parent in [None, Some("Leads")] {
        let mut schema = standard_schema();
        let mut next = id_gen(5_725_767_000_000_090_000);
        schema.apply_custom_module(&spec("Visits_Log", parent), &mut next).unwrap();
        let once = schema.clone();
        schema.apply_custom_module(&spec("Visits_Log", parent), &mut next).unwrap();
        schema.apply_custom_module(&spec("visits_log", parent), &mut next).unwrap();
        assert_eq!(schema, once, "{parent:?}");
    }
}

#[test]
fn custom_module_errors() {
    let table: &[(CustomModuleSpec, SchemaError)] = &[
        (spec("Pro jects", None), SchemaError::BadApiName("Pro jects".into())),
        (spec("9Lives", None), SchemaError::BadApiName("9Lives".into())),
        (spec("", None), SchemaError::BadApiName(String::new())),
        (spec("Leads", None), SchemaError::StandardModule("Leads".into())),
        (spec("price_books", None), SchemaError::StandardModule("price_books".into())),
        (spec("Notes", None), SchemaError::StandardModule("Notes".into())),
        (spec("Invoices", None), SchemaError::StandardModule("Invoices".into())),
        (spec("Users", Some("Leads")), SchemaError::StandardModule("Users".into())),
        (spec("Lines", Some("Nowhere")), SchemaError::UnknownModule("Nowhere".into())),
        (spec("Lines", Some("Notes")), SchemaError::InvalidParentModule("Notes".into())),
        (spec("Lines", Some("Items")), SchemaError::InvalidParentModule("Items".into())),
        (spec("Email", Some("Leads")), SchemaError::FieldConflict { module: "Leads".into(), field: "Email".into() }),
    ];
    let mut base = standard_schema();
    let mut next = id_gen(5_725_767_000_000_090_000);
    base.apply_custom_module(&spec("Items", Some("Deals")), &mut next).unwrap();
    for (spec, error) in table {
        let mut schema = base.clone();
        assert_eq!(schema.apply_custom_module(spec, &mut next).as_ref(), Err(error), "{spec:?}");
        assert_eq!(schema, base, "{spec:?} changed the schema");
        assert!(!error.to_string().is_empty());
    }
}

fn field_spec(module: &str, api_name: &str, data_type: DataType) -> CustomFieldSpec {
    CustomFieldSpec {
        module: module.to_string(),
        api_name: api_name.to_string(),
        field_label: None,
        data_type,
        length: None,
        decimal_place: None,
        unique: false,
        mandatory: false,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    }
}

#[test]
fn custom_fields_on_custom_modules() {
    let mut schema = standard_schema();
    let mut next = id_gen(5_725_767_000_000_090_000);
    schema.apply_custom_module(&spec("Projects", None), &mut next).unwrap();
    schema.apply_custom_module(&spec("Milestones", Some("Projects")), &mut next).unwrap();
    // (field spec, expected outcome)
    let table = [
        (field_spec("Projects", "Budget", DataType::Currency), Ok(())),
        (field_spec("Milestones", "Due_On", DataType::Date), Ok(())),
        (
            field_spec("Projects", "Name", DataType::Text),
            Err(SchemaError::StandardField { module: "Projects".into(), field: "Name".into() }),
        ),
        (
            field_spec("Projects", "Milestones", DataType::Text),
            Err(SchemaError::FieldConflict { module: "Projects".into(), field: "Milestones".into() }),
        ),
    ];
    for (field, expected) in table {
        assert_eq!(schema.apply_custom_field(&field, next()), expected, "{}.{}", field.module, field.api_name);
    }
    let budget = schema.module("Projects").unwrap().field("Budget").unwrap();
    assert!(budget.custom_field && budget.is_writable());
    assert_eq!(budget.data_type, DataType::Currency);
    assert!(schema.module("Milestones").unwrap().field("Due_On").unwrap().custom_field);
    assert_eq!(schema.module("Projects").unwrap().field("Milestones").unwrap().data_type, DataType::Subform);
}
