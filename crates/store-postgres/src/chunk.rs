//! Applying one chunk: fetch what the rows name, plan with core's rules, write the plan, the
//! result rows, the counters and the checkpoint, all in one fenced transaction.
//!
//! Ids for inserted records come from a block the node reserved ahead (see `ids`), outside the
//! transaction, so the shared id counter is never locked for the length of a chunk; ids of a
//! chunk that rolls back are simply unused.
//!
//! A chunk commits with `synchronous_commit = off`: the commit returns once its WAL is written,
//! and PostgreSQL's WAL writer flushes it to disk within a few hundred milliseconds. Waiting for
//! that flush once per chunk cost about 5% of an insert on a local disk, more where flushes are
//! slower (network volumes). Nothing is lost by it:
//! - if bulkwrite's process dies, PostgreSQL still has every committed chunk;
//! - if PostgreSQL itself crashes, it may lose the last chunks it committed, whole: records,
//!   result rows and checkpoint together. The next chunk names the checkpoint it follows
//!   (`rows_done_before`) and is refused, and the job resumes from the checkpoint that survived;
//! - a resource is marked done, synchronously, only at its last chunk's checkpoint, so the loss
//!   of the last chunks is found as well; that commit flushes every chunk before it, so a
//!   finished job's rows are on disk.

use std::collections::HashMap;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::plan::{decide, ChunkPlan, Decisions, ExistingState, Key, PlanInput};
use bulkwrite_store::*;
use bulkwrite_wire::Operation;
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use crate::chunk_plan::Writes;
use crate::chunk_read::{read_for_plan, Locking, Read};
use crate::chunk_write::{encode_keys, encode_new_records, COPY_KEYS, COPY_RECORDS};
use crate::copy::Sending;
use crate::error::write_error;
use crate::job_row::fence;
use crate::key_scopes::{self, Scopes};
use crate::statements::execute;
use crate::{pg_error, signed, PgStore};

/// Applies a chunk for the job `lease` holds, after the chunk before it in `order` (see
/// `JobStore::apply_chunk_in_order`). Its unique keys go out once the chunk before has written
/// its own (see `ChunkOrder::previous_keys_written`), its records beside that chunk's; its
/// lookups, result rows and checkpoint once the chunk before has settled, so they see it.
pub(crate) async fn apply_chunk(
    store: &PgStore,
    lease: &Lease,
    mut chunk: ChunkWrite,
    order: &mut ChunkOrder,
) -> StoreResult<ChunkOutcome> {
    if chunk.dry_run {
        return crate::dry_run::apply_dry_chunk(store, lease, chunk, order).await;
    }
    let write = chunk.take_records();
    let first_id = reserve_for(store, &write).await?;
    let probing = if chunk.operation == Operation::Insert && !store.hints().conflicts.is_marked(lease.job) {
        Probing::OnConflict
    } else {
        Probing::First
    };
    let mut conn = store.conn().await?;
    let fields = key_scopes::fields_of(&write.rows);
    let scopes = store.key_scopes().scopes(&conn, signed(lease.org.get()), &write.module, &fields).await?;
    let tx = conn.transaction().await.map_err(pg_error)?;
    // A chunk's commit does not wait for its WAL to reach the disk (see the module's comment).
    let asynchronous = async { tx.batch_execute("SET LOCAL synchronous_commit = off").await.map_err(pg_error) };
    futures_util::future::try_join(asynchronous, fence(&tx, lease)).await?;
    let capture = Capture {
        job: signed(lease.job.get()),
        resource: i32::try_from(chunk.resource).unwrap_or(i32::MAX),
        chunk_at: signed(chunk.rows_done_before),
    };
    let span = (chunk.resource, chunk.rows_done_before, chunk.rows_done);
    // A job's chunks read records without locking them until one fails as retryable, most
    // often for another writer of the same records (see `Locking`); from then on, its retry and
    // the job's later chunks lock them.
    let locking = if store.hints().contended.is_marked(lease.job) { Locking::Locked } else { Locking::Optimistic };
    let how = How { probing, locking, capture: Some(capture), progress: Some((lease, span)) };
    let written = plan_and_write(&tx, signed(lease.org.get()), write, first_id, &scopes, how, order)
        .await
        .inspect_err(|error| {
            if error.is_retryable() {
                store.hints().contended.mark(lease.job);
            }
        })?;
    if written.met_existing_keys {
        store.hints().conflicts.mark(lease.job);
    }
    let (mut plan, results_json) = (written.plan, written.results_json);
    if !written.progress_recorded {
        // The result rows and the checkpoint go out together (pipelined), then the commit.
        order.previous_settled().await;
        record_progress_at(&tx, lease, span, &plan, results_json).await?;
    }
    tx.commit().await.map_err(write_error)?;
    let results = std::mem::take(&mut plan.results);
    let outcome = ChunkOutcome { added: plan.added, updated: plan.updated, skipped: plan.skipped, results };
    free_elsewhere(plan);
    Ok(outcome)
}

