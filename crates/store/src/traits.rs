//! The storage traits. Every query is scoped by org: nothing here can reach another org's data
//! through a method that takes an `OrgId`.
//!
//! How every method may fail, besides what its own doc says:
//! - [`StoreError::Unavailable`]: the database is busy or unreachable; nothing was committed, and
//!   the same call may succeed later (the worker backs off, the API answers 500);
//! - [`StoreError::Backend`], [`StoreError::Corrupt`]: a failure retrying will not fix;
//! - a method that takes a [`Lease`] fails with [`StoreError::LeaseLost`], and changes nothing,
//!   once the job is no longer running under that lease's owner (another worker took it over
//!   after the lease expired, or it was released, deferred or finished).
//!
//! A method that writes either commits everything it says or nothing.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, JobId, OrgId, RecordId, UserId};
use bulkwrite_core::lookup::{LookupHit, LookupQuery};
use bulkwrite_core::query::aggregate::{Aggregate, Cell};
use bulkwrite_core::query::{Filter, Select};
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_wire::Operation;

use crate::chunk_order::ChunkOrder;
#[cfg(doc)]
use crate::error::StoreError;
use crate::error::StoreResult;
use crate::listing::{CancelRequest, JobListQuery, JobPage};
use crate::model::*;

/// An edit of an org's schema, run inside the store's transaction.
pub type SchemaChange = Box<dyn FnOnce(&mut OrgSchema) -> Result<(), String> + Send>;

/// Orgs, users, their schema and the first-start values.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates an org with its first user and schema, and records the bootstrap values, unless
    /// a bootstrap record exists already; returns the record that holds either way.
    async fn bootstrap(
        &self,
        org: Org,
        admin: User,
        schema: OrgSchema,
        token: NewAccessToken,
        record: BootstrapRecord,
    ) -> StoreResult<BootstrapRecord>;
    /// The bootstrap record, or `None` before the first start has written one.
    async fn bootstrap_record(&self) -> StoreResult<Option<BootstrapRecord>>;
    /// Adds keys to the bootstrap record's `extra` that it does not have yet (first writer
    /// wins); returns the record as stored. [`StoreError::NotFound`] when there is no bootstrap
    /// record yet.
    async fn extend_bootstrap_record(
        &self,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<BootstrapRecord>;
    /// The org, or `None` when no org has that id.
    async fn get_org(&self, org: OrgId) -> StoreResult<Option<Org>>;
    /// The org's schema as last saved; [`StoreError::NotFound`] when the org does not exist.
    async fn org_schema(&self, org: OrgId) -> StoreResult<OrgSchema>;
    /// Replaces the org's schema whole (last writer wins; use `update_org_schema` to edit what is
    /// stored); [`StoreError::NotFound`] when the org does not exist.
    async fn save_org_schema(&self, org: OrgId, schema: &OrgSchema) -> StoreResult<()>;
    /// Changes the org's schema atomically: `change` sees the stored schema and edits it; its
    /// error (a plain-words reason) leaves the schema as it was and is returned inside `Ok`.
    /// Concurrent changes are serialised, so none is lost. [`StoreError::NotFound`] when the org
    /// does not exist.
    async fn update_org_schema(&self, org: OrgId, change: SchemaChange) -> StoreResult<Result<OrgSchema, String>>;
    /// Adds values to an unrestricted picklist, atomically with respect to other schema changes;
    /// values it has already are not added twice, and a restricted picklist or an unknown field
    /// is left as it is. [`StoreError::NotFound`] when the org does not exist.
    async fn add_picklist_values(&self, org: OrgId, module: &str, field: &str, values: &[String]) -> StoreResult<()>;
    /// Every user of the org, in id order (empty for an unknown org).
    async fn users(&self, org: OrgId) -> StoreResult<Vec<User>>;
    /// The user of `org` with that id, or `None` (a user of another org is `None` too).
    async fn get_user(&self, org: OrgId, user: UserId) -> StoreResult<Option<User>>;
    /// Every org, oldest first.
    async fn orgs(&self) -> StoreResult<Vec<Org>>;
    /// Creates a further org with its first user and schema, in one transaction;
    /// [`StoreError::Conflict`] when the org's id is taken.
    async fn create_org(&self, org: Org, admin: User, schema: OrgSchema) -> StoreResult<()>;
    /// Adds a user; an email already used in the org (or a taken id) is
    /// [`StoreError::Conflict`].
    async fn create_user(&self, user: User) -> StoreResult<()>;
    /// Sets (or clears) the hash of a user's consent-page password; [`StoreError::NotFound`] when
    /// the org has no such user.
    async fn set_password_hash(&self, org: OrgId, user: UserId, hash: Option<String>) -> StoreResult<()>;
    /// The user of `org` with `email` (case-insensitive) and their password hash, or `None`.
    async fn user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<(User, Option<String>)>>;
}

