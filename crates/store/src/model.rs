//! What the store keeps: orgs, users, tokens, uploads, jobs, records and callback deliveries.

use bulkwrite_core::ids::{FileId, JobId, OrgId, RecordId, UserId};
use bulkwrite_core::jobspec::JobSpec;
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_core::zipfile::CsvEntry;
use bulkwrite_wire::Operation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Instants are stored in UTC and shown in the org's time zone.
pub type Timestamp = DateTime<Utc>;

/// An org (a Zoho CRM account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// The 9-digit `zgid` clients send as `X-CRM-ORG`.
    pub zgid: OrgId,
    /// The org's 19-digit record id (`org[0].id`).
    pub id: String,
    /// The company's name.
    pub company_name: String,
    /// IANA time zone, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// When the org was created.
    pub created_at: Timestamp,
}

/// A user of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The org the user belongs to.
    pub org: OrgId,
    /// First name (may be empty).
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, unique in the org (case-insensitive).
    pub email: String,
    /// `Administrator` or `Standard`.
    pub profile: String,
    /// `CEO`, `Manager`, …
    pub role: String,
    /// Whether the user may sign in and own records.
    pub active: bool,
    /// When the user was created.
    pub created_at: Timestamp,
}

impl User {
    /// First and last name joined by a space, whichever are present.
    pub fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }
}

/// A user's first and last name joined by a space, whichever are present ([`User::full_name`]).
pub fn full_name(first_name: &str, last_name: &str) -> String {
    match (first_name.is_empty(), last_name.is_empty()) {
        (true, _) => last_name.to_string(),
        (false, true) => first_name.to_string(),
        (false, false) => format!("{first_name} {last_name}"),
    }
}

/// Who a request acts as, from its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The org the token acts in.
    pub org: OrgId,
    /// The user the token acts as.
    pub user: UserId,
    /// The OAuth scopes the token was granted (`ZohoCRM.bulk.ALL`, …).
    pub scopes: Vec<String>,
    /// The OAuth client the token was minted for (`None`: the bootstrap token, admin tokens):
    /// the "app" Zoho's concurrency limits count calls by.
    pub client_id: Option<String>,
    /// The org's own API-credits setting, read with the token so that metering costs no
    /// further query when it is off.
    pub credits: crate::credits::OrgCredits,
    /// When the token expires (`None`: never), so that a principal kept a while (the API's
    /// token cache) is still refused once its token expires.
    pub expires_at: Option<Timestamp>,
}

/// An access token to store; only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The org the token acts in.
    pub org: OrgId,
    /// The user the token acts as.
    pub user: UserId,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// `None`: the token never expires (the bootstrap token).
    pub expires_at: Option<Timestamp>,
    /// The OAuth client it was issued to, if any.
    pub client_id: Option<String>,
    /// The refresh token it was minted from; revoking that one revokes this one too.
    pub refresh_hash: Option<String>,
}

/// What kind of OAuth client: Zoho's console offers self clients and server-based web clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Issues grant codes from the console (`bulkwrite admin grant`), no redirect.
    SelfClient,
    /// Gets grant codes through the consent page and its redirect URIs.
    Web,
}

impl ClientKind {
    /// The kind as stored (`self_client`, `web`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::SelfClient => "self_client",
            ClientKind::Web => "web",
        }
    }

    /// The kind a stored word names, or `None`.
    pub fn parse(text: &str) -> Option<ClientKind> {
        match text {
            "self_client" => Some(ClientKind::SelfClient),
            "web" => Some(ClientKind::Web),
            _ => None,
        }
    }
}

/// An OAuth client of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// `1000.` followed by 30 upper-case letters and digits, like Zoho's.
    pub client_id: String,
    /// The org the client belongs to.
    pub org: OrgId,
    /// The user who owns the client (a self client acts as this user).
    pub user: UserId,
    /// SHA-256 of the client secret, hex; the secret itself is shown once and never stored.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// The name shown in the console.
    pub name: String,
    /// Self client or web client.
    pub kind: ClientKind,
    /// Where the consent page may send grant codes (web clients).
    pub redirect_uris: Vec<String>,
    /// When the client was created.
    pub created_at: Timestamp,
}

/// A one-time grant code (authorization code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantCode {
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// The client the code was issued to.
    pub client_id: String,
    /// The org the code grants access to.
    pub org: OrgId,
    /// The user who granted it.
    pub user: UserId,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The redirect URI the code was issued for; the exchange must name the same one.
    pub redirect_uri: Option<String>,
    /// After this, the code cannot be redeemed.
    pub expires_at: Timestamp,
}

/// A refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The org the token grants access to.
    pub org: OrgId,
    /// The user it acts as.
    pub user: UserId,
    /// The scopes its access tokens get.
    pub scopes: Vec<String>,
    /// When it was issued.
    pub created_at: Timestamp,
}

