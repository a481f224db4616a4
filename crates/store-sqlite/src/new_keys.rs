//! A job's insert chunks without key probes. A new import (the common case) meets no key that
//! exists, so its chunk is planned as if none did and its keys are inserted first: the unique
//! index checks them with the one descent the insert makes anyway, instead of a probe of every
//! key before it. Only if a key exists is the attempt taken back ([`take_back`]) and the chunk
//! planned again with probes; the job's later chunks then probe first.
//! The records are written from the rows in place ([`Decisions::inserted`]), never built into
//! maps only to be serialised and freed, and the rows are freed on another thread.
//!
//! Such a chunk is planned, and its records and result rows encoded, before the writer takes it
//! ([`prepare`]), with provisional ids `1..=n`: on a thread of the runtime's, beside the chunk
//! before it, which the writer's thread is applying. The writer then reserves the ids, maps the
//! provisional ones onto them (into the result rows' text too) and writes
//! ([`insert_prepared`]). The planning and the records' JSON were about a sixth of the writer's
//! thread in the 1,000,000-row insert.
//!
//! Profile of the 1,000,000-row insert before this (writer thread): probes 12%, the records'
//! maps built, serialised and freed about 8%.

use std::borrow::Cow;
use std::sync::mpsc;
use std::sync::OnceLock;

use bulkwrite_core::ids::{JobId, RecordId, UserId};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::plan::{decide, ChunkPlan, Decisions, ExistingState, PlanInput};
use bulkwrite_store::result_rows::{encode_apart, EncodedApart};
use bulkwrite_store::{RecordWrite, StoreResult};
use bulkwrite_wire::Operation;
use rusqlite::Connection;

use crate::chunk::{insert_keys, insert_records, NewRecord};
use crate::orgs::reserve_ids;
use crate::{db_error, ms};

/// The jobs whose inserts met existing keys (shared with PostgreSQL's store).
pub(crate) use bulkwrite_store::MarkedJobs as Hints;

/// What an insert without probes came to.
pub(crate) enum Attempt {
    /// Written: the plan's result rows, counts and keys (no records: they went out from the rows),
    /// and the result rows' stored text.
    Written(ChunkPlan, String),
    /// A key exists: nothing was written; the write, rows intact, is to be planned with probes.
    MetKeys(RecordWrite),
}

/// Whether a chunk of `operation` of `job` goes without probes: an insert of a job that has met
/// no existing key (see the module's comment).
pub(crate) fn unprobed(hints: &Hints, job: JobId, operation: Operation) -> bool {
    operation == Operation::Insert && !hints.is_marked(job)
}

/// An insert chunk planned as if none of its keys existed, with provisional ids `1..=n`, and
/// its records' JSON (see the module's comment).
pub(crate) struct Prepared {
    /// The write, its rows moved into `input`.
    write: RecordWrite,
    input: PlanInput,
    decisions: Decisions,
    /// The ids the rows may need (one a row).
    id_count: u64,
    /// The JSON text of each record the chunk inserts, in [`Decisions::inserted`] order.
    data: Vec<String>,
    /// The result rows' stored text, but for their ids.
    results: EncodedApart,
}

/// Plans an insert chunk as if none of its keys existed and encodes its records; touches no
/// database, so runs on any thread.
pub(crate) fn prepare(mut write: RecordWrite) -> StoreResult<Prepared> {
    debug_assert_eq!(write.operation, Operation::Insert);
    let id_count = write.new_id_count();
    let input = write.take_plan_input();
    let decisions = decide(&input, &ExistingState::default(), &mut (1..=id_count).map(RecordId::new));
    let data = decisions.inserted(&input).map(|record| record.data().map(String::from)).collect::<StoreResult<_>>()?;
    let results = encode_apart(&decisions.results(&input.rows))?;
    Ok(Prepared { write, input, decisions, id_count, data, results })
}

/// Writes a [`prepare`]d chunk on its reserved ids. Runs in the caller's transaction; on
/// [`Attempt::MetKeys`] it has left no trace in it.
pub(crate) fn insert_prepared(tx: &Connection, org: i64, prepared: Prepared) -> StoreResult<Attempt> {
    let Prepared { mut write, input, mut decisions, id_count, data, results } = prepared;
    let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
    let reserved = |id: RecordId| RecordId::new(first_id + id.get() - 1);
    for (_, id) in &mut decisions.key_inserts {
        *id = reserved(*id);
    }
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
    let records: Vec<_> = decisions
        .inserted(&input)
        .zip(&data)
        .map(|(record, data)| Encoded {
            id: reserved(record.id),
            owner: record.owner,
            layout_id: record.layout_id,
            data,
        })
        .collect();
    insert_records(tx, org, module, actor, now, &records)?;
    drop(records);
    let mut rows: Vec<RowDraft> = input.rows;
    let mut plan = decisions.into_results(&mut rows);
    for id in plan.results.iter_mut().filter_map(|row| row.record_id.as_mut()) {
        *id = reserved(*id);
    }
    let results = results.with_ids(|id| reserved(RecordId::new(id)).get())?;
    free_elsewhere((rows, data));
    Ok(Attempt::Written(plan, results))
}

/// A new record whose JSON [`prepare`] encoded.
struct Encoded<'a> {
    id: RecordId,
    owner: UserId,
    layout_id: Option<&'a str>,
    data: &'a str,
}

impl NewRecord for Encoded<'_> {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id)
    }
    fn data(&self) -> StoreResult<Cow<'_, str>> {
        Ok(Cow::Borrowed(self.data))
    }
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
    crate::key_slots::delete_of_records(tx, first, end)?;
    tx.prepare_cached("UPDATE id_sequence SET next_id = ?1 WHERE singleton = 1 AND next_id = ?2")
        .map_err(db_error)?
        .execute([first, end])
        .map_err(db_error)?;
    Ok(())
}

/// Drops `value` off the writer's thread: freeing a chunk's rows costs about as much as encoding
/// them, and the writer's thread is the one every chunk waits for. It goes back to the reader
/// that made the rows, if one runs (`bulkwrite_store::freeing`), or else to a thread of its
/// own. At most [`WAITING`] values wait for that one (then the sender waits), so memory stays
/// bounded; a dropper that cannot start leaves the freeing to the caller.
pub(crate) fn free_elsewhere<T: Send + 'static>(value: T) {
    let Err(value) = bulkwrite_store::freeing::give_back(value) else {
        return;
    };
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
