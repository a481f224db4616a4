//! Leads, Contacts, Accounts and Deals.

use crate::schema::builder::{address, build, f, IdSeq, ModuleDef};
use crate::schema::{DataType, Module};

/// Salutations of person records.
const SALUTATIONS: &[&str] = &["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."];
const LEAD_SOURCES: &[&str] = &[
    "-None-",
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "X (Twitter)",
    "Facebook",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
];
const INDUSTRIES: &[&str] = &[
    "-None-",
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
];
const RATINGS: &[&str] = &["-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"];

pub(super) fn leads(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Company", "Company", DataType::Text).len(200),
        f("Salutation", "Salutation", DataType::Picklist).values(SALUTATIONS),
        f("First_Name", "First Name", DataType::Text).len(40),
        f("Last_Name", "Last Name", DataType::Text).len(80).mandatory(),
        f("Full_Name", "Lead Name", DataType::Text).read_only(),
        f("Designation", "Title", DataType::Text).len(100),
        f("Email", "Email", DataType::Email).unique(),
        f("Secondary_Email", "Secondary Email", DataType::Email),
        f("Phone", "Phone", DataType::Phone),
        f("Fax", "Fax", DataType::Phone),
        f("Mobile", "Mobile", DataType::Phone),
        f("Website", "Website", DataType::Website),
        f("Lead_Source", "Lead Source", DataType::Picklist).values(LEAD_SOURCES),
        f("Lead_Status", "Lead Status", DataType::Picklist).values(&[
            "-None-",
            "Attempted to Contact",
            "Contact in Future",
            "Contacted",
            "Junk Lead",
            "Lost Lead",
            "Not Contacted",
            "Pre-Qualified",
            "Not Qualified",
        ]),
        f("Industry", "Industry", DataType::Picklist).values(INDUSTRIES),
        f("No_of_Employees", "No. of Employees", DataType::Integer),
        f("Annual_Revenue", "Annual Revenue", DataType::Currency),
        f("Rating", "Rating", DataType::Picklist).values(RATINGS),
        f("Email_Opt_Out", "Email Opt Out", DataType::Boolean),
        f("Skype_ID", "Skype ID", DataType::Text).len(50),
        f("Twitter", "Twitter", DataType::Text).len(50),
    ];
    fields.extend(address(""));
    fields.push(f("Description", "Description", DataType::Textarea));
    build(
        ids,
        ModuleDef {
            api_name: "Leads",
            singular: "Lead",
            display_field: "Full_Name",
            layout_mandatory: &["Company"],
            fields,
        },
    )
}

pub(super) fn contacts(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Lead_Source", "Lead Source", DataType::Picklist).values(LEAD_SOURCES),
        f("Salutation", "Salutation", DataType::Picklist).values(SALUTATIONS),
        f("First_Name", "First Name", DataType::Text).len(40),
        f("Last_Name", "Last Name", DataType::Text).len(80).mandatory(),
        f("Full_Name", "Contact Name", DataType::Text).read_only(),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
        f("Email", "Email", DataType::Email).unique(),
        f("Secondary_Email", "Secondary Email", DataType::Email),
        f("Title", "Title", DataType::Text).len(100),
        f("Department", "Department", DataType::Text).len(100),
        f("Phone", "Phone", DataType::Phone),
        f("Home_Phone", "Home Phone", DataType::Phone),
        f("Other_Phone", "Other Phone", DataType::Phone),
        f("Fax", "Fax", DataType::Phone),
        f("Mobile", "Mobile", DataType::Phone),
        f("Date_of_Birth", "Date of Birth", DataType::Date),
        f("Assistant", "Assistant", DataType::Text).len(100),
        f("Asst_Phone", "Asst Phone", DataType::Phone),
        f("Reporting_To", "Reporting To", DataType::Lookup).lookup("Contacts"),
        f("Email_Opt_Out", "Email Opt Out", DataType::Boolean),
        f("Skype_ID", "Skype ID", DataType::Text).len(50),
        f("Twitter", "Twitter", DataType::Text).len(50),
    ];
    fields.extend(address("Mailing"));
    fields.extend(address("Other"));
    fields.push(f("Description", "Description", DataType::Textarea));
    build(
        ids,
        ModuleDef {
            api_name: "Contacts",
            singular: "Contact",
            display_field: "Full_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

pub(super) fn accounts(ids: &mut IdSeq) -> Module {
    let mut fields = vec![
        f("Account_Name", "Account Name", DataType::Text).len(200).mandatory().unique(),
        f("Account_Site", "Account Site", DataType::Text).len(80),
        f("Parent_Account", "Parent Account", DataType::Lookup).lookup("Accounts"),
        f("Account_Number", "Account Number", DataType::BigInt),
        f("Account_Type", "Account Type", DataType::Picklist).values(&[
            "-None-",
            "Analyst",
            "Competitor",
            "Customer",
            "Distributor",
            "Integrator",
            "Investor",
            "Other",
            "Partner",
            "Press",
            "Prospect",
            "Reseller",
            "Supplier",
            "Vendor",
        ]),
        f("Industry", "Industry", DataType::Picklist).values(INDUSTRIES),
        f("Annual_Revenue", "Annual Revenue", DataType::Currency),
        f("Rating", "Rating", DataType::Picklist).values(RATINGS),
        f("Phone", "Phone", DataType::Phone),
        f("Fax", "Fax", DataType::Phone),
        f("Website", "Website", DataType::Website),
        f("Ticker_Symbol", "Ticker Symbol", DataType::Text).len(30),
        f("Ownership", "Ownership", DataType::Picklist).values(&[
            "-None-",
            "Other",
            "Private",
            "Public",
            "Subsidiary",
            "Partnership",
            "Government",
            "Privately Held",
            "Public Company",
        ]),
        f("Employees", "Employees", DataType::Integer),
        f("SIC_Code", "SIC Code", DataType::Integer),
    ];
    fields.extend(address("Billing"));
    fields.extend(address("Shipping"));
    fields.push(f("Description", "Description", DataType::Textarea));
    build(
        ids,
        ModuleDef {
            api_name: "Accounts",
            singular: "Account",
            display_field: "Account_Name",
            layout_mandatory: &[],
            fields,
        },
    )
}

pub(super) fn deals(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Deal_Name", "Deal Name", DataType::Text).len(120).mandatory().unique(),
        f("Amount", "Amount", DataType::Currency),
        f("Closing_Date", "Closing Date", DataType::Date),
        f("Account_Name", "Account Name", DataType::Lookup).lookup("Accounts"),
        f("Contact_Name", "Contact Name", DataType::Lookup).lookup("Contacts"),
        f("Stage", "Stage", DataType::Picklist).mandatory().values(&[
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Identify Decision Makers",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
            "Closed-Lost to Competition",
        ]),
        f("Type", "Type", DataType::Picklist).values(&["-None-", "Existing Business", "New Business"]),
        f("Probability", "Probability (%)", DataType::Integer).len(3),
        f("Expected_Revenue", "Expected Revenue", DataType::Currency).read_only(),
        f("Next_Step", "Next Step", DataType::Text).len(100),
        f("Lead_Source", "Lead Source", DataType::Picklist).values(LEAD_SOURCES),
        f("Description", "Description", DataType::Textarea),
    ];
    build(
        ids,
        ModuleDef { api_name: "Deals", singular: "Deal", display_field: "Deal_Name", layout_mandatory: &[], fields },
    )
}
