//! The storage traits. Every query is scoped by org: nothing here can reach another org's data
//! through a method that takes an `OrgId`.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, JobId, OrgId, RecordId, UserId};
use bulkwrite_core::lookup::{LookupHit, LookupQuery};
use bulkwrite_core::query::{Filter, Select};
use bulkwrite_core::schema::OrgSchema;

use crate::error::StoreResult;
use crate::listing::{CancelRequest, JobListQuery, JobPage};
use crate::model::*;
use crate::order::ChunkOrder;

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
    async fn bootstrap_record(&self) -> StoreResult<Option<BootstrapRecord>>;
    /// Adds keys to the bootstrap record's `extra` that it does not have yet (first writer
    /// wins); returns the record as stored.
    async fn extend_bootstrap_record(
        &self,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<BootstrapRecord>;
    async fn get_org(&self, org: OrgId) -> StoreResult<Option<Org>>;
    async fn org_schema(&self, org: OrgId) -> StoreResult<OrgSchema>;
    async fn save_org_schema(&self, org: OrgId, schema: &OrgSchema) -> StoreResult<()>;
    /// Changes the org's schema atomically: `change` sees the stored schema and edits it; its
    /// error (a plain-words reason) leaves the schema as it was.
    async fn update_org_schema(&self, org: OrgId, change: SchemaChange) -> StoreResult<Result<OrgSchema, String>>;
    /// Adds values to an unrestricted picklist, atomically with respect to other schema changes.
    async fn add_picklist_values(&self, org: OrgId, module: &str, field: &str, values: &[String]) -> StoreResult<()>;
    async fn users(&self, org: OrgId) -> StoreResult<Vec<User>>;
    async fn get_user(&self, org: OrgId, user: UserId) -> StoreResult<Option<User>>;
    /// Every org, oldest first.
    async fn orgs(&self) -> StoreResult<Vec<Org>>;
    /// Creates a further org with its first user.
    async fn create_org(&self, org: Org, admin: User, schema: OrgSchema) -> StoreResult<()>;
    /// Adds a user; an email already used in the org is a conflict.
    async fn create_user(&self, user: User) -> StoreResult<()>;
    /// Sets (or clears) the hash of a user's consent-page password.
    async fn set_password_hash(&self, org: OrgId, user: UserId, hash: Option<String>) -> StoreResult<()>;
    /// The user of `org` with `email` (case-insensitive) and their password hash.
    async fn user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<(User, Option<String>)>>;
}

/// Tokens, OAuth clients and grant codes. Only hashes of secrets are stored.
#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn insert_access_token(&self, token: NewAccessToken) -> StoreResult<()>;
    /// Resolves a token hash at `now`.
    async fn lookup_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<TokenLookup>;
    async fn create_client(&self, client: OAuthClient) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>>;
    async fn clients(&self, org: OrgId) -> StoreResult<Vec<OAuthClient>>;
    async fn insert_grant(&self, grant: GrantCode) -> StoreResult<()>;
    /// Uses a grant code: returns it once, if it exists and has not expired, and never again.
    async fn redeem_grant(&self, code_hash: &str, now: Timestamp) -> StoreResult<Option<GrantCode>>;
    async fn insert_refresh_token(&self, token: RefreshToken) -> StoreResult<()>;
    /// A refresh token that has not been revoked.
    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Revokes a refresh token (and every access token minted from it) or an access token.
    async fn revoke_token(&self, token_hash: &str) -> StoreResult<Revoked>;
}

/// Fresh ids, unique across every node sharing the database.
#[async_trait]
pub trait IdStore: Send + Sync {
    /// Reserves `count` consecutive ids and returns the first.
    async fn reserve_ids(&self, count: u64) -> StoreResult<u64>;
}

/// Uploaded files.
#[async_trait]
pub trait UploadStore: Send + Sync {
    async fn insert_upload(&self, upload: Upload) -> StoreResult<()>;
    async fn get_upload(&self, org: OrgId, file_id: FileId) -> StoreResult<Option<Upload>>;
}

