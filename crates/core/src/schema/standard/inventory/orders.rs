//! Quotes, Sales Orders, Purchase Orders and Invoices, each with its line-item module (`Quoted_Items`,
//! `Ordered_Items`, `Purchase_Items`, `Invoiced_Items`: v3+ names; v2 reads them as
//! `Product_Details`) and the totals Zoho computes from the lines (`Sub_Total`, `Tax`,
//! `Grand_Total`; `Discount` and `Adjustment` are the record's own).

use crate::inventory::{LINE_COMPUTED_FIELDS, RECORD_COMPUTED_FIELDS};
use crate::schema::builder::{audit_fields, build, f, IdSeq, ModuleDef, F};
use crate::schema::{DataType, Layout, Module, GENERATED_TYPE_SUBFORM};

const CARRIERS: &[&str] = &["-None-", "FedEX", "UPS", "USPS", "DHL", "BlueDart"];
const ORDER_STATUS: &[&str] = &["-None-", "Created", "Approved", "Delivered", "Cancelled"];

/// `Billing_*` and `Shipping_*` addresses as the inventory modules name them (`…_Code`).
fn addresses() -> Vec<F> {
    let mut fields = Vec::new();
    for (prefix, label) in [("Billing", "Billing"), ("Shipping", "Shipping")] {
        fields.push(f(&format!("{prefix}_Street"), &format!("{label} Street"), DataType::Text).len(250));
        fields.push(f(&format!("{prefix}_City"), &format!("{label} City"), DataType::Text).len(100));
        fields.push(f(&format!("{prefix}_State"), &format!("{label} State"), DataType::Text).len(100));
        fields.push(f(&format!("{prefix}_Code"), &format!("{label} Code"), DataType::Text).len(30));
        fields.push(f(&format!("{prefix}_Country"), &format!("{label} Country"), DataType::Text).len(100));
    }
    fields
}

/// The line-item field, the totals, terms and description every inventory record ends with.
fn tail(line_items: &str, label: &str) -> Vec<F> {
    let mut fields = vec![f(line_items, label, DataType::Subform).lookup(line_items)];
    for (api_name, label, read_only) in [
        ("Sub_Total", "Sub Total", true),
        ("Discount", "Discount", false),
        ("Tax", "Tax", true),
        ("Adjustment", "Adjustment", false),
        ("Grand_Total", "Grand Total", true),
    ] {
        debug_assert_eq!(read_only, RECORD_COMPUTED_FIELDS.contains(&api_name));
        let field = f(api_name, label, DataType::Currency);
        fields.push(if read_only { field.read_only() } else { field });
    }
    fields.push(f("Terms_and_Conditions", "Terms and Conditions", DataType::Textarea));
    fields.push(f("Description", "Description", DataType::Textarea));
    fields
}

fn inventory_module(ids: &mut IdSeq, api_name: &str, singular: &str, mut fields: Vec<F>) -> Module {
    fields.extend(addresses());
    build(ids, ModuleDef { api_name, singular, display_field: "Subject", layout_mandatory: &[], fields })
}

/// Quotes: `Subject` is system-mandatory and the duplicate check; lines in `Quoted_Items`.
pub(crate) fn quotes(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Subject", "Subject", DataType::Text).len(255).mandatory().unique(),
        f("Quote_Stage", "Quote Stage", DataType::Picklist).values(&[
            "-None-",
            "Draft",
            "Negotiation",
            "Delivered",
            "On Hold",
            "Confirmed",
            "Closed Won",
            "Closed Lost",
        ]),
        f("Valid_Till", "Valid Till", DataType::Date),
        f("Team", "Team", DataType::Text).len(100),
        f("Carrier", "Carrier", DataType::Picklist).values(CARRIERS),
        f("Deal_Name", "Deal Name", DataType::Lookup).lookup("Deals"),
        f("Contact_Name", "Contact Name", DataType::Lookup).lookup("Contacts"),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
    ];
    fields.extend(tail("Quoted_Items", "Quoted Items"));
    inventory_module(ids, "Quotes", "Quote", fields)
}

/// Sales Orders: lines in `Ordered_Items`.
pub(crate) fn sales_orders(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Subject", "Subject", DataType::Text).len(255).mandatory().unique(),
        f("Customer_No", "Customer No", DataType::Text).len(100),
        f("Quote_Name", "Quote Name", DataType::Lookup).lookup("Quotes"),
        f("Purchase_Order", "Purchase Order", DataType::Text).len(100),
        f("Due_Date", "Due Date", DataType::Date),
        f("Pending", "Pending", DataType::Text).len(100),
        f("Carrier", "Carrier", DataType::Picklist).values(CARRIERS),
        f("Excise_Duty", "Excise Duty", DataType::Currency),
        f("Sales_Commission", "Sales Commission", DataType::Currency),
        f("Status", "Status", DataType::Picklist).values(ORDER_STATUS),
        f("Deal_Name", "Deal Name", DataType::Lookup).lookup("Deals"),
        f("Contact_Name", "Contact Name", DataType::Lookup).lookup("Contacts"),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
    ];
    fields.extend(tail("Ordered_Items", "Ordered Items"));
    inventory_module(ids, "Sales_Orders", "Sales Order", fields)
}

