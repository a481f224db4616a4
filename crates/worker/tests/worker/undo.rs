//! Undo jobs: run by the same worker in checkpointed chunks, to a result file of one row per
//! record; a record changed after the job is left alone and said so.

use bulkwrite_core::ids::{JobId, RecordId};
use bulkwrite_core::mapping::{FindKey, RowDraft};
use bulkwrite_core::state::JobState;
use bulkwrite_store::{JobKind, NewUndoJob, RecordWrite, UndoCreation};
use bulkwrite_wire::Operation;
use bulkwrite_worker::RunOutcome;
use chrono::Utc;

use super::fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_deletes_the_added_records_in_chunks_and_keeps_a_changed_one() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7501, &leads_csv(5), false).await;
    let worker = env.worker(config(2));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let rows = env.result_csv(job).await;
    let changed = RecordId::parse(&rows[3][3]).expect("the third row's record");
    // The third record is renamed through the records API after the job.
    let mut rename = RowDraft::new(1, Vec::new());
    rename.values.insert("Last_Name", serde_json::json!("Renamed"));
    rename.find_key = Some(FindKey::Id { id: changed, column: "id".into() });
    let write = RecordWrite {
        module: "Leads".into(),
        operation: Operation::Update,
        rows: vec![rename],
        default_owner: ADMIN,
        default_layout: None,
        actor: ADMIN,
        now: Utc::now(),
        full_name: true,
    };
    env.store.write_records(ORG, write).await.unwrap();

    let undo = JobId::new(7502);
    let request = NewUndoJob { id: undo, org: ORG, created_by: ADMIN, undo_of: job, created_at: Utc::now() };
    assert_eq!(env.store.create_undo_job(request).await.unwrap(), UndoCreation::Created);
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((undo, RunOutcome::Completed)));

    let done = env.job(undo).await;
    assert_eq!((done.kind(), done.state, done.undo_of), (JobKind::Undo, JobState::Succeeded, Some(job)));
    let progress = done.resources[0];
    assert_eq!((progress.rows_done, progress.added, progress.updated, progress.skipped), (5, 4, 0, 1));
    let result = env.result_csv(undo).await;
    assert_eq!(result[0], ["RECORD_ID", "STATUS", "ERRORS", "MODULE", "SOURCE_ROW"]);
    assert_eq!(statuses(&result), ["DELETED", "DELETED", "CONFLICT", "DELETED", "DELETED"]);
    assert!(result[3][2].contains("was changed at"), "{:?}", result[3]);
    assert_eq!(
        (result[3][0].as_str(), result[3][3].as_str(), result[3][4].as_str()),
        (changed.to_string().as_str(), "Leads", "3")
    );
    assert_eq!(env.lead_names().await, ["Renamed"], "only the changed record stays");
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a finished undo is not claimed again");
}
