//! OAuth scope matching: `ZohoCRM.modules.ALL` covers `ZohoCRM.modules.leads.READ`,
//! `ZohoCRM.settings.READ` covers `ZohoCRM.settings.fields.READ`, and so on.

/// Every scope the API knows; new orgs' self clients get them all.
pub const ALL_SCOPES: &[&str] = &[
    "ZohoCRM.bulk.ALL",
    "ZohoFiles.files.ALL",
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.ALL",
    "ZohoCRM.org.ALL",
    "ZohoCRM.coql.READ",
    "ZohoSearch.securesearch.READ",
    TEST_CONTROLS_SCOPE,
];

/// The scope an org's token needs for the test controls (`--test-controls`).
pub const TEST_CONTROLS_SCOPE: &str = "bulkwrite.test";

/// Whether the granted scope allows what `required` names. Names compare case-insensitively.
pub fn scope_covers(granted: &str, required: &str) -> bool {
    let granted: Vec<String> = granted.split('.').map(str::to_ascii_lowercase).collect();
    let required: Vec<String> = required.split('.').map(str::to_ascii_lowercase).collect();
    if granted.len() < 2 || required.len() < 2 || granted.len() > required.len() {
        return false;
    }
    let (granted_operation, granted_path) = granted.split_last().expect("two parts at least");
    let (required_operation, required_path) = required.split_last().expect("two parts at least");
    if !required_path.starts_with(granted_path) {
        return false;
    }
    granted_operation == "all" || granted_operation == required_operation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_table() {
        let cases = [
            ("ZohoCRM.bulk.ALL", "ZohoCRM.bulk.CREATE", true),
            ("ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.CREATE", true),
            ("zohocrm.bulk.create", "ZohoCRM.bulk.CREATE", true),
            ("ZohoCRM.bulk.READ", "ZohoCRM.bulk.CREATE", false),
            ("ZohoCRM.modules.ALL", "ZohoCRM.modules.leads.READ", true),
            ("ZohoCRM.modules.READ", "ZohoCRM.modules.leads.READ", true),
            ("ZohoCRM.modules.leads.ALL", "ZohoCRM.modules.leads.CREATE", true),
            ("ZohoCRM.modules.leads.ALL", "ZohoCRM.modules.contacts.CREATE", false),
            ("ZohoCRM.settings.ALL", "ZohoCRM.settings.fields.READ", true),
            ("ZohoFiles.files.ALL", "ZohoFiles.files.ALL", true),
            ("ZohoFiles.files.ALL", "ZohoCRM.files.ALL", false),
            ("ZohoCRM.modules.leads.READ", "ZohoCRM.modules.ALL", false),
            ("ALL", "ZohoCRM.bulk.ALL", false),
        ];
        for (granted, required, expected) in cases {
            assert_eq!(scope_covers(granted, required), expected, "{granted} covers {required}");
        }
    }
}
