//! Undoing a job (`POST /bulkwrite/v1/jobs/{id}/undo`): what a job keeps when it writes, and how
//! an undo decides, record by record, what to give back.
//!
//! **Captured when the job writes, never reconstructed.** Every record carries a `version`, 1
//! when it is created and bumped by every later write (bulk write on both backends, the records
//! API). A job's chunk that *updates* records stores, in its own transaction, one
//! [`BeforeImage`] per updated record: the previous value of every field the chunk changed (and
//! the owner, layout and unique keys when they changed), with the version the chunk left. The
//! records a job *added* need no image: their ids are in the job's result rows already (a 1M-row
//! insert copies nothing more). Images are deleted with the job's result rows by retention, so an
//! undo of a job whose result expired is refused.
//!
//! **An undo is a job of its own** (kind `undo`) in the one queue: claimed, leased, fenced,
//! resumed after a crash. It walks the original job's result rows resource by resource; each
//! chunk settles the records its rows name in one fenced transaction with its result rows and
//! checkpoint (`undo_settled` marks each record once, so a record a file names twice is settled
//! at its first row, and a resumed chunk never settles one twice). Per record ([`decide`]):
//! - a record the job added is deleted (`DELETED`);
//! - a record it updated gets the earliest image's values of each field back (`RESTORED`);
//! - unless the record changed since the job wrote it (its version is not the one the job left)
//!   or is gone, or a unique value to restore is held by another record now: then nothing is
//!   written and the row says `CONFLICT` and why.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId, RecordId, UserId};
use bulkwrite_core::plan::{ChunkPlan, ExistingRecord, Key, PlannedRecord};
use bulkwrite_core::result::{ErrorsCell, ResultRow, RowStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StoreResult;
use crate::model::{ChunkOutcome, Lease, Timestamp};

/// An undo to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUndoJob {
    /// The undo job's id.
    pub id: JobId,
    /// The org of both jobs.
    pub org: OrgId,
    /// Who asked for the undo (it writes as them).
    pub created_by: UserId,
    /// The job undone.
    pub undo_of: JobId,
    /// When it was asked for.
    pub created_at: Timestamp,
}

/// What [`UndoStore::create_undo_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoCreation {
    /// The undo is queued.
    Created,
    /// Another undo of the job is queued, running or done (its id): nothing was queued.
    AlreadyUndone(JobId),
    /// The org has no such job.
    NoSuchJob,
    /// Retention expired the job's result, and its undo data with it: nothing was queued.
    Expired,
}

/// One chunk of an undo: original result rows of one resource, settled together.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoChunk {
    /// The job undone.
    pub undo_of: JobId,
    /// The resource (its index in both jobs).
    pub resource: usize,
    /// The resource's module.
    pub module: String,
    /// The original rows that reached a record (`ADDED`, `UPDATED` with a record id), in order.
    pub rows: Vec<ResultRow>,
    /// The checkpoint this chunk follows (an original row number; 0 first).
    pub rows_done_before: u64,
    /// The checkpoint after it: the last original row number the chunk covers.
    pub rows_done: u64,
    /// Who the undo writes as (`Modified_By`).
    pub actor: UserId,
    /// When it writes (`Modified_Time`).
    pub now: Timestamp,
}

/// Undo's own operations; claiming, cancelling and finishing an undo job are the queue's.
#[async_trait]
pub trait UndoStore: Send + Sync {
    /// Queues an undo of `job.undo_of` unless another undo of it is queued, running or
    /// succeeded, or its result (and undo data) expired, atomically (two requests racing queue one undo). The undo job has the
    /// original's resources (for its progress), no callback, and kind `undo`. The caller checks
    /// first that the job may be undone (finished, wrote records, not a dry run, read job or
    /// undo, result not expired).
    async fn create_undo_job(&self, job: NewUndoJob) -> StoreResult<UndoCreation>;
    /// Settles a chunk of an undo: for each record its rows name (once per record over every undo
    /// of the job), deletes, restores or reports a conflict, and stores the undo's result rows,
    /// counters (added = deleted, updated = restored, skipped = conflicts) and checkpoint, in one
    /// transaction fenced by `lease`; refused like `apply_chunk` unless the stored checkpoint is
    /// `chunk.rows_done_before`.
    async fn apply_undo_chunk(&self, lease: &Lease, chunk: UndoChunk) -> StoreResult<ChunkOutcome>;
}

/// What an updated record was before one chunk of a job wrote it: only what that chunk changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BeforeImage {
    /// Previous values of changed fields that had one.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Map<String, Value>,
    /// Changed fields that had no value before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unset: Vec<String>,
    /// The previous owner, when the chunk changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// The previous layout, when the chunk changed it (inner `None`: it had none).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "layout_change")]
    pub layout_id: Option<Option<String>>,
    /// The record's unique keys before the chunk, when the chunk changed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<Key>>,
}

