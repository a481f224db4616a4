use serde_json::json;

use super::*;
use crate::mapping::UniqueKey;

const OWNER: UserId = UserId::new_const(7);

fn draft(row_no: u64, email: &str, name: &str) -> RowDraft {
    let mut values = Map::new();
    values.insert("Last_Name".into(), json!(name));
    let mut unique_keys = Vec::new();
    if !email.is_empty() {
        values.insert("Email".into(), json!(email));
        unique_keys.push(UniqueKey { field: "Email".into(), value: email.to_lowercase(), column: "Email".into() });
    }
    RowDraft { values: values.into(), unique_keys, ..RowDraft::new(row_no, vec![name.to_string(), email.to_string()]) }
}

fn by_email(mut row: RowDraft) -> RowDraft {
    let key = row.unique_keys.first().cloned();
    row.find_key = Some(match key {
        Some(key) => FindKey::Unique { field: key.field, value: key.value, column: key.column },
        None => FindKey::Missing { column: "Email".into() },
    });
    row
}

fn ids() -> impl Iterator<Item = RecordId> {
    (100..).map(RecordId::new)
}

fn plan(operation: Operation, rows: &[RowDraft], existing: &ExistingState) -> ChunkPlan {
    let input = PlanInput {
        operation,
        rows: rows.to_vec(),
        default_owner: OWNER,
        default_layout: Some("L".into()),
        full_name: true,
    };
    plan_chunk(input, existing.clone(), &mut ids())
}

fn existing_lead(id: u64, email: &str) -> ExistingState {
    let record = ExistingRecord {
        id: RecordId::new(id),
        values: json!({"Last_Name": "Old", "Email": email, "Phone": "123"}).as_object().unwrap().clone(),
        owner: OWNER,
        layout_id: Some("L".into()),
        keys: vec![("Email".into(), email.to_lowercase())],
    };
    let mut state = ExistingState::default();
    state.keys.insert(("Email".into(), email.to_lowercase()), RecordId::new(id));
    state.records.insert(RecordId::new(id), record);
    state
}

/// Each row's status and `ERRORS` cell as written (leaked: a test's few short strings, so the
/// tables below compare against plain literals).
fn statuses(plan: &ChunkPlan) -> Vec<(RowStatus, &'static str)> {
    plan.results.iter().map(|r| (r.status, &*Box::leak(r.errors.to_string().into_boxed_str()))).collect()
}

#[test]
fn insert_reports_in_file_and_stored_duplicates() {
    let rows = [draft(1, "a@x.co", "A"), draft(2, "A@X.co", "B"), draft(3, "old@x.co", "C"), draft(4, "", "D")];
    let plan = plan(Operation::Insert, &rows, &existing_lead(1, "old@x.co"));
    assert_eq!(
        statuses(&plan),
        [
            (RowStatus::Added, ""),
            (RowStatus::Skipped, "DUPLICATE_DATA-Email"),
            (RowStatus::Skipped, "DUPLICATE_DATA-Email"),
            (RowStatus::Added, "")
        ]
    );
    assert_eq!(plan.inserts.len(), 2);
    assert_eq!(plan.inserts[0].owner, OWNER);
    assert_eq!(plan.inserts[0].layout_id.as_deref(), Some("L"));
    assert_eq!(plan.key_inserts, [(("Email".to_string(), "a@x.co".to_string()), RecordId::new(100))]);
    assert_eq!((plan.added, plan.updated, plan.skipped), (2, 0, 2));
}

#[test]
fn errors_and_duplicates_combine_in_one_cell() {
    let mut row = draft(1, "old@x.co", "");
    row.errors.push(crate::result::RowError::new(RowErrorCode::MandatoryNotFound, "Company"));
    row.errors.push(crate::result::RowError::new(RowErrorCode::MandatoryNotFound, "Last_Name"));
    let plan = plan(Operation::Insert, &[row], &existing_lead(1, "old@x.co"));
    assert_eq!(plan.results[0].errors.to_string(), "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email");
}

