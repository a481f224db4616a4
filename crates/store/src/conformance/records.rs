//! Chunks: records, result rows, checkpoints, duplicates, updates, listings and lookups.

use std::sync::Arc;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::mapping::{FindKey, RowDraft, UniqueKey};
use bulkwrite_core::result::RowStatus;
use bulkwrite_core::state::ResourceState;
use bulkwrite_wire::Operation;
use chrono::Utc;
use serde_json::{json, Value};

use super::*;

pub async fn chunks_write_records_results_and_checkpoints(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 5000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.set_character_encoding(&lease, "UTF-8").await.unwrap();
    let mut bad = row(2, "", "b@x.co");
    bad.errors.push(
        bulkwrite_core::result::RowError::new(bulkwrite_core::result::RowErrorCode::MandatoryNotFound, "Last Name")
            .on("Last_Name", "")
            .because("Last_Name is mandatory"),
    );
    let outcome =
        store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "a@x.co"), bad], 2)).await.unwrap();
    assert_eq!((outcome.added, outcome.updated, outcome.skipped), (1, 0, 1));
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.character_encoding.as_deref(), Some("UTF-8"));
    assert_eq!(
        stored.resources[0],
        ResourceProgress { state: ResourceState::Running, rows_done: 2, added: 1, updated: 0, skipped: 1 }
    );
    let rows = all_rows(&store, job).await;
    assert_eq!(rows, outcome.results, "the chunk returns its result rows as stored");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].status, RowStatus::Added);
    assert_eq!(rows[1].errors.to_string(), "MANDATORY_NOT_FOUND-Last Name");
    // The reasons are kept beside the result rows, in the chunk's transaction.
    let reason = &rows[1].reasons[0];
    assert_eq!((reason.column.as_str(), reason.field.as_str()), ("Last Name", "Last_Name"));
    assert_eq!(reason.message, "Last_Name is mandatory");
    assert!(rows[0].reasons.is_empty());
    let record_id = rows[0].record_id.unwrap();
    let record = store.get_record(ORG, "Leads", record_id).await.unwrap().unwrap();
    assert_eq!(record.values["Email"], "a@x.co");
    assert_eq!(record.owner, ADMIN);
    assert_eq!(record.layout_id.as_deref(), Some("5725767000000002100"));
    assert!(store.get_record(OTHER_ORG, "Leads", record_id).await.unwrap().is_none());
    assert!(store.get_record(ORG, "Contacts", record_id).await.unwrap().is_none());
    assert_eq!(store.result_rows(ORG, job, 0, 1, 10).await.unwrap().len(), 1, "paging after a row number");
    assert!(store.result_rows(OTHER_ORG, job, 0, 0, 10).await.is_err());
    assert!(
        matches!(store.finish_resource(&lease, 0, 3).await, Err(StoreError::Conflict(_))),
        "the resource's checkpoint is 2, not 3"
    );
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().resources[0].state, ResourceState::Running);
    store.finish_resource(&lease, 0, 2).await.unwrap();
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().resources[0].state, ResourceState::Done);
}

pub async fn duplicates_are_caught_across_chunks(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 6000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "dup@x.co")], 1)).await.unwrap();
    let outcome = store
        .apply_chunk(&lease, chunk(Operation::Insert, vec![row(2, "B", "DUP@x.co"), row(3, "C", "dup@x.co")], 3))
        .await
        .unwrap();
    assert_eq!(outcome.skipped, 2);
    let rows = all_rows(&store, job).await;
    assert_eq!(rows[1].errors.to_string(), "DUPLICATE_DATA-Email");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);
}

