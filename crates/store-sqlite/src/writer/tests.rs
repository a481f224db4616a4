//! The writer's open transaction and the WAL it keeps bounded, on a pool of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkwrite_store::StoreError;
use rusqlite::Connection;

use super::Commit;
use crate::pool::{Pool, PoolSettings};

fn pool(dir: &tempfile::TempDir, settings: PoolSettings) -> Arc<Pool> {
    let pool = Pool::open(&dir.path().join("test.sqlite"), settings).expect("open the pool");
    pool.start_checkpointer();
    pool
}

fn settings(commit_every: u32, idle_commit: Duration) -> PoolSettings {
    let store = crate::SqliteSettings { writer_cache_mib: 4, commit_chunks: commit_every, batch_after_rows: 100 };
    PoolSettings { idle_commit, ..PoolSettings::of(1, store) }
}

/// A chunk past the rows that commit alone (`batch_after_rows`, 100 here).
const BATCHED: Commit = Commit::Chunk { rows_done_before: 100 };

async fn write(pool: &Pool, commit: Commit, sql: &'static str) -> Result<(), StoreError> {
    pool.writer()
        .run(move |writer| writer.write(commit, |tx: &Connection| tx.execute_batch(sql).map_err(crate::db_error)))
        .await
}

fn count(pool: &Arc<Pool>) -> i64 {
    pool.get().unwrap().query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0)).unwrap()
}

/// What `t` holds, in order, as a reader sees it.
fn values(pool: &Arc<Pool>) -> Vec<i64> {
    let conn = pool.get().unwrap();
    let mut statement = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
    statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn chunks_commit_together_every_n() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(3, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (1)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(count(&pool), 0, "two chunks of three stay in the open transaction");
    write(&pool, BATCHED, "INSERT INTO t VALUES (3)").await.unwrap();
    assert_eq!(count(&pool), 3, "the third commits all three");
    write(&pool, BATCHED, "INSERT INTO t VALUES (4)").await.unwrap();
    assert_eq!(count(&pool), 3);
    write(&pool, Commit::Now, "INSERT INTO t VALUES (5)").await.unwrap();
    assert_eq!(count(&pool), 5, "any other write commits what the transaction holds");
}

#[tokio::test]
async fn a_resources_first_rows_commit_chunk_by_chunk_and_batching_starts_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(3, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER)").await.unwrap();
    write(&pool, Commit::Chunk { rows_done_before: 0 }, "INSERT INTO t VALUES (1)").await.unwrap();
    assert_eq!(count(&pool), 1, "a resource's first chunk commits when applied");
    write(&pool, Commit::Chunk { rows_done_before: 99 }, "INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(count(&pool), 2, "so does every chunk before row 100");
    write(&pool, Commit::Chunk { rows_done_before: 100 }, "INSERT INTO t VALUES (3)").await.unwrap();
    write(&pool, Commit::Chunk { rows_done_before: 150 }, "INSERT INTO t VALUES (4)").await.unwrap();
    assert_eq!(count(&pool), 2, "past row 100, chunks stay in the open transaction");
    write(&pool, Commit::Chunk { rows_done_before: 0 }, "INSERT INTO t VALUES (5)").await.unwrap();
    assert_eq!(count(&pool), 5, "another resource's first chunk commits them with it");
}

#[tokio::test]
async fn a_failing_write_that_began_the_transaction_leaves_nothing_and_the_next_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(10, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER UNIQUE)").await.unwrap();
    write(&pool, Commit::Now, "INSERT INTO t VALUES (1)").await.unwrap();
    let failed = write(&pool, BATCHED, "INSERT INTO t VALUES (2); INSERT INTO t VALUES (1)").await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    write(&pool, BATCHED, "INSERT INTO t VALUES (3)").await.unwrap();
    write(&pool, Commit::Now, "INSERT INTO t VALUES (4)").await.unwrap();
    let values = values(&pool);
    assert_eq!(values, vec![1, 3, 4], "the failed write's first insert is undone with it");
}

