//! An update's or upsert's chunk read on the writer's thread and planned off it. The writer's
//! thread was the job's bottleneck (97% busy in the 1,000,000-row upsert), and a third of its
//! time went to work that needs no database: deciding each row, merging the rows into the
//! records' text, the before-images' and result rows' JSON. So a chunk now takes two turns of
//! the writer:
//!
//! 1. [`read`]: it reserves its record ids and reads what its rows name ([`read_looked_up`], the
//!    lookups made from its rows before), noting where the writer stood ([`Writer::mark`]).
//! 2. [`plan`], on the planner's thread ([`plan_elsewhere`]), beside the writer's next turn (the
//!    next chunk's read, most often).
//! 3. [`apply`]: it writes what it planned, if nothing it read can have changed since. The writer
//!    knows: no write since the read, or only the chunk before's, whose writes (keys taken or
//!    freed, records made or changed: [`Touched`], noted on the writer) meet nothing this chunk
//!    looked up or found; no rollback; no other connection's commit ([`Writer::since`]). Otherwise
//!    it plans again on the writer, from what is there now ([`plan_and_write`]), as every chunk
//!    did before. The write joins the writer's queue as soon as the chunk before's has (writes
//!    are applied in the order they join), not once that one's answer is back.
//!
//! Both turns are the chunk's own: a chunk is applied once, with its result rows and
//! checkpoint, or not at all, as before.
//!
//! [`Writer::mark`]: crate::writer::Writer::mark
//! [`Writer::since`]: crate::writer::Writer::since
//! [`plan_and_write`]: super::plan_and_write

use std::collections::HashMap;
use std::sync::{mpsc, OnceLock};

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::plan::{decide, ChunkPlan, ExistingState, PlanInput, Probes};
use bulkwrite_store::merge::merges;
use bulkwrite_store::{ChunkOrder, ChunkOutcome, ChunkWrite, Lease, RecordWrite, StoreError, StoreResult, Touched};
use rusqlite::Connection;

use super::{
    at_checkpoint, insert_images, insert_records, plan_and_write_noting, record_progress_at, write_keys, Capture,
    NewRecord, Update,
};
use crate::chunk::stored::{read_looked_up, Lookups, Named};
use crate::job_row::check_lease;
use crate::orgs::reserve_ids;
use crate::writer::{ChunkMark, Commit, Mark, Since};
use crate::{json_error, ms};

/// What a chunk read on the writer's thread: its rows (intact), what they name, its ids.
pub(crate) struct Read {
    write: RecordWrite,
    named: Named,
    first_id: u64,
    mark: Mark,
}

/// Reserves the chunk's record ids and reads what its rows name (`lookups`, made from its rows
/// before); `mark` is where the writer stood. Changes nothing another write could have read (the
/// ids are its own).
pub(crate) fn read(tx: &Connection, org: i64, write: RecordWrite, lookups: Lookups, mark: Mark) -> StoreResult<Read> {
    let id_count = write.new_id_count();
    let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
    let named = read_looked_up(tx, org, &write.module, lookups, false)?;
    Ok(Read { write, named, first_id, mark })
}

/// A chunk planned off the writer's thread, or left to plan on it.
pub(crate) enum Planned {
    Ahead(Box<Ahead>),
    /// A row updates a record the chunk itself inserts: planned on the writer, with maps.
    OnWriter(RecordWrite),
}

/// A chunk's writes, planned from what it read.
pub(crate) struct Ahead {
    /// The write, its rows moved into `input`.
    write: RecordWrite,
    input: PlanInput,
    probes: Probes,
    existing: ExistingState,
    mark: Mark,
    plan: ChunkPlan,
    inserts: Vec<Encoded>,
    rewrites: Vec<Rewrite>,
    results_json: String,
    touched: Touched,
}

/// A record the chunk inserts, its data encoded.
struct Encoded {
    id: RecordId,
    owner: UserId,
    layout_id: Option<String>,
    data: String,
}

impl NewRecord for Encoded {
    fn columns(&self) -> (RecordId, UserId, Option<&str>) {
        (self.id, self.owner, self.layout_id.as_deref())
    }
    fn data(&self) -> StoreResult<std::borrow::Cow<'_, str>> {
        Ok(std::borrow::Cow::Borrowed(&self.data))
    }
}

/// A record the chunk rewrites, with its before-image (the version it leaves, the image's JSON).
struct Rewrite {
    id: RecordId,
    owner: UserId,
    layout_id: Option<String>,
    data: String,
    image: (i64, String),
}