/// Tokens, OAuth clients and grant codes. Only hashes of secrets are stored.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Stores a minted access token (by hash); a hash already stored is [`StoreError::Conflict`].
    async fn insert_access_token(&self, token: NewAccessToken) -> StoreResult<()>;
    /// Resolves a token hash at `now`: valid (with its org, user and scopes), expired, or
    /// unknown (revoked tokens are unknown).
    async fn lookup_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<TokenLookup>;
    /// Registers an OAuth client; a client id already registered is [`StoreError::Conflict`].
    async fn create_client(&self, client: OAuthClient) -> StoreResult<()>;
    /// The client with that id, of any org, or `None`.
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>>;
    /// Every client of the org, oldest first.
    async fn clients(&self, org: OrgId) -> StoreResult<Vec<OAuthClient>>;
    /// Stores a grant code (by hash), usable once until it expires.
    async fn insert_grant(&self, grant: GrantCode) -> StoreResult<()>;
    /// Uses a grant code: returns it once, if it exists and has not expired at `now`, and never
    /// again, even to two callers racing for it.
    async fn redeem_grant(&self, code_hash: &str, now: Timestamp) -> StoreResult<Option<GrantCode>>;
    /// Stores a refresh token (by hash).
    async fn insert_refresh_token(&self, token: RefreshToken) -> StoreResult<()>;
    /// A refresh token that has not been revoked.
    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Revokes a refresh token (and every access token minted from it) or an access token, and
    /// says which it was; an unknown hash changes nothing and says so.
    async fn revoke_token(&self, token_hash: &str) -> StoreResult<Revoked>;
}

/// Fresh ids, unique across every node sharing the database.
#[async_trait]
pub trait IdStore: Send + Sync {
    /// Reserves `count` consecutive ids and returns the first; no other call, on any node sharing
    /// the database, is given any of them.
    async fn reserve_ids(&self, count: u64) -> StoreResult<u64>;
}

/// Uploaded files.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Records an upload whose blob is stored already; a file id already used is
    /// [`StoreError::Conflict`].
    async fn insert_upload(&self, upload: Upload) -> StoreResult<()>;
    /// The org's upload with that id (expired ones included, marked so), or `None`; another
    /// org's upload is `None`.
    async fn get_upload(&self, org: OrgId, file_id: FileId) -> StoreResult<Option<Upload>>;
}

