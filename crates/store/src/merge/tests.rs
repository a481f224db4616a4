//! The merge from stored text gives the record and before-image that core's planner builds from
//! maps (`plan_chunk`, `crate::undo::before_image`).

use super::*;
use bulkwrite_core::mapping::FindKey;
use bulkwrite_core::plan::{plan_chunk, ExistingRecord, ExistingState, PlanInput};
use bulkwrite_wire::Operation;
use serde_json::json;

const ID: u64 = 7;

fn stored(values: Value, owner: u64) -> StoredRecord {
    StoredRecord {
        owner: UserId::new(owner),
        layout_id: Some("L1".into()),
        data: serde_json::to_string(&values).unwrap(),
        version: 3,
        keys: Vec::new(),
    }
}

fn row(row_no: u64, values: Value) -> RowDraft {
    let mut row = RowDraft::new(row_no, vec![format!("cell {row_no}")]);
    row.values = values.as_object().unwrap().clone().into();
    row.find_key = Some(FindKey::Id { id: RecordId::new(ID), column: "id".into() });
    row
}

/// Merges `rows` into `stored` both ways; asserts the same record (and, with no field removed,
/// the same field order: the planner's map moves its last field into a removed one's place) and
/// the same before-image values.
fn check(stored: &StoredRecord, rows: Vec<RowDraft>, full_name: bool) -> Merged {
    let id = RecordId::new(ID);
    let old = ExistingRecord {
        id,
        values: serde_json::from_str(&stored.data).unwrap(),
        owner: stored.owner,
        layout_id: stored.layout_id.clone(),
        keys: Vec::new(),
    };
    let removes = rows.iter().any(|row| row.values.iter().any(|(_, value)| value.is_null()));
    let input = PlanInput {
        operation: Operation::Update,
        rows: rows.clone(),
        default_owner: UserId::new(1),
        default_layout: None,
        full_name,
    };
    let existing = ExistingState { keys: HashMap::new(), records: HashMap::from([(id, old.clone())]) };
    let plan = plan_chunk(input, existing, &mut std::iter::empty());
    let built = &plan.updates[0];
    let records = HashMap::from([(id, stored_copy(stored))]);
    let merges = merges(&rows, &plan.results, &records).expect("every updated record is stored");
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].owner, built.owner);
    assert_eq!(merges[0].layout_id, built.layout_id.as_deref());
    let merged = merges[0].merge(full_name).unwrap();
    let text = merged.data.as_deref().unwrap_or(&stored.data);
    let values: Map<String, Value> = serde_json::from_str(text).unwrap();
    assert_eq!(values, built.values, "merged {text}");
    if merged.data.is_none() {
        assert_eq!(values, old.values, "kept as stored: no value changed");
    }
    if !removes {
        let order = |map: &Map<String, Value>| map.keys().cloned().collect::<Vec<_>>();
        assert_eq!(order(&values), order(&built.values));
    }
    let image = crate::undo::before_image(&old, built, &[]);
    assert_eq!(merged.set, image.set);
    let (mut unset, mut expected) = (merged.unset.clone(), image.unset.clone());
    unset.sort();
    expected.sort();
    assert_eq!(unset, expected);
    merged
}

fn stored_copy(stored: &StoredRecord) -> StoredRecord {
    StoredRecord {
        owner: stored.owner,
        layout_id: stored.layout_id.clone(),
        data: stored.data.clone(),
        version: stored.version,
        keys: stored.keys.clone(),
    }
}

#[test]
fn the_same_values_again_change_nothing() {
    let record = stored(json!({"Last_Name": "Roe", "Email": "a@x.co", "Annual_Revenue": 1.5, "No": 12}), 5);
    let merged =
        check(&record, vec![row(1, json!({"Email": "a@x.co", "Last_Name": "Roe", "Annual_Revenue": 1.5}))], false);
    assert!(merged.set.is_empty() && merged.unset.is_empty());
    assert_eq!(merged.data, None, "the stored text is kept");
    let quoted = stored(json!({"Q": "say \"hi\"\tnow", "Tag": "a\\b"}), 5);
    let merged = check(&quoted, vec![row(1, json!({"Q": "say \"hi\"\tnow", "Tag": "a\\b"}))], false);
    assert_eq!(merged.data, None, "strings with escapes, written as stored");
    let named = stored(json!({"First_Name": "Ann", "Last_Name": "Roe", "Full_Name": "Ann Roe"}), 5);
    let merged = check(&named, vec![row(1, json!({"Last_Name": "Roe", "Full_Name": "X"}))], true);
    assert_eq!(merged.data, None, "Full_Name is computed, and is the one stored");
}

