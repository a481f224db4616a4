//! The writer connection and the transaction it may keep open across a job's chunks.
//!
//! Each chunk of a job commits its records with its result rows and its checkpoint, so a chunk
//! is applied once or not at all. Committing every chunk on its own costs: the pages a chunk
//! dirties go to the WAL at every commit, and with keys spread over a unique index (emails
//! begin with random names) nearly every chunk dirties nearly every leaf of the index again, a
//! cost that grows with the index. So once a resource is past its first [`BATCH_AFTER_ROWS`]
//! rows, the writer commits its chunks `commit_every` at a time (`--sqlite-commit-chunks`,
//! [`COMMIT_CHUNKS`] by default), in one transaction: a crash loses the chunks since the last
//! commit, and the job resumes from the checkpoint committed with them, applying nothing twice.
//! A batched chunk joining the open transaction runs without a savepoint (which copied every
//! page it changed into a journal of its own: a tenth of the 1,000,000-row insert). A chunk is
//! refused before it writes (lease, checkpoint), so one failing afterwards is rare (a full disk,
//! an I/O error); it then rolls back the whole transaction, the chunks before it included, as a
//! crash would: each of their jobs finds its checkpoint behind at its next chunk (or at the end
//! of its resource), and resumes from it. A failing chunk that changed nothing leaves the chunks
//! before it to commit. Any other write joining the transaction runs in a savepoint, undone
//! alone if it fails. A smaller file (and every test's) commits each chunk when it is applied.

//! Any other fenced write (a resource finished, the job completed, failed, released, …) joins
//! the open transaction and commits it, so the job's state never runs ahead of its chunks. A
//! write on another connection waits (its busy timeout) for the writer's commit; so that it never
//! waits for long, the writer commits a transaction left open once no write has come for
//! [`IDLE_COMMIT`].
//!
//! The writer lives on a thread of its own, which runs the writes sent to it in order. Besides
//! timing the idle commit, that keeps SQLite's allocations for the writer (its page cache is
//! most of the process's memory) in one thread's malloc arena: run on whichever blocking thread
//! was free, the cache, dropped and filled again whenever another connection writes, spread over
//! many arenas, each keeping what it once held.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use bulkwrite_store::{StoreError, StoreResult, Touched};
use rusqlite::Connection;

use crate::db_error;
use crate::pool::WalSize;

/// How long the writer keeps a transaction open with no write coming.
pub(crate) const IDLE_COMMIT: Duration = Duration::from_millis(20);

/// Chunks committed together by default (`--sqlite-commit-chunks`) once a resource is past
/// [`BATCH_AFTER_ROWS`]: a job's progress then shows up to this many chunks late (or
/// [`IDLE_COMMIT`], when no chunk comes). Measured on the 1,000,000-row insert once batched
/// chunks had no savepoint: 14.6 s at 16, 13.6 s at 48, 13.4 s at 128 (docs/PERFORMANCE.md;
/// with savepoints, 64 had gained nothing over 16).
pub const COMMIT_CHUNKS: u32 = 48;

/// Rows of a resource whose chunks commit one at a time, before batching starts
/// (`--sqlite-batch-after-rows`): below it the unique index is small, a commit cheap, and a
/// job's progress shows chunk by chunk.
pub const BATCH_AFTER_ROWS: u64 = 100_000;

/// Whether a write may leave its transaction open for the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Commit now, with whatever the open transaction holds.
    Now,
    /// A job's chunk, `rows_done_before` its resource's rows before it: commits alone among
    /// the resource's first `batch_after_rows` rows, and otherwise once `commit_every` chunks
    /// are in the transaction.
    Chunk { rows_done_before: u64 },
}

/// The one writer connection, with its open transaction if any.
pub(crate) struct Writer {
    conn: Connection,
    commit_every: u32,
    batch_after_rows: u64,
    open: Option<Open>,
    /// Writes begun, rollbacks and failed commits: what was read at one epoch still holds at the
    /// same epoch, unless another connection wrote (see [`Writer::mark`]).
    epoch: u64,
    /// The job chunk that made the last write, with what it touched (set by its caller, see
    /// [`Writer::note_chunk`]).
    last_chunk: Option<(ChunkMark, Touched)>,
}