/// Jobs and their queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a job. Atomically with the insert, every upload of the job's org that the spec
    /// names is checked: one that retention expired refuses the job with
    /// [`StoreError::Expired`], and from the commit on the job keeps
    /// its uploads from expiring until it finishes. A job id already used is
    /// [`StoreError::Conflict`].
    async fn create_job(&self, job: NewJob) -> StoreResult<()>;
    /// The org's job with that id, or `None` (another org's job is `None` too).
    async fn get_job(&self, org: OrgId, job: JobId) -> StoreResult<Option<Job>>;
    /// The org's job with that id, its org and its creator's name, in one read (the job
    /// details answer, `GET /crm/bulk/{v}/write/{id}`); `None` like [`JobStore::get_job`].
    async fn get_job_details(&self, org: OrgId, job: JobId) -> StoreResult<Option<JobWithOrg>>;
    /// Takes the oldest queued job, or a running one whose lease expired, of an org that runs
    /// fewer than `claim.max_running_per_org` jobs, and leases it to `claim.owner` for
    /// `claim.lease_for` from `claim.now`; a job asked to stop, or deferred until later, is not taken. Two
    /// claimers never get the same job. `None`: nothing to do now.
    async fn claim_next_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>>;
    /// Extends the lease on a running job to `until` (the worker's heartbeat). Fails with
    /// [`StoreError::LeaseLost`] when the job is no longer running under this lease (taken
    /// over, released or finished): the caller must stop working on the job at once.
    async fn renew_lease(&self, lease: &Lease, until: Timestamp) -> StoreResult<()>;
    /// Gives the job back to the queue (graceful shutdown), to be claimed again at once; a lease
    /// that no longer holds the job changes nothing, and is not an error.
    async fn release_job(&self, lease: &Lease) -> StoreResult<()>;
    /// Gives the job back to the queue after a transient failure: not claimed again before
    /// `deferral.run_at`, with `deferral.reason` as its error while it waits. Unless its spell of
    /// transient failures began before `deferral.give_up_before` (its time budget is spent): then
    /// nothing changes, the caller still holds the lease, and `Ok(false)` says to fail the job.
    async fn defer_job(&self, lease: &Lease, deferral: &Deferral) -> StoreResult<bool>;
    /// Requeues every running job and returns how many (single-process backends, at start, when
    /// no worker can still hold one).
    async fn requeue_running_jobs(&self) -> StoreResult<u64>;
    /// Records the character encoding the worker detected for the job's file (shown in job
    /// details).
    async fn set_character_encoding(&self, lease: &Lease, encoding: &str) -> StoreResult<()>;
    /// Marks resource `resource` (its index in the spec) in progress.
    async fn start_resource(&self, lease: &Lease, resource: usize) -> StoreResult<()>;
    /// Applies a chunk: records, result rows, counters and checkpoint in one transaction. Refused
    /// with a [`StoreError::Conflict`] ([`StoreError::checkpoint_moved`]) unless the resource's
    /// stored checkpoint is the one the chunk follows, so a chunk is never applied twice nor
    /// after a lost one; a unique key another writer holds fails the rows that need it, not the
    /// chunk.
    async fn apply_chunk(&self, lease: &Lease, chunk: ChunkWrite) -> StoreResult<ChunkOutcome>;
    /// Applies a chunk like [`JobStore::apply_chunk`] while the chunks before it (`order`) may
    /// still be in flight (see [`JobStore::chunks_in_flight`]). A backend may start before they
    /// commit, but must commit after them, and must refuse the chunk if the one before did not
    /// commit (the checkpoint check). Returns once this chunk has committed or failed (or, on a
    /// backend that commits several chunks in one transaction, is applied in it: a later chunk or
    /// the job's next fenced write commits it); dropping `order` then tells the chunk after.
    async fn apply_chunk_in_order(
        &self,
        lease: &Lease,
        chunk: ChunkWrite,
        mut order: ChunkOrder,
    ) -> StoreResult<ChunkOutcome> {
        order.previous_settled().await;
        self.apply_chunk(lease, chunk).await
    }
    /// How many chunks of a resource the worker keeps in flight at once, through
    /// [`JobStore::apply_chunk_in_order`], for a job of `operation` (`dry_run`: a dry run's). Two
    /// unless the backend takes more.
    fn chunks_in_flight(&self, operation: Operation, dry_run: bool) -> usize {
        let _ = (operation, dry_run);
        2
    }
    /// Every record of `module` the dry run `lease` holds has written so far, as it left them
    /// (see [`crate::dry_run`]); empty for a job that is not a dry run.
    async fn dry_run_records(&self, lease: &Lease, module: &str) -> StoreResult<Vec<crate::dry_run::ScratchRecord>>;
    /// Marks a resource done at checkpoint `rows_done` (its last chunk's), and refuses like
    /// `apply_chunk` if the stored checkpoint is not that one (a chunk was lost).
    async fn finish_resource(&self, lease: &Lease, resource: usize, rows_done: u64) -> StoreResult<()>;
    /// Result rows of a resource with `row_no > after`, in input order, at most `limit`;
    /// [`StoreError::NotFound`] when the org has no such job.
    async fn result_rows(
        &self,
        org: OrgId,
        job: JobId,
        resource: usize,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<bulkwrite_core::result::ResultRow>>;
    /// Marks the job succeeded with its result file and queues its callback, in one transaction.
    async fn complete_job(&self, lease: &Lease, result_blob: &str, now: Timestamp) -> StoreResult<()>;
    /// Marks the job failed and queues its callback, in one transaction.
    async fn fail_job(&self, lease: &Lease, error: &str, result_blob: Option<&str>, now: Timestamp) -> StoreResult<()>;
    /// Records a request to stop a queued or running job of `org` (the first request is kept)
    /// and returns the job as it now stands; a finished job is returned unchanged, so the caller
    /// can tell. `None`: the org has no such job.
    async fn request_cancel(&self, org: OrgId, job: JobId, request: CancelRequest) -> StoreResult<Option<Job>>;
    /// Whether the job `lease` holds has been asked to stop (the heartbeat polls it). Reads only:
    /// a lost lease answers as the job's row does, without [`StoreError::LeaseLost`].
    async fn cancel_requested(&self, lease: &Lease) -> StoreResult<bool>;
    /// Takes a queued job, or a running one whose lease expired, that was asked to stop, of any
    /// org and whatever the org's running jobs (`claim.max_running_per_org` is ignored), and
    /// leases it to `claim.owner` so that it can be cancelled. `claim_next_job` never takes
    /// such a job.
    async fn claim_cancelled_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>>;
    /// Marks the job cancelled (Zoho: `FAILED`) with its partial result file, marks its
    /// unfinished resources like `fail_job`, and queues its callback, in one transaction.
    async fn cancel_job(
        &self,
        lease: &Lease,
        error: &str,
        result_blob: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// One page of the org's jobs, newest first (paged by the database, never loaded whole).
    async fn list_jobs(&self, org: OrgId, query: &JobListQuery) -> StoreResult<JobPage>;
    /// Tells the other nodes sharing this store that `job` changed (its state or counts), so
    /// that their events streams re-read it. A single-node backend has no one to tell: the
    /// node's own [`crate::changes::JobChanges`] is rung by the caller.
    async fn announce_job_change(&self, job: JobId) -> StoreResult<()> {
        let _ = job;
        Ok(())
    }
    /// Tells the other nodes sharing this store that `job` was asked to stop (after the request
    /// committed), so that the node running it stops it at once and their events streams
    /// re-read it ([`crate::changes::JobChange::Cancel`]). As [`JobStore::announce_job_change`],
    /// nothing on a single-node backend.
    async fn announce_cancel_request(&self, job: JobId) -> StoreResult<()> {
        let _ = job;
        Ok(())
    }
}

/// Records.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The org's record of `module` with that id, or `None`.
    async fn get_record(&self, org: OrgId, module: &str, id: RecordId) -> StoreResult<Option<StoredRecord>>;
    /// One page of the org's records of `module`, in `query`'s order, paged by the database.
    async fn list_records(&self, org: OrgId, module: &str, query: &RecordQuery) -> StoreResult<RecordPage>;
    /// How many records of `module` the org has.
    async fn count_records(&self, org: OrgId, module: &str) -> StoreResult<u64>;
    /// Records of `module` that `select` picks, in its order, run inside the database (never by
    /// loading the module): typed comparisons as `bulkwrite_core::query` describes, parameters
    /// bound, system columns read from their own columns.
    async fn select_records(&self, org: OrgId, module: &str, select: &Select) -> StoreResult<Vec<StoredRecord>>;
    /// How many records of `module` match `filter`.
    async fn count_matching(&self, org: OrgId, module: &str, filter: &Filter) -> StoreResult<u64>;
    /// The groups of `module`'s records `aggregate` describes, computed inside the database:
    /// one row per group in `aggregate`'s order, the grouped columns' values then the measures,
    /// each cell of the [`CellKind`](bulkwrite_core::query::aggregate::CellKind) its column or
    /// function gives (text as stored, not folded).
    async fn aggregate_records(&self, org: OrgId, module: &str, aggregate: &Aggregate) -> StoreResult<Vec<Vec<Cell>>>;
    /// Records of `query.module` whose `query.field` matches one of `query.values`, as
    /// `(normalised value, hit)` pairs (see `bulkwrite_core::lookup`). A field name that is not
    /// an API name (letters, digits, `_`) is [`StoreError::NotFound`].
    async fn find_records(&self, org: OrgId, query: &LookupQuery) -> StoreResult<Vec<(String, LookupHit)>>;
    /// Inserts, updates or upserts records outside any job, in one transaction; one result per
    /// row, in row order (a row refused by a rule is a skipped result, not an error).
    async fn write_records(
        &self,
        org: OrgId,
        write: RecordWrite,
    ) -> StoreResult<Vec<bulkwrite_core::result::ResultRow>>;
    /// Deletes records of `module` with their unique keys; returns the ids that existed.
    async fn delete_records(&self, org: OrgId, module: &str, ids: &[RecordId]) -> StoreResult<Vec<RecordId>>;
    /// Records of `module` whose lookup field `link_field` points at `parent` (subform rows).
    async fn child_records(
        &self,
        org: OrgId,
        module: &str,
        link_field: &str,
        parent: RecordId,
    ) -> StoreResult<Vec<StoredRecord>>;
}

