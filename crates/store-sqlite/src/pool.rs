//! A small pool of SQLite connections, used from threads of its own.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use bulkwrite_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

use crate::writer::{Writer, WriterHandle, IDLE_COMMIT};
use crate::SqliteSettings;

/// How often the WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How long a writer waits for another writer before the call fails as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page cache of each reader connection (polls, downloads, lists).
const READER_CACHE_MIB: u32 = 4;

/// WAL size past which the writer, between two of its transactions, checkpoints what the
/// background checkpoints left, so that its next transaction starts the WAL over from its
/// beginning; and the size SQLite truncates the WAL file back to once it has started over.
pub(crate) const WAL_RESTART_MIB: i64 = 64;

/// How many connections a pool opens and how its writer works.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    /// Reader connections beside the writer.
    pub readers: usize,
    pub writer_cache_mib: u32,
    /// A job's chunks the writer commits together.
    pub commit_every: u32,
    /// Rows of a resource whose chunks the writer commits one at a time.
    pub batch_after_rows: u64,
    /// WAL size past which the writer has the WAL start over ([`WAL_RESTART_MIB`]).
    pub wal_restart_mib: i64,
    /// How often the background thread checkpoints ([`CHECKPOINT_EVERY`]).
    pub checkpoint_every: Duration,
    /// How long the writer keeps a transaction open with no write coming ([`IDLE_COMMIT`]).
    pub idle_commit: Duration,
}

impl PoolSettings {
    /// The settings of a store: `readers` readers, the writer as the store's settings say.
    pub(crate) fn of(readers: usize, store: SqliteSettings) -> PoolSettings {
        PoolSettings {
            readers,
            writer_cache_mib: store.writer_cache_mib,
            commit_every: store.commit_chunks,
            batch_after_rows: store.batch_after_rows,
            wal_restart_mib: WAL_RESTART_MIB,
            checkpoint_every: CHECKPOINT_EVERY,
            idle_commit: IDLE_COMMIT,
        }
    }
}

/// Connections that a caller takes.
struct Idle {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// Connections to one database file: readers for any call, and one writer kept for the job's
/// fenced writes, on a thread of its own (see `writer`). SQLite drops a connection's whole page
/// cache when another connection has written since its last transaction, so chunks that
/// alternate between connections would each start cold; on the one writer they find the pages
/// the chunk before them left.
///
/// The calls that take a reader ([`Pool::read`]) run on as many threads of the pool's own as it
/// has readers, taking the calls in the order sent. On tokio's blocking threads instead, every
/// call waiting for one of the few readers held a thread of its own: 32 concurrent requests grew
/// that pool to ~180 threads, each keeping the allocator's pages of what it once read (the
/// records list's peak RSS was 400 MiB at 25,000 records, see docs/PERFORMANCE.md, "Reads").
pub(crate) struct Pool {
    path: PathBuf,
    readers: Idle,
    /// Calls for the reader threads.
    reads: mpsc::Sender<ReadJob>,
    writer: WriterHandle,
    checkpoint_every: Duration,
    /// The WAL, and the lock its checkpoints take.
    wal: Arc<WalSize>,
    /// The jobs whose inserts probe their keys first (see `new_keys`).
    pub(crate) new_keys: crate::new_keys::Hints,
}

/// A call sent to the reader threads: runs with the pool, takes a reader from it.
type ReadJob = Box<dyn FnOnce(&Arc<Pool>) + Send>;

/// A reader connection borrowed from the pool; goes back on drop.
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
            if let Ok(mut idle) = self.pool.readers.idle.lock() {
                idle.push(conn);
            }
            self.pool.readers.returned.notify_one();
        }
    }
}

impl Pool {
    /// Opens the reader connections and the writer as `settings` say.
    pub(crate) fn open(path: &Path, settings: PoolSettings) -> StoreResult<Arc<Pool>> {
        let wal_bytes = settings.wal_restart_mib << 20;
        let mut idle = Vec::with_capacity(settings.readers);
        for _ in 0..settings.readers {
            idle.push(open_connection(path, READER_CACHE_MIB, wal_bytes)?);
        }
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal = Arc::new(WalSize {
            path: wal_path.into(),
            restart_bytes: wal_bytes as u64,
            checkpointing: Mutex::new(()),
            wanted: (Mutex::new(false), Condvar::new()),
        });
        let writer = open_connection(path, settings.writer_cache_mib, wal_bytes)?;
        let writer = Writer::new(writer, settings.commit_every, settings.batch_after_rows);
        let writer = WriterHandle::start(writer, settings.idle_commit, Arc::clone(&wal))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let (reads, queued) = mpsc::channel::<ReadJob>();
        let pool = Arc::new(Pool {
            path: path.to_path_buf(),
            readers: Idle { idle: Mutex::new(idle), returned: Condvar::new() },
            reads,
            writer,
            checkpoint_every: settings.checkpoint_every,
            wal,
            new_keys: crate::new_keys::Hints::default(),
        });
        let queued = Arc::new(Mutex::new(queued));
        for index in 0..settings.readers.max(1) {
            let (weak, queued) = (Arc::downgrade(&pool), Arc::clone(&queued));
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{index}"))
                .spawn(move || run_reads(&weak, &queued))
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
        }
        Ok(pool)
    }

