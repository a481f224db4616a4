//! Products, Vendors and Price Books.

use crate::schema::builder::{address, build, f, IdSeq, ModuleDef};
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
/// Zoho also makes `Pricing_Details` system-mandatory, but it is a JSON array of price ranges
/// that a CSV cell cannot carry, so a bulk write could never satisfy it. It is left out rather
/// than making every Price Books insert fail with `MANDATORY_NOT_FOUND`.
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
