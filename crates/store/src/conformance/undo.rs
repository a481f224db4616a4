//! Undo: images captured by a job's chunks, undo jobs queued once, settled record by record.

use std::sync::Arc;

use bulkwrite_core::ids::{JobId, RecordId};
use bulkwrite_core::lookup::{LookupBy, LookupQuery};
use bulkwrite_core::mapping::{FindKey, RowDraft};
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_wire::Operation;
use chrono::{Duration, Utc};

use super::*;
use crate::undo::{NewUndoJob, UndoChunk, UndoCreation};

fn by_id(mut row: RowDraft, id: RecordId) -> RowDraft {
    row.find_key = Some(FindKey::Id { id, column: "id".into() });
    row
}

fn undo_of(id: u64, job: JobId) -> NewUndoJob {
    NewUndoJob { id: JobId::new(id), org: ORG, created_by: ADMIN, undo_of: job, created_at: Utc::now() }
}

fn undo_chunk(job: JobId, rows: Vec<ResultRow>, before: u64, after: u64) -> UndoChunk {
    UndoChunk {
        undo_of: job,
        resource: 0,
        module: "Leads".into(),
        rows,
        rows_done_before: before,
        rows_done: after,
        actor: ADMIN,
        now: Utc::now(),
    }
}

async fn email_holder(store: &Arc<dyn Store>, email: &str) -> Option<RecordId> {
    let query = LookupQuery {
        module: "Leads".into(),
        field: "Email".into(),
        by: LookupBy::UniqueKey,
        values: vec![email.into()],
        display_field: "Last_Name".into(),
    };
    store.find_records(ORG, &query).await.unwrap().first().map(|(_, hit)| hit.id)
}

