//! A small pool of SQLite connections, used from blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bulkwrite_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

/// How often the WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How long a writer waits for another writer before the call fails as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page cache of each reader connection (polls, downloads, lists).
const READER_CACHE_MIB: u32 = 4;

/// Connections that a caller takes, and the one the fenced writes take.
struct Idle {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Idle {
    fn new(connections: Vec<Connection>) -> Idle {
        Idle { idle: Mutex::new(connections), returned: Condvar::new() }
    }
}

/// Connections to one database file: readers for any call, and one writer kept for the job's
/// fenced writes. SQLite drops a connection's whole page cache when another connection has
/// written since its last transaction, so chunks that alternate between connections would each
/// start cold; on the one writer they find the pages the chunk before them left.
pub(crate) struct Pool {
    path: PathBuf,
    readers: Idle,
    writer: Idle,
}

/// A connection borrowed from the pool; goes back on drop.
pub(crate) struct Pooled {
    pool: Arc<Pool>,
    writer: bool,
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let home = if self.writer { &self.pool.writer } else { &self.pool.readers };
            if let Ok(mut idle) = home.idle.lock() {
                idle.push(conn);
            }
            home.returned.notify_one();
        }
    }
}

impl Pool {
    /// Opens `readers` reader connections and the writer, with `writer_cache_mib` of page cache.
    pub(crate) fn open(path: &Path, readers: usize, writer_cache_mib: u32) -> StoreResult<Arc<Pool>> {
        let mut idle = Vec::with_capacity(readers);
        for _ in 0..readers {
            idle.push(open_connection(path, READER_CACHE_MIB)?);
        }
        let writer = open_connection(path, writer_cache_mib)?;
        Ok(Arc::new(Pool { path: path.to_path_buf(), readers: Idle::new(idle), writer: Idle::new(vec![writer]) }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Checkpoints the WAL from a background thread, so commits never pay for it; the thread
    /// ends when the pool is dropped.
    pub(crate) fn start_checkpointer(self: &Arc<Pool>) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || loop {
            std::thread::sleep(CHECKPOINT_EVERY);
            let Some(pool) = weak.upgrade() else { return };
            if let Ok(conn) = pool.get() {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
        if let Err(error) = spawned {
            tracing_free_warning(&error);
        }
    }

    /// A reader connection (it may write too, as any call does).
    pub(crate) fn get(self: &Arc<Pool>) -> StoreResult<Pooled> {
        self.take(false)
    }

    /// The writer connection, once the write before has given it back.
    pub(crate) fn get_writer(self: &Arc<Pool>) -> StoreResult<Pooled> {
        self.take(true)
    }

    fn take(self: &Arc<Pool>, writer: bool) -> StoreResult<Pooled> {
        let home = if writer { &self.writer } else { &self.readers };
        let mut idle = home.idle.lock().map_err(|_| StoreError::Corrupt("connection pool poisoned".into()))?;
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Pooled { pool: Arc::clone(self), writer, conn: Some(conn) });
            }
            idle = home.returned.wait(idle).map_err(|_| StoreError::Corrupt("connection pool poisoned".into()))?;
        }
    }
}

fn open_connection(path: &Path, cache_mib: u32) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(crate::db_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(crate::db_error)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 0;",
    )
    .map_err(crate::db_error)?;
    // A negative cache size is in KiB.
    conn.pragma_update(None, "cache_size", -i64::from(cache_mib) * 1024).map_err(crate::db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn tracing_free_warning(error: &std::io::Error) {
    eprintln!("bulkwrite: the SQLite checkpoint thread could not start ({error}); the WAL will grow until restart");
}