/// Callback deliveries (the outbox).
#[async_trait]
pub trait CallbackStore: Send + Sync {
    /// Leases up to `claim.limit` deliveries due at `claim.due_at` to `claim.owner` for
    /// `claim.lease_for` from `claim.now`; a delivery leased to another owner is not taken until
    /// that lease ends (at `claim.now`), so no two dispatchers send it at once.
    async fn claim_callbacks(&self, claim: &CallbackClaim) -> StoreResult<Vec<CallbackDelivery>>;
    /// [`CallbackStore::claim_callbacks`] with due times and leases on one clock, `now`.
    async fn claim_due_callbacks(
        &self,
        owner: &str,
        now: Timestamp,
        lease_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<CallbackDelivery>> {
        self.claim_callbacks(&CallbackClaim { owner: owner.to_string(), due_at: now, now, lease_for, limit }).await
    }
    /// Hands a leased delivery back unattempted, due again at `until` (its receiver is busy with
    /// other deliveries of this dispatcher); counts no attempt. A delivery `owner` no longer
    /// leases is left alone.
    async fn defer_callback(&self, delivery: &CallbackDelivery, owner: &str, until: Timestamp) -> StoreResult<()>;
    /// Records an attempt and what happens next (delivered, retried at a time, or given up), in
    /// one transaction.
    async fn record_callback_attempt(
        &self,
        delivery: &CallbackDelivery,
        attempt: CallbackAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()>;
    /// The org's job's callback delivery with every attempt, or `None` when the job has no
    /// callback (or the org no such job).
    async fn callback_report(&self, org: OrgId, job: JobId) -> StoreResult<Option<CallbackReport>>;
}

/// Retention: uploads and result files that outlived their time.
///
/// Expiring marks the row (the id stays and answers as gone), deletes what the database holds
/// for it (result rows), and queues its blob key for deletion, all in one transaction; the
/// sweeper then deletes the queued blobs and forgets them. Every method is safe to run on
/// several nodes at once and to repeat after a crash.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Expires up to `expiry.limit` uploads created before `expiry.older_than` that no
    /// unfinished job names; returns how many it expired. An upload a queued or running job may
    /// still read is never expired.
    async fn expire_uploads(&self, expiry: &Expiry) -> StoreResult<u64>;
    /// Expires the result files of up to `expiry.limit` jobs that finished before
    /// `expiry.older_than`, deleting their result rows; returns how many. The job rows stay,
    /// with `result_expired_at` set.
    async fn expire_results(&self, expiry: &Expiry) -> StoreResult<u64>;
    /// Keys of expired blobs still to be deleted, at most `limit`.
    async fn expired_blobs(&self, limit: u32) -> StoreResult<Vec<String>>;
    /// Forgets blob keys whose blobs are deleted (keys not queued are ignored).
    async fn forget_expired_blobs(&self, keys: &[String]) -> StoreResult<()>;
}

/// Everything a backend provides.
pub trait Store:
    OrgStore
    + AuthStore
    + IdStore
    + UploadStore
    + JobStore
    + RecordStore
    + CallbackStore
    + HealthStore
    + RetentionStore
    + crate::read::ReadStore
    + crate::control::ControlStore
    + crate::fault_rules::FaultStore
    + crate::credits::CreditStore
    + crate::inbox::InboxStore
    + crate::org_state::OrgStateStore
    + crate::undo::UndoStore
    + crate::profiles::ProfileStore
    + crate::taxes::TaxStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: OrgStore
        + AuthStore
        + IdStore
        + UploadStore
        + JobStore
        + RecordStore
        + CallbackStore
        + HealthStore
        + RetentionStore
        + crate::read::ReadStore
        + crate::control::ControlStore
        + crate::fault_rules::FaultStore
        + crate::credits::CreditStore
        + crate::inbox::InboxStore
        + crate::org_state::OrgStateStore
        + crate::undo::UndoStore
        + crate::profiles::ProfileStore
        + crate::taxes::TaxStore
        + Send
        + Sync
        + 'static
{
}

/// What operators watch: whether the database answers, and the queue.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Succeeds when the database answers a query on a fresh or pooled connection, as the next
    /// API call would need it to; fails as that call would otherwise (backs `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Jobs waiting and running across every org, and when the oldest waiting one was created
    /// (read at scrape time for `/metrics`).
    async fn queue_stats(&self) -> StoreResult<QueueStats>;
}