    /// Runs `work` with a reader connection on one of the reader threads, and waits for its
    /// answer.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: ReadJob = Box::new(move |pool| {
            let _ = answer.send(pool.get().and_then(|mut conn| work(&mut conn)));
        });
        self.reads.send(job).map_err(|_| reader_stopped())?;
        answered.await.map_err(|_| reader_stopped())?
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Checkpoints the WAL from a background thread, so commits never pay for copying it; the
    /// thread ends when the pool is dropped.
    ///
    /// A checkpoint beside a writer that keeps committing never catches up with it, and SQLite
    /// starts the WAL over only when a checkpoint has copied all of it, so a long job would grow
    /// the WAL (and its index) without bound: see [`WalSize::bound`] for the other half.
    pub(crate) fn start_checkpointer(self: &Arc<Pool>) {
        let weak = Arc::downgrade(self);
        let every = self.checkpoint_every;
        let wal = Arc::clone(&self.wal);
        let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || loop {
            wal.wait_for_turn(every);
            let Some(pool) = weak.upgrade() else { return };
            if let Ok(conn) = pool.get() {
                pool.wal.checkpoint(&conn);
            }
        });
        if let Err(error) = spawned {
            eprintln!(
                "bulkwrite: the SQLite checkpoint thread could not start ({error}); the WAL will grow until restart"
            );
        }
    }

    /// A reader connection (it may write too, as any call does).
    pub(crate) fn get(self: &Arc<Pool>) -> StoreResult<Pooled> {
        let mut idle = self.readers.idle.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Pooled { pool: Arc::clone(self), conn: Some(conn) });
            }
            idle = self.readers.returned.wait(idle).map_err(|_| poisoned())?;
        }
    }

    /// The writer's thread.
    pub(crate) fn writer(&self) -> &WriterHandle {
        &self.writer
    }
}

/// A reader thread: takes the calls sent to the pool, one at a time, until the pool is dropped.
fn run_reads(pool: &Weak<Pool>, queued: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        let job = match queued.lock() {
            Ok(queued) => match queued.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let Some(pool) = pool.upgrade() else { return };
        // A call that panics drops its answer (the caller sees the reader stop); the thread goes on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&pool)));
    }
}

fn reader_stopped() -> StoreError {
    StoreError::Backend("the SQLite reader stopped in the middle of a call".into())
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("connection pool poisoned".into())
}

/// The WAL file, and the size past which the writer has it start over.
pub(crate) struct WalSize {
    path: PathBuf,
    restart_bytes: u64,
    /// Held by whoever checkpoints: the writer's checkpoint, failing beside the background one,
    /// would leave frames uncopied and the WAL growing, so it waits for it instead.
    checkpointing: Mutex<()>,
    /// Set, and the background thread woken, when the writer leaves it a checkpoint to make.
    wanted: (Mutex<bool>, Condvar),
}

impl WalSize {
    /// Called by the writer between two of its transactions. Once the WAL file has grown past
    /// its restart size ([`WAL_RESTART_MIB`]), the background thread is woken to copy the
    /// committed frames while the writer goes on; past twice that size, the writer checkpoints
    /// what is left itself. No other writer can commit meanwhile, so that checkpoint copies the
    /// whole WAL, and the writer's next transaction starts it over, `journal_size_limit`
    /// cutting the file back to the restart size (unless a reader still reads an older
    /// snapshot: then the next call tries again). A background checkpoint running meanwhile is
    /// waited for: beside it, this one would fail (under load, often enough for the WAL to grow
    /// past 20 times its bound in a test).
    ///
    /// A batched transaction's frames stay uncommitted, out of the background's reach, until it
    /// ends; the writer copying every transaction's frames itself was about a seventh of its
    /// thread in the 1,000,000-row insert, with the background thread idle. Now the background
    /// copies about every other transaction's (docs/PERFORMANCE.md).
    pub(crate) fn bound(&self, writer: &Connection) {
        let size = std::fs::metadata(&self.path).map(|meta| meta.len()).unwrap_or(0);
        if size > 2 * self.restart_bytes {
            self.checkpoint(writer);
        } else if size > self.restart_bytes {
            let (wanted, woken) = &self.wanted;
            *wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
            woken.notify_one();
        }
    }

    /// The background thread's wait for its next checkpoint: `every`, or less if the writer
    /// wants one.
    fn wait_for_turn(&self, every: Duration) {
        let (wanted, woken) = &self.wanted;
        let guard = wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mut guard, _) =
            woken.wait_timeout_while(guard, every, |wanted| !*wanted).unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = false;
    }

    /// A passive checkpoint, one at a time: copies what no reader still needs of the WAL into
    /// the database file.
    fn checkpoint(&self, conn: &Connection) {
        let _one_at_a_time = self.checkpointing.lock();
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

fn open_connection(path: &Path, cache_mib: u32, wal_bytes: i64) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(crate::db_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(crate::db_error)?;
    // 8 KiB pages for a new file (one made before keeps its own: a WAL file's page size is
    // fixed): the 1,000,000-row insert took about a tenth less time and CPU than with 4 KiB,
    // 16 KiB no better again (docs/PERFORMANCE.md).
    conn.execute_batch(
        "PRAGMA page_size = 8192;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 0;",
    )
    .map_err(crate::db_error)?;
    conn.pragma_update(None, "journal_size_limit", wal_bytes).map_err(crate::db_error)?;
    // A negative cache size is in KiB.
    conn.pragma_update(None, "cache_size", -i64::from(cache_mib) * 1024).map_err(crate::db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