#[tokio::test]
async fn a_batched_chunk_failing_after_it_wrote_rolls_back_the_chunks_before_it_as_a_crash_would() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(10, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER UNIQUE)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (1)").await.unwrap();
    let failed = write(&pool, BATCHED, "INSERT INTO t VALUES (2); INSERT INTO t VALUES (1)").await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert!(values(&pool).is_empty(), "no savepoint: the whole transaction is rolled back");
    write(&pool, BATCHED, "INSERT INTO t VALUES (3)").await.unwrap();
    write(&pool, Commit::Now, "INSERT INTO t VALUES (4)").await.unwrap();
    assert_eq!(values(&pool), [3, 4], "the writer goes on with a new transaction");
}

#[tokio::test]
async fn a_batched_chunk_refused_before_it_wrote_leaves_the_chunks_before_it_to_commit() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(10, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER UNIQUE)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (1)").await.unwrap();
    let refused = pool
        .writer()
        .run(|writer| writer.write(BATCHED, |_: &Connection| Err::<(), _>(StoreError::checkpoint_moved(0, 5))))
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(values(&pool), [1], "the chunk before it committed");
}

#[tokio::test]
async fn any_other_write_failing_in_the_open_transaction_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(10, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER UNIQUE)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (1)").await.unwrap();
    let failed = write(&pool, Commit::Now, "INSERT INTO t VALUES (2); INSERT INTO t VALUES (1)").await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert_eq!(values(&pool), [1], "its first insert is undone (a savepoint), the chunk before it committed");
}

#[tokio::test]
async fn an_open_transaction_commits_once_no_write_comes() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(100, Duration::from_millis(20)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER)").await.unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (1)").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&pool) == 0 {
        assert!(Instant::now() < deadline, "the idle transaction never committed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another connection's write waits for that commit rather than failing as busy.
    pool.get().unwrap().execute_batch("INSERT INTO t VALUES (2)").unwrap();
    write(&pool, BATCHED, "INSERT INTO t VALUES (3)").await.unwrap();
    pool.get().unwrap().execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (4); COMMIT").unwrap();
    assert_eq!(count(&pool), 4);
}

/// A writer that never stops committing keeps the WAL near its restart size: without the
/// writer's own checkpoints the background ones never catch up and the WAL holds all it wrote.
#[tokio::test]
async fn the_wal_stays_bounded_under_a_writer_that_never_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, wal_size) = blob_pool(&dir, Duration::from_millis(20)).await;
    let mut largest = 0;
    // 64 KiB a transaction, 40 MiB in all.
    for _ in 0..640 {
        write(&pool, BATCHED, "INSERT INTO t (b) VALUES (randomblob(65536))").await.unwrap();
        largest = largest.max(wal_size());
    }
    assert!(largest < 6 << 20, "the WAL grew to {largest} bytes");
}

/// Past its restart size (but not twice it) the writer leaves the checkpoint to the background
/// thread, woken at once (here it would otherwise sleep for ten minutes): the WAL starts over.
#[tokio::test]
async fn the_background_thread_is_woken_to_checkpoint_a_wal_past_its_restart_size() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, size) = blob_pool(&dir, Duration::from_secs(600)).await;
    write(&pool, Commit::Now, "INSERT INTO t (b) VALUES (randomblob(1572864))").await.unwrap();
    let grown = size();
    assert!(grown > 1 << 20 && grown < 2 << 20, "1.5 MiB written: {grown} bytes");
    let started = Instant::now();
    while size() > 1 << 20 {
        // Small writes: past twice the restart size, the writer would have checkpointed itself.
        assert!(size() < 2 << 20, "the WAL grew to {} bytes before it started over", size());
        assert!(started.elapsed() < Duration::from_secs(20), "the WAL stayed at {} bytes", size());
        tokio::time::sleep(Duration::from_millis(50)).await;
        write(&pool, Commit::Now, "INSERT INTO t (b) VALUES (randomblob(16))").await.unwrap();
    }
}