/// What a revoked token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// A refresh token, with the access tokens minted from it.
    Refresh,
    /// An access token.
    Access,
    /// No token has that hash (nothing was revoked).
    Unknown,
}

/// What a token hash resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    /// A live token, and who it acts as.
    Valid(Principal),
    /// A token that expired.
    Expired,
    /// No live token has that hash (never issued, or revoked).
    Unknown,
}

/// First-start values, shared by every node on one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapRecord {
    /// The first org's `zgid`.
    pub org_id: OrgId,
    /// The first user's id.
    pub user_id: UserId,
    /// The first user's full name.
    pub user_name: String,
    /// The first user's email.
    pub user_email: String,
    /// The access token made at first start, which never expires.
    pub access_token: String,
    /// Later issues add the self client here; unknown keys are kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An uploaded zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The upload's id, which a create request names as `file_id`.
    pub file_id: FileId,
    /// The org it belongs to.
    pub org: OrgId,
    /// The user who uploaded it.
    pub user: UserId,
    /// Where the zip is kept in the blob store.
    pub blob_key: String,
    /// The client's file name.
    pub file_name: String,
    /// The zip's size in bytes.
    pub size: u64,
    /// The CSVs the zip holds, with their header rows.
    pub entries: Vec<CsvEntry>,
    /// When it was uploaded.
    pub created_at: Timestamp,
    /// When retention expired the upload: its zip is deleted and its id answers as a gone file.
    pub expired_at: Option<Timestamp>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The job's id.
    pub id: JobId,
    /// The org it belongs to.
    pub org: OrgId,
    /// The user who created it (records it inserts are owned by them unless a row says otherwise).
    pub created_by: UserId,
    /// The path version the job was created through (`v2`, `v2.1`, …); decides callback shapes.
    pub api_version: String,
    /// The validated request.
    pub spec: JobSpec,
    /// When it was created.
    pub created_at: Timestamp,
}

impl NewJob {
    /// The uploads the job reads, each once, in resource order (ids that do not parse name no
    /// upload and are left out).
    pub fn file_ids(&self) -> Vec<FileId> {
        let mut ids: Vec<FileId> = Vec::new();
        for resource in &self.spec.resources {
            if let Some(id) = FileId::parse(&resource.file_id) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }
}

/// A resource's counters and checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceProgress {
    /// Where the resource is.
    pub state: ResourceState,
    /// Data rows applied so far: the checkpoint a resumed job continues after.
    pub rows_done: u64,
    /// Rows that created a record.
    pub added: u64,
    /// Rows that updated a record.
    pub updated: u64,
    /// Rows skipped.
    pub skipped: u64,
}

impl ResourceProgress {
    /// A resource not started yet, with every counter at zero.
    pub fn pending() -> ResourceProgress {
        ResourceProgress { state: ResourceState::Pending, rows_done: 0, added: 0, updated: 0, skipped: 0 }
    }

    /// Rows done: added, updated and skipped.
    pub fn total(&self) -> u64 {
        self.added + self.updated + self.skipped
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The org it belongs to.
    pub org: OrgId,
    /// The user who created it.
    pub created_by: UserId,
    /// The path version it was created through (`v2`, `v2.1`, …); decides callback shapes.
    pub api_version: String,
    /// The validated request.
    pub spec: JobSpec,
    /// Where the job is.
    pub state: JobState,
    /// Times a worker has claimed the job.
    pub attempts: u32,
    /// The encoding the worker read the file with, once known.
    pub character_encoding: Option<String>,
    /// Progress per resource, in the spec's order.
    pub resources: Vec<ResourceProgress>,
    /// The result zip's key in the blob store, once written.
    pub result_blob: Option<String>,
    /// Why the job failed or waits (a cause named for people), if it did.
    pub error: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it reached a final state.
    pub finished_at: Option<Timestamp>,
    /// Set once someone asked the job to stop (it stays set after the job is cancelled).
    pub cancel: Option<crate::listing::CancelRequest>,
    /// When retention expired the result file: its zip and result rows are deleted and the
    /// download link answers as an expired link. The job row itself stays.
    pub result_expired_at: Option<Timestamp>,
    /// A Bulk Read job's request and outcome; `None` for a write job (whose `spec` is then
    /// its own; a read job's `spec` holds only its callback, for the outbox).
    pub read: Option<crate::read::ReadJob>,
    /// The job an undo job undoes; `None` for every other job.
    pub undo_of: Option<JobId>,
}

/// A job with what its details document shows besides it, read together
/// ([`crate::JobStore::get_job_details`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JobWithOrg {
    /// The job.
    pub job: Job,
    /// Its org.
    pub org: Org,
    /// Its creator's full name ([`User::full_name`]); `None` when the user is gone.
    pub creator_name: Option<String>,
}