#[test]
fn update_merges_and_misses() {
    let rows =
        [by_email(draft(1, "old@x.co", "New")), by_email(draft(2, "none@x.co", "X")), by_email(draft(3, "", "Y"))];
    let plan = plan(Operation::Update, &rows, &existing_lead(1, "old@x.co"));
    assert_eq!(
        statuses(&plan),
        [
            (RowStatus::Updated, ""),
            (RowStatus::Skipped, "RESOURCE_NOT_FOUND-Email"),
            (RowStatus::Skipped, "MANDATORY_NOT_FOUND-Email")
        ]
    );
    let updated = &plan.updates[0];
    assert_eq!(updated.values["Last_Name"], "New");
    assert_eq!(updated.values["Phone"], "123", "untouched fields stay");
    assert!(plan.inserts.is_empty() && plan.key_inserts.is_empty() && plan.key_deletes.is_empty());
}

#[test]
fn upsert_inserts_and_updates_and_sees_its_own_inserts() {
    let rows = [
        by_email(draft(1, "old@x.co", "U")),
        by_email(draft(2, "new@x.co", "I")),
        by_email(draft(3, "new@x.co", "I2")),
    ];
    let plan = plan(Operation::Upsert, &rows, &existing_lead(1, "old@x.co"));
    assert_eq!(statuses(&plan), [(RowStatus::Updated, ""), (RowStatus::Added, ""), (RowStatus::Updated, "")]);
    assert_eq!(plan.inserts.len(), 1);
    assert_eq!(plan.inserts[0].values["Last_Name"], "I2", "the second row updated the record the first inserted");
    assert_eq!(plan.results[2].record_id, Some(RecordId::new(100)));
}

#[test]
fn update_that_changes_a_unique_value_moves_the_key() {
    let mut row = draft(1, "fresh@x.co", "N");
    row.find_key = Some(FindKey::Id { id: RecordId::new(1), column: "id".into() });
    let plan = plan(Operation::Update, &[row], &existing_lead(1, "old@x.co"));
    assert_eq!(plan.key_deletes, [("Email".to_string(), "old@x.co".to_string())]);
    assert_eq!(plan.key_inserts, [(("Email".to_string(), "fresh@x.co".to_string()), RecordId::new(1))]);
}

#[test]
fn clearing_a_unique_field_releases_its_key() {
    let mut row = draft(1, "", "N");
    row.values.insert("Email", serde_json::Value::Null);
    row.find_key = Some(FindKey::Id { id: RecordId::new(1), column: "id".into() });
    let plan = plan(Operation::Update, &[row.clone(), draft(2, "old@x.co", "Z")], &existing_lead(1, "old@x.co"));
    assert_eq!(plan.key_deletes, [("Email".to_string(), "old@x.co".to_string())]);
    assert!(!plan.updates[0].values.contains_key("Email"));
}

#[test]
fn insert_with_find_by_skips_existing_keys() {
    let rows = [by_email(draft(1, "old@x.co", "A")), by_email(draft(2, "n@x.co", "B"))];
    let plan = plan(Operation::Insert, &rows, &existing_lead(1, "old@x.co"));
    assert_eq!(statuses(&plan), [(RowStatus::Skipped, "DUPLICATE_DATA-Email"), (RowStatus::Added, "")]);
}

#[test]
fn full_name_follows_first_and_last_names() {
    let mut first = draft(1, "f@x.co", "Quist");
    first.values.insert("First_Name", json!("Mara"));
    let inserted = plan(Operation::Insert, &[first], &ExistingState::default());
    assert_eq!(inserted.inserts[0].values["Full_Name"], "Mara Quist");
    let mut rename = draft(1, "", "Boyle");
    rename.find_key = Some(FindKey::Id { id: RecordId::new(1), column: "id".into() });
    let updated = plan(Operation::Update, &[rename], &existing_lead(1, "old@x.co"));
    assert_eq!(updated.updates[0].values["Full_Name"], "Boyle");
}