/// A job's chunk, as the writer remembers the last one it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkMark {
    pub job: i64,
    pub resource: usize,
    /// Its resource's checkpoint after it.
    pub rows_done: u64,
}

/// What changed since a read (see [`Writer::since`]).
#[derive(Debug)]
pub(crate) enum Since<'a> {
    /// Nothing: no write, no rollback, no other connection's commit.
    Nothing,
    /// Only the chunk before's write, which touched this.
    Previous(&'a Touched),
    /// Anything else: what was read may be stale.
    Other,
}

/// Where the writer's database stood at a read (see [`Writer::mark`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    epoch: u64,
    /// `PRAGMA data_version`: it moves when another connection commits.
    data_version: i64,
}

/// A transaction the writer holds open between writes.
struct Open {
    /// Chunks (and other writes) it holds.
    writes: u32,
}

impl Writer {
    pub(crate) fn new(conn: Connection, commit_every: u32, batch_after_rows: u64) -> Writer {
        Writer { conn, commit_every: commit_every.max(1), batch_after_rows, open: None, epoch: 0, last_chunk: None }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Runs `work` in the writer's transaction (begun `IMMEDIATE` if none is open). Commits
    /// unless `commit` allows the transaction to stay open for more chunks.
    ///
    /// Beginning the transaction, `work` needs no savepoint: if it fails, the transaction is
    /// rolled back whole, and it holds nothing else. A batched chunk joining it runs without one
    /// too (see the module's comment): failing, it rolls the whole transaction back if it changed
    /// anything, and otherwise leaves it to commit. Any other write joining it runs in a
    /// savepoint, undone alone if it fails, the transaction then committed with what came before
    /// it. A savepoint costs: it copies every page the work changes into a journal of its own
    /// (docs/PERFORMANCE.md).
    pub(crate) fn write<T>(
        &mut self,
        commit: Commit,
        work: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.epoch += 1;
        self.last_chunk = None;
        self.run(commit, true, work)
    }

    /// [`Writer::write`] of work that changes nothing another write could have read (a chunk's
    /// reads, with the record ids it reserves): it leaves the epoch as it was, and does not count
    /// towards the chunks a transaction commits after.
    pub(crate) fn write_neutral<T>(
        &mut self,
        commit: Commit,
        work: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.run(commit, false, work)
    }

    /// Where the database stands now, for [`Writer::since`].
    pub(crate) fn mark(&self) -> StoreResult<Mark> {
        Ok(Mark { epoch: self.epoch, data_version: self.data_version()? })
    }

    /// What changed since `mark`, as far as a read made then is concerned (see [`Since`]);
    /// `previous` is the job chunk whose write alone the reader can account for.
    pub(crate) fn since(&self, mark: &Mark, previous: ChunkMark) -> StoreResult<Since<'_>> {
        if self.data_version()? != mark.data_version {
            return Ok(Since::Other);
        }
        Ok(match (self.epoch - mark.epoch, &self.last_chunk) {
            (0, _) => Since::Nothing,
            (1, Some((chunk, touched))) if *chunk == previous => Since::Previous(touched),
            _ => Since::Other,
        })
    }

    /// Remembers that the last write was job chunk `chunk`, which touched `touched` (call right
    /// after its write).
    pub(crate) fn note_chunk(&mut self, chunk: ChunkMark, touched: Touched) {
        self.last_chunk = Some((chunk, touched));
    }

    fn data_version(&self) -> StoreResult<i64> {
        self.conn.query_row("PRAGMA data_version", [], |row| row.get(0)).map_err(db_error)
    }

