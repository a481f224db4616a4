//! Storage of bulkwrite: the traits every backend implements, the blob store, and the
//! conformance suite that proves a backend right.
//!
//! Owns: the storage model ([`model`]) and contracts ([`traits`]). Must not: know SQL or any
//! driver (backends do), or HTTP.
//!
//! Invariants every backend keeps:
//! - every read and write is scoped by org;
//! - a chunk's record writes, result rows, counters and checkpoint commit together, so a
//!   resumed job continues after the last checkpoint and never applies a row twice;
//! - a chunk names the checkpoint it follows and is refused unless that is the stored one, so
//!   chunks commit in order even when two are in flight, and a chunk after a lost or failed one
//!   (or a second worker's copy of one) never commits;
//! - every job write is fenced by the lease owner and fails with [`StoreError::LeaseLost`]
//!   once another worker holds the job;
//! - a job's final state and its callback delivery are committed together (the outbox);
//! - a job with a cancel request is never taken by `claim_next_job` (nor resumed after a
//!   restart); only `claim_cancelled_job` takes it, to cancel it.
//! - retention never expires an upload an unfinished job names, and no job is created on an
//!   expired upload; expiring a file marks its row and queues its blob for deletion in one
//!   transaction, so a blob is deleted only once nothing can be given it any more;
//! - admitting an API call (charging its credits and taking its concurrency slot, or refusing it)
//!   is one transaction serialised per org, so nodes sharing a store never overspend one budget
//!   ([`credits`]).

pub mod blob;
pub mod changes;
pub mod chunk_order;
#[cfg(feature = "conformance")]
#[allow(missing_docs)] // test cases run by `conformance_tests!`; each name is the sentence it checks
pub mod conformance;
pub mod control;
pub mod credits;
pub mod dry_run;
pub mod error;
pub mod fault;
pub mod fault_rules;
pub mod freeing;
pub mod ids;
pub mod inbox;
pub mod inventory;
mod job_details;
mod job_marks;
pub mod listing;
pub mod merge;
pub mod model;
pub mod org_state;
pub mod profiles;
pub mod read;
pub mod result_rows;
pub mod spec_text;
pub mod staging;
pub mod taxes;
pub mod token;
pub mod traits;
pub mod undo;

pub use blob::{BlobStore, DirBlobStore, LocalBlob};
pub use chunk_order::{Before, ChunkOrder, Touched};
pub use control::{
    ControlState, ControlStore, LiveControls, QueueDepth, QueueDriver, StepClaim, StepOutcome, StepTarget,
};
pub use credits::{CallAdmission, CallRequest, CallSlot, CreditStore, CreditUsage, OrgCredits};
pub use error::{StoreError, StoreResult};
pub use fault_rules::{FaultStore, JobFaultHit, StoredFault};
pub use inbox::{
    CallbackExchange, CallbackRequest, CallbackResponse, InboxDelivery, InboxStore, ReplayOutcome,
    CALLBACK_RESPONSE_BODY_LIMIT,
};
pub use job_marks::MarkedJobs;
pub use listing::{CancelRequest, JobListQuery, JobPage, MAX_JOBS_PER_PAGE};
pub use model::*;
pub use org_state::{Keep, OrgStateStore, ResetSummary, SnapshotInfo};
pub use profiles::ProfileStore;
pub use read::{
    module_gone, read_failure, DownloadVerdict, DownloadWindow, JobKind, NewReadJob, ReadJob, ReadOutcome, ReadPart,
    ReadStore,
};
pub use taxes::TaxStore;
pub use traits::*;
pub use undo::{NewUndoJob, UndoChunk, UndoCreation, UndoStore};