/// Stores a planned chunk's result rows (`results_json` when already encoded) and moves its
/// resource's counters and checkpoint, refusing the chunk unless the stored checkpoint is the
/// one it follows. The caller commits.
pub(crate) async fn record_progress(
    tx: &Transaction<'_>,
    lease: &Lease,
    chunk: &ChunkWrite,
    plan: &ChunkPlan,
    results_json: Option<String>,
) -> StoreResult<()> {
    let span = (chunk.resource, chunk.rows_done_before, chunk.rows_done);
    record_progress_at(tx, lease, span, plan, results_json).await
}

/// [`record_progress`] of resource `index` from checkpoint `before` to `after`.
pub(crate) async fn record_progress_at(
    tx: &Transaction<'_>,
    lease: &Lease,
    (index, before_rows, after_rows): (usize, u64, u64),
    plan: &ChunkPlan,
    results_json: Option<String>,
) -> StoreResult<()> {
    let job = signed(lease.job.get());
    let resource = i32::try_from(index).map_err(|_| StoreError::NotFound("resource".into()))?;
    let results = async {
        let (Some(first), Some(last)) = (plan.results.first(), plan.results.last()) else {
            return Ok(0);
        };
        let reasons = bulkwrite_store::result_rows::encode_reasons(&plan.results)?;
        let (first_row, last_row) = (signed(first.row_no), signed(last.row_no));
        let rows_json = match results_json {
            Some(encoded) => encoded,
            None => bulkwrite_store::result_rows::encode(&plan.results)?,
        };
        let row_params: [&(dyn ToSql + Sync); 5] = [&job, &resource, &first_row, &last_row, &rows_json];
        let rows = execute(
            tx,
            "INSERT INTO job_results (job_id, idx, first_row, last_row, rows_json) VALUES ($1, $2, $3, $4, $5)",
            &row_params,
        );
        // The failed rows' reasons, for the full report, in the same transaction.
        let reasons =
            async {
                match reasons {
                    Some(reasons) => execute(
                        tx,
                        "INSERT INTO job_row_reasons (job_id, idx, first_row, reasons_json) VALUES ($1, $2, $3, $4)",
                        &[&job, &resource, &first_row, &reasons],
                    )
                    .await,
                    None => Ok(0),
                }
            };
        futures_util::future::try_join(rows, reasons).await.map(|(written, _)| written)
    };
    let counts = [signed(after_rows), signed(plan.added), signed(plan.updated), signed(plan.skipped)];
    let before = signed(before_rows);
    let progress_params: [&(dyn ToSql + Sync); 7] =
        [&counts[0], &counts[1], &counts[2], &counts[3], &job, &resource, &before];
    let progress = execute(
        tx,
        "UPDATE job_resources SET rows_done = $1, added = added + $2, updated = updated + $3, skipped = skipped + $4
         WHERE job_id = $5 AND idx = $6 AND rows_done = $7",
        &progress_params,
    );
    // Both go out before either answers, so which fails first depends on which statement was
    // prepared on this connection. A chunk that does not follow the checkpoint is refused as
    // such either way: the update moves nothing, or the result rows are already stored (a
    // replay), which fails the insert and with it every statement after it in the transaction.
    let (moved, written) = futures_util::future::join(progress, results).await;
    match (moved, written) {
        (Ok(0), _) | (_, Err(StoreError::Conflict(_))) => Err(StoreError::checkpoint_moved(index, before_rows)),
        (moved, written) => moved.and(written).map(drop),
    }
}