/// A chunk that meets a key taken before it adds its other rows, each once: whatever the first
/// try at the chunk wrote (a backend may insert its keys before it knows one is taken) leaves
/// no trace, so the new row's key is its record's and nobody else's.
pub async fn a_chunk_meeting_a_taken_key_adds_its_other_rows_once(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 6100, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "taken@x.co")], 1)).await.unwrap();
    let outcome = store
        .apply_chunk(
            &lease,
            chunk(
                Operation::Insert,
                vec![row(2, "B", "new@x.co"), row(3, "C", "taken@x.co"), row(4, "D", "other@x.co")],
                4,
            ),
        )
        .await
        .unwrap();
    assert_eq!((outcome.added, outcome.skipped), (2, 1));
    let rows = all_rows(&store, job).await;
    assert_eq!(rows[1].status, RowStatus::Added);
    assert_eq!(rows[2].errors.to_string(), "DUPLICATE_DATA-Email");
    assert_eq!(rows[3].status, RowStatus::Added);
    for row in [&rows[1], &rows[3]] {
        let id = row.record_id.expect("an added row has its record");
        assert!(store.get_record(ORG, "Leads", id).await.unwrap().is_some(), "record {id} exists");
    }
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 3);
    let outcome = store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(5, "E", "NEW@x.co")], 5)).await.unwrap();
    assert_eq!(outcome.skipped, 1, "the added row's key is taken by its record");
}

pub async fn updates_and_upserts_change_records_and_keys(store: Arc<dyn Store>) {
    with_org(&store).await;
    let seed_job = new_job(&store, 7000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "Old", "old@x.co")], 1)).await.unwrap();
    let id = all_rows(&store, seed_job).await[0].record_id.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();

    let upsert_job = new_job(&store, 7001, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let outcome = store
        .apply_chunk(
            &lease,
            chunk(
                Operation::Upsert,
                vec![found_by_email(row(1, "New", "old@x.co")), found_by_email(row(2, "Fresh", "new@x.co"))],
                2,
            ),
        )
        .await
        .unwrap();
    assert_eq!((outcome.added, outcome.updated), (1, 1));
    let rows = store.result_rows(ORG, upsert_job, 0, 0, 10).await.unwrap();
    assert_eq!(rows[0].record_id, Some(id));
    assert_eq!(rows[0].status, RowStatus::Updated);
    assert_eq!(store.get_record(ORG, "Leads", id).await.unwrap().unwrap().values["Last_Name"], "New");

    // Moving the unique value: the old key is free again, the new one is taken.
    let mut moved = row(3, "Moved", "moved@x.co");
    moved.find_key = Some(FindKey::Id { id, column: "id".into() });
    store
        .apply_chunk(
            &lease,
            chunk(
                Operation::Upsert,
                vec![moved, found_by_email(row(4, "Reuse", "old@x.co")), found_by_email(row(5, "Dup", "moved@x.co"))],
                5,
            ),
        )
        .await
        .unwrap();
    let rows = store.result_rows(ORG, upsert_job, 0, 2, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RowStatus::Updated, RowStatus::Added, RowStatus::Updated]
    );
    assert_eq!(rows[2].record_id, Some(id), "found by its new key");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 3);
    assert_eq!(store.get_record(ORG, "Leads", id).await.unwrap().unwrap().values["Last_Name"], "Dup");
}