impl Job {
    /// What the job does.
    pub fn kind(&self) -> crate::read::JobKind {
        if self.read.is_some() {
            crate::read::JobKind::Read
        } else if self.undo_of.is_some() {
            crate::read::JobKind::Undo
        } else {
            crate::read::JobKind::Write
        }
    }
}

/// A job given back after a transient failure (see `JobStore::defer_job`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral {
    /// The time of the deferral.
    pub now: Timestamp,
    /// Not claimed before this.
    pub run_at: Timestamp,
    /// The job's error while it waits: the cause, named.
    pub reason: String,
    /// A job failing transiently since before this is not deferred again.
    pub give_up_before: Timestamp,
}

/// What a worker asks of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Unique per claim (a lease owner).
    pub owner: String,
    /// The time of the claim: lease time, the system's (never the test controls' clock), since
    /// leases measure whether a worker is alive.
    pub now: Timestamp,
    /// How long the lease holds without renewal.
    pub lease_for: chrono::Duration,
    /// Jobs of one org that may run at once (Zoho limits concurrency per org).
    pub max_running_per_org: u32,
    /// Whether a paused queue (see [`crate::control`]) refuses the claim; set by workers whose
    /// test controls are on, so that a node without the switch never heeds a stored pause.
    pub respect_pause: bool,
}

impl Claim {
    /// A claim by `owner` at `now` for a lease of `lease_for`, with no per-org limit, heedless of a
    /// pause.
    pub fn new(owner: &str, now: Timestamp, lease_for: chrono::Duration) -> Claim {
        Claim { owner: owner.to_string(), now, lease_for, max_running_per_org: u32::MAX, respect_pause: false }
    }
}

/// The right to work on a job, until it expires. Every worker write carries it and is refused
/// once another worker holds the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job leased.
    pub job: JobId,
    /// The job's org.
    pub org: OrgId,
    /// Unique per claim, so a stale worker can never write over a newer one.
    pub owner: String,
}

/// One chunk of rows of one resource, applied with the checkpoint in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkWrite {
    /// Index of the resource in the job's spec.
    pub resource: usize,
    /// The resource's module.
    pub module: String,
    /// Insert, update or upsert.
    pub operation: Operation,
    /// Whether empty cells leave values alone.
    pub ignore_empty: bool,
    /// The chunk's rows, mapped and converted.
    pub rows: Vec<RowDraft>,
    /// The checkpoint this chunk follows: the store refuses the chunk unless the resource's stored
    /// checkpoint is still this one (no chunk lost before it, none applied twice).
    pub rows_done_before: u64,
    /// The checkpoint after this chunk (data rows of the resource done).
    pub rows_done: u64,
    /// Owner of inserted records whose row names none: the job's creator.
    pub default_owner: UserId,
    /// Layout of inserted records whose row names none: the module's default layout.
    pub default_layout: Option<String>,
    /// The user the job acts as (`Created_By`, `Modified_By`).
    pub actor: UserId,
    /// The time the chunk is written at (`Modified_Time`, `Created_Time`).
    pub now: Timestamp,
    /// Keep Zoho's computed `Full_Name` on the module's records.
    pub full_name: bool,
    /// The chunk of a dry run: planned against stored records and the run's scratch state, and
    /// written to that scratch state instead of the records (see `dry_run`).
    pub dry_run: bool,
}

/// Rows written through the records API: planned like a chunk, without a job.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    /// The module written.
    pub module: String,
    /// Insert, update or upsert.
    pub operation: Operation,
    /// The rows, mapped and converted.
    pub rows: Vec<RowDraft>,
    /// Owner of inserted records whose row names none.
    pub default_owner: UserId,
    /// Layout of inserted records whose row names none.
    pub default_layout: Option<String>,
    /// The user the write acts as (`Created_By`, `Modified_By`).
    pub actor: UserId,
    /// The time the records are written at.
    pub now: Timestamp,
    /// Keep Zoho's computed `Full_Name` on the module's records.
    pub full_name: bool,
}

impl ChunkWrite {
    /// The chunk's rows as a write of records, which is how backends plan and write them (the
    /// rows are taken out of the chunk).
    pub fn take_records(&mut self) -> RecordWrite {
        RecordWrite {
            module: self.module.clone(),
            operation: self.operation,
            rows: std::mem::take(&mut self.rows),
            default_owner: self.default_owner,
            default_layout: self.default_layout.clone(),
            actor: self.actor,
            now: self.now,
            full_name: self.full_name,
        }
    }
}

