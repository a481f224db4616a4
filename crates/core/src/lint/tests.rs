use bulkwrite_wire::{FieldMapping, Operation};

use super::*;
use crate::csvread::CsvRows;
use crate::jobspec::ResourceSpec;
use crate::mapping::{RowMapper, UserDirectory};
use crate::schema::standard::standard_schema;

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

#[test]
fn headers_match_fields_by_api_name_then_by_label() {
    let schema = standard_schema();
    let contacts = schema.module("Contacts").unwrap();
    let found = match_columns(
        &header(&["Last_Name", "e-mail address", "Account Name", "Account_Name.id", "Created_Time", "Nope"]),
        contacts,
    );
    let brief: Vec<_> = found.iter().map(|m| (m.field.as_deref(), m.find_by.as_deref(), m.matched_by)).collect();
    assert_eq!(
        brief,
        [
            (Some("Last_Name"), None, Some(MatchedBy::ApiName)),
            (None, None, None),
            (Some("Account_Name"), None, Some(MatchedBy::Label)),
            (Some("Account_Name"), Some("id"), Some(MatchedBy::ApiName)),
            // Read-only: a job cannot write it, so no column maps to it.
            (None, None, None),
            (None, None, None),
        ]
    );
    assert_eq!(found[2].header, "Account Name");
    assert_eq!(found[5].index, 5);
}

fn leads_mapper(operation: Operation) -> RowMapper {
    let schema = standard_schema();
    let mapping = |api_name: &str, index: u32| FieldMapping {
        api_name: api_name.into(),
        index: Some(index),
        ..FieldMapping::default()
    };
    let resource = ResourceSpec {
        module: "Leads".into(),
        module_id: "1".into(),
        file_id: "1".into(),
        csv_name: "leads.csv".into(),
        file_names: None,
        find_by: None,
        ignore_empty: None,
        effective_ignore_empty: false,
        echo_columns: vec![0, 1, 2],
        parent_link: None,
        denied_fields: Vec::new(),
        mappings: vec![mapping("Last_Name", 0), mapping("Company", 1), mapping("Email", 2)],
        auto_mapped: false,
        header: header(&["Last_Name", "Company", "Email"]),
    };
    RowMapper::new(&resource, schema.module("Leads").unwrap(), operation, chrono_tz::UTC, UserDirectory::default())
}

#[test]
fn rows_are_checked_by_the_worker_rules_and_the_file_for_its_own_duplicates() {
    let csv = "Last_Name,Company,Email\nA,Co,a@x.example\n,Co,b@x.example\nC,Co,not-an-email\nD,Co,A@x.example\n";
    let mut rows = CsvRows::open(csv.as_bytes(), None, 200).unwrap();
    let report = check_rows(&mut rows, &leads_mapper(Operation::Insert), Operation::Insert, 10, u64::MAX);
    assert_eq!((report.rows, report.errors, report.rows_with_errors, report.warnings), (4, 3, 3, 0));
    let problems: Vec<_> = report.problems.iter().map(|p| (p.row, p.column.as_deref(), p.code.as_str())).collect();
    assert_eq!(
        problems,
        [
            (Some(2), Some("Last_Name"), "MANDATORY_NOT_FOUND"),
            (Some(3), Some("Email"), "INVALID_DATA"),
            (Some(4), Some("Email"), "DUPLICATE_DATA"),
        ]
    );
    assert!(report.problems[2].message.contains("row 1 already has the value"), "{:?}", report.problems[2]);
    assert!(!report.truncated && report.read_error.is_none());
}

#[test]
fn a_bound_on_rows_stops_the_check_and_says_so() {
    let csv = "Last_Name,Company,Email\nA,Co,a@x.example\nB,Co,b@x.example\nC,Co,c@x.example\n";
    let mut rows = CsvRows::open(csv.as_bytes(), None, 200).unwrap();
    let report = check_rows(&mut rows, &leads_mapper(Operation::Insert), Operation::Insert, 10, 2);
    assert_eq!((report.rows, report.truncated), (2, true));
    let mut rows = CsvRows::open(csv.as_bytes(), None, 200).unwrap();
    let report = check_rows(&mut rows, &leads_mapper(Operation::Insert), Operation::Insert, 1, 3);
    assert_eq!((report.rows, report.truncated), (3, false), "exactly the bound is not truncated");
}
