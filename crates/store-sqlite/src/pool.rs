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

pub(crate) struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A connection borrowed from the pool; goes back on drop.
pub(crate) struct Pooled {
    pool: Arc<Pool>,
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
            if let Ok(mut idle) = self.pool.idle.lock() {
                idle.push(conn);
            }
            self.pool.returned.notify_one();
        }
    }
}

impl Pool {
    pub(crate) fn open(path: &Path, size: usize) -> StoreResult<Arc<Pool>> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(open_connection(path)?);
        }
        Ok(Arc::new(Pool { path: path.to_path_buf(), idle: Mutex::new(idle), returned: Condvar::new() }))
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

    pub(crate) fn get(self: &Arc<Pool>) -> StoreResult<Pooled> {
        let mut idle = self.idle.lock().map_err(|_| StoreError::Corrupt("connection pool poisoned".into()))?;
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Pooled { pool: Arc::clone(self), conn: Some(conn) });
            }
            idle = self.returned.wait(idle).map_err(|_| StoreError::Corrupt("connection pool poisoned".into()))?;
        }
    }
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(crate::db_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(crate::db_error)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;
         PRAGMA wal_autocheckpoint = 0;",
    )
    .map_err(crate::db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn tracing_free_warning(error: &std::io::Error) {
    eprintln!("bulkwrite: the SQLite checkpoint thread could not start ({error}); the WAL will grow until restart");
}
