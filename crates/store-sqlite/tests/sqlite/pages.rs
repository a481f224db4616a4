//! A new database file is made of 8 KiB pages (the 1,000,000-row insert about a tenth faster
//! than with SQLite's 4 KiB, docs/PERFORMANCE.md); a file made before keeps its own.

use bulkwrite_store_sqlite::SqliteStore;

fn page_size(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA page_size", [], |row| row.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_file_has_8_kib_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulkwrite.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    drop(store);
    assert_eq!(page_size(&path), 8192);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_made_with_other_pages_keeps_them_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulkwrite.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE made_before (x INTEGER);").unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    drop(store);
    assert_eq!(page_size(&path), 4096);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('made_before', 'records', 'unique_keys')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 3, "migrated beside what it held");
}
