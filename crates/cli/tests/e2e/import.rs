//! A 1,000-row Leads file with a known set of bad rows: exact counts, result rows and records.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::harness::Server;

const ROWS: usize = 1000;
const HEADER: &str = "Last Name,Company,Email,Owner,Date 3,Mobile,Employees,Revenue,Opt Out,Source";

/// One generated row and what the server must make of it.
struct Expected {
    cells: Vec<String>,
    errors: Vec<(&'static str, &'static str)>,
}

fn generate(owner: &str) -> Vec<Expected> {
    let mut rows = Vec::with_capacity(ROWS);
    for i in 1..=ROWS {
        let mut errors = Vec::new();
        let mut bad = |condition: bool, code: &'static str, column: &'static str, good: String, wrong: &str| {
            if condition {
                errors.push((code, column));
                wrong.to_string()
            } else {
                good
            }
        };
        let last_name = bad(i % 97 == 0, "MANDATORY_NOT_FOUND", "Last Name", format!("Lead {i}"), "");
        let company = bad(i % 89 == 0, "MANDATORY_NOT_FOUND", "Company", format!("Acme {}", i % 10), "");
        let email = bad(i % 83 == 0, "INVALID_DATA", "Email", format!("lead{i}@example.com"), "not-an-email");
        let owner_cell = bad(i % 131 == 0, "INVALID_DATA", "Owner", owner.to_string(), "123");
        let date = bad(
            i % 71 == 0,
            "INVALID_DATA",
            "Date 3",
            format!("{:02}-{:02}-2024", i % 28 + 1, i % 12 + 1),
            "31-02-2024",
        );
        let mobile = bad(i % 113 == 0, "INVALID_DATA", "Mobile", format!("+1 555 {i:04}"), "call me");
        let employees = bad(i % 127 == 0, "INVALID_DATA", "Employees", format!("{}", i * 3), "12x");
        let revenue = format!("{},{:03}.5", i / 10 + 1, i % 1000);
        let opt_out = if i % 2 == 0 { "true" } else { "FALSE" }.to_string();
        let source = if i % 3 == 0 { "Partner" } else { "Web Download" }.to_string();
        // Every 101st row reuses row 1's address, which row 1 stored first.
        let email = if i % 101 == 0 && i % 83 != 0 {
            errors.push(("DUPLICATE_DATA", "Email"));
            "LEAD1@example.com".to_string()
        } else {
            email
        };
        rows.push(Expected {
            cells: vec![last_name, company, email, owner_cell, date, mobile, employees, revenue, opt_out, source],
            errors,
        });
    }
    rows
}

/// The `ERRORS` cell, built the way Zoho's docs describe it.
fn errors_cell(errors: &[(&str, &str)]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (code, column) in errors {
        match groups.iter_mut().find(|(c, _)| c == code) {
            Some((_, columns)) => columns.push(column),
            None => groups.push((code, vec![column])),
        }
    }
    groups.iter().map(|(code, columns)| format!("{code}-{}", columns.join(","))).collect::<Vec<_>>().join(":")
}

