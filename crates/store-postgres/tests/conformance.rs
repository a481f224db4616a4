//! The shared conformance suite on PostgreSQL, plus what only this backend has: blobs in the
//! database, concurrent claimers on several connections, races between writers, LISTEN/NOTIFY.
//!
//! Every test gets a fresh database on the server that `BULKWRITE_TEST_DATABASE_URL` names
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it at build time, the tests are
//! ignored (build.rs), so nextest reports them as skipped.

mod pg;

bulkwrite_store::conformance_tests!(
    [#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]]
    pg::checked_store(pg::database_url())
);

/// Prints how long a snapshot, a reset and a restore of an org of 10,000 records take (quoted
/// in docs/PERFORMANCE.md): `BULKWRITE_TEST_DATABASE_URL=… cargo nextest run -p
/// bulkwrite-store-postgres --run-ignored only --no-capture -E 'test(snapshot_timings)'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, not a check: run on purpose"]
async fn snapshot_timings() {
    let report =
        bulkwrite_store::conformance::time_reset_and_snapshots(pg::fresh_store(pg::database_url()).await).await;
    eprintln!("PostgreSQL, 10,000 records:\n{report}");
}