/// Decides the rows against what was read, merges them into the records' text and encodes the
/// before-images and result rows. Touches no database, so runs on any thread.
pub(crate) fn plan(read: Read) -> StoreResult<Planned> {
    let Read { mut write, named, first_id, mark } = read;
    let Named { keys, records: mut stored, probes } = named;
    let id_count = write.new_id_count();
    let mut input = write.take_plan_input();
    let mut existing = ExistingState { keys, records: HashMap::with_capacity(stored.len()) };
    for (id, record) in &mut stored {
        existing.records.insert(*id, record.take_existing(*id));
    }
    let decisions = decide(&input, &existing, &mut (first_id..first_id + id_count).map(RecordId::new));
    let mut plan = decisions.clone().into_results(&mut input.rows);
    let Some(merges) = merges(&input.rows, &plan.results, &stored) else {
        for (row, result) in input.rows.iter_mut().zip(&mut plan.results) {
            row.echo = std::mem::take(&mut result.echo);
        }
        write.rows = input.rows;
        return Ok(Planned::OnWriter(write));
    };
    let inserts = decisions
        .inserted(&input)
        .map(|view| {
            let data = view.data()?.into_owned();
            Ok(Encoded { id: view.id, owner: view.owner, layout_id: view.layout_id.map(str::to_string), data })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut rewrites = Vec::with_capacity(merges.len());
    for merge in &merges {
        let mut merged = merge.merge(input.full_name)?;
        let data = std::mem::take(&mut merged.data);
        let image = merged.before_image(&existing.records[&merge.id], merge, &plan);
        rewrites.push(Rewrite {
            id: merge.id,
            owner: merge.owner,
            layout_id: merge.layout_id.map(str::to_string),
            data,
            image: (merge.stored.version + 1, serde_json::to_string(&image).map_err(json_error)?),
        });
    }
    drop(merges);
    // Written from `rewrites` now; a chunk planned again on the writer reads them again.
    crate::new_keys::free_elsewhere(stored);
    let touched =
        Touched::of(&plan, inserts.iter().map(|record| record.id).chain(rewrites.iter().map(|record| record.id)));
    let results_json = bulkwrite_store::result_rows::encode(&plan.results)?;
    Ok(Planned::Ahead(Box::new(Ahead {
        write,
        input,
        probes,
        existing,
        mark,
        plan,
        inserts,
        rewrites,
        results_json,
        touched,
    })))
}

impl Ahead {
    /// Where the writer stood when the chunk read.
    pub(crate) fn mark(&self) -> &Mark {
        &self.mark
    }

    /// Whether the chunk before's writes (what it `touched`, the one write since the read) leave
    /// what this chunk read as it was.
    pub(crate) fn unmoved_by(&self, touched: &Touched) -> bool {
        !touched.missed_by(&self.probes, &self.existing)
    }

    /// The write, its rows as they came (to plan again on the writer).
    pub(crate) fn into_write(self) -> RecordWrite {
        let Ahead { mut write, mut input, mut plan, .. } = self;
        for (row, result) in input.rows.iter_mut().zip(&mut plan.results) {
            row.echo = std::mem::take(&mut result.echo);
        }
        write.rows = input.rows;
        write
    }
}

/// Applies a chunk on the writer's thread: what it planned ahead (`Ok`), or, planned again from
/// what is there now, its write (`Err`). Returns what it did, and what it touched (for the chunk
/// after, which may have read before it wrote).
pub(crate) fn apply(
    tx: &Connection,
    lease: &Lease,
    span: (usize, u64, u64),
    planned: Result<Box<Ahead>, RecordWrite>,
    capture: Capture,
) -> StoreResult<(ChunkOutcome, Touched)> {
    let (index, before, _) = span;
    at_checkpoint(tx, lease, index, before)?;
    let org = lease.org.get() as i64;
    let mut ahead = match planned {
        Ok(ahead) => ahead,
        Err(write) => {
            let mut written = Vec::new();
            let plan = plan_and_write_noting(tx, org, write, Some(capture), &mut written)?;
            let touched = Touched::of(&plan, written);
            return Ok((record_progress_at(tx, lease, span, plan, None)?, touched));
        }
    };
    let touched = std::mem::take(&mut ahead.touched);
    let Ahead { write, input, existing, plan, inserts, rewrites, results_json, .. } = *ahead;
    let (now, actor, module) = (ms(write.now), write.actor.get() as i64, write.module.as_str());
    insert_records(tx, org, module, actor, now, &inserts)?;
    let mut update = Update::prepare(tx, org, actor, now)?;
    let mut images = Vec::with_capacity(rewrites.len());
    for rewrite in rewrites {
        if update.write(rewrite.id, rewrite.owner, rewrite.layout_id.as_deref(), &rewrite.data)? {
            images.push((rewrite.id, rewrite.image.0, rewrite.image.1));
        }
    }
    drop(update);
    insert_images(tx, Some(capture), &images)?;
    write_keys(tx, org, module, &plan)?;
    crate::new_keys::free_elsewhere((input, existing, inserts, images));
    Ok((record_progress_at(tx, lease, span, plan, Some(results_json))?, touched))
}

impl crate::SqliteStore {
    /// Applies an update's or upsert's chunk in two turns of the writer's thread, planned between
    /// them on another (see the module's comment), after the chunk before it in `order`.
    pub(crate) async fn apply_ahead(
        &self,
        lease: &Lease,
        mut chunk: ChunkWrite,
        mut order: ChunkOrder,
    ) -> StoreResult<ChunkOutcome> {
        let write = chunk.take_records();
        let commit = Commit::Chunk { rows_done_before: chunk.rows_done_before };
        let (org, job) = (lease.org.get() as i64, lease.job.get() as i64);
        let fenced = lease.clone();
        let lookups = Lookups::of(&write.rows)?;
        let read = self
            .run_writer(move |writer| {
                let mark = writer.mark()?;
                writer.write_neutral(commit, |tx| {
                    check_lease(tx, &fenced)?;
                    read(tx, org, write, lookups, mark)
                })
            })
            .await?;
        let planned = plan_elsewhere(read).await?;
        let span = (chunk.resource, chunk.rows_done_before, chunk.rows_done);
        let capture = Capture { job, resource: chunk.resource as i64, chunk_at: chunk.rows_done_before as i64 };
        let previous = ChunkMark { job, resource: chunk.resource, rows_done: chunk.rows_done_before };
        let this = ChunkMark { job, resource: chunk.resource, rows_done: chunk.rows_done };
        let fenced = lease.clone();
        // The writer applies writes in the order they join its queue: this one joins after the
        // chunk before's, and finds what that one touched on the writer (see `Writer::note_chunk`).
        order.previous_submitted().await;
        let submitted = self.pool.writer().submit(move |writer| {
            let planned = match planned {
                Planned::Ahead(ahead) => match writer.since(ahead.mark(), previous)? {
                    Since::Nothing => Ok(ahead),
                    Since::Previous(touched) if ahead.unmoved_by(touched) => Ok(ahead),
                    Since::Previous(_) | Since::Other => Err(ahead.into_write()),
                },
                Planned::OnWriter(write) => Err(write),
            };
            let (outcome, touched) = writer.write(commit, |tx| {
                check_lease(tx, &fenced)?;
                apply(tx, &fenced, span, planned, capture)
            })?;
            writer.note_chunk(this, touched);
            Ok(outcome)
        })?;
        order.submitted();
        submitted.answer().await
    }
}

/// A chunk to plan, and where its plan goes.
type ToPlan = (Read, tokio::sync::oneshot::Sender<StoreResult<Planned>>);

/// [`plan`]s `read` on the planner's thread: one thread, so that the plans' memory is reused
/// from chunk to chunk rather than spread over the runtime's blocking threads (measured: 127–141
/// MiB peak RSS in the 1,000,000-row upsert that way, over the 128 MiB bound). A planner that
/// cannot start leaves the planning to the caller.
async fn plan_elsewhere(read: Read) -> StoreResult<Planned> {
    static PLANNER: OnceLock<Option<mpsc::Sender<ToPlan>>> = OnceLock::new();
    let planner = PLANNER.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<ToPlan>();
        let spawned = std::thread::Builder::new().name("sqlite-plan".into()).spawn(move || {
            for (read, answer) in receiver {
                // A panicking plan drops its answer (the chunk fails); the thread goes on.
                if let Ok(planned) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan(read))) {
                    let _ = answer.send(planned);
                }
            }
        });
        spawned.ok().map(|_| sender)
    });
    let Some(planner) = planner else { return plan(read) };
    let (answer, answered) = tokio::sync::oneshot::channel();
    planner.send((read, answer)).map_err(|_| StoreError::Backend("the SQLite planner's thread stopped".into()))?;
    answered.await.map_err(|_| StoreError::Backend("planning a chunk stopped in the middle".into()))?
}