/// Drops `value` on another thread: freeing a chunk's rows or records costs about as much as
/// encoding them, so it is done while the next chunk goes on. It goes back to the reader that
/// made the rows, if one runs (`bulkwrite_store::freeing`), or else to a blocking thread.
pub(crate) fn free_elsewhere<T: Send + 'static>(value: T) {
    if let Err(value) = bulkwrite_store::freeing::give_back(value) {
        drop(tokio::task::spawn_blocking(move || drop(value)));
    }
}

/// Reserves an id for every row that may insert (none for updates); returns the first.
pub(crate) async fn reserve_for(store: &PgStore, write: &RecordWrite) -> StoreResult<u64> {
    match write.new_id_count() {
        0 => Ok(0),
        count => store.take_record_ids(count).await,
    }
}

/// When a write looks up the keys its rows name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probing {
    /// Before planning (updates and upserts must find their records; inserts of a job that met
    /// existing keys before).
    First,
    /// Inserts only: plan as if no key existed and let the unique index check. Only if a key
    /// turns out to exist is the attempt rolled back (to a savepoint) and made again with probes.
    /// A new import, the common case, so costs one index descent per key instead of two.
    OnConflict,
}

/// A plan and how it was made.
pub(crate) struct Written {
    pub plan: ChunkPlan,
    /// An optimistic insert met existing keys (and was made again with probes).
    pub met_existing_keys: bool,
    /// The plan's result rows, encoded (`result_rows::encode`) while the database wrote the
    /// records; `None` when they were not (they are then encoded after).
    pub results_json: Option<String>,
    /// The result rows and the checkpoint went out with the writes (see [`How::progress`]).
    pub progress_recorded: bool,
}

/// Where a job's chunk keeps the before-images of the records it updates (see
/// `bulkwrite_store::undo`): the job, the resource and the chunk's place in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capture {
    pub job: i64,
    pub resource: i32,
    pub chunk_at: i64,
}

/// How a write plans: when it probes, whether it locks what it reads, where it keeps
/// before-images, and the job's progress.
pub(crate) struct How<'a> {
    pub probing: Probing,
    pub locking: Locking,
    pub capture: Option<Capture>,
    /// A job's chunk: its lease and span (resource, checkpoint before, after). A write that
    /// looked records up has waited for the chunk before to settle, so its result rows and
    /// checkpoint go out pipelined with its updates instead of a round trip after them.
    pub progress: Option<(&'a Lease, (usize, u64, u64))>,
}

impl How<'_> {
    /// A write outside jobs: probes first, locks what it reads (it answers at once, so it waits
    /// for other writers instead of failing for them), keeps no before-images.
    pub fn alone() -> How<'static> {
        How { probing: Probing::First, locking: Locking::Locked, capture: None, progress: None }
    }
}

