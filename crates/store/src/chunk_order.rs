//! Chunks of one job in flight at once, in order (see `JobStore::apply_chunk_in_order`): two, or
//! three where the backend takes them (`JobStore::chunks_in_flight`).
//!
//! Each chunk holds a [`ChunkOrder`]: it tells the chunk after it how far it has gone, and waits
//! on the chunk before it (and, before reading, on the one before that: see
//! [`ChunkOrder::earlier_settled`]). A chunk whose order is dropped (committed, failed or
//! abandoned) counts as settled, so a chunk never waits forever on one that went away.

use std::collections::HashSet;
use std::sync::Arc;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::plan::{ChunkPlan, Decisions, ExistingState, Key, Probes};
use tokio::sync::watch;

/// How far a chunk has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Started,
    /// It is in a queue that applies chunks in the order they join it (SQLite's one writer):
    /// a chunk joining after it is applied after it.
    Submitted,
    /// It has read and planned: it holds the locks it reads under, and knows what it writes.
    Planned,
    /// Its unique keys are written and final: it takes no other key lock before it settles.
    KeysWritten,
}

/// What a chunk tells the chunk after.
#[derive(Debug, Clone)]
struct Progress {
    stage: Stage,
    /// What it writes, once planned (see [`ChunkOrder::planned`]).
    touched: Option<Arc<Touched>>,
}

/// What a planned chunk writes that a chunk reading beside it may have read as it was before:
/// the unique keys it takes or frees, and the records it creates or changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    /// Keys taken or freed, as `(field, value)`.
    pub keys: HashSet<Key>,
    /// Records created or changed.
    pub records: HashSet<RecordId>,
}

impl Touched {
    /// What `plan` writes that the chunk after may have read as it was: the keys it frees and
    /// takes, and the records (`ids`) it creates and changes.
    pub fn of(plan: &ChunkPlan, ids: impl IntoIterator<Item = RecordId>) -> Touched {
        Touched { keys: keys_of(&plan.key_deletes, &plan.key_inserts), records: ids.into_iter().collect() }
    }

    /// What `decisions` write (see [`Touched::of`]), known before their records are built: a
    /// chunk says it has planned as soon as it has decided, and builds its records and
    /// before-images while the chunk after reads.
    pub fn decided(decisions: &Decisions) -> Touched {
        Touched {
            keys: keys_of(&decisions.key_deletes, &decisions.key_inserts),
            records: decisions.written().collect(),
        }
    }

    /// Whether reads made before this was written may have missed it: the keys and ids the rows
    /// looked up (`probes`), or what was found (`existing`: the keys' owners, the records).
    pub fn missed_by(&self, probes: &Probes, existing: &ExistingState) -> bool {
        let keys = probes.keys.iter().chain(existing.keys.keys());
        let records = probes.ids.iter().chain(existing.records.keys()).chain(existing.keys.values());
        keys.into_iter().any(|key| self.keys.contains(key)) || records.into_iter().any(|id| self.records.contains(id))
    }
}

/// The keys a chunk frees and takes.
fn keys_of(deletes: &[Key], inserts: &[(Key, RecordId)]) -> HashSet<Key> {
    deletes.iter().chain(inserts.iter().map(|(key, _)| key)).cloned().collect()
}

/// The chunk before, as found once it has settled (see [`ChunkOrder::previous_settled_touching`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    /// There was none in flight: what was read is current.
    Nothing,
    /// It settled having said what it wrote.
    Touched(Arc<Touched>),
    /// It settled without saying (it wrote without planning first, or failed before): read
    /// again to be sure.
    Unknown,
}

/// A chunk's place in its resource's run of chunks.
#[derive(Debug)]
pub struct ChunkOrder {
    previous: Option<watch::Receiver<Progress>>,
    /// The chunk before the one before, which may still be in flight where a backend takes three
    /// chunks at once (see `JobStore::chunks_in_flight`).
    earlier: Option<watch::Receiver<Progress>>,
    this: watch::Sender<Progress>,
}

fn started() -> watch::Sender<Progress> {
    watch::channel(Progress { stage: Stage::Started, touched: None }).0
}

impl ChunkOrder {
    /// A chunk with none before it in flight.
    pub fn first() -> ChunkOrder {
        ChunkOrder { previous: None, earlier: None, this: started() }
    }

    /// The order of the chunk after this one.
    pub fn next(&self) -> ChunkOrder {
        ChunkOrder { previous: Some(self.this.subscribe()), earlier: self.previous.clone(), this: started() }
    }

    /// Hands out this order, to the chunk starting now, and becomes the order of the chunk after.
    pub fn advance(&mut self) -> ChunkOrder {
        let next = self.next();
        std::mem::replace(self, next)
    }

    /// Waits until the chunk before has joined the queue that applies chunks in order (see
    /// [`ChunkOrder::submitted`]), or gone further, or settled.
    pub async fn previous_submitted(&mut self) {
        self.wait_for(Stage::Submitted).await;
    }