/// An upsert of the values a record already has (a file imported again) still writes it: its
/// result is `UPDATED`, its modified time and author move, its values stay (a store that keeps
/// the stored text when no value changes, see `crate::merge::Merged`).
pub async fn an_upsert_of_the_values_a_record_has_still_writes_it(store: Arc<dyn Store>) {
    with_org(&store).await;
    let seed_job = new_job(&store, 7300, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let seed = vec![row(1, "Same", "same@x.co"), row(2, "Other", "other@x.co")];
    store.apply_chunk(&lease, chunk(Operation::Insert, seed, 2)).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let ids = all_rows(&store, seed_job).await.iter().map(|r| r.record_id.unwrap()).collect::<Vec<_>>();
    let before = store.get_record(ORG, "Leads", ids[0]).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let again = new_job(&store, 7301, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let rows = vec![found_by_email(row(1, "Same", "same@x.co")), found_by_email(row(2, "Changed", "other@x.co"))];
    let outcome = store.apply_chunk(&lease, chunk(Operation::Upsert, rows, 2)).await.unwrap();
    assert_eq!((outcome.added, outcome.updated, outcome.skipped), (0, 2, 0));
    let results = all_rows(&store, again).await;
    assert_eq!(results.iter().map(|r| r.status).collect::<Vec<_>>(), [RowStatus::Updated, RowStatus::Updated]);
    let after = store.get_record(ORG, "Leads", ids[0]).await.unwrap().unwrap();
    assert_eq!(after.values, before.values);
    assert!(after.modified_at > before.modified_at, "{:?} then {:?}", before.modified_at, after.modified_at);
    assert_eq!(after.created_at, before.created_at);
    let other = store.get_record(ORG, "Leads", ids[1]).await.unwrap().unwrap();
    assert_eq!(other.values["Last_Name"], "Changed", "beside it, a changed record is written as merged");
}

/// A record with keys in two fields, upserted by one with a new value in the other: the other's
/// old value is free again and the new one taken: the record's keys in fields its probes did not
/// name are read too (a store taking a found record's keys as the probes found them fails it).
pub async fn an_upsert_by_one_key_moves_the_records_other_key(store: Arc<dyn Store>) {
    with_org(&store).await;
    let with_code = |mut draft: RowDraft, code: &str| {
        draft.values.insert("Code", json!(code));
        draft.unique_keys.push(UniqueKey { field: "Code".into(), value: code.into(), column: "Code".into() });
        draft
    };
    new_job(&store, 7200, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let first = vec![with_code(row(1, "Old", "old@x.co"), "c-1"), with_code(row(2, "Other", "other@x.co"), "c-9")];
    store.apply_chunk(&lease, chunk(Operation::Insert, first, 2)).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();

    new_job(&store, 7201, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let moved = found_by_email(with_code(row(1, "New", "old@x.co"), "c-2"));
    let outcome = store.apply_chunk(&lease, chunk(Operation::Upsert, vec![moved], 1)).await.unwrap();
    assert_eq!((outcome.added, outcome.updated), (0, 1));
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();

    let check = new_job(&store, 7202, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let reuse = vec![with_code(row(1, "Reuse", "reuse@x.co"), "c-1"), with_code(row(2, "Dup", "dup@x.co"), "c-2")];
    store.apply_chunk(&lease, chunk(Operation::Insert, reuse, 2)).await.unwrap();
    let rows = all_rows(&store, check).await;
    assert_eq!(rows.iter().map(|r| r.status).collect::<Vec<_>>(), [RowStatus::Added, RowStatus::Skipped], "{rows:?}");
}

/// An upsert chunk whose later row finds a record an earlier row of the same chunk adds (both
/// stores merge updates into the stored records' text, and plan such a chunk with maps).
pub async fn an_upsert_row_may_update_what_its_own_chunk_added(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 7100, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "Old", "old@x.co")], 1)).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();

    let job = new_job(&store, 7101, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let rows = vec![
        found_by_email(row(1, "First", "dup@x.co")),
        found_by_email(row(2, "Second", "dup@x.co")),
        found_by_email(row(3, "Up", "old@x.co")),
    ];
    let outcome = store.apply_chunk(&lease, chunk(Operation::Upsert, rows, 3)).await.unwrap();
    assert_eq!((outcome.added, outcome.updated), (1, 2));
    let rows = all_rows(&store, job).await;
    assert_eq!(
        rows.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RowStatus::Added, RowStatus::Updated, RowStatus::Updated]
    );
    assert_eq!(rows[0].record_id, rows[1].record_id);
    assert_eq!(rows[1].echo, ["Second", "dup@x.co"]);
    let added = store.get_record(ORG, "Leads", rows[0].record_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((&added.values["Last_Name"], &added.values["Full_Name"]), (&json!("Second"), &json!("Second")));
    let updated = store.get_record(ORG, "Leads", rows[2].record_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((&updated.values["Last_Name"], &updated.values["Full_Name"]), (&json!("Up"), &json!("Up")));
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 2);
}

pub async fn records_page_and_sort(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 11_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let rows = (1..=5).map(|n| row(n, &format!("N{n}"), "")).collect();
    store.apply_chunk(&lease, chunk(Operation::Insert, rows, 5)).await.unwrap();
    let query = |page, per_page, descending| RecordQuery {
        page,
        per_page,
        sort_by: RecordSort::Id,
        descending,
        ids: None,
        offset: None,
    };
    let first = store.list_records(ORG, "Leads", &query(1, 2, false)).await.unwrap();
    assert_eq!(first.records.len(), 2);
    assert!(first.more_records);
    let last = store.list_records(ORG, "Leads", &query(3, 2, false)).await.unwrap();
    assert_eq!(last.records.len(), 1);
    assert!(!last.more_records);
    let from_offset =
        store.list_records(ORG, "Leads", &RecordQuery { offset: Some(3), ..query(1, 10, false) }).await.unwrap();
    assert_eq!(from_offset.records[0].values["Last_Name"], "N4", "an offset overrides the page");
    let newest = store.list_records(ORG, "Leads", &query(1, 1, true)).await.unwrap();
    assert_eq!(newest.records[0].values["Last_Name"], "N5");
    let ids = vec![first.records[1].id, RecordId::new(1)];
    let picked =
        store.list_records(ORG, "Leads", &RecordQuery { ids: Some(ids), ..query(1, 10, false) }).await.unwrap();
    assert_eq!(picked.records.len(), 1);
    assert!(store.list_records(OTHER_ORG, "Leads", &query(1, 10, false)).await.unwrap().records.is_empty());
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 5);
}

pub async fn lookups_find_records_by_id_key_and_value(store: Arc<dyn Store>) {
    use bulkwrite_core::lookup::{LookupBy, LookupQuery};
    with_org(&store).await;
    new_job(&store, 12_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let account = |row_no: u64, name: &str, site: &str| {
        let mut draft = row(row_no, name, "");
        draft.values.clear();
        draft.values.insert("Account_Name", json!(name));
        draft.values.insert("Account_Site", json!(site));
        draft.unique_keys =
            vec![UniqueKey { field: "Account_Name".into(), value: name.to_lowercase(), column: "Name".into() }];
        draft
    };
    let mut accounts = chunk(
        Operation::Insert,
        vec![account(1, "Zylker", "Paris"), account(2, "Acme", "paris "), account(3, "Initech", "Oslo")],
        3,
    );
    accounts.module = "Accounts".into();
    store.apply_chunk(&lease, accounts).await.unwrap();
    let query = |field: &str, by, values: &[&str]| LookupQuery {
        module: "Accounts".into(),
        field: field.into(),
        by,
        values: values.iter().map(|v| v.to_string()).collect(),
        display_field: "Account_Name".into(),
    };
    let mut by_key =
        store.find_records(ORG, &query("Account_Name", LookupBy::UniqueKey, &["zylker", "nobody"])).await.unwrap();
    assert_eq!(by_key.len(), 1);
    let (value, zylker) = by_key.remove(0);
    assert_eq!((value.as_str(), zylker.name.as_deref()), ("zylker", Some("Zylker")));
    let by_id = store.find_records(ORG, &query("id", LookupBy::Id, &[&zylker.id.to_string(), "1"])).await.unwrap();
    assert_eq!(by_id, [(zylker.id.to_string(), zylker.clone())]);
    let by_value = store.find_records(ORG, &query("Account_Site", LookupBy::Value, &["paris"])).await.unwrap();
    assert_eq!(by_value.len(), 2, "both Paris accounts: ambiguity is the caller's to report");
    assert!(store
        .find_records(OTHER_ORG, &query("Account_Name", LookupBy::UniqueKey, &["zylker"]))
        .await
        .unwrap()
        .is_empty());

    let phone = |row_no: u64, parent: RecordId, number: &str| {
        let mut draft = row(row_no, number, "");
        draft.values.clear();
        draft.values.insert("Parent_Id", json!({"name": "Zylker", "id": parent.to_string()}));
        draft.values.insert("Number", json!(number));
        draft
    };
    let mut phones = chunk(
        Operation::Insert,
        vec![phone(4, zylker.id, "1"), phone(5, zylker.id, "2"), phone(6, RecordId::new(1), "3")],
        6,
    );
    phones.module = "Account_Phones".into();
    store.apply_chunk(&lease, phones).await.unwrap();
    let children = store.child_records(ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap();
    assert_eq!(children.iter().map(|c| c.values["Number"].clone()).collect::<Vec<_>>(), [json!("1"), json!("2")]);
    assert!(store.child_records(OTHER_ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap().is_empty());

    // Moving a row to another parent moves it between the parents' lists.
    let orphan = store.child_records(ORG, "Account_Phones", "Parent_Id", RecordId::new(1)).await.unwrap();
    assert_eq!(orphan.len(), 1);
    let mut moved = phone(7, zylker.id, "3");
    moved.find_key = Some(FindKey::Id { id: orphan[0].id, column: "Id".into() });
    let mut update = chunk(Operation::Update, vec![moved], 7);
    update.module = "Account_Phones".into();
    assert_eq!(store.apply_chunk(&lease, update).await.unwrap().updated, 1);
    assert!(store.child_records(ORG, "Account_Phones", "Parent_Id", RecordId::new(1)).await.unwrap().is_empty());
    let children = store.child_records(ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap();
    assert_eq!(children.len(), 3);

    // An update that leaves the parent alone keeps the row under it.
    let renumber = |row_no: u64, number: &str| {
        let mut draft = row(row_no, number, "");
        draft.values.clear();
        draft.values.insert("Number", json!(number));
        draft.find_key = Some(FindKey::Id { id: orphan[0].id, column: "Id".into() });
        let mut update = chunk(Operation::Update, vec![draft], row_no);
        update.module = "Account_Phones".into();
        update
    };
    assert_eq!(store.apply_chunk(&lease, renumber(8, "4")).await.unwrap().updated, 1);
    let children = store.child_records(ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap();
    let mut numbers: Vec<Value> = children.iter().map(|c| c.values["Number"].clone()).collect();
    numbers.sort_by_key(ToString::to_string);
    assert_eq!(numbers, [json!("1"), json!("2"), json!("4")]);

    // An update that changes no value (its record keeps its stored text) keeps it there too.
    assert_eq!(store.apply_chunk(&lease, renumber(9, "4")).await.unwrap().updated, 1);
    let children = store.child_records(ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap();
    assert_eq!(children.len(), 3);
}

pub async fn deleting_records_frees_their_keys(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 13_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let rows = vec![row(1, "A", "a@x.co"), row(2, "B", "b@x.co"), row(3, "C", "c@x.co")];
    store.apply_chunk(&lease, chunk(Operation::Insert, rows, 3)).await.unwrap();
    let ids: Vec<RecordId> = all_rows(&store, job).await.iter().map(|r| r.record_id.unwrap()).collect();
    let unknown = RecordId::new(42);
    let asked = [ids[2], unknown, ids[0], ids[2]];
    assert!(store.delete_records(ORG, "Contacts", &asked).await.unwrap().is_empty(), "another module's ids");
    assert!(store.delete_records(OTHER_ORG, "Leads", &asked).await.unwrap().is_empty(), "another org's ids");
    assert_eq!(store.delete_records(ORG, "Leads", &asked).await.unwrap(), [ids[2], ids[0]]);
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);
    assert!(store.get_record(ORG, "Leads", ids[0]).await.unwrap().is_none());
    // Their Emails are free again; the one left still holds its own.
    let again = vec![row(4, "A2", "a@x.co"), row(5, "B2", "b@x.co")];
    let outcome = store.apply_chunk(&lease, chunk(Operation::Insert, again, 5)).await.unwrap();
    assert_eq!((outcome.added, outcome.skipped), (1, 1));
    assert_eq!(outcome.results[1].errors.to_string(), "DUPLICATE_DATA-Email");
}
