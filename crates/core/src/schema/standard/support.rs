//! Cases and Solutions.

use crate::schema::builder::{build, f, IdSeq, ModuleDef};
use crate::schema::{DataType, Module};

/// Cases: `Case_Origin`, `Status` and `Subject` are system-mandatory; `Subject` is the duplicate check.
pub(super) fn cases(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Case_Number", "Case Number", DataType::AutoNumber).read_only(),
        f("Subject", "Subject", DataType::Text).mandatory().unique(),
        f("Status", "Status", DataType::Picklist).mandatory().values(&["New", "On Hold", "Escalated", "Closed"]),
        f("Case_Origin", "Case Origin", DataType::Picklist).mandatory().values(&["Email", "Phone", "Web"]),
        f("Priority", "Priority", DataType::Picklist).values(&["High", "Medium", "Low"]),
        f("Type", "Type", DataType::Picklist).values(&["Question", "Problem", "Feature Request"]),
        f("Case_Reason", "Case Reason", DataType::Picklist).values(&[
            "-None-",
            "User did not attend any training",
            "Complex functionality",
            "Existing problem",
            "Instructions not clear",
            "New problem",
        ]),
        f("Product_Name", "Product Name", DataType::Lookup).lookup("Products"),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
        f("Related_To", "Related To", DataType::Lookup).lookup("Contacts"),
        f("Deal_Name", "Deal Name", DataType::Lookup).lookup("Deals"),
        f("Email", "Email", DataType::Email),
        f("Phone", "Phone", DataType::Phone),
        f("No_of_comments", "No. of comments", DataType::Integer).read_only(),
        f("Reported_By", "Reported By", DataType::Text).len(120),
        f("Description", "Description", DataType::Textarea),
        f("Internal_Comments", "Internal Comments", DataType::Textarea),
        f("Solution", "Solution", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef { api_name: "Cases", singular: "Case", display_field: "Subject", layout_mandatory: &[], fields },
    )
}

/// Solutions: duplicate check and system-mandatory on `Solution_Title`.
pub(super) fn solutions(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Solution_Number", "Solution Number", DataType::AutoNumber).read_only(),
        f("Solution_Title", "Solution Title", DataType::Text).mandatory().unique(),
        f("Status", "Status", DataType::Picklist).values(&["Draft", "Reviewed", "Published"]),
        f("Product_Name", "Product Name", DataType::Lookup).lookup("Products"),
        f("Question", "Question", DataType::Textarea),
        f("Answer", "Answer", DataType::Textarea),
        f("Published", "Published", DataType::Boolean),
        f("No_of_comments", "No. of comments", DataType::Integer).read_only(),
    ];
    build(
        ids,
        ModuleDef {
            api_name: "Solutions",
            singular: "Solution",
            display_field: "Solution_Title",
            layout_mandatory: &[],
            fields,
        },
    )
}