    /// Tells the chunk after that this one has joined a queue that applies chunks in the order
    /// they join it: the chunk after may join it now, and is applied after this one.
    pub fn submitted(&self) {
        self.this.send_modify(|progress| progress.stage = progress.stage.max(Stage::Submitted));
    }

    /// Waits until the chunk before has written its unique keys (or settled). Keys written after
    /// that may wait on the chunk before (a value both hold) but never it on them, so the two
    /// cannot deadlock while the chunk before waits for its own predecessor.
    pub async fn previous_keys_written(&mut self) {
        self.wait_for(Stage::KeysWritten).await;
    }

    /// Waits until the chunk before has planned (or gone further, or settled): it has read, so
    /// the records it locks are locked, and it reads nothing more that this chunk could lock.
    /// Reads made now may predate its writes: [`ChunkOrder::previous_settled_touching`] says
    /// whether they must be made again.
    pub async fn previous_planned(&mut self) {
        self.wait_for(Stage::Planned).await;
    }

    /// Waits until the chunk before the one before has committed or failed, if it is in flight:
    /// then only the chunk before may still write what this one reads, and
    /// [`ChunkOrder::previous_settled_touching`] says whether it did. Reads wait for this first.
    pub async fn earlier_settled(&mut self) {
        if let Some(earlier) = &mut self.earlier {
            let _ = earlier.wait_for(|_| false).await;
        }
        self.earlier = None;
    }

    /// Waits until the chunk before has committed or failed. Reads that must see its records,
    /// and the checkpoint, come after this.
    pub async fn previous_settled(&mut self) {
        self.previous_settled_touching().await;
    }

    /// [`ChunkOrder::previous_settled`], saying what the chunk before wrote, if it said.
    pub async fn previous_settled_touching(&mut self) -> Before {
        let Some(previous) = &mut self.previous else {
            return Before::Nothing;
        };
        // The sender is dropped once the chunk settles; `wait_for` then returns an error, and
        // the last progress it sent stays readable. (The receiver is let go only then, so a
        // wait given up half-way waits again next time.)
        let _ = previous.wait_for(|_| false).await;
        let touched = previous.borrow().touched.clone();
        self.previous = None;
        touched.map_or(Before::Unknown, Before::Touched)
    }

    /// Tells the chunk after that this one has planned, and what it writes.
    pub fn planned(&self, touched: Touched) {
        self.this.send_modify(|progress| {
            progress.stage = progress.stage.max(Stage::Planned);
            progress.touched = Some(Arc::new(touched));
        });
    }

    /// Tells the chunk after that this one's unique keys are written and final.
    pub fn keys_written(&self) {
        self.this.send_modify(|progress| progress.stage = Stage::KeysWritten);
    }

