//! The shared conformance suite on PostgreSQL, plus what only this backend has: blobs in the
//! database, concurrent claimers on several connections, races between writers, LISTEN/NOTIFY.
//!
//! Every test gets a fresh database on the server that `BULKWRITE_TEST_DATABASE_URL` names
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it, each test says it skipped.

mod pg;

bulkwrite_store::conformance_tests!(match pg::database_url() {
    Some(url) => pg::fresh_store(url),
    None => return pg::skipped(),
});
