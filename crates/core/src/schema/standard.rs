//! Zoho's standard modules as a new org has them: fields, types, lengths, system-mandatory and
//! duplicate-check fields, as Zoho documents them, and one `Standard` layout per module.
//!
//! Ids are assigned sequentially in module order, so new modules are only ever appended: the
//! record modules bulk write accepts first, then the non-record modules it refuses (`Notes`,
//! `Attachments`), then the modules added since (`Calls`, `Events`, Tasks' links).

mod activities;
mod calendar;
mod inventory;
mod non_record;
mod sales;
mod support;

pub use calendar::{SE_MODULE, WHAT_MODULES};

use super::builder::IdSeq;
use super::OrgSchema;

/// Ids of built-in metadata start here; each module, field and layout takes the next one.
const FIRST_METADATA_ID: u64 = 5_725_767_000_000_002_001;

/// Zoho standard modules this server does not model. Custom modules may not take these names
/// either (besides the names of the modules in the schema).
pub(crate) const OTHER_STANDARD_MODULES: &[&str] =
    &["Activities", "Meetings", "Users", "Emails", "Visits", "Forecasts"];

/// The schema of a new org.
pub fn standard_schema() -> OrgSchema {
    let mut ids = IdSeq(FIRST_METADATA_ID);
    let ids = &mut ids;
    let mut modules = vec![
        sales::leads(ids),
        sales::contacts(ids),
        sales::accounts(ids),
        sales::deals(ids),
        activities::campaigns(ids),
        activities::tasks(ids),
        inventory::products(ids),
        inventory::vendors(ids),
        support::cases(ids),
        support::solutions(ids),
        inventory::price_books(ids),
        // Non-record modules last, so that adding them moved no other id.
        non_record::notes(ids),
        non_record::attachments(ids),
    ];
    // Appended later still, so that no id above moved.
    modules.push(calendar::calls(ids));
    modules.push(calendar::events(ids));
    if let Some(tasks) = modules.iter_mut().find(|m| m.api_name == "Tasks") {
        calendar::link_tasks(tasks, ids);
    }
    // Inventory orders, their line items and the price ranges of Price Books, after those.
    for order in [inventory::quotes, inventory::sales_orders, inventory::purchase_orders, inventory::invoices] {
        modules.push(order(ids));
    }
    for (parent, lines) in crate::inventory::LINE_ITEM_MODULES {
        modules.push(inventory::line_items(ids, lines, parent));
    }
    modules.push(inventory::pricing_details(ids));
    let pricing = inventory::pricing_details_field(ids);
    if let Some(price_books) = modules.iter_mut().find(|m| m.api_name == "Price_Books") {
        let before_system_tail = price_books.fields.iter().position(|f| f.api_name == "Layout").unwrap_or(0);
        price_books.fields.insert(before_system_tail, pricing);
    }
    OrgSchema { modules }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Field;

    #[test]
    fn ids_are_unique_nineteen_digit_strings() {
        let schema = standard_schema();
        let mut seen = std::collections::HashSet::new();
        for module in &schema.modules {
            let layout_ids = module.layouts.iter().map(|l| &l.id);
            for id in std::iter::once(&module.id).chain(module.fields.iter().map(|f| &f.id)).chain(layout_ids) {
                assert_eq!(id.len(), 19, "{id}");
                assert!(seen.insert(id.clone()), "duplicate id {id}");
            }
        }
    }

    #[test]
    fn mandatory_and_unique_fields_follow_the_spec() {
        let schema = standard_schema();
        let names = |module: &str, pick: fn(&Field) -> bool| -> Vec<String> {
            let m = schema.module(module).unwrap();
            m.fields.iter().filter(|f| pick(f)).map(|f| f.api_name.clone()).collect()
        };
        assert_eq!(names("Leads", |f| f.system_mandatory), ["Last_Name"]);
        assert_eq!(names("Leads", |f| f.unique), ["Email"]);
        assert_eq!(names("Accounts", |f| f.unique), ["Account_Name"]);
        assert_eq!(names("Deals", |f| f.system_mandatory), ["Deal_Name", "Stage"]);
        let leads = schema.module("Leads").unwrap();
        assert_eq!(leads.default_layout().unwrap().name, "Standard");
        assert_eq!(leads.default_layout().unwrap().mandatory_fields, ["Company"]);
    }
}