    async fn wait_for(&mut self, stage: Stage) {
        if let Some(previous) = &mut self.previous {
            let _ = previous.wait_for(|reached| reached.stage >= stage).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    async fn finishes<F: std::future::Future>(future: F) -> bool {
        tokio::time::timeout(Duration::from_millis(50), future).await.is_ok()
    }

    #[tokio::test]
    async fn a_chunk_waits_for_the_one_before_it() {
        let first = ChunkOrder::first();
        let mut second = first.next();
        assert!(!finishes(second.previous_keys_written()).await, "the first has written nothing");
        first.keys_written();
        assert!(finishes(second.previous_keys_written()).await);
        assert!(!finishes(second.previous_settled()).await, "the first has not settled");
        drop(first);
        assert!(finishes(second.previous_settled()).await);
        assert!(finishes(second.previous_keys_written()).await, "a settled chunk has written");
    }

    #[tokio::test]
    async fn a_chunk_may_join_the_queue_once_the_one_before_has() {
        let first = ChunkOrder::first();
        let mut second = first.next();
        assert!(!finishes(second.previous_submitted()).await, "the first has not joined");
        first.submitted();
        assert!(finishes(second.previous_submitted()).await);
        assert!(!finishes(second.previous_settled()).await, "joined is not settled");
        let third = second.next();
        let mut fourth = third.next();
        drop(third);
        assert!(finishes(fourth.previous_submitted()).await, "a chunk gone counts as settled");
    }

    #[tokio::test]
    async fn a_planned_chunk_says_what_it_writes_once_settled() {
        let first = ChunkOrder::first();
        let mut second = first.next();
        assert!(!finishes(second.previous_planned()).await, "the first has not planned");
        let touched = Touched {
            keys: HashSet::from([("Email".to_string(), "a@b.co".to_string())]),
            records: HashSet::from([RecordId::new(7)]),
        };
        first.planned(touched.clone());
        assert!(finishes(second.previous_planned()).await);
        assert!(!finishes(second.previous_keys_written()).await, "planned is not yet written");
        first.keys_written();
        assert!(!finishes(second.previous_settled_touching()).await, "the first has not settled");
        drop(first);
        assert_eq!(second.previous_settled_touching().await, Before::Touched(Arc::new(touched)));
        assert_eq!(second.previous_settled_touching().await, Before::Nothing, "settled once is settled");
    }

    #[tokio::test]
    async fn a_chunk_that_settles_without_planning_is_unknown() {
        let first = ChunkOrder::first();
        let mut second = first.next();
        first.keys_written();
        assert!(finishes(second.previous_planned()).await, "written keys are past planning");
        drop(first);
        assert_eq!(second.previous_settled_touching().await, Before::Unknown);
        assert_eq!(ChunkOrder::first().previous_settled_touching().await, Before::Nothing);
    }

    #[test]
    fn reads_miss_what_touches_a_key_or_record_they_looked_up_or_found() {
        use bulkwrite_core::plan::ExistingRecord;
        let key = |value: &str| ("Email".to_string(), value.to_string());
        let touched = Touched { keys: HashSet::from([key("a@b.co")]), records: HashSet::from([RecordId::new(7)]) };
        let missed = |probes: Probes, existing: ExistingState| touched.missed_by(&probes, &existing);
        let probes = |keys: &[&str], ids: &[u64]| Probes {
            keys: keys.iter().map(|value| key(value)).collect(),
            ids: ids.iter().map(|id| RecordId::new(*id)).collect(),
        };
        let record = |id: u64| ExistingRecord {
            id: RecordId::new(id),
            values: serde_json::Map::new(),
            owner: bulkwrite_core::ids::UserId::new(1),
            layout_id: None,
            keys: Vec::new(),
        };
        assert!(!missed(probes(&["c@d.co"], &[8]), ExistingState::default()), "nothing shared");
        assert!(
            missed(probes(&["a@b.co"], &[]), ExistingState::default()),
            "a key looked up and not found, taken since"
        );
        assert!(missed(probes(&[], &[7]), ExistingState::default()), "a record named by id");
        let found = ExistingState { keys: HashMap::from([(key("c@d.co"), RecordId::new(7))]), records: HashMap::new() };
        assert!(missed(probes(&["c@d.co"], &[]), found), "a key's owner, changed since");
        let found = ExistingState { keys: HashMap::new(), records: HashMap::from([(RecordId::new(7), record(7))]) };
        assert!(missed(probes(&[], &[]), found), "a record found");
    }

    #[test]
    fn what_a_chunk_decided_is_what_its_built_plan_writes() {
        use bulkwrite_core::ids::UserId;
        use bulkwrite_core::mapping::{FindKey, RowDraft, UniqueKey};
        use bulkwrite_core::plan::{decide, ExistingRecord, PlanInput};
        use bulkwrite_core::result::RowStatus;
        use bulkwrite_wire::Operation;
        let key = |value: &str| ("Email".to_string(), value.to_string());
        let row = |row_no: u64, find: &str, email: &str| {
            let mut row = RowDraft::new(row_no, vec![email.to_string()]);
            row.values = serde_json::json!({ "Email": email }).as_object().unwrap().clone().into();
            row.unique_keys = vec![UniqueKey { field: "Email".into(), value: email.into(), column: "Email".into() }];
            let (field, value, column) = ("Email".into(), find.into(), "Email".into());
            row.find_key = Some(FindKey::Unique { field, value, column });
            row
        };
        // An upsert: a new record, a record found by its key that takes another, a row skipped
        // for a key another row of the chunk took.
        let input = PlanInput {
            operation: Operation::Upsert,
            rows: vec![
                row(1, "new@x.co", "new@x.co"),
                row(2, "old@x.co", "moved@x.co"),
                row(3, "new@x.co", "moved@x.co"),
            ],
            default_owner: UserId::new(1),
            default_layout: None,
            full_name: false,
        };
        let stored = ExistingRecord {
            id: RecordId::new(7),
            values: serde_json::Map::new(),
            owner: UserId::new(1),
            layout_id: None,
            keys: vec![key("old@x.co")],
        };
        let existing = ExistingState {
            keys: HashMap::from([(key("old@x.co"), RecordId::new(7))]),
            records: HashMap::from([(RecordId::new(7), stored)]),
        };
        let decisions = decide(&input, &existing, &mut (100..).map(RecordId::new));
        let decided = Touched::decided(&decisions);
        let plan = decisions.build(input, existing);
        let statuses: Vec<_> = plan.results.iter().map(|result| result.status).collect();
        assert_eq!(statuses, [RowStatus::Added, RowStatus::Updated, RowStatus::Skipped]);
        let written = plan.inserts.iter().chain(&plan.updates).map(|record| record.id);
        assert_eq!(decided, Touched::of(&plan, written));
        assert_eq!(decided.records, HashSet::from([RecordId::new(100), RecordId::new(7)]));
        assert!(decided.keys.contains(&key("old@x.co")) && decided.keys.contains(&key("moved@x.co")));
    }

    #[tokio::test]
    async fn the_first_chunk_and_a_dropped_predecessor_never_block() {
        let mut first = ChunkOrder::first();
        assert!(finishes(first.previous_settled()).await);
        let mut second = first.next();
        drop(first);
        assert!(finishes(second.previous_keys_written()).await, "dropped before writing: settled");
    }
}