#[test]
fn a_value_that_writes_another_text_is_written() {
    let record = stored(json!({"Last_Name": "Roe", "No": 12, "Tag": "a\\nb"}), 5);
    // A field set to null, a new field, another number's text, a string whose escape differs.
    for values in [
        json!({"Last_Name": null}),
        json!({"Phone": "1"}),
        json!({"No": 12.0}),
        json!({"Tag": "a\nb"}),
        json!({"Tag": "a\\nb", "Last_Name": "Doe"}),
    ] {
        let merged = check(&record, vec![row(1, values.clone())], false);
        assert!(merged.data.is_some(), "{values} changes the text");
    }
    let merged = check(&record, vec![row(1, json!({"Tag": "a\\nb", "Gone": null}))], false);
    assert_eq!(merged.data, None, "an escaped string written as stored, a null on no value");
    // A newline is stored as `\n`: a row's backslash and `n` are those bytes, not that value.
    let newline = stored(json!({"Tag": "a\nb"}), 5);
    let merged = check(&newline, vec![row(1, json!({"Tag": "a\\nb"}))], false);
    assert!(merged.data.is_some());
    let named = stored(json!({"First_Name": "Ann", "Last_Name": "Roe"}), 5);
    let merged = check(&named, vec![row(1, json!({"Last_Name": "Roe"}))], true);
    assert!(merged.data.is_some(), "Full_Name computed where none was stored");
}

#[test]
fn changed_new_and_cleared_fields_are_in_the_image() {
    let record = stored(json!({"Last_Name": "Roe", "Phone": "1", "Tag": "x", "No": 12}), 5);
    let merged = check(
        &record,
        vec![row(1, json!({"Last_Name": "Doe", "Phone": null, "Mobile": "2", "Fax": null, "No": 12.0}))],
        false,
    );
    assert_eq!(merged.set, json!({"Last_Name": "Roe", "Phone": "1", "No": 12}).as_object().unwrap().clone());
    assert_eq!(merged.unset, vec!["Mobile".to_string()]);
}

#[test]
fn an_object_with_its_keys_in_another_order_is_the_same_value() {
    let mut record = stored(json!({"Owner_Lookup": {"id": "1", "name": "A"}, "List": [1, 2]}), 5);
    record.data = r#"{"Owner_Lookup":{"name":"A","id":"1"},"List":[1,2]}"#.into();
    let merged = check(&record, vec![row(1, json!({"Owner_Lookup": {"id": "1", "name": "A"}, "List": [2, 1]}))], false);
    assert_eq!(merged.set, json!({"List": [1, 2]}).as_object().unwrap().clone());
}

#[test]
fn full_name_follows_the_merged_names() {
    let record = stored(json!({"First_Name": "Ann", "Last_Name": "Roe", "Full_Name": "Ann Roe", "Email": "a@x"}), 5);
    check(&record, vec![row(1, json!({"Last_Name": "Doe"}))], true);
    check(&record, vec![row(1, json!({"Last_Name": "Roe", "First_Name": "Ann"}))], true);
    check(&record, vec![row(1, json!({"Last_Name": null, "First_Name": null}))], true);
    let unnamed = stored(json!({"Email": "a@x"}), 5);
    check(&unnamed, vec![row(1, json!({"First_Name": " Bo "}))], true);
    check(&unnamed, vec![row(1, json!({"Email": "b@x"}))], true);
}

#[test]
fn later_rows_on_the_same_record_win_and_the_image_is_of_the_stored_record() {
    let record = stored(json!({"A": "1", "B": "2", "C": "3"}), 5);
    let mut second = row(2, json!({"A": "9", "D": "4", "B": null}));
    second.owner = Some(UserId::new(6));
    second.layout_id = Some("L2".into());
    check(&record, vec![row(1, json!({"A": "5", "B": "7", "E": "8"})), second], false);
}

#[test]
fn escapes_survive_the_copy() {
    let record = stored(json!({"Quote \"q\"": "line\nnext \u{e9}", "Tab": "a\tb"}), 5);
    let merged = check(&record, vec![row(1, json!({"Tab": "a\tb", "New \\ field": "\u{1F600}"}))], false);
    assert_eq!(merged.unset, vec!["New \\ field".to_string()]);
}

#[test]
fn a_row_updating_a_record_the_chunk_inserts_is_left_to_the_planner() {
    let mut inserted = RowDraft::new(1, Vec::new());
    inserted.find_key = Some(FindKey::Id { id: RecordId::new(99), column: "id".into() });
    let result = ResultRow {
        row_no: 1,
        echo: Vec::new(),
        status: RowStatus::Updated,
        record_id: Some(RecordId::new(99)),
        errors: bulkwrite_core::result::ErrorsCell::default(),
        reasons: Vec::new(),
    };
    assert!(merges(&[inserted], &[result], &HashMap::new()).is_none());
}
