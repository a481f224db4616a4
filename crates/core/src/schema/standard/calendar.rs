//! Calls and Events (Zoho labels Events "Meetings"; the API name stays `Events` in every
//! version), and the links every activity has: `What_Id` (Zoho's "Related To", a record of the
//! module `$se_module` names) and `Who_Id` (the contact).
//!
//! Fields and system-mandatory fields follow the spec (§9: Calls `Subject`, `Call_Type`,
//! `Call_Start_Time`, `Call_Duration`; Events `Event_Title`, `Start_DateTime`, `End_DateTime`)
//! and Zoho's records API: `Call_Duration` is `mm:ss` text, `Call_Duration_in_seconds` is
//! computed from it, `Call_Type` is Inbound, Outbound or Missed. A lead is linked as Zoho
//! stores it: `What_Id` with `$se_module` `Leads`.

use crate::schema::builder::{build, f, IdSeq, ModuleDef, F};
use crate::schema::{DataType, Field, Module};

/// The field naming the module of a polymorphic `What_Id`.
pub const SE_MODULE: &str = "$se_module";

/// Modules `What_Id` may point at (the values of `$se_module`), the inventory modules among them.
pub const WHAT_MODULES: &[&str] = &[
    "Accounts",
    "Deals",
    "Leads",
    "Campaigns",
    "Cases",
    "Solutions",
    "Products",
    "Vendors",
    "Price_Books",
    "Quotes",
    "Sales_Orders",
    "Purchase_Orders",
    "Invoices",
];

/// `What_Id`, `$se_module` and `Who_Id`.
fn links() -> Vec<F> {
    let mut se_module = f(SE_MODULE, "Related Module", DataType::Picklist).values(WHAT_MODULES);
    se_module.0.restricted_picklist = true;
    vec![
        f("What_Id", "Related To", DataType::Lookup),
        se_module,
        f("Who_Id", "Contact Name", DataType::Lookup).lookup("Contacts"),
    ]
}

/// Calls.
pub(super) fn calls(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Subject", "Subject", DataType::Text).mandatory(),
        f("Call_Type", "Call Type", DataType::Picklist).mandatory().values(&["Inbound", "Outbound", "Missed"]),
        f("Call_Purpose", "Call Purpose", DataType::Picklist).values(&[
            "-None-",
            "Prospecting",
            "Administrative",
            "Negotiation",
            "Demo",
            "Project",
            "Desk",
        ]),
        f("Call_Start_Time", "Call Start Time", DataType::DateTime).mandatory(),
        f("Call_Duration", "Call Duration", DataType::Text).len(10).mandatory(),
        f("Call_Duration_in_seconds", "Call Duration (in seconds)", DataType::Integer).read_only(),
        f("Call_Result", "Call Result", DataType::Text).len(120),
        f("Call_Agenda", "Call Agenda", DataType::Text),
        f("Billable", "Billable", DataType::Boolean),
        f("Description", "Description", DataType::Textarea),
    ];
    fields.extend(links());
    let mut module = build(
        ids,
        ModuleDef { api_name: "Calls", singular: "Call", display_field: "Subject", layout_mandatory: &[], fields },
    );
    restrict(&mut module, "Call_Type");
    module
}

/// Events, labelled Meetings.
pub(super) fn events(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Event_Title", "Title", DataType::Text).mandatory(),
        f("Venue", "Location", DataType::Text),
        f("All_day", "All day", DataType::Boolean),
        f("Start_DateTime", "From", DataType::DateTime).mandatory(),
        f("End_DateTime", "To", DataType::DateTime).mandatory(),
        f("Description", "Description", DataType::Textarea),
    ];
    fields.extend(links());
    let mut module = build(
        ids,
        ModuleDef {
            api_name: "Events",
            singular: "Meeting",
            display_field: "Event_Title",
            layout_mandatory: &[],
            fields,
        },
    );
    module.plural_label = "Meetings".to_string();
    module
}

/// Gives Tasks (built before these links existed) `What_Id`, `$se_module` and `Who_Id`, with ids
/// taken after every other module's, so no existing id moves.
pub(super) fn link_tasks(tasks: &mut Module, ids: &mut IdSeq) {
    let at = tasks.fields.iter().position(|field| field.api_name == "Description").unwrap_or(tasks.fields.len());
    let links: Vec<Field> = links()
        .into_iter()
        .map(|link| {
            let mut field = link.0;
            field.id = ids.next();
            field
        })
        .collect();
    tasks.fields.splice(at..at, links);
}

fn restrict(module: &mut Module, field: &str) {
    if let Some(field) = module.field_mut(field) {
        field.restricted_picklist = true;
    }
}
