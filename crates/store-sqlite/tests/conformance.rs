//! The shared conformance suite on the embedded backend, plus what only this backend has.

mod sqlite;

use std::sync::Arc;

use bulkwrite_store::Store;
use bulkwrite_store_sqlite::SqliteStore;

/// A store in a temporary directory, removed when the case ends.
async fn fresh_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("bulkwrite.sqlite")).await.expect("open store");
    (Arc::new(store), dir)
}

bulkwrite_store::conformance_tests!(fresh_store());

/// The pooled connections keep working on a moved file, so the ping opens the path afresh.
#[tokio::test]
async fn ping_fails_while_the_database_file_is_gone() {
    use bulkwrite_store::HealthStore;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bulkwrite.sqlite");
    let store = SqliteStore::open(&path).await.expect("open store");
    store.ping().await.expect("answers");
    let aside = dir.path().join("moved.sqlite");
    std::fs::rename(&path, &aside).unwrap();
    assert!(store.ping().await.is_err(), "the file the server was started on is gone");
    std::fs::rename(&aside, &path).unwrap();
    store.ping().await.expect("answers again once the file is back");
}

/// Prints how long a snapshot, a reset and a restore of an org of 10,000 records take (quoted
/// in docs/PERFORMANCE.md): `cargo nextest run -p bulkwrite-store-sqlite --run-ignored only
/// --no-capture -E 'test(snapshot_timings)'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, not a check: run on purpose"]
async fn snapshot_timings() {
    let (store, _dir) = fresh_store().await;
    let report = bulkwrite_store::conformance::time_reset_and_snapshots(store).await;
    eprintln!("SQLite, 10,000 records:\n{report}");
}
