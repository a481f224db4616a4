//! Campaigns and Tasks.

use crate::schema::builder::{build, f, IdSeq, ModuleDef};
use crate::schema::{DataType, Module};

/// Campaigns: duplicate check and system-mandatory on `Campaign_Name`.
pub(super) fn campaigns(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Campaign_Name", "Campaign Name", DataType::Text).len(120).mandatory().unique(),
        f("Type", "Type", DataType::Picklist).values(&[
            "-None-",
            "Conference",
            "Webinar",
            "Trade Show",
            "Public Relations",
            "Partners",
            "Referral Program",
            "Advertisement",
            "Banner Ads",
            "Direct mail",
            "Email",
            "Telemarketing",
            "Others",
        ]),
        f("Status", "Status", DataType::Picklist).values(&["-None-", "Planning", "Active", "Inactive", "Complete"]),
        f("Start_Date", "Start Date", DataType::Date),
        f("End_Date", "End Date", DataType::Date),
        f("Expected_Revenue", "Expected Revenue", DataType::Currency),
        f("Budgeted_Cost", "Budgeted Cost", DataType::Currency),
        f("Actual_Cost", "Actual Cost", DataType::Currency),
        f("Expected_Response", "Expected Response", DataType::Integer),
        f("Num_sent", "Numbers Sent", DataType::Integer),
        f("Parent_Campaign", "Parent Campaign", DataType::Lookup).lookup("Campaigns"),
        f("Description", "Description", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef {
            api_name: "Campaigns",
            singular: "Campaign",
            display_field: "Campaign_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

/// Tasks: `Subject` is system-mandatory; Zoho has no duplicate check on tasks.
///
/// `What_Id`, `$se_module` and `Who_Id` are added by `calendar::link_tasks` (with later ids);
/// the JSON-valued `Remind_At` / `Recurring_Activity` are left out.
pub(super) fn tasks(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Subject", "Subject", DataType::Text).mandatory(),
        f("Due_Date", "Due Date", DataType::Date),
        f("Status", "Status", DataType::Picklist).values(&[
            "Not Started",
            "Deferred",
            "In Progress",
            "Completed",
            "Waiting for input",
        ]),
        f("Priority", "Priority", DataType::Picklist).values(&["High", "Highest", "Low", "Lowest", "Normal"]),
        f("Send_Notification_Email", "Send Notification Email", DataType::Boolean),
        f("Description", "Description", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef { api_name: "Tasks", singular: "Task", display_field: "Subject", layout_mandatory: &[], fields },
    )
}
