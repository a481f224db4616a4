//! The shared conformance suite on the embedded backend, plus what only this backend has.

mod sqlite;

use std::sync::Arc;

use bulkwrite_store::Store;
use bulkwrite_store_sqlite::SqliteStore;

async fn fresh_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    Arc::new(SqliteStore::open(&dir.join("bulkwrite.sqlite")).await.expect("open store"))
}

bulkwrite_store::conformance_tests!(fresh_store());