mod layout_change {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[allow(clippy::ref_option, clippy::option_option)]
    pub fn serialize<S: Serializer>(value: &Option<Option<String>>, serializer: S) -> Result<S::Ok, S::Error> {
        // Only called for `Some` (skipped otherwise): the inner option, `null` for no layout.
        value.as_ref().and_then(Option::as_ref).serialize(serializer)
    }

    #[allow(clippy::option_option)]
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(deserializer)?))
    }
}

/// The image of what `after` changed of `before`, with the keys `after_keys` it holds after.
pub fn before_image(before: &ExistingRecord, after: &PlannedRecord, after_keys: &[Key]) -> BeforeImage {
    let mut image = BeforeImage::default();
    for (field, value) in &after.values {
        match before.values.get(field) {
            Some(old) if old == value => {}
            Some(old) => {
                image.set.insert(field.clone(), old.clone());
            }
            None => image.unset.push(field.clone()),
        }
    }
    for (field, old) in &before.values {
        if !after.values.contains_key(field) {
            image.set.insert(field.clone(), old.clone());
        }
    }
    if before.owner != after.owner {
        image.owner = Some(before.owner);
    }
    if before.layout_id != after.layout_id {
        image.layout_id = Some(before.layout_id.clone());
    }
    // A record's keys are a set: the same when as many and each of one is in the other.
    let same_keys = before.keys.len() == after_keys.len() && before.keys.iter().all(|key| after_keys.contains(key));
    if !same_keys {
        let mut old_keys = before.keys.clone();
        old_keys.sort();
        image.keys = Some(old_keys);
    }
    image
}

/// The image of what the chunk `plan` changed of `before`, which it leaves as `after` (with the
/// keys the plan leaves it).
pub fn chunk_image(before: &ExistingRecord, after: &PlannedRecord, plan: &ChunkPlan) -> BeforeImage {
    let frees = plan.key_deletes.iter().any(|key| before.keys.contains(key));
    if frees || plan.key_inserts.iter().any(|(_, id)| *id == before.id) {
        before_image(before, after, &keys_after(before, &plan.key_deletes, &plan.key_inserts))
    } else {
        before_image(before, after, &before.keys)
    }
}

/// The keys a record holds after a chunk: its keys before, less the ones the chunk freed, plus
/// the ones it took.
fn keys_after(before: &ExistingRecord, key_deletes: &[Key], key_inserts: &[(Key, RecordId)]) -> Vec<Key> {
    let mut keys: Vec<Key> = before.keys.iter().filter(|key| !key_deletes.contains(key)).cloned().collect();
    for (key, id) in key_inserts {
        if *id == before.id && !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// An image as stored: the version the chunk left the record at, and the image.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    /// The record's version after the chunk wrote it.
    pub version: i64,
    /// What the chunk changed.
    pub image: BeforeImage,
}

/// A record as an undo finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRecord {
    /// Its version now.
    pub version: i64,
    /// When it was last written.
    pub modified_at: Timestamp,
    /// Its values now.
    pub values: Map<String, Value>,
    /// Its owner now.
    pub owner: UserId,
    /// Its layout now.
    pub layout_id: Option<String>,
}

/// What an undo does to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoAction {
    /// Delete the record (the job added it) with its keys.
    Delete,
    /// Write the record back; `keys` (when the job changed them) replace its keys.
    Restore {
        /// The values to write.
        values: Map<String, Value>,
        /// The owner to write.
        owner: UserId,
        /// The layout to write.
        layout_id: Option<String>,
        /// The keys to restore, when the job changed them.
        keys: Option<Vec<Key>>,
    },
    /// Leave the record alone, for this reason.
    Conflict(String),
}