/// Purchase Orders: `Vendor_Name` is system-mandatory too; lines in `Purchase_Items`.
pub(crate) fn purchase_orders(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Subject", "Subject", DataType::Text).len(255).mandatory().unique(),
        f("Vendor_Name", "Vendor Name", DataType::Lookup).lookup("Vendors").mandatory(),
        f("Requisition_No", "Requisition No", DataType::Text).len(100),
        f("Tracking_Number", "Tracking Number", DataType::Text).len(100),
        f("PO_Date", "PO Date", DataType::Date),
        f("Due_Date", "Due Date", DataType::Date),
        f("Carrier", "Carrier", DataType::Picklist).values(CARRIERS),
        f("Excise_Duty", "Excise Duty", DataType::Currency),
        f("Sales_Commission", "Sales Commission", DataType::Currency),
        f("Status", "Status", DataType::Picklist).values(ORDER_STATUS),
        f("Contact_Name", "Contact Name", DataType::Lookup).lookup("Contacts"),
    ];
    fields.extend(tail("Purchase_Items", "Purchase Items"));
    inventory_module(ids, "Purchase_Orders", "Purchase Order", fields)
}

/// Invoices: lines in `Invoiced_Items`.
pub(crate) fn invoices(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Subject", "Subject", DataType::Text).len(255).mandatory().unique(),
        f("Sales_Order", "Sales Order", DataType::Lookup).lookup("Sales_Orders"),
        f("Invoice_Date", "Invoice Date", DataType::Date),
        f("Purchase_Order", "Purchase Order", DataType::Text).len(100),
        f("Due_Date", "Due Date", DataType::Date),
        f("Excise_Duty", "Excise Duty", DataType::Currency),
        f("Sales_Commission", "Sales Commission", DataType::Currency),
        f("Status", "Status", DataType::Picklist).values(ORDER_STATUS),
        f("Deal_Name", "Deal Name", DataType::Lookup).lookup("Deals"),
        f("Contact_Name", "Contact Name", DataType::Lookup).lookup("Contacts"),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
    ];
    fields.extend(tail("Invoiced_Items", "Invoiced Items"));
    inventory_module(ids, "Invoices", "Invoice", fields)
}

/// A line-item module of `parent`: the product, quantity, price, discount and tax a CSV row
/// gives, and the amounts Zoho computes from them (read-only).
pub(crate) fn line_items(ids: &mut IdSeq, api_name: &str, parent: &str) -> Module {
    let mut fields = vec![
        f("Sequence_Number", "S.NO", DataType::Integer).read_only(),
        f("Parent_Id", "Parent Id", DataType::Lookup).lookup(parent).mandatory(),
        f("Product_Name", "Product Name", DataType::Lookup).lookup("Products").mandatory(),
        f("Quantity", "Quantity", DataType::Double).mandatory(),
        f("List_Price", "List Price", DataType::Currency),
        f("Discount", "Discount", DataType::Currency),
        f("Tax", "Tax", DataType::Currency),
        f("Price_Book_Name", "Price Book Name", DataType::Lookup).lookup("Price_Books"),
        f("Description", "Description", DataType::Textarea).len(2000),
    ];
    for (name, label) in [
        ("Unit_Price", "Unit Price"),
        ("Total", "Amount"),
        ("Total_After_Discount", "Total After Discount"),
        ("Net_Total", "Total"),
    ] {
        debug_assert!(LINE_COMPUTED_FIELDS.contains(&name));
        fields.push(f(name, label, DataType::Currency).read_only());
    }
    let mut all: Vec<_> = fields.into_iter().map(|f| f.0).collect();
    all.extend(audit_fields());
    subform(ids, api_name, &api_name.replace('_', " "), "Parent_Id", all)
}

/// A built-in subform module with sequential ids and one `Standard` layout.
pub(crate) fn subform(
    ids: &mut IdSeq,
    api_name: &str,
    label: &str,
    display_field: &str,
    mut fields: Vec<crate::schema::Field>,
) -> Module {
    let id = ids.next();
    for field in &mut fields {
        field.id = ids.next();
    }
    Module {
        id,
        api_name: api_name.to_string(),
        module_name: api_name.to_string(),
        singular_label: label.to_string(),
        plural_label: label.to_string(),
        generated_type: GENERATED_TYPE_SUBFORM.to_string(),
        bulk_write: true,
        display_field: display_field.to_string(),
        fields,
        layouts: vec![Layout { id: ids.next(), name: "Standard".to_string(), mandatory_fields: Vec::new() }],
    }
}
