//! The shared conformance suite on PostgreSQL, plus what only this backend has: blobs in the
//! database, concurrent claimers on several connections, races between writers, LISTEN/NOTIFY.
//!
//! Every test gets a fresh database on the server that `BULKWRITE_TEST_DATABASE_URL` names
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it at build time, the tests are
//! ignored (build.rs), so nextest reports them as skipped.

mod pg;

bulkwrite_store::conformance_tests!(
    [#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]]
    pg::fresh_store(pg::database_url())
);
