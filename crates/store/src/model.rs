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
    pub company_name: String,
    /// IANA time zone, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// ISO 4217 currency code.
    pub currency: String,
    pub created_at: Timestamp,
}

/// A user of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub org: OrgId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// `Administrator` or `Standard`.
    pub profile: String,
    /// `CEO`, `Manager`, …
    pub role: String,
    pub active: bool,
    pub created_at: Timestamp,
}

impl User {
    pub fn full_name(&self) -> String {
        match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (true, _) => self.last_name.clone(),
            (false, true) => self.first_name.clone(),
            (false, false) => format!("{} {}", self.first_name, self.last_name),
        }
    }
}

/// Who a request acts as, from its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org: OrgId,
    pub user: UserId,
    pub scopes: Vec<String>,
}

/// An access token to store; only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessToken {
    pub token_hash: String,
    pub org: OrgId,
    pub user: UserId,
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
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::SelfClient => "self_client",
            ClientKind::Web => "web",
        }
    }

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
    pub org: OrgId,
    /// The user who owns the client (a self client acts as this user).
    pub user: UserId,
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub name: String,
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

/// A one-time grant code (authorization code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantCode {
    pub code_hash: String,
    pub client_id: String,
    pub org: OrgId,
    pub user: UserId,
    pub scopes: Vec<String>,
    /// The redirect URI the code was issued for; the exchange must name the same one.
    pub redirect_uri: Option<String>,
    pub expires_at: Timestamp,
}

/// A refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub client_id: String,
    pub org: OrgId,
    pub user: UserId,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
}

/// What a revoked token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// A refresh token, with the access tokens minted from it.
    Refresh,
    Access,
    Unknown,
}

/// What a token hash resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    Valid(Principal),
    Expired,
    Unknown,
}

/// First-start values, shared by every node on one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapRecord {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    pub access_token: String,
    /// Later issues add the self client here; unknown keys are kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An uploaded zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub file_id: FileId,
    pub org: OrgId,
    pub user: UserId,
    pub blob_key: String,
    /// The client's file name.
    pub file_name: String,
    pub size: u64,
    pub entries: Vec<CsvEntry>,
    pub created_at: Timestamp,
    /// When retention expired the upload: its zip is deleted and its id answers as a gone file.
    pub expired_at: Option<Timestamp>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub org: OrgId,
    pub created_by: UserId,
    /// The path version the job was created through (`v2`, `v2.1`, …); decides callback shapes.
    pub api_version: String,
    pub spec: JobSpec,
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
    pub state: ResourceState,
    /// Data rows applied so far: the checkpoint a resumed job continues after.
    pub rows_done: u64,
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
}

impl ResourceProgress {
    pub fn pending() -> ResourceProgress {
        ResourceProgress { state: ResourceState::Pending, rows_done: 0, added: 0, updated: 0, skipped: 0 }
    }

    pub fn total(&self) -> u64 {
        self.added + self.updated + self.skipped
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub org: OrgId,
    pub created_by: UserId,
    pub api_version: String,
    pub spec: JobSpec,
    pub state: JobState,
    /// Times a worker has claimed the job.
    pub attempts: u32,
    pub character_encoding: Option<String>,
    pub resources: Vec<ResourceProgress>,
    pub result_blob: Option<String>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Set once someone asked the job to stop (it stays set after the job is cancelled).
    pub cancel: Option<crate::listing::CancelRequest>,
    /// When retention expired the result file: its zip and result rows are deleted and the
    /// download link answers as an expired link. The job row itself stays.
    pub result_expired_at: Option<Timestamp>,
    /// A Bulk Read job's request and outcome; `None` for a write job (whose `spec` is then
    /// its own; a read job's `spec` holds only its callback, for the outbox).
    pub read: Option<crate::read::ReadJob>,
}

impl Job {
    /// What the job does.
    pub fn kind(&self) -> crate::read::JobKind {
        if self.read.is_some() {
            crate::read::JobKind::Read
        } else {
            crate::read::JobKind::Write
        }
    }
}

/// A job given back after a transient failure (see `JobStore::defer_job`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral {
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
    pub now: Timestamp,
    /// How long the lease holds without renewal.
    pub lease_for: chrono::Duration,
    /// Jobs of one org that may run at once (Zoho limits concurrency per org).
    pub max_running_per_org: u32,
}

impl Claim {
    pub fn new(owner: &str, now: Timestamp, lease_for: chrono::Duration) -> Claim {
        Claim { owner: owner.to_string(), now, lease_for, max_running_per_org: u32::MAX }
    }
}

/// The right to work on a job, until it expires. Every worker write carries it and is refused
/// once another worker holds the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: JobId,
    pub org: OrgId,
    /// Unique per claim, so a stale worker can never write over a newer one.
    pub owner: String,
}

/// One chunk of rows of one resource, applied with the checkpoint in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkWrite {
    pub resource: usize,
    pub module: String,
    pub operation: Operation,
    pub ignore_empty: bool,
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
    pub now: Timestamp,
    /// Keep Zoho's computed `Full_Name` on the module's records.
    pub full_name: bool,
}

/// Rows written through the records API: planned like a chunk, without a job.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    pub module: String,
    pub operation: Operation,
    pub rows: Vec<RowDraft>,
    pub default_owner: UserId,
    pub default_layout: Option<String>,
    pub actor: UserId,
    pub now: Timestamp,
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
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
    pub results: Vec<bulkwrite_core::result::ResultRow>,
}

/// A stored CRM record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: RecordId,
    pub module: String,
    pub owner: UserId,
    pub layout_id: Option<String>,
    pub created_by: UserId,
    pub modified_by: UserId,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    /// Field values by API name.
    pub values: Map<String, Value>,
}

/// Sort keys of a record listing (spec §10.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSort {
    Id,
    CreatedTime,
    ModifiedTime,
}

/// A record listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// 1-based page.
    pub page: u32,
    pub per_page: u32,
    pub sort_by: RecordSort,
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
    pub records: Vec<StoredRecord>,
    pub more_records: bool,
}

/// A callback waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackDelivery {
    pub id: u64,
    pub job: JobId,
    pub org: OrgId,
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAttempt {
    pub attempt: u32,
    pub at: Timestamp,
    /// HTTP status of the answer, if one came.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    RetryAt(Timestamp),
    GaveUp,
}

/// A callback's state and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackReport {
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
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
