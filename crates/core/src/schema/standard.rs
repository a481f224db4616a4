//! Zoho's standard modules as a new org has them: fields, types, lengths, system-mandatory and
//! duplicate-check fields (spec §9), and one `Standard` layout per module.

use super::{DataType, Field, Layout, Module, OrgSchema};

/// Ids of built-in metadata start here; each module, field and layout takes the next one.
const FIRST_METADATA_ID: u64 = 5_725_767_000_000_002_001;

/// The schema of a new org.
pub fn standard_schema() -> OrgSchema {
    let mut ids = IdSeq(FIRST_METADATA_ID);
    let modules = vec![leads(&mut ids), contacts(&mut ids), accounts(&mut ids), deals(&mut ids)];
    OrgSchema { modules }
}

struct IdSeq(u64);

impl IdSeq {
    fn next(&mut self) -> String {
        let id = self.0;
        self.0 += 1;
        id.to_string()
    }
}

/// A field under construction.
struct F(Field);

fn f(api_name: &str, label: &str, data_type: DataType) -> F {
    let length = match data_type {
        DataType::Text | DataType::Picklist => Some(255),
        DataType::Email => Some(100),
        DataType::Phone => Some(30),
        DataType::Website => Some(255),
        DataType::Textarea => Some(32_000),
        DataType::Integer => Some(9),
        DataType::BigInt => Some(18),
        DataType::Double | DataType::Currency => Some(16),
        DataType::Percent => Some(5),
        _ => None,
    };
    let decimal_place = match data_type {
        DataType::Double | DataType::Currency | DataType::Percent => Some(2),
        _ => None,
    };
    F(Field {
        id: String::new(),
        api_name: api_name.to_string(),
        field_label: label.to_string(),
        data_type,
        length,
        decimal_place,
        system_mandatory: false,
        unique: false,
        unique_case_sensitive: false,
        read_only: false,
        custom_field: false,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    })
}

impl F {
    fn len(mut self, length: u32) -> F {
        self.0.length = Some(length);
        self
    }
    fn mandatory(mut self) -> F {
        self.0.system_mandatory = true;
        self
    }
    fn unique(mut self) -> F {
        self.0.unique = true;
        self
    }
    fn read_only(mut self) -> F {
        self.0.read_only = true;
        self
    }
    fn values(mut self, values: &[&str]) -> F {
        self.0.pick_list_values = values.iter().map(|v| v.to_string()).collect();
        self
    }
    fn lookup(mut self, module: &str) -> F {
        self.0.lookup_module = Some(module.to_string());
        self
    }
}

struct ModuleDef<'a> {
    api_name: &'a str,
    singular: &'a str,
    display_field: &'a str,
    layout_mandatory: &'a [&'a str],
    fields: Vec<F>,
}

fn build(ids: &mut IdSeq, def: ModuleDef<'_>) -> Module {
    let module_id = ids.next();
    let mut fields: Vec<Field> = system_fields_head();
    fields.extend(def.fields.into_iter().map(|f| f.0));
    fields.extend(system_fields_tail());
    for field in &mut fields {
        field.id = ids.next();
    }
    let layout = Layout {
        id: ids.next(),
        name: "Standard".to_string(),
        mandatory_fields: def.layout_mandatory.iter().map(|s| s.to_string()).collect(),
    };
    Module {
        id: module_id,
        api_name: def.api_name.to_string(),
        module_name: def.api_name.to_string(),
        singular_label: def.singular.to_string(),
        plural_label: def.api_name.replace('_', " "),
        generated_type: "default".to_string(),
        bulk_write: true,
        display_field: def.display_field.to_string(),
        fields,
        layouts: vec![layout],
    }
}

fn system_fields_head() -> Vec<Field> {
    vec![f("Owner", "Owner", DataType::OwnerLookup).0]
}

fn system_fields_tail() -> Vec<Field> {
    vec![
        f("Layout", "Layout", DataType::Layout).0,
        f("Created_By", "Created By", DataType::OwnerLookup).read_only().0,
        f("Modified_By", "Modified By", DataType::OwnerLookup).read_only().0,
        f("Created_Time", "Created Time", DataType::DateTime).read_only().0,
        f("Modified_Time", "Modified Time", DataType::DateTime).read_only().0,
    ]
}

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

fn address(prefix: &str) -> Vec<F> {
    let p = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}_{name}")
        }
    };
    vec![
        f(&p("Street"), "Street", DataType::Text).len(250),
        f(&p("City"), "City", DataType::Text).len(100),
        f(&p("State"), "State", DataType::Text).len(100),
        f(&p("Zip_Code"), "Zip Code", DataType::Text).len(30),
        f(&p("Country"), "Country", DataType::Text).len(100),
    ]
}

fn leads(ids: &mut IdSeq) -> Module {
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

fn contacts(ids: &mut IdSeq) -> Module {
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

fn accounts(ids: &mut IdSeq) -> Module {
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

fn deals(ids: &mut IdSeq) -> Module {
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

#[cfg(test)]
mod tests {
    use super::*;

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