/// Decides what the undo does to record `id`, which the job `added` (or updated), given its
/// images in the order the job wrote them and the record as it is now.
pub fn decide(id: RecordId, added: bool, images: &[StoredImage], current: Option<&CurrentRecord>) -> UndoAction {
    let Some(current) = current else {
        return UndoAction::Conflict(format!("record {id} was deleted after the job wrote it"));
    };
    if !added && images.is_empty() {
        return UndoAction::Conflict(format!(
            "no undo image was kept for record {id} (the job ran before undo existed)"
        ));
    }
    let expected = images.iter().map(|image| image.version).max().unwrap_or(1);
    if current.version != expected {
        return UndoAction::Conflict(format!(
            "record {id} was changed at {} after the job wrote it",
            current.modified_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    if added {
        return UndoAction::Delete;
    }
    let mut values = current.values.clone();
    let mut owner = current.owner;
    let mut layout_id = current.layout_id.clone();
    let mut keys = None;
    // Latest first, so the earliest image's value of each field is the one left.
    for stored in images.iter().rev() {
        let image = &stored.image;
        for (field, value) in &image.set {
            values.insert(field.clone(), value.clone());
        }
        for field in &image.unset {
            values.shift_remove(field);
        }
        if let Some(previous) = image.owner {
            owner = previous;
        }
        if let Some(previous) = &image.layout_id {
            layout_id.clone_from(previous);
        }
        if let Some(previous) = &image.keys {
            keys = Some(previous.clone());
        }
    }
    UndoAction::Restore { values, owner, layout_id, keys }
}

/// The undo's result row for the original row `row` and what was done (`reason` for a conflict).
pub fn undo_row(row: &ResultRow, module: &str, status: RowStatus, reason: &str) -> ResultRow {
    ResultRow {
        row_no: row.row_no,
        echo: vec![module.to_string(), reason.to_string()],
        status,
        record_id: row.record_id,
        errors: ErrorsCell::default(),
        reasons: Vec::new(),
    }
}

/// The sentence of a restore refused because a unique value is held by another record now.
pub fn key_taken(id: RecordId, field: &str, holder: RecordId) -> String {
    format!("record {id} cannot get its {field} back: record {holder} holds that value now")
}

/// Counts of an undo chunk's result rows into an outcome.
pub fn outcome_of(results: Vec<ResultRow>) -> ChunkOutcome {
    let mut outcome = ChunkOutcome::default();
    for row in &results {
        match row.status {
            RowStatus::Deleted => outcome.added += 1,
            RowStatus::Restored => outcome.updated += 1,
            _ => outcome.skipped += 1,
        }
    }
    outcome.results = results;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(values: Value, keys: Vec<Key>) -> ExistingRecord {
        ExistingRecord {
            id: RecordId::new(7),
            values: values.as_object().unwrap().clone(),
            owner: UserId::new(1),
            layout_id: None,
            keys,
        }
    }

    #[test]
    fn an_image_keeps_only_what_changed_and_restores_the_earliest_values() {
        let before = record(json!({"Last_Name": "A", "Email": "a@x"}), vec![("Email".into(), "a@x".into())]);
        let after = PlannedRecord {
            id: RecordId::new(7),
            values: json!({"Last_Name": "A", "Email": "b@x", "Phone": "1"}).as_object().unwrap().clone(),
            owner: UserId::new(2),
            layout_id: None,
        };
        let image = before_image(&before, &after, &[("Email".into(), "b@x".into())]);
        assert_eq!(image.set, *json!({"Email": "a@x"}).as_object().unwrap());
        assert_eq!(image.unset, ["Phone"]);
        assert_eq!(image.owner, Some(UserId::new(1)));
        assert_eq!(image.layout_id, None);
        assert_eq!(image.keys, Some(vec![("Email".into(), "a@x".into())]));
        let text = serde_json::to_string(&image).unwrap();
        assert_eq!(serde_json::from_str::<BeforeImage>(&text).unwrap(), image);

        let second = BeforeImage { set: json!({"Email": "b@x"}).as_object().unwrap().clone(), ..Default::default() };
        let images = [StoredImage { version: 2, image }, StoredImage { version: 3, image: second }];
        let current = CurrentRecord {
            version: 3,
            modified_at: chrono::Utc::now(),
            values: json!({"Last_Name": "A", "Email": "c@x", "Phone": "1"}).as_object().unwrap().clone(),
            owner: UserId::new(2),
            layout_id: None,
        };
        let UndoAction::Restore { values, owner, keys, .. } = decide(RecordId::new(7), false, &images, Some(&current))
        else {
            panic!("restores");
        };
        assert_eq!(Value::Object(values), json!({"Last_Name": "A", "Email": "a@x"}));
        assert_eq!(owner, UserId::new(1));
        assert_eq!(keys, Some(vec![("Email".into(), "a@x".into())]));
        let changed = CurrentRecord { version: 4, ..current };
        assert!(matches!(decide(RecordId::new(7), false, &images, Some(&changed)), UndoAction::Conflict(_)));
        assert!(matches!(decide(RecordId::new(7), true, &[], None), UndoAction::Conflict(_)));
    }

    #[test]
    fn a_layout_change_round_trips_even_when_there_was_none() {
        let image = BeforeImage { layout_id: Some(None), ..Default::default() };
        let text = serde_json::to_string(&image).unwrap();
        assert_eq!(text, r#"{"layout_id":null}"#);
        assert_eq!(serde_json::from_str::<BeforeImage>(&text).unwrap(), image);
        assert_eq!(serde_json::from_str::<BeforeImage>("{}").unwrap().layout_id, None);
    }
}
