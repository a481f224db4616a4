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
//!    it plans again on the writer, from what is there now ([`plan_and_write`]: the same read,
//!    plan and write, in one turn). The write joins the writer's queue as soon as the chunk
//!    before's has (writes are applied in the order they join), not once that one's answer is
//!    back.
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
use crate::writer::{ChunkMark, Commit, Since};
use crate::{json_error, ms};

/// What a chunk read: its rows (intact), what they name, the first of its ids.
pub(crate) struct Read {
    pub write: RecordWrite,
    pub named: Named,
    pub first_id: u64,
}

/// Reserves the chunk's record ids and reads what its rows name (`lookups`, made from its rows
/// before). Changes nothing another write could have read (the ids are its own).
pub(crate) fn read(tx: &Connection, org: i64, write: RecordWrite, lookups: Lookups) -> StoreResult<Read> {
    let id_count = write.new_id_count();
    let first_id = if id_count > 0 { reserve_ids(tx, id_count)? } else { 0 };
    let named = read_looked_up(tx, org, &write.module, lookups, false)?;
    Ok(Read { write, named, first_id })
}

/// A chunk planned by merging its rows into the records' text, or left to plan with maps.
pub(crate) enum Planned {
    Ahead(Box<Ahead>),
    /// A row updates a record the chunk itself inserts: to plan with the records' maps, from
    /// what it read (given back as read).
    WithMaps(Box<Read>),
}

/// A chunk's writes, planned from what it read.
pub(crate) struct Ahead {
    /// The write, its rows moved into `input`.
    write: RecordWrite,
    input: PlanInput,
    probes: Probes,
    existing: ExistingState,
    plan: ChunkPlan,
    inserts: Vec<Encoded>,
    rewrites: Vec<Rewrite>,
    /// The result rows' JSON, when encoded ahead (see [`Planned::with_results_encoded`]).
    results_json: Option<String>,
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
    /// Its new data; `None` keeps the stored data (see `bulkwrite_store::merge::Merged`).
    data: Option<String>,
    /// Its before-image, when kept: the version it leaves, the image's JSON.
    image: Option<(i64, String)>,
}

/// Decides the rows against what was read, merges them into the records' text and encodes the
/// new records, the result rows and (with `images`) the before-images. Touches no database, so
/// runs on any thread.
pub(crate) fn plan(read: Read, images: bool) -> StoreResult<Planned> {
    let Read { mut write, named, first_id } = read;
    let Named { keys, records: mut stored, probes } = named;
    let id_count = write.new_id_count();
    let mut input = write.take_plan_input();
    let mut existing = ExistingState { keys, records: HashMap::with_capacity(stored.len()) };
    // The records' keys move into the planner's view (the merge needs only their data).
    for (id, record) in &mut stored {
        existing.records.insert(*id, record.take_existing(*id));
    }
    let decisions = decide(&input, &existing, &mut (first_id..first_id + id_count).map(RecordId::new));
    let mut plan = decisions.clone().into_results(&mut input.rows);
    let Some(merges) = merges(&input.rows, &plan.results, &stored) else {
        for (id, record) in &mut stored {
            if let Some(view) = existing.records.get_mut(id) {
                record.keys = std::mem::take(&mut view.keys);
            }
        }
        let named = Named { keys: existing.keys, records: stored, probes };
        return Ok(Planned::WithMaps(Box::new(Read { write: rows_back(write, input, &mut plan), named, first_id })));
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
        let image = if images {
            let image = merged.before_image(&existing.records[&merge.id], merge, &plan);
            Some((merge.stored.version + 1, serde_json::to_string(&image).map_err(json_error)?))
        } else {
            None
        };
        rewrites.push(Rewrite {
            id: merge.id,
            owner: merge.owner,
            layout_id: merge.layout_id.map(str::to_string),
            data,
            image,
        });
    }
    drop(merges);
    // Written from `rewrites` now; a chunk planned again reads them again.
    crate::new_keys::free_elsewhere(stored);
    let touched =
        Touched::of(&plan, inserts.iter().map(|record| record.id).chain(rewrites.iter().map(|record| record.id)));
    let results_json = None;
    Ok(Planned::Ahead(Box::new(Ahead {
        write,
        input,
        probes,
        existing,
        plan,
        inserts,
        rewrites,
        results_json,
        touched,
    })))
}