/// A pool whose WAL starts over past 1 MiB, background checkpoints every `checkpoint_every`,
/// with a table `t (x, b BLOB)`; and a reading of the WAL file's size.
async fn blob_pool(dir: &tempfile::TempDir, checkpoint_every: Duration) -> (Arc<Pool>, impl Fn() -> u64) {
    let settings = PoolSettings { wal_restart_mib: 1, checkpoint_every, ..settings(1, Duration::from_millis(20)) };
    let pool = pool(dir, settings);
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER PRIMARY KEY, b BLOB)").await.unwrap();
    let wal = dir.path().join("test.sqlite-wal");
    (pool, move || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0))
}

/// What a chunk read at `mark` may still trust, as the writer answers it: writes since (0, or 1
/// when only `previous` wrote), `None` when it may trust nothing.
async fn unchanged(pool: &Pool, mark: super::Mark, previous: super::ChunkMark) -> Option<u64> {
    let since = pool.writer().run(move |writer| {
        Ok(match writer.since(&mark, previous)? {
            super::Since::Nothing => Some(0),
            super::Since::Previous(touched) => {
                assert_eq!(touched.records.len(), 1, "what the chunk before noted");
                Some(1)
            }
            super::Since::Other => None,
        })
    });
    since.await.unwrap()
}

/// A write of job 7's chunk that leaves its resource at `rows_done`.
async fn chunk(pool: &Pool, rows_done: u64) -> Result<(), StoreError> {
    pool.writer()
        .run(move |writer| {
            writer.write(BATCHED, |tx| tx.execute_batch("INSERT INTO t VALUES (1)").map_err(crate::db_error))?;
            let touched = bulkwrite_store::Touched {
                records: [bulkwrite_core::ids::RecordId::new(rows_done)].into(),
                ..Default::default()
            };
            writer.note_chunk(super::ChunkMark { job: 7, resource: 0, rows_done }, touched);
            Ok(())
        })
        .await
}

async fn mark(pool: &Pool) -> super::Mark {
    pool.writer().run(|writer| writer.mark()).await.unwrap()
}

#[tokio::test]
async fn a_read_holds_until_a_write_other_than_the_chunk_befores_a_rollback_or_another_connections_commit() {
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(&dir, settings(48, Duration::from_secs(600)));
    write(&pool, Commit::Now, "CREATE TABLE t (x INTEGER)").await.unwrap();
    let previous = super::ChunkMark { job: 7, resource: 0, rows_done: 200 };

    let read = mark(&pool).await;
    pool.writer()
        .run(|writer| writer.write_neutral(BATCHED, |tx| tx.execute_batch("SELECT 1").map_err(crate::db_error)))
        .await
        .unwrap();
    assert_eq!(
        unchanged(&pool, read, previous).await,
        Some(0),
        "a neutral turn (another chunk's read) changes nothing"
    );
    chunk(&pool, 200).await.unwrap();
    assert_eq!(unchanged(&pool, read, previous).await, Some(1), "the chunk before wrote, and only it");
    chunk(&pool, 300).await.unwrap();
    assert_eq!(unchanged(&pool, read, previous).await, None, "two writes since");

    let read = mark(&pool).await;
    chunk(&pool, 100).await.unwrap();
    assert_eq!(unchanged(&pool, read, previous).await, None, "another chunk wrote");

    let read = mark(&pool).await;
    write(&pool, BATCHED, "INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(unchanged(&pool, read, previous).await, None, "a write that is no chunk's");

    let read = mark(&pool).await;
    assert!(write(&pool, BATCHED, "INSERT INTO nowhere VALUES (1)").await.is_err());
    assert_eq!(unchanged(&pool, read, previous).await, None, "a failed write");

    write(&pool, Commit::Now, "INSERT INTO t VALUES (3)").await.unwrap();
    let read = mark(&pool).await;
    pool.get().unwrap().execute_batch("INSERT INTO t VALUES (4)").unwrap();
    assert_eq!(unchanged(&pool, read, previous).await, None, "another connection committed");
    let read = mark(&pool).await;
    write(&pool, Commit::Now, "SELECT 1").await.unwrap();
    let read_again = mark(&pool).await;
    assert_eq!(
        unchanged(&pool, read_again, previous).await,
        Some(0),
        "the writer's own commit is no other connection's"
    );
    assert_eq!(unchanged(&pool, read, previous).await, None, "but a write is one");
}