/// Jobs and their queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a job. Atomically with the insert, every upload of the job's org that the spec
    /// names is checked: one that retention expired refuses the job with
    /// [`StoreError::Expired`](crate::StoreError::Expired), and from the commit on the job keeps
    /// its uploads from expiring until it finishes.
    async fn create_job(&self, job: NewJob) -> StoreResult<()>;
    async fn get_job(&self, org: OrgId, job: JobId) -> StoreResult<Option<Job>>;
    /// Takes the oldest queued job, or a running one whose lease expired, of an org that runs
    /// fewer than `claim.max_running_per_org` jobs, and leases it to `claim.owner`.
    async fn claim_next_job(&self, claim: &Claim) -> StoreResult<Option<(Job, Lease)>>;
    async fn renew_lease(&self, lease: &Lease, until: Timestamp) -> StoreResult<()>;
    /// Gives the job back to the queue (graceful shutdown).
    async fn release_job(&self, lease: &Lease) -> StoreResult<()>;
    /// Gives the job back to the queue after a transient failure: not claimed again before
    /// `deferral.run_at`, with `deferral.reason` as its error while it waits. Unless its spell of
    /// transient failures began before `deferral.give_up_before` (its time budget is spent): then
    /// nothing changes, the caller still holds the lease, and `Ok(false)` says to fail the job.
    async fn defer_job(&self, lease: &Lease, deferral: &Deferral) -> StoreResult<bool>;
    /// Requeues every running job (single-process backends, at start).
    async fn requeue_running_jobs(&self) -> StoreResult<u64>;
    async fn set_character_encoding(&self, lease: &Lease, encoding: &str) -> StoreResult<()>;
    async fn start_resource(&self, lease: &Lease, resource: usize) -> StoreResult<()>;
    /// Applies a chunk: records, result rows, counters and checkpoint in one transaction.
    async fn apply_chunk(&self, lease: &Lease, chunk: ChunkWrite) -> StoreResult<ChunkOutcome>;
    /// Applies a chunk like [`JobStore::apply_chunk`] while the chunk before it (`order`) may
    /// still be in flight. A backend may start before that chunk commits, but must commit after
    /// it, and must refuse the chunk if it did not commit (the checkpoint check). Returns once
    /// this chunk has committed or failed; dropping `order` then tells the chunk after.
    async fn apply_chunk_in_order(
        &self,
        lease: &Lease,
        chunk: ChunkWrite,
        mut order: ChunkOrder,
    ) -> StoreResult<ChunkOutcome> {
        order.previous_settled().await;
        self.apply_chunk(lease, chunk).await
    }
    /// Marks a resource done at checkpoint `rows_done` (its last chunk's), and refuses like
    /// `apply_chunk` if the stored checkpoint is not that one (a chunk was lost).
    async fn finish_resource(&self, lease: &Lease, resource: usize, rows_done: u64) -> StoreResult<()>;
    /// Result rows of a resource with `row_no > after`, in input order, at most `limit`.
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
    /// Whether the job `lease` holds has been asked to stop (the heartbeat polls it).
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
}

/// Records.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get_record(&self, org: OrgId, module: &str, id: RecordId) -> StoreResult<Option<StoredRecord>>;
    async fn list_records(&self, org: OrgId, module: &str, query: &RecordQuery) -> StoreResult<RecordPage>;
    async fn count_records(&self, org: OrgId, module: &str) -> StoreResult<u64>;
    /// Records of `module` that `select` picks, in its order, run inside the database (never by
    /// loading the module): typed comparisons as `bulkwrite_core::query` describes, parameters
    /// bound, system columns read from their own columns.
    async fn select_records(&self, org: OrgId, module: &str, select: &Select) -> StoreResult<Vec<StoredRecord>>;
    /// How many records of `module` match `filter`.
    async fn count_matching(&self, org: OrgId, module: &str, filter: &Filter) -> StoreResult<u64>;
    /// Records of `query.module` whose `query.field` matches one of `query.values`, as
    /// `(normalised value, hit)` pairs (see `bulkwrite_core::lookup`).
    async fn find_records(&self, org: OrgId, query: &LookupQuery) -> StoreResult<Vec<(String, LookupHit)>>;
    /// Inserts, updates or upserts records outside any job; one result per row, in row order.
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
    /// Leases due deliveries to `owner`.
    async fn claim_due_callbacks(
        &self,
        owner: &str,
        now: Timestamp,
        lease_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<CallbackDelivery>>;
    /// Hands a leased delivery back unattempted, due again at `until` (its receiver is busy with
    /// other deliveries of this dispatcher); counts no attempt. A delivery `owner` no longer
    /// leases is left alone.
    async fn defer_callback(&self, delivery: &CallbackDelivery, owner: &str, until: Timestamp) -> StoreResult<()>;
    /// Records an attempt and what happens next.
    async fn record_callback_attempt(
        &self,
        delivery: &CallbackDelivery,
        attempt: CallbackAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()>;
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