/// Two records inserted by a first job, then a second job (upsert) that updates one of them
/// twice (moving its unique value), updates the other and adds a third; returns
/// (first job, second job, [a, b]).
async fn two_jobs(store: &Arc<dyn Store>) -> (JobId, JobId, [RecordId; 2]) {
    with_org(store).await;
    let seed = new_job(store, 8000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(store, "w1").await.unwrap();
    let rows = vec![row(1, "Avery", "a@x.co"), row(2, "Blake", "b@x.co")];
    store.apply_chunk(&lease, chunk(Operation::Insert, rows, 2)).await.unwrap();
    store.finish_resource(&lease, 0, 2).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let ids = all_rows(store, seed).await;
    let (a, b) = (ids[0].record_id.unwrap(), ids[1].record_id.unwrap());

    let job = new_job(store, 8001, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(store, "w1").await.unwrap();
    let first = vec![by_id(row(1, "Avery2", "a2@x.co"), a), found_by_email(row(2, "Nova", "n@x.co"))];
    store.apply_chunk(&lease, chunk(Operation::Upsert, first, 2)).await.unwrap();
    let second = vec![by_id(row(3, "Avery3", "a2@x.co"), a), by_id(row(4, "Blake2", "b@x.co"), b)];
    store.apply_chunk(&lease, chunk(Operation::Upsert, second, 4)).await.unwrap();
    store.finish_resource(&lease, 0, 4).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    (seed, job, [a, b])
}

pub async fn an_undo_deletes_what_the_job_added_restores_what_it_updated_and_keeps_later_changes(
    store: Arc<dyn Store>,
) {
    let (_, job, [a, b]) = two_jobs(&store).await;
    let added = all_rows(&store, job).await[1].record_id.unwrap();
    // A later write through the records API changes b after the job wrote it.
    let later = RecordWrite {
        module: "Leads".into(),
        operation: Operation::Update,
        rows: vec![by_id(row(1, "Blake-later", "b@x.co"), b)],
        default_owner: ADMIN,
        default_layout: None,
        actor: ADMIN,
        now: Utc::now(),
        full_name: true,
    };
    store.write_records(ORG, later).await.unwrap();

    assert_eq!(store.create_undo_job(undo_of(8002, job)).await.unwrap(), UndoCreation::Created);
    let again = store.create_undo_job(undo_of(8003, job)).await.unwrap();
    assert_eq!(again, UndoCreation::AlreadyUndone(JobId::new(8002)), "one undo at a time");
    let foreign = NewUndoJob { org: OTHER_ORG, ..undo_of(8004, job) };
    assert_eq!(store.create_undo_job(foreign).await.unwrap(), UndoCreation::NoSuchJob, "another org's job");

    let (undo, lease) = claim(&store, "w2").await.unwrap();
    assert_eq!((undo.id, undo.kind(), undo.undo_of), (JobId::new(8002), JobKind::Undo, Some(job)));
    assert!(undo.spec.callback.is_none());
    let original = all_rows(&store, job).await;
    let outcome = store.apply_undo_chunk(&lease, undo_chunk(job, original.clone(), 0, 4)).await.unwrap();
    let seen: Vec<(u64, RowStatus, Option<RecordId>)> =
        outcome.results.iter().map(|r| (r.row_no, r.status, r.record_id)).collect();
    assert_eq!(
        seen,
        [(1, RowStatus::Restored, Some(a)), (2, RowStatus::Deleted, Some(added)), (4, RowStatus::Conflict, Some(b))],
        "one row per record, at its first row"
    );
    assert!(outcome.results[2].echo[1].contains("was changed at"), "{:?}", outcome.results[2].echo);
    assert_eq!((outcome.added, outcome.updated, outcome.skipped), (1, 1, 1));

    let restored = store.get_record(ORG, "Leads", a).await.unwrap().unwrap();
    assert_eq!(
        (restored.values["Last_Name"].as_str(), restored.values["Email"].as_str()),
        (Some("Avery"), Some("a@x.co"))
    );
    assert_eq!(email_holder(&store, "a@x.co").await, Some(a), "its unique value is its own again");
    assert_eq!(email_holder(&store, "a2@x.co").await, None);
    assert!(store.get_record(ORG, "Leads", added).await.unwrap().is_none());
    assert_eq!(email_holder(&store, "n@x.co").await, None, "the deleted record's key is free");
    let kept = store.get_record(ORG, "Leads", b).await.unwrap().unwrap();
    assert_eq!(kept.values["Last_Name"], "Blake-later", "a later change is not overwritten");

    // The same chunk again (a second worker's copy) is refused: nothing is settled twice.
    let twice = store.apply_undo_chunk(&lease, undo_chunk(job, original, 0, 4)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    store.finish_resource(&lease, 0, 4).await.unwrap();
    store.complete_job(&lease, "u", Utc::now()).await.unwrap();
    let stored = store.result_rows(ORG, JobId::new(8002), 0, 0, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RowStatus::Restored, RowStatus::Deleted, RowStatus::Conflict]
    );
    let again = store.create_undo_job(undo_of(8005, job)).await.unwrap();
    assert_eq!(again, UndoCreation::AlreadyUndone(JobId::new(8002)), "a job is undone once");
}

pub async fn an_undo_settles_each_record_once_across_chunks_and_leases(store: Arc<dyn Store>) {
    let (seed, _, [a, b]) = two_jobs(&store).await;
    // Undo the first job: its two records were updated since (by the second job): conflicts.
    assert_eq!(store.create_undo_job(undo_of(8010, seed)).await.unwrap(), UndoCreation::Created);
    let (_, lease) = claim(&store, "w3").await.unwrap();
    let rows = all_rows(&store, seed).await;
    let first = store.apply_undo_chunk(&lease, undo_chunk(seed, rows[..1].to_vec(), 0, 1)).await.unwrap();
    assert_eq!(first.results[0].status, RowStatus::Conflict);
    // The lease expires; another worker resumes after the checkpoint.
    let later = Claim::new("w4", Utc::now() + Duration::seconds(60), Duration::seconds(30));
    let (resumed, lease2) = store.claim_next_job(&later).await.unwrap().expect("taken over");
    assert_eq!(resumed.resources[0].rows_done, 1);
    let stale = store.apply_undo_chunk(&lease, undo_chunk(seed, rows[1..].to_vec(), 1, 2)).await;
    assert!(matches!(stale, Err(StoreError::LeaseLost)), "{stale:?}");
    let second = store.apply_undo_chunk(&lease2, undo_chunk(seed, rows[1..].to_vec(), 1, 2)).await.unwrap();
    assert_eq!(second.results.iter().map(|r| r.record_id).collect::<Vec<_>>(), [Some(b)]);
    assert!(store.get_record(ORG, "Leads", a).await.unwrap().is_some(), "a changed record is not deleted");
}

pub async fn undo_data_expires_with_the_result_but_not_under_an_undo(store: Arc<dyn Store>) {
    let (seed, job, _) = two_jobs(&store).await;
    assert_eq!(store.create_undo_job(undo_of(8020, job)).await.unwrap(), UndoCreation::Created);
    let sweep = Expiry { now: Utc::now(), older_than: Utc::now() + Duration::days(30), limit: 100 };
    store.expire_results(&sweep).await.unwrap();
    assert!(store.get_job(ORG, seed).await.unwrap().unwrap().result_expired_at.is_some());
    let kept = store.get_job(ORG, job).await.unwrap().unwrap();
    assert!(kept.result_expired_at.is_none(), "a job with an undo in flight keeps its undo data");
    let (_, lease) = claim(&store, "w5").await.unwrap();
    store.fail_job(&lease, "stopped", None, Utc::now()).await.unwrap();
    store.expire_results(&sweep).await.unwrap();
    assert!(store.get_job(ORG, job).await.unwrap().unwrap().result_expired_at.is_some());
    assert!(store.result_rows(ORG, job, 0, 0, 10).await.unwrap().is_empty());
    let late = store.create_undo_job(undo_of(8021, job)).await.unwrap();
    assert_eq!(late, UndoCreation::Expired, "an expired job is not undone (the failed undo allowed another)");
    assert!(store.get_job(ORG, JobId::new(8021)).await.unwrap().is_none(), "nothing was queued");
}