impl RecordWrite {
    /// What core's planner needs of these rows (the rows are taken out of the write).
    pub fn take_plan_input(&mut self) -> bulkwrite_core::plan::PlanInput {
        bulkwrite_core::plan::PlanInput {
            operation: self.operation,
            rows: std::mem::take(&mut self.rows),
            default_owner: self.default_owner,
            default_layout: self.default_layout.clone(),
            full_name: self.full_name,
        }
    }

    /// How many ids the rows may need for new records (none for updates).
    pub fn new_id_count(&self) -> u64 {
        if self.operation == Operation::Update {
            0
        } else {
            self.rows.len() as u64
        }
    }
}

/// What one applied chunk did: its counts and its result rows (in input order, as stored), so
/// that a run can write its result file as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkOutcome {
    /// Rows that created a record.
    pub added: u64,
    /// Rows that updated a record.
    pub updated: u64,
    /// Rows skipped.
    pub skipped: u64,
    /// One result per row, in input order.
    pub results: Vec<bulkwrite_core::result::ResultRow>,
}

/// A stored CRM record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The record's id.
    pub id: RecordId,
    /// The record's module.
    pub module: String,
    /// The record's owner.
    pub owner: UserId,
    /// The record's layout, if it has one.
    pub layout_id: Option<String>,
    /// Who created it.
    pub created_by: UserId,
    /// Who last changed it.
    pub modified_by: UserId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub modified_at: Timestamp,
    /// Field values by API name.
    pub values: Map<String, Value>,
}

/// Sort keys of a record listing: Zoho's `sort_by` values `id`, `Created_Time` and `Modified_Time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSort {
    /// By id.
    Id,
    /// By `Created_Time`.
    CreatedTime,
    /// By `Modified_Time`.
    ModifiedTime,
}

/// A record listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// 1-based page.
    pub page: u32,
    /// Records per page.
    pub per_page: u32,
    /// The sort key.
    pub sort_by: RecordSort,
    /// Whether the order is descending.
    pub descending: bool,
    /// Only these records, when given.
    pub ids: Option<Vec<RecordId>>,
    /// Records to skip, when a page token gives it (otherwise `(page - 1) * per_page`).
    pub offset: Option<u64>,
}

impl RecordQuery {
    /// Records skipped before this page.
    pub fn skip(&self) -> u64 {
        self.offset.unwrap_or(u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page))
    }
}

/// One page of records.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPage {
    /// The page's records.
    pub records: Vec<StoredRecord>,
    /// Whether records follow this page.
    pub more_records: bool,
}

/// A callback waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackDelivery {
    /// The delivery's id.
    pub id: u64,
    /// The job whose details are sent.
    pub job: JobId,
    /// The job's org.
    pub org: OrgId,
    /// Where they are sent.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Attempts made before the last replay (`POST /bulkwrite/v1/jobs/{id}/callback/replay`):
    /// the retry budget counts from here; 0 for a delivery never replayed.
    pub replay_from: u32,
}

/// What a callback dispatcher asks of the outbox: deliveries due by business time, leased by
/// lease time (see [`crate::control`]: a jump of the test clock must not make a delivery in
/// flight look abandoned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackClaim {
    /// Unique per dispatcher.
    pub owner: String,
    /// Deliveries whose next attempt is due at or before this are taken (business time).
    pub due_at: Timestamp,
    /// The time leases are judged and granted at (lease time: the system's).
    pub now: Timestamp,
    /// How long the lease holds.
    pub lease_for: chrono::Duration,
    /// Deliveries taken at most.
    pub limit: u32,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made.
    pub at: Timestamp,
    /// HTTP status of the answer, if one came.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// What was sent (`None` for attempts recorded before requests were kept, and for an
    /// attempt whose body could not be rendered).
    pub request: Option<crate::inbox::CallbackRequest>,
    /// What the receiver answered (`None`: no answer, see `error`).
    pub response: Option<crate::inbox::CallbackResponse>,
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx; no more attempts.
    Delivered,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// No more attempts; the delivery failed.
    GaveUp,
}

/// A callback's state and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackReport {
    /// Where the callback goes.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<CallbackAttempt>,
}

/// The queue at one instant, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Jobs waiting to be claimed (state `queued`).
    pub queued: u64,
    /// Jobs a worker holds (state `running`, including ones whose lease has expired).
    pub running: u64,
    /// Creation time of the oldest waiting job; `None` when nothing waits.
    pub oldest_queued_at: Option<Timestamp>,
}

/// One pass of the retention sweeper over one kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// When the pass runs (from the one clock; stored as the expiry time).
    pub now: Timestamp,
    /// Files older than this expire (`now` minus the retention): uploads by creation time,
    /// result files by their job's finish time.
    pub older_than: Timestamp,
    /// Most files one call expires, so each call is one short transaction.
    pub limit: u32,
}
