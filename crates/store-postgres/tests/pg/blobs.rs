//! Blobs in the database: round trips, replacement, missing keys.

use bulkwrite_store::{BlobStore, StoreError};
use bulkwrite_store_postgres::PgBlobStore;

use super::{database_url, fresh_pg_store};

/// Writes `bytes` to a staged file and puts it under `key`.
async fn put(blobs: &PgBlobStore, key: &str, bytes: &[u8]) -> u64 {
    let staged = blobs.staging_dir().join(format!("staged-{}", key.replace('/', "-")));
    tokio::fs::write(&staged, bytes).await.unwrap();
    let size = blobs.put_file(key, &staged).await.unwrap();
    assert!(!staged.exists(), "the staged file is consumed");
    size
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_round_trip_in_chunks() {
    let url = database_url();
    let (_, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    // Eight full chunks and a partial one, with a pattern that shows misordered chunks.
    let bytes: Vec<u8> = (0..(2 * 1024 * 1024 + 12_345)).map(|i: u32| (i % 251) as u8).collect();
    assert_eq!(put(&blobs, "uploads/big.zip", &bytes).await, bytes.len() as u64);
    let local = blobs.local("uploads/big.zip").await.unwrap();
    assert_eq!(tokio::fs::read(local.path()).await.unwrap(), bytes);
    let path = local.path().to_path_buf();
    assert!(path.starts_with(staging.path()));
    drop(local);
    assert!(!path.exists(), "the local copy goes away with its LocalBlob");

    assert_eq!(put(&blobs, "results/empty.zip", b"").await, 0);
    let empty = blobs.local("results/empty.zip").await.unwrap();
    assert!(tokio::fs::read(empty.path()).await.unwrap().is_empty(), "an empty blob exists");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_is_replaced_whole() {
    let url = database_url();
    let (_, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    let long = vec![7u8; 1024 * 1024 + 1];
    put(&blobs, "results/r.zip", &long).await;
    put(&blobs, "results/r.zip", b"short").await;
    let local = blobs.local("results/r.zip").await.unwrap();
    assert_eq!(tokio::fs::read(local.path()).await.unwrap(), b"short", "no chunk of the old blob is left");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_is_not_found() {
    let url = database_url();
    let (_, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    assert!(matches!(blobs.local("uploads/none.zip").await, Err(StoreError::NotFound(_))));
    assert!(matches!(blobs.local("../etc/passwd").await, Err(StoreError::NotFound(_))));
    let leftovers = std::fs::read_dir(staging.path()).unwrap().count();
    assert_eq!(leftovers, 0, "a failed read leaves no temporary file");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_blob_frees_its_chunks() {
    let url = database_url();
    let (database_url, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    put(&blobs, "results/big.zip", &vec![3u8; 2 * 1024 * 1024 + 1]).await;
    put(&blobs, "results/other.zip", b"kept").await;
    let client = super::admin(&database_url).await;
    let chunks = |key: &'static str| {
        let client = &client;
        async move {
            let row = client.query_one("SELECT COUNT(*) FROM blobs WHERE key = $1", &[&key]).await.unwrap();
            row.get::<_, i64>(0)
        }
    };
    assert_eq!(chunks("results/big.zip").await, 9, "2 MiB and a byte: eight chunks of 256 KiB and one");
    let (a, b) = tokio::join!(blobs.delete("results/big.zip"), blobs.delete("results/big.zip"));
    a.unwrap();
    b.unwrap();
    assert_eq!(chunks("results/big.zip").await, 0, "every chunk row is deleted");
    assert_eq!(chunks("results/other.zip").await, 1, "other blobs stay");
    assert!(matches!(blobs.local("results/big.zip").await, Err(StoreError::NotFound(_))));
    blobs.delete("results/never.zip").await.unwrap();
}

/// Blobs written before the chunks shrank to 256 KiB (1 MiB chunks) read back whole, beside new ones.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_of_older_larger_chunks_reads_back_whole() {
    let url = database_url();
    let (database_url, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    let client = super::admin(&database_url).await;
    let (first, last) = (vec![7u8; 1024 * 1024], b"tail".to_vec());
    for (chunk_no, bytes) in [(0i32, &first), (1, &last)] {
        client
            .execute("INSERT INTO blobs (key, chunk_no, bytes) VALUES ('uploads/old.zip', $1, $2)", &[&chunk_no, bytes])
            .await
            .unwrap();
    }
    let local = blobs.local("uploads/old.zip").await.unwrap();
    let read = std::fs::read(local.path()).unwrap();
    assert_eq!(read.len(), first.len() + last.len());
    assert!(read.starts_with(&first) && read.ends_with(&last));
}

/// A file of whole chunks, more than are sent at once, is stored as exactly those chunks, in
/// order (no empty chunk after the last).
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_of_whole_chunks_is_stored_as_those_chunks_in_order() {
    let url = database_url();
    let (database_url, store) = fresh_pg_store(&url).await;
    let staging = tempfile::tempdir().unwrap();
    let blobs = PgBlobStore::new(&store, staging.path()).unwrap();
    // Each chunk's bytes differ from every other's, so a chunk out of place shows.
    let bytes: Vec<u8> = (0..(6 * 256 * 1024)).map(|i: u32| (i % 251) as u8 ^ (i / (256 * 1024)) as u8).collect();
    assert_eq!(put(&blobs, "uploads/whole.zip", &bytes).await, bytes.len() as u64);
    let client = super::admin(&database_url).await;
    let rows = client
        .query("SELECT chunk_no, length(bytes) FROM blobs WHERE key = 'uploads/whole.zip' ORDER BY chunk_no", &[])
        .await
        .unwrap();
    let chunks: Vec<(i32, i32)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(chunks, (0..6).map(|n| (n, 256 * 1024)).collect::<Vec<_>>());
    let local = blobs.local("uploads/whole.zip").await.unwrap();
    assert_eq!(tokio::fs::read(local.path()).await.unwrap(), bytes);
}