impl Planned {
    /// This, with a plan's result rows encoded now (off the writer's thread) rather than as the
    /// writer stores them.
    fn with_results_encoded(mut self) -> StoreResult<Planned> {
        if let Planned::Ahead(ahead) = &mut self {
            ahead.results_json = Some(bulkwrite_store::result_rows::encode(&ahead.plan.results)?);
        }
        Ok(self)
    }
}

/// The write with its rows as they came: the rows' echo cells back from the result rows.
fn rows_back(mut write: RecordWrite, mut input: PlanInput, plan: &mut ChunkPlan) -> RecordWrite {
    for (row, result) in input.rows.iter_mut().zip(&mut plan.results) {
        row.echo = std::mem::take(&mut result.echo);
    }
    write.rows = input.rows;
    write
}

impl Ahead {
    /// Whether the chunk before's writes (what it `touched`, the one write since the read) leave
    /// what this chunk read as it was.
    pub(crate) fn unmoved_by(&self, touched: &Touched) -> bool {
        !touched.missed_by(&self.probes, &self.existing)
    }

    /// The write, its rows as they came (to plan again on the writer).
    pub(crate) fn into_write(self) -> RecordWrite {
        let Ahead { write, input, mut plan, .. } = self;
        rows_back(write, input, &mut plan)
    }

    /// Writes what was planned: the new records, the merged records, their before-images (with
    /// `capture`) and the keys. Returns the plan, its result rows' JSON if encoded ahead, and what
    /// it touched.
    pub(crate) fn write(
        self,
        tx: &Connection,
        org: i64,
        capture: Option<Capture>,
    ) -> StoreResult<(ChunkPlan, Option<String>, Touched)> {
        let Ahead { write, input, existing, plan, inserts, rewrites, results_json, touched, .. } = self;
        let (now, actor, module) = (ms(write.now), write.actor.get() as i64, write.module.as_str());
        insert_records(tx, org, module, actor, now, &inserts)?;
        let mut update = Update::prepare(tx, org, actor, now)?;
        let mut images = Vec::with_capacity(rewrites.len());
        for rewrite in rewrites {
            let written =
                update.write(rewrite.id, rewrite.owner, rewrite.layout_id.as_deref(), rewrite.data.as_deref())?;
            if let (true, Some((version, image))) = (written, rewrite.image) {
                images.push((rewrite.id, version, image));
            }
        }
        drop(update);
        insert_images(tx, capture, &images)?;
        write_keys(tx, org, module, &plan)?;
        crate::new_keys::free_elsewhere((input, existing, inserts, images));
        Ok((plan, results_json, touched))
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
    let (plan, results_json, touched) = match planned {
        Ok(ahead) => ahead.write(tx, org, Some(capture))?,
        Err(write) => {
            let mut written = Vec::new();
            let plan = plan_and_write_noting(tx, org, write, Some(capture), &mut written)?;
            let touched = Touched::of(&plan, written);
            (plan, None, touched)
        }
    };
    Ok((record_progress_at(tx, lease, span, plan, results_json)?, touched))
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
        let (mark, read) = self
            .run_writer(move |writer| {
                let mark = writer.mark()?;
                let read = writer.write_neutral(commit, |tx| {
                    check_lease(tx, &fenced)?;
                    read(tx, org, write, lookups)
                })?;
                Ok((mark, read))
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
                Planned::Ahead(ahead) => match writer.since(&mark, previous)? {
                    Since::Nothing => Ok(ahead),
                    Since::Previous(touched) if ahead.unmoved_by(touched) => Ok(ahead),
                    Since::Previous(_) | Since::Other => Err(ahead.into_write()),
                },
                Planned::WithMaps(read) => Err(read.write),
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
                if let Ok(planned) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan(read, true)?.with_results_encoded()))
                {
                    let _ = answer.send(planned);
                }
            }
        });
        spawned.ok().map(|_| sender)
    });
    let Some(planner) = planner else { return plan(read, true)?.with_results_encoded() };
    let (answer, answered) = tokio::sync::oneshot::channel();
    planner.send((read, answer)).map_err(|_| StoreError::Backend("the SQLite planner's thread stopped".into()))?;
    answered.await.map_err(|_| StoreError::Backend("planning a chunk stopped in the middle".into()))?
}
