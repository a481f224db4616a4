//! A job's insert chunks without key probes. A new import (the common case) meets no key that
//! exists, so its chunk is planned as if none did and its keys are inserted first: the unique
//! index checks them with the one descent the insert makes anyway, instead of a probe of every
//! key before it. Only if a key exists is the attempt taken back ([`take_back`]) and the chunk
//! planned again with probes; the job's later chunks then probe first.
//! The records are written from the rows in place ([`Decisions::inserted`]), never built into
//! maps only to be serialised and freed, and the rows are freed on another thread.
//!
//! Profile of the 1,000,000-row insert before this (writer thread): probes 12%, the records'
//! maps built, serialised and freed about 8%.

use std::sync::mpsc;
use std::sync::OnceLock;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::plan::{decide, ChunkPlan, ExistingState};
use bulkwrite_store::{RecordWrite, StoreResult};
use bulkwrite_wire::Operation;
use rusqlite::Connection;

use crate::chunk::{insert_keys, insert_records};
use crate::orgs::reserve_ids;
use crate::{db_error, ms};

/// The jobs whose inserts met existing keys (shared with PostgreSQL's store).
pub(crate) use bulkwrite_store::ConflictedJobs as Hints;

/// What an insert without probes came to.
pub(crate) enum Attempt {
    /// Written: the plan's result rows, counts and keys (no records: they went out from the rows).
    Written(ChunkPlan),
    /// A key exists: nothing was written; the write, rows intact, is to be planned with probes.
    MetKeys(RecordWrite),
}

/// Writes an insert chunk as if none of its keys existed (see the module's comment). Runs in the
/// caller's transaction; on [`Attempt::MetKeys`] it has left no trace in it.
pub(crate) fn insert_unprobed(tx: &Connection, org: i64, mut write: RecordWrite) -> StoreResult<Attempt> {
    debug_assert_eq!(write.operation, Operation::Insert);
    let id_count = write.new_id_count();
    let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
    let input = write.take_plan_input();
    let mut new_ids = (first_id..first_id + id_count).map(RecordId::new);
    let decisions = decide(&input, &ExistingState::default(), &mut new_ids);
    let module = write.module.as_str();
    let keys = insert_keys(tx, org, module, &decisions.key_inserts)?;
    if keys < decisions.key_inserts.len() {
        // A key exists (left out by `OR IGNORE`): plan again with probes.
        take_back(tx, first_id, id_count)?;
        write.rows = input.rows;
        return Ok(Attempt::MetKeys(write));
    }
    let now = ms(write.now);
    let actor = write.actor.get() as i64;
    let records: Vec<_> = decisions.inserted(&input).collect();
    insert_records(tx, org, module, actor, now, &records)?;
    drop(records);
    let mut rows = input.rows;
    let plan = decisions.into_results(&mut rows);
    free_elsewhere(rows);
    Ok(Attempt::Written(plan))
}

/// Takes back what an attempt that met a key wrote: the keys it inserted (only its new records,
/// the ids `first_id..first_id + count` it reserved, hold them) and the reservation. Not a
/// savepoint: that would copy every page the chunk changes into a journal of its own, on every
/// chunk, for the rare one that meets a key.
fn take_back(tx: &Connection, first_id: u64, count: u64) -> StoreResult<()> {
    if count == 0 {
        return Ok(());
    }
    let (first, end) = (first_id as i64, (first_id + count) as i64);
    tx.prepare_cached("DELETE FROM record_keys WHERE record_id >= ?1 AND record_id < ?2")
        .map_err(db_error)?
        .execute([first, end])
        .map_err(db_error)?;
    tx.prepare_cached("UPDATE id_sequence SET next_id = ?1 WHERE singleton = 1 AND next_id = ?2")
        .map_err(db_error)?
        .execute([first, end])
        .map_err(db_error)?;
    Ok(())
}

/// Drops `value` on a thread of its own: freeing a chunk's rows costs about as much as encoding
/// them, and the writer's thread is the one every chunk waits for. At most [`WAITING`] values
/// wait to be freed (then the sender waits), so memory stays bounded; a dropper that cannot
/// start leaves the freeing to the caller.
pub(crate) fn free_elsewhere<T: Send + 'static>(value: T) {
    static DROPPER: OnceLock<Option<mpsc::SyncSender<Garbage>>> = OnceLock::new();
    let dropper = DROPPER.get_or_init(|| {
        let (sender, receiver) = mpsc::sync_channel::<Garbage>(WAITING);
        let spawned = std::thread::Builder::new().name("sqlite-free".into()).spawn(move || {
            for garbage in receiver {
                drop(garbage);
            }
        });
        spawned.ok().map(|_| sender)
    });
    if let Some(sender) = dropper {
        // A stopped dropper hands the value back, dropped here.
        let _ = sender.send(Box::new(value));
    }
}

/// Something to drop off the writer's thread.
type Garbage = Box<dyn Send>;

/// Values waiting for the dropper at most.
const WAITING: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_freed_elsewhere_is_dropped() {
        let value = std::sync::Arc::new(());
        for _ in 0..10 {
            free_elsewhere(std::sync::Arc::clone(&value));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::sync::Arc::strong_count(&value) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(std::sync::Arc::strong_count(&value), 1);
    }
}