/// Fetches what the rows name, plans them with core's rules and writes records and keys (and,
/// with a capture, the before-images of the records it updates).
/// `first_id` starts the ids reserved for the rows (see [`reserve_for`]).
pub(crate) async fn plan_and_write(
    tx: &Transaction<'_>,
    org: i64,
    mut write: RecordWrite,
    first_id: u64,
    scopes: &Scopes,
    How { probing, locking, capture, progress }: How<'_>,
    order: &mut ChunkOrder,
) -> StoreResult<Written> {
    let id_count = write.new_id_count();
    let new_ids = || (first_id..first_id + id_count).map(RecordId::new);
    let input = write.take_plan_input();
    let stamp = Stamp { org, module: &write.module, scopes, actor: signed(write.actor.get()), now: write.now };
    let mut met_existing_keys = false;
    if probing == Probing::OnConflict && input.operation == Operation::Insert {
        let empty = ExistingState::default();
        let decisions = decide(&input, &empty, &mut new_ids());
        match write_optimistically(tx, &stamp, &decisions, &input, order).await? {
            Ok(records) => {
                // The records went out from the rows in place: only the result rows are built,
                // and encoded, while the database writes them.
                let mut rows = input.rows;
                let plan = decisions.into_results(&mut rows);
                free_elsewhere(rows);
                let results_json = Some(bulkwrite_store::result_rows::encode(&plan.results)?);
                if let Some(records) = records {
                    records.finish().await.map_err(write_error)?;
                }
                return Ok(Written { plan, met_existing_keys, results_json, progress_recorded: false });
            }
            Err(error) if crate::error::is_unique_violation(&error) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT new_keys").await.map_err(write_error)?;
                met_existing_keys = true;
            }
            Err(error) => return Err(write_error(error)),
        }
    }
    // Probes must see every key the chunk before wrote.
    let read = read_for_plan(tx, (org, &write.module, scopes), (input.operation, locking), &input.rows, order).await?;
    let Read { existing, stored, places, .. } = read;
    let decisions = decide(&input, &existing, &mut new_ids());
    // What this chunk writes is decided: the chunk after checks the reads it made beside this one
    // against it once this one settles, and may start a locked read now (see `read_for_plan`).
    order.planned(Touched::decided(&decisions));
    let Writes { plan, new_records, mut rewrites, images } =
        Writes::plan(&stamp, decisions, input, existing, &stored, capture)?;
    crate::chunk_write::insert_records(tx, new_records).await?;
    // An update leaves each record one version past the one it was read at (or fails), so the
    // before-images go out with the update (pipelined) rather than after it.
    let updating = crate::chunk_write::update_records(tx, &stamp, &mut rewrites, (&stored, &places), &plan);
    let images = async {
        match capture {
            Some(capture) => crate::chunk_write::insert_images(tx, capture, &images).await,
            None => Ok(()),
        }
    };
    let recording = async {
        match progress {
            Some((lease, span)) => record_progress_at(tx, lease, span, &plan, None).await,
            None => Ok(()),
        }
    };
    futures_util::future::try_join3(updating, images, recording).await?;
    if !plan.key_deletes.is_empty() {
        let key_owners: HashMap<Key, RecordId> =
            stored.iter().flat_map(|(id, record)| record.keys.iter().map(|key| (key.clone(), *id))).collect();
        crate::chunk_write::delete_keys(tx, &stamp, &plan, &key_owners).await?;
    }
    free_elsewhere((stored, places, rewrites));
    crate::chunk_write::insert_keys(tx, &stamp, &plan.key_inserts).await?.map_err(write_error)?;
    order.keys_written();
    Ok(Written { plan, met_existing_keys, results_json: None, progress_recorded: progress.is_some() })
}

/// An insert decided as if no key existed (`decisions`, against an empty state; the rows stay
/// intact for a second decision): its keys are copied in a savepoint, the records' `COPY` is
/// encoded from the rows while the database checks them, and started if they were new. Inside:
/// the records on their way, or the database's error (a unique violation means a key exists).
async fn write_optimistically(
    tx: &Transaction<'_>,
    stamp: &Stamp<'_>,
    decisions: &Decisions,
    input: &PlanInput,
    order: &mut ChunkOrder,
) -> StoreResult<Result<Option<Sending>, tokio_postgres::Error>> {
    let keys = encode_keys(stamp, &decisions.key_inserts)?;
    order.previous_keys_written().await;
    tx.batch_execute("SAVEPOINT new_keys").await.map_err(write_error)?;
    let keys = if keys.is_empty() { Ok(None) } else { keys.start(tx, COPY_KEYS).await.map(Some) };
    let records = encode_new_records(stamp, decisions, input)?;
    let checked = match keys {
        Ok(Some(keys)) => keys.finish().await.map(drop),
        started => started.map(drop),
    };
    if let Err(error) = checked {
        return Ok(Err(error));
    }
    order.keys_written();
    if records.is_empty() {
        return Ok(Ok(None));
    }
    Ok(records.start(tx, COPY_RECORDS).await.map(Some))
}

/// What every written record of a request shares.
pub(crate) struct Stamp<'a> {
    pub org: i64,
    pub module: &'a str,
    /// The scopes of the unique fields the rows name (see `key_scopes`).
    pub scopes: &'a Scopes,
    pub actor: i64,
    pub now: Timestamp,
}