#[test]
fn probes_list_keys_and_ids_once() {
    let mut a = by_email(draft(1, "a@x.co", "A"));
    let b = by_email(draft(2, "a@x.co", "B"));
    a.find_key = Some(FindKey::Id { id: RecordId::new(9), column: "id".into() });
    let probes = probes_for(&[a.clone(), b.clone()]);
    assert_eq!(probes.keys, [("Email".to_string(), "a@x.co".to_string())]);
    assert_eq!(probes.ids, [RecordId::new(9)]);

    // In order, by field then value, and ids ascending, whatever the rows' order.
    let mut c = by_email(draft(3, "c@x.co", "C"));
    c.find_key = Some(FindKey::Id { id: RecordId::new(3), column: "id".into() });
    let d = by_email(draft(4, "b@x.co", "D"));
    let probes = probes_for(&[c, a, d, b]);
    let keys: Vec<(&str, &str)> = probes.keys.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
    assert_eq!(keys, [("Email", "a@x.co"), ("Email", "b@x.co"), ("Email", "c@x.co")]);
    assert_eq!(probes.ids, [RecordId::new(3), RecordId::new(9)]);
}

#[test]
fn deciding_twice_leaves_the_rows_for_the_second_decision() {
    // An optimistic insert decides against an empty state, meets a stored key, and decides again.
    let rows = [draft(1, "old@x.co", "A"), draft(2, "new@x.co", "B")];
    let input = PlanInput {
        operation: Operation::Insert,
        rows: rows.to_vec(),
        default_owner: OWNER,
        default_layout: None,
        full_name: false,
    };
    let optimistic = decide(&input, &ExistingState::default(), &mut ids());
    let all_new: Vec<&str> = optimistic.key_inserts.iter().map(|((_, value), _)| value.as_str()).collect();
    assert_eq!(all_new, ["old@x.co", "new@x.co"]);
    let existing = existing_lead(1, "old@x.co");
    let decided = decide(&input, &existing, &mut ids());
    assert_eq!(decided.key_inserts, [(("Email".to_string(), "new@x.co".to_string()), RecordId::new(100))]);
    let plan = decided.build(input, existing);
    assert_eq!(statuses(&plan), [(RowStatus::Skipped, "DUPLICATE_DATA-Email"), (RowStatus::Added, "")]);
    assert_eq!(plan.inserts.len(), 1);
    assert_eq!(plan.inserts[0].values["Last_Name"], "B");
    assert_eq!(plan.results[1].echo, ["B", "new@x.co"]);
}

#[test]
fn an_upsert_that_inserts_then_updates_one_record_writes_it_once() {
    let mut second = by_email(draft(2, "a@x.co", "Later"));
    second.values.insert("First_Name", json!("Ann"));
    let rows = [by_email(draft(1, "a@x.co", "First")), second];
    let plan = plan(Operation::Upsert, &rows, &ExistingState::default());
    assert_eq!(statuses(&plan), [(RowStatus::Added, ""), (RowStatus::Updated, "")]);
    assert_eq!(plan.inserts.len(), 1);
    assert!(plan.updates.is_empty());
    assert_eq!(plan.inserts[0].values["Last_Name"], "Later");
    assert_eq!(plan.inserts[0].values["Full_Name"], "Ann Later");
    assert_eq!(plan.key_inserts.len(), 1);
}

/// An insert of one row holding `values`, by the `full_name` rule.
fn insert_of(values: &serde_json::Value, full_name: bool) -> PlanInput {
    let mut row = draft(1, "", "x");
    row.values = values.as_object().unwrap().clone().into();
    PlanInput { operation: Operation::Insert, rows: vec![row], default_owner: OWNER, default_layout: None, full_name }
}

