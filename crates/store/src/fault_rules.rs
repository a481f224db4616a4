//! Fault rules of the test controls, kept in the store so that every node sharing it applies the
//! same rules and counts their firings together: a rule with `times: 2` fires twice in all,
//! whichever nodes the matching requests reach.
//!
//! (The disk-full seam of the fault tests is [`crate::fault`], a different thing.)

use async_trait::async_trait;
use bulkwrite_core::faults::{FaultKind, FaultRule};
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_wire::faults::{Fault, JobFault, NewFault};
use chrono::SecondsFormat;

use crate::error::{StoreError, StoreResult};
use crate::model::Timestamp;

/// A stored rule with its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFault {
    /// The rule's id (19 digits).
    pub id: u64,
    /// The rule.
    pub rule: FaultRule,
    /// How many matches fired it.
    pub fired: u64,
    /// How many requests, jobs or delivery attempts it matched.
    pub matched: u64,
    /// When it was added.
    pub created_at: Timestamp,
}

impl StoredFault {
    /// The rule as `GET /bulkwrite/v1/faults` lists it.
    pub fn to_wire(&self) -> Fault {
        Fault {
            id: self.id.to_string(),
            rule: self.rule.to_wire(),
            fired: self.fired,
            matched: self.matched,
            created_time: self.created_at.to_rfc3339_opts(SecondsFormat::Secs, false),
        }
    }
}

/// A job fault that hit a job (bound to it when the job first ran, so a resumed run sees it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFaultHit {
    /// The rule that fired.
    pub fault: u64,
    /// What it does to the job.
    pub job: JobFault,
    /// Whether its once-only effect (`fail_chunk_once`) has happened.
    pub spent: bool,
}

/// The stored text of a rule: its normalised request as JSON.
pub fn rule_text(rule: &FaultRule) -> StoreResult<String> {
    serde_json::to_string(&rule.to_wire()).map_err(|e| StoreError::Corrupt(format!("fault rule: {e}")))
}

/// A rule back from its stored text.
pub fn rule_from_text(text: &str) -> StoreResult<FaultRule> {
    let wire: NewFault = serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("fault rule: {e}")))?;
    FaultRule::parse(&wire, 0).map_err(|e| StoreError::Corrupt(format!("fault rule: {e}")))
}

/// The stored text of a job fault.
pub fn job_fault_text(job: &JobFault) -> StoreResult<String> {
    serde_json::to_string(job).map_err(|e| StoreError::Corrupt(format!("job fault: {e}")))
}

/// A job fault back from its stored text.
pub fn job_fault_from_text(text: &str) -> StoreResult<JobFault> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("job fault: {e}")))
}

/// Fault rules. `scope` is an org (its own rules only) or `None` (every rule: the admin's view).
///
/// Counting: a match is counted and decided in one atomic step per rule ([`FaultStore::fire_fault`]),
/// so concurrent matches on any number of nodes see distinct match numbers, and a rule with
/// `times` never fires more than that many times in all.
#[async_trait]
pub trait FaultStore: Send + Sync {
    /// Adds a rule; an id already used is [`StoreError::Conflict`].
    async fn add_fault(&self, id: u64, rule: &FaultRule, created_at: Timestamp) -> StoreResult<()>;
    /// The rules of `scope`, oldest first.
    async fn faults(&self, scope: Option<OrgId>) -> StoreResult<Vec<StoredFault>>;
    /// Every rule of `kind` (of any org) that can still fire (`times` not used up), oldest first.
    async fn live_faults(&self, kind: FaultKind) -> StoreResult<Vec<StoredFault>>;
    /// Counts a match of rule `id` and says whether it fired (see
    /// [`FaultRule::fires`]), counting that too. `false` for a rule that no longer exists.
    async fn fire_fault(&self, id: u64) -> StoreResult<bool>;
    /// Removes the rule `id` of `scope`; whether there was one.
    async fn remove_fault(&self, scope: Option<OrgId>, id: u64) -> StoreResult<bool>;
    /// Removes every rule of `scope`; how many.
    async fn clear_faults(&self, scope: Option<OrgId>) -> StoreResult<u64>;
    /// The job faults that hit `job` of `org`. The first call for a job matches every live job
    /// rule of the org (or of every org) in order, fires them as [`FaultStore::fire_fault`] does
    /// and binds those that fired to the job, in one transaction; every later call (a resumed
    /// run, another node) returns the same hits and fires nothing.
    async fn job_faults(&self, org: OrgId, job: JobId) -> StoreResult<Vec<JobFaultHit>>;
    /// Marks the once-only effect of `fault` on `job` spent; `true` only for the call that spent
    /// it (never for a hit that does not exist).
    async fn spend_job_fault(&self, job: JobId, fault: u64) -> StoreResult<bool>;
}
