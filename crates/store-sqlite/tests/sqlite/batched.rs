//! Chunks committed several to a transaction (`--sqlite-commit-chunks`), without savepoints: a
//! chunk failing after it wrote rolls the transaction back, and its job resumes from its
//! checkpoint.

use std::sync::Arc;

use bulkwrite_store_sqlite::{SqliteSettings, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_chunk_failing_after_it_wrote_loses_the_chunks_before_it_and_the_job_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bulkwrite.sqlite");
    // Every chunk batched, never committed by count: only a failure or another write ends them.
    let settings = SqliteSettings { commit_chunks: 100, batch_after_rows: 0, ..SqliteSettings::default() };
    let store = Arc::new(SqliteStore::open_with(&path, settings).await.expect("open store"));
    // As a failing disk would: the record's insert fails once its keys are in.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER boom BEFORE INSERT ON records WHEN NEW.data LIKE '%\"Last_Name\":\"BOOM\"%'
         BEGIN SELECT RAISE(ABORT, 'boom'); END;",
    )
    .unwrap();
    drop(conn);
    let stored =
        bulkwrite_store::conformance::a_chunk_failing_after_it_wrote_leaves_its_job_to_resume_from_its_checkpoint(
            store,
        )
        .await;
    assert_eq!(stored, 0, "the batched chunk before the failing one was rolled back with it");
}
