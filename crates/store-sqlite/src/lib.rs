//! The embedded backend: every store trait on one SQLite file in WAL mode.
//!
//! Owns: its migrations and SQL. Must not: be used by two processes at once (the server takes a
//! lock on the data directory), so at start every running job is requeued rather than waiting
//! for its lease to expire.
//!
//! Calls run with a reader connection on the pool's reader threads (the job's fenced writes on
//! its writer thread); write transactions begin
//! `IMMEDIATE`, so the one writer SQLite allows is taken up front instead of on upgrade.

mod aggregate;
mod batch;
mod callbacks;
mod cancel;
mod chunk;
mod control;
mod credits;
mod dry_run;
mod faults;
mod health;
mod inbox;
mod job_row;
mod jobs;
mod key_scopes;
mod key_slots;
mod migrate;
mod new_keys;
mod oauth;
mod org_state;
mod orgs;
mod pool;
mod profiles;
mod query;
mod reads;
mod records;
mod results;
mod retention;
mod taxes;
mod undo;
mod uploads;
mod writer;

use std::path::Path;
use std::sync::Arc;

use bulkwrite_store::ids::FIRST_ID;
use bulkwrite_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::pool::{Pool, PoolSettings};
use crate::writer::Writer;

pub use crate::writer::{BATCH_AFTER_ROWS, COMMIT_CHUNKS};

/// Reader connections kept open beside the writer, for polls, downloads and other calls.
const READERS: usize = 3;

/// Page cache of the writer connection by default (`--sqlite-cache-mib`): the jobs' chunks write
/// through it, and the unique keys' index pages are what they probe and split. 32 rather than
/// 40: the 1,000,000-row insert and upsert took as long (in turn, two rounds), and the server's
/// peak RSS went from 122–132 MiB, past the 128 MiB bound in some runs, to 115–116 MiB
/// (docs/PERFORMANCE.md).
pub const WRITER_CACHE_MIB: u32 = 32;

/// How the SQLite store is tuned (server settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteSettings {
    /// MiB of page cache of the writer connection (`--sqlite-cache-mib`).
    pub writer_cache_mib: u32,
    /// A job's chunks committed together in one transaction (`--sqlite-commit-chunks`)...
    pub commit_chunks: u32,
    /// ...once its resource is past this many rows (`--sqlite-batch-after-rows`).
    pub batch_after_rows: u64,
}

impl Default for SqliteSettings {
    fn default() -> SqliteSettings {
        SqliteSettings {
            writer_cache_mib: WRITER_CACHE_MIB,
            commit_chunks: COMMIT_CHUNKS,
            batch_after_rows: BATCH_AFTER_ROWS,
        }
    }
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it, with the default settings.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(path, SqliteSettings::default()).await
    }

    /// Opens the database file like [`SqliteStore::open`], tuned by `settings`.
    pub async fn open_with(path: &Path, settings: SqliteSettings) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        let pool = tokio::task::spawn_blocking(move || -> StoreResult<Arc<Pool>> {
            let pool = Pool::open(&path, PoolSettings::of(READERS, settings))?;
            let mut conn = pool.get()?;
            migrate::migrate(&mut conn, FIRST_ID)?;
            // Fold what migrating wrote into the database file now, not at the checkpointer's
            // first pass once the server serves: the file's size moves at open, not mid-request.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(db_error)?;
            drop(conn);
            pool.start_checkpointer();
            Ok(pool)
        })
        .await
        .map_err(join_error)??;
        Ok(SqliteStore { pool })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// Runs `work` with a reader connection on one of the pool's reader threads.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.pool.read(work).await
    }

    /// Runs `work` on the writer, committed at once with whatever its open transaction holds.
    /// The writes a running job waits for (its lease, its picklist values, its hold or release)
    /// go here: on another connection a writer that never pauses between chunks could keep them
    /// from the write lock past their busy timeout.
    pub(crate) async fn write_now<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.run_writer(move |writer| writer.write(writer::Commit::Now, work)).await
    }

    /// Runs `work` with the writer, on its thread (see `writer`).
    pub(crate) async fn run_writer<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> StoreResult<T> + Send + 'static,
    {
        self.pool.writer().run(work).await
    }
}

fn join_error(error: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// Classifies a SQLite error: busy and locked are retryable, unique violations are conflicts.
pub(crate) fn db_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable(Box::new(error)),
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(error.to_string()),
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// Unix milliseconds of an instant.
pub(crate) fn ms(instant: chrono::DateTime<chrono::Utc>) -> i64 {
    instant.timestamp_millis()
}

/// The instant of unix milliseconds.
pub(crate) fn instant(ms: i64) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

pub(crate) fn json_error(error: serde_json::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}