fn csv_text(rows: &[Expected]) -> String {
    let mut text = String::from(HEADER);
    text.push('\n');
    for row in rows {
        let cells: Vec<String> =
            row.cells.iter().map(|c| if c.contains(',') { format!("\"{c}\"") } else { c.clone() }).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

#[tokio::test]
async fn a_thousand_rows_with_known_bad_ones() {
    let server = Server::start(&[]).await;
    let rows = generate(&server.user);
    let file_id = server.upload_csv("leads_march.csv", &csv_text(&rows)).await;
    let mapping = |name: &str, index: usize| json!({"api_name": name, "index": index});
    let body = json!({
        "operation": "insert",
        "resource": [{
            "type": "data",
            "module": "Leads",
            "file_id": file_id,
            "field_mappings": [
                mapping("Last_Name", 0), mapping("Company", 1), mapping("Email", 2), mapping("Owner", 3),
                {"api_name": "Date_3", "index": 4, "format": "dd-MM-yyyy"},
                mapping("Mobile", 5), mapping("No_of_Employees", 6), mapping("Annual_Revenue", 7),
                mapping("Email_Opt_Out", 8), mapping("Lead_Source", 9)
            ]
        }]
    });
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["details"]["id"].as_str().unwrap().to_string();
    let job = server.wait_job(&id).await;

    let expected_skipped = rows.iter().filter(|r| !r.errors.is_empty()).count();
    let expected_added = ROWS - expected_skipped;
    assert!(expected_skipped > 60, "the file has a real set of bad rows: {expected_skipped}");
    let file = &job["resource"][0]["file"];
    assert_eq!(job["status"], "COMPLETED");
    assert_eq!(job["character_encoding"], "UTF-8");
    assert_eq!(file["name"], "leads_march.csv");
    assert_eq!(file["total_count"], ROWS);
    assert_eq!(file["added_count"], expected_added);
    assert_eq!(file["skipped_count"], expected_skipped);
    assert_eq!(file["updated_count"], 0);

    let (name, result) = server.result_rows(&job).await;
    assert_eq!(name, "Leads-leads_march.csv");
    assert_eq!(result[0], ["Last Name", "Company", "Email", "STATUS", "RECORD_ID", "ERRORS"]);
    assert_eq!(result.len(), ROWS + 1, "one result row per input row");
    let mut added_ids = HashMap::new();
    for (index, (expected, got)) in rows.iter().zip(&result[1..]).enumerate() {
        assert_eq!(got[..3], expected.cells[..3], "echo of row {}", index + 1);
        if expected.errors.is_empty() {
            assert_eq!(got[3], "ADDED", "row {}: {got:?}", index + 1);
            assert_eq!(got[4].len(), 19);
            assert_eq!(got[5], "");
            added_ids.insert(got[4].clone(), index);
        } else {
            assert_eq!(got[3], "SKIPPED", "row {}", index + 1);
            assert_eq!(got[4], "");
            assert_eq!(got[5], errors_cell(&expected.errors), "row {}", index + 1);
        }
    }
    assert_eq!(added_ids.len(), expected_added, "record ids are distinct");

    let records = server
        .all_records("Leads", "Last_Name,Email,Date_3,No_of_Employees,Annual_Revenue,Email_Opt_Out,Lead_Source,Owner")
        .await;
    assert_eq!(records.len(), expected_added);
    for record in &records {
        let index = added_ids[record["id"].as_str().unwrap()];
        let cells = &rows[index].cells;
        let i = index + 1;
        assert_eq!(record["Last_Name"], json!(cells[0]));
        assert_eq!(record["Email"], json!(cells[2]));
        assert_eq!(record["Date_3"], json!(format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1)));
        assert_eq!(record["No_of_Employees"], json!(i * 3));
        assert_eq!(record["Annual_Revenue"].as_f64(), Some(((i / 10 + 1) * 1000 + i % 1000) as f64 + 0.5));
        assert_eq!(record["Email_Opt_Out"], json!(i % 2 == 0));
        assert_eq!(record["Lead_Source"], json!(cells[9]));
        assert_eq!(record["Owner"]["id"], json!(server.user));
    }

    let first_id = result[1][4].clone();
    let (status, single) = server.get_json(&format!("/crm/v2/Leads/{first_id}")).await;
    assert_eq!(status, 200);
    let lead: &Value = &single["data"][0];
    assert_eq!(lead["Mobile"], "+1 555 0001");
    assert_eq!(lead["Company"], "Acme 1");
    assert_eq!(lead["Layout"]["name"], "Standard");
    assert_eq!(lead["Full_Name"], "Lead 1");
    assert_eq!(lead["Created_By"]["id"], json!(server.user));
}
