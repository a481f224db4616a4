//! Dry-run chunks: planned like real ones against stored records and the run's own earlier
//! chunks, writing no record, answering row for row as the real job then does.

use std::sync::Arc;

use bulkwrite_core::mapping::FindKey;
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_wire::Operation;
use chrono::Utc;

use super::*;
use crate::dry_run::is_provisional;

/// Two upsert chunks over one stored record: updates of it, a key moved, a record the file adds
/// and then updates, a duplicate inside the file.
fn upsert_chunks(stored: bulkwrite_core::ids::RecordId, dry_run: bool) -> Vec<ChunkWrite> {
    let mut moved = row(3, "Moved", "moved@x.co");
    moved.find_key = Some(FindKey::Id { id: stored, column: "id".into() });
    let mut duplicate = row(7, "Twin", "twin@x.co");
    duplicate.find_key = None;
    let mut twin = row(8, "Twin again", "TWIN@x.co");
    twin.find_key = None;
    let first = vec![found_by_email(row(1, "New", "old@x.co")), found_by_email(row(2, "Fresh", "new@x.co"))];
    let second = vec![
        moved,
        found_by_email(row(4, "Reuse", "old@x.co")),
        found_by_email(row(5, "Dup", "moved@x.co")),
        found_by_email(row(6, "Fresh again", "new@x.co")),
        duplicate,
        twin,
    ];
    vec![
        ChunkWrite { dry_run, ..chunk(Operation::Upsert, first, 2) },
        ChunkWrite { dry_run, ..chunk(Operation::Upsert, second, 8) },
    ]
}

async fn run_chunks(
    store: &Arc<dyn Store>,
    job: u64,
    dry_run: bool,
    stored: bulkwrite_core::ids::RecordId,
) -> Vec<ResultRow> {
    let mut job_spec = spec(false, Operation::Upsert, Some("Email"));
    job_spec.dry_run = dry_run;
    let job = new_job(store, job, ORG, job_spec).await;
    let (claimed, lease) = claim(store, "w1").await.unwrap();
    assert_eq!(claimed.spec.dry_run, dry_run, "the job keeps its dry-run mark");
    store.start_resource(&lease, 0).await.unwrap();
    for chunk in upsert_chunks(stored, dry_run) {
        store.apply_chunk(&lease, chunk).await.unwrap();
    }
    store.finish_resource(&lease, 0, 8).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    all_rows(store, job).await
}

pub async fn dry_runs_write_nothing_and_answer_like_the_real_job(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 8000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "Old", "old@x.co")], 1)).await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let stored = store.list_records(
        ORG,
        "Leads",
        &RecordQuery { page: 1, per_page: 10, sort_by: RecordSort::Id, descending: false, ids: None, offset: None },
    );
    let stored = stored.await.unwrap().records[0].id;

    let dry = run_chunks(&store, 8001, true, stored).await;
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1, "a dry run writes no record");
    let record = store.get_record(ORG, "Leads", stored).await.unwrap().unwrap();
    assert_eq!((record.values["Last_Name"].as_str(), record.values["Email"].as_str()), (Some("Old"), Some("old@x.co")));
    let job = store.get_job(ORG, JobId::new(8001)).await.unwrap().unwrap();
    assert_eq!((job.resources[0].added, job.resources[0].updated, job.resources[0].skipped), (3, 4, 1));

    let real = run_chunks(&store, 8002, false, stored).await;
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 4);
    let outcome = |rows: &[ResultRow]| rows.iter().map(|r| (r.row_no, r.status, r.errors.clone())).collect::<Vec<_>>();
    assert_eq!(outcome(&dry), outcome(&real), "same STATUS and ERRORS, row for row");
    assert_eq!(
        dry.iter().map(|r| r.status).collect::<Vec<_>>(),
        [
            RowStatus::Updated,
            RowStatus::Added,
            RowStatus::Updated,
            RowStatus::Added,
            RowStatus::Updated,
            RowStatus::Updated,
            RowStatus::Added,
            RowStatus::Skipped
        ]
    );
    assert_eq!(dry[7].errors.to_string(), "DUPLICATE_DATA-Email", "a duplicate inside the file is caught");
    for (dry_row, real_row) in dry.iter().zip(&real).filter(|(row, _)| row.status != RowStatus::Skipped) {
        let dry_id = dry_row.record_id.expect("every row but the duplicate names a record");
        if is_provisional(dry_id) {
            assert_ne!(real_row.record_id, Some(stored), "row {}: a record the file adds", dry_row.row_no);
        } else {
            assert_eq!(Some(dry_id), real_row.record_id, "row {}: an update of a stored record", dry_row.row_no);
        }
    }
    assert_eq!(dry[5].record_id, dry[1].record_id, "the row updating what row 2 adds finds it");
}