#[test]
fn new_values_serialise_as_the_built_record() {
    let cases = [
        json!({"Last_Name": "Quist", "First_Name": "Mara", "Email": null, "Phone": "1"}),
        json!({"Full_Name": "stale", "Last_Name": "Quist", "Phone": "1"}),
        json!({"Full_Name": "stale", "Phone": "1", "Company": "C"}),
        json!({"Full_Name": null, "First_Name": " Ann ", "Company": "C"}),
        json!({"Company": "C"}),
        // Escaped as any string: the computed name is written straight into the JSON.
        json!({"First_Name": "Zo\u{eb} \"Z\"\t", "Last_Name": "O'Brien\\", "Full_Name": "stale"}),
    ];
    for full_name in [true, false] {
        for case in &cases {
            let input = insert_of(case, full_name);
            let decisions = decide(&input, &ExistingState::default(), &mut ids());
            let view = decisions.inserted(&input).next().unwrap();
            assert_eq!(view.id, RecordId::new(100));
            let in_place = serde_json::to_string(&view.values).unwrap();
            let built = decisions.build(input.clone(), ExistingState::default());
            assert_eq!(in_place, serde_json::to_string(&built.inserts[0].values).unwrap(), "{case} {full_name}");
        }
    }
}

#[test]
fn values_frozen_for_an_insert_write_and_build_as_the_values_themselves() {
    let cases = [
        json!({"Last_Name": "Quist", "First_Name": "Mara", "Email": null, "Phone": "1"}),
        json!({"Full_Name": "stale", "Last_Name": "Quist", "Phone": "1"}),
        json!({"First_Name": "Zo\u{eb} \"Z\"\t", "Last_Name": "O'Brien\\", "Parent_Id": {"id": "12"}}),
    ];
    for full_name in [true, false] {
        for case in &cases {
            let plain = insert_of(case, full_name);
            let mut row = plain.rows[0].clone();
            crate::plan::freeze_for_insert(&mut row.values, full_name);
            let frozen = PlanInput { rows: vec![row], ..plain.clone() };
            let decisions = decide(&plain, &ExistingState::default(), &mut ids());
            let unfrozen = decisions.inserted(&plain).next().unwrap();
            let view = decisions.inserted(&frozen).next().unwrap();
            let text = serde_json::to_string(&unfrozen.values).unwrap();
            assert_eq!(view.values.written(), Some(text.as_str()), "{case} {full_name}");
            assert_eq!(unfrozen.values.written(), None);
            assert_eq!(view.values.get("Parent_Id"), unfrozen.values.get("Parent_Id"));
            // Written by the other rule, the text is not theirs (a job's rule never changes).
            let other = PlanInput { full_name: !full_name, ..frozen.clone() };
            assert_eq!(decisions.inserted(&other).next().unwrap().values.written(), None);
            // A plan built from them (an insert that met existing keys is planned again) holds
            // the same record.
            let built = decisions.clone().build(frozen, ExistingState::default());
            let expected = decisions.build(plain, ExistingState::default());
            assert_eq!(built.inserts[0].values, expected.inserts[0].values, "{case} {full_name}");
        }
    }
}

#[test]
fn results_alone_match_the_built_plan() {
    // An optimistic insert writes its records from the rows in place and builds only the results.
    let mut invalid = draft(3, "c@x.co", "C");
    invalid.errors.push(RowError::new(RowErrorCode::InvalidData, "Phone"));
    let rows = vec![draft(1, "a@x.co", "A"), draft(2, "a@x.co", "B"), invalid, draft(4, "d@x.co", "D")];
    let input =
        PlanInput { operation: Operation::Insert, rows, default_owner: OWNER, default_layout: None, full_name: true };
    let decisions = decide(&input, &ExistingState::default(), &mut ids());
    let built = decisions.clone().build(input.clone(), ExistingState::default());
    let mut rows = input.rows;
    let alone = decisions.into_results(&mut rows);
    assert_eq!(alone.results, built.results);
    assert_eq!((alone.added, alone.updated, alone.skipped), (built.added, built.updated, built.skipped));
    assert!(alone.inserts.is_empty() && alone.updates.is_empty());
    assert_eq!(
        statuses(&built),
        [
            (RowStatus::Added, ""),
            (RowStatus::Skipped, "DUPLICATE_DATA-Email"),
            (RowStatus::Skipped, "INVALID_DATA-Phone"),
            (RowStatus::Added, "")
        ]
    );
    assert!(rows.iter().all(|row| row.echo.is_empty()), "the echo cells moved into the results");
    assert_eq!((alone.key_inserts, alone.key_deletes), (built.key_inserts, built.key_deletes));
}