    fn run<T>(
        &mut self,
        commit: Commit,
        counted: bool,
        work: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let fresh = self.open.is_none();
        let batched = matches!(commit, Commit::Chunk { rows_done_before } if rows_done_before >= self.batch_after_rows);
        let savepoint = !fresh && !batched;
        if fresh {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)?;
            self.open = Some(Open { writes: 0 });
        } else if savepoint {
            if let Err(error) = self.conn.execute_batch("SAVEPOINT fenced") {
                self.rollback();
                return Err(db_error(error));
            }
        }
        let changes_before = self.conn.total_changes();
        match work(&self.conn) {
            Ok(value) => {
                if savepoint {
                    if let Err(error) = self.conn.execute_batch("RELEASE fenced") {
                        self.rollback();
                        return Err(db_error(error));
                    }
                }
                let open = self.open.as_mut().expect("a transaction is open");
                open.writes += u32::from(counted);
                if !batched || open.writes >= self.commit_every {
                    self.commit()?;
                }
                Ok(value)
            }
            Err(error) => {
                if fresh || self.conn.is_autocommit() {
                    // Nothing else in the transaction, or SQLite rolled it back whole (an I/O
                    // error, a full disk).
                    self.rollback();
                } else if savepoint {
                    if self.conn.execute_batch("ROLLBACK TO fenced; RELEASE fenced").is_err() {
                        self.rollback();
                    } else {
                        let _ = self.commit();
                    }
                } else if self.conn.total_changes() == changes_before {
                    // Refused before it wrote: the chunks before it are intact.
                    let _ = self.commit();
                } else {
                    self.rollback();
                }
                Err(error)
            }
        }
    }

    /// Commits the open transaction, if any; rolls it back if the commit fails.
    pub(crate) fn commit(&mut self) -> StoreResult<()> {
        if self.open.take().is_none() {
            return Ok(());
        }
        if let Err(error) = self.conn.execute_batch("COMMIT") {
            // What the transaction held is gone: reads made in it are stale.
            self.epoch += 1;
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(db_error(error));
        }
        Ok(())
    }

    fn rollback(&mut self) {
        self.epoch += 1;
        self.open = None;
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests;

/// A write sent to the writer's thread.
type Job = Box<dyn FnOnce(&mut Writer) + Send>;

/// The writer's thread: runs the writes sent to it, one at a time, in the order sent; commits a
/// transaction left open once no write has come for [`IDLE_COMMIT`]; ends (committing) when the
/// handle is dropped.
pub(crate) struct WriterHandle {
    jobs: mpsc::Sender<Job>,
}

impl WriterHandle {
    pub(crate) fn start(mut writer: Writer, idle_commit: Duration, wal: Arc<WalSize>) -> std::io::Result<WriterHandle> {
        let (sender, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || loop {
            let job = if writer.is_open() {
                match receiver.recv_timeout(idle_commit) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(error) = writer.commit() {
                            eprintln!("bulkwrite: committing the SQLite writer's open transaction failed: {error}");
                        }
                        wal.bound(&writer.conn);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        let _ = writer.commit();
                        return;
                    }
                }
            } else {
                match receiver.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut writer))).is_err() {
                // The caller sees its answer dropped; what the transaction held is undone.
                writer.rollback();
            }
            if !writer.is_open() {
                wal.bound(&writer.conn);
            }
        })?;
        Ok(WriterHandle { jobs: sender })
    }

    /// Runs `work` on the writer's thread and waits for its answer.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> StoreResult<T> + Send + 'static,
    {
        self.submit(work)?.answer().await
    }

    /// Queues `work` for the writer's thread, after every write queued before it, and returns
    /// where its answer will come.
    pub(crate) fn submit<T, F>(&self, work: F) -> StoreResult<Submitted<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |writer| {
            let _ = answer.send(work(writer));
        });
        self.jobs.send(job).map_err(|_| stopped())?;
        Ok(Submitted(answered))
    }
}

/// A write queued for the writer's thread (see [`WriterHandle::submit`]).
pub(crate) struct Submitted<T>(tokio::sync::oneshot::Receiver<StoreResult<T>>);

impl<T> Submitted<T> {
    /// Waits for the write's answer.
    pub(crate) async fn answer(self) -> StoreResult<T> {
        self.0.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the SQLite writer stopped in the middle of a write".into())
}
