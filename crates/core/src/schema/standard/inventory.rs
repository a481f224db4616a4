//! Products, Vendors and Price Books (with its `Pricing_Details` ranges); the order modules
//! and their line items are in [`orders`].

mod orders;

pub(super) use orders::{invoices, line_items, purchase_orders, quotes, sales_orders};

use crate::schema::builder::{address, audit_fields, build, f, IdSeq, ModuleDef};
use crate::schema::{DataType, Module};

/// Products: duplicate check and system-mandatory on `Product_Name`.
pub(super) fn products(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Product_Name", "Product Name", DataType::Text).len(120).mandatory().unique(),
        f("Product_Code", "Product Code", DataType::Text).len(40),
        f("Product_Active", "Product Active", DataType::Boolean),
        f("Product_Category", "Product Category", DataType::Picklist).values(&[
            "-None-",
            "Hardware",
            "Software",
            "CRM Applications",
        ]),
        f("Manufacturer", "Manufacturer", DataType::Picklist).values(&[
            "-None-",
            "AltvetPet Inc.",
            "LexPro Inc.",
            "MetBeat Corp.",
        ]),
        f("Vendor_Name", "Vendor Name", DataType::Lookup).lookup("Vendors"),
        f("Sales_Start_Date", "Sales Start Date", DataType::Date),
        f("Sales_End_Date", "Sales End Date", DataType::Date),
        f("Support_Start_Date", "Support Start Date", DataType::Date),
        f("Support_Expiry_Date", "Support Expiry Date", DataType::Date),
        f("Unit_Price", "Unit Price", DataType::Currency),
        f("Commission_Rate", "Commission Rate", DataType::Currency),
        f("Taxable", "Taxable", DataType::Boolean),
        f("Usage_Unit", "Usage Unit", DataType::Picklist).values(&[
            "-None-",
            "Box",
            "Carton",
            "Dozen",
            "Each",
            "Hours",
            "Impressions",
            "Lb",
            "M",
            "Pack",
            "Pages",
            "Pieces",
            "Quantity",
            "Reams",
            "Sheet",
            "Spiral Binder",
            "Sq Ft",
        ]),
        f("Qty_Ordered", "Qty Ordered", DataType::Double),
        f("Qty_in_Stock", "Qty in Stock", DataType::Double),
        f("Reorder_Level", "Reorder Level", DataType::Double),
        f("Qty_in_Demand", "Qty in Demand", DataType::Double),
        f("Description", "Description", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef {
            api_name: "Products",
            singular: "Product",
            display_field: "Product_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

/// Vendors: duplicate check and system-mandatory on `Vendor_Name`.
pub(super) fn vendors(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Vendor_Name", "Vendor Name", DataType::Text).len(120).mandatory().unique(),
        f("Phone", "Phone", DataType::Phone),
        f("Email", "Email", DataType::Email),
        f("Website", "Website", DataType::Website),
        f("GL_Account", "GL Account", DataType::Picklist).values(&[
            "-None-",
            "Sales-Software",
            "Sales-Hardware",
            "Rental-Income",
            "Interest-Income",
            "Sales-Software-Support",
            "Sales Other",
            "Internet Sales",
            "Service-Hardware Labor",
            "Sales-Books",
        ]),
        f("Category", "Category", DataType::Text).len(100),
    ];
    fields.extend(address(""));
    fields.push(f("Description", "Description", DataType::Textarea));
    build(
        ids,
        ModuleDef {
            api_name: "Vendors",
            singular: "Vendor",
            display_field: "Vendor_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

/// Price Books: duplicate check and system-mandatory on `Price_Book_Name`.
///
/// Its `Pricing_Details` (price ranges, a subform field added after the later modules so that no
/// id moved) are written as child rows of a parent/child job, so the parent CSV cannot carry
/// them and they are not enforced as mandatory on the Price Books row.
pub(super) fn price_books(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Price_Book_Name", "Price Book Name", DataType::Text).len(120).mandatory().unique(),
        f("Active", "Active", DataType::Boolean),
        f("Pricing_Model", "Pricing Model", DataType::Picklist).values(&["None", "Flat", "Differential"]),
        f("Description", "Description", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef {
            api_name: "Price_Books",
            singular: "Price Book",
            display_field: "Price_Book_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

/// `Pricing_Details`, the price ranges of a Price Book (Zoho's keys are lower-case): a quantity
/// range `from_range`–`to_range` and the `discount` (a percentage) it gets.
pub(super) fn pricing_details(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Parent_Id", "Parent Id", DataType::Lookup).lookup("Price_Books").mandatory().0,
        f("from_range", "From Range", DataType::Double).mandatory().0,
        f("to_range", "To Range", DataType::Double).mandatory().0,
        f("discount", "Discount", DataType::Percent).0,
    ];
    fields.extend(audit_fields());
    orders::subform(ids, "Pricing_Details", "Pricing Details", "Parent_Id", fields)
}

/// The `Pricing_Details` subform field of Price Books.
pub(super) fn pricing_details_field(ids: &mut IdSeq) -> crate::schema::Field {
    let mut field = f("Pricing_Details", "Pricing Details", DataType::Subform).lookup("Pricing_Details").0;
    field.id = ids.next();
    field
}
