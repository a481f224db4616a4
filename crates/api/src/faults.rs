//! Fault rules of the test controls (`/bulkwrite/v1/faults`): adding, listing and removing them
//! ([`Faults`], shared with `bulkwrite admin faults`), and applying the HTTP ones ([`inject`]).
//!
//! Rules live in the store, so every node applies the same rules and counts their firings
//! together. The HTTP rules are applied by a layer on the router ([`inject::http_faults`]); job
//! and callback rules by the worker, at a job's chunks and at a callback's send. None applies
//! unless the server runs with `--test-controls`.

pub mod inject;

use std::sync::Arc;

use bulkwrite_core::clock::Clock;
use bulkwrite_core::faults::FaultRule;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_store::{Store, StoreError};
use bulkwrite_wire::faults::{CreatedFault, FaultList, NewFault, RemovedFaults};
use bulkwrite_wire::{ApiError, ErrorCode};

/// Why a fault request was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The request is wrong, or not the caller's to make: the Zoho error says why.
    #[error("{0}")]
    Refused(ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for FaultError {
    fn from(error: ApiError) -> FaultError {
        FaultError::Refused(error)
    }
}

/// Adds, lists and removes fault rules. `scope` is the caller's org (an org token: its own rules
/// only) or `None` (the admin credential: every rule).
#[derive(Clone)]
pub struct Faults {
    /// Where rules are kept.
    pub store: Arc<dyn Store>,
    /// Where rule ids come from.
    pub ids: Arc<IdAllocator>,
    /// When a rule was added.
    pub clock: Arc<dyn Clock>,
}

impl Faults {
    /// Checks and stores a rule; an org caller's rule is limited to its org (naming another is
    /// `NO_PERMISSION`), the admin's to the org it names, if any (one that does not exist is
    /// `INVALID_DATA`).
    pub async fn add(&self, scope: Option<OrgId>, request: &NewFault) -> Result<CreatedFault, FaultError> {
        let mut rule = FaultRule::parse(request, u64::from(rand::random::<u32>()))?;
        match scope {
            Some(own) => {
                if rule.org.is_some_and(|named| named != own) {
                    let message = "an org's token adds faults for its own org only";
                    return Err(ApiError::with_message(ErrorCode::NoPermission, message)
                        .detail("api_name", "org")
                        .into());
                }
                rule.org = Some(own);
            }
            None => {
                if let Some(org) = rule.org {
                    if self.store.get_org(org).await?.is_none() {
                        let message = format!("org {org} does not exist");
                        let refusal = ApiError::with_message(ErrorCode::InvalidData, message)
                            .detail("api_name", "org")
                            .detail("json_path", "$.org");
                        return Err(refusal.into());
                    }
                }
            }
        }
        let id = self.ids.next_id().await?;
        self.store.add_fault(id, &rule, self.clock.now()).await?;
        tracing::info!(fault = id, kind = rule.kind().as_str(), org = ?rule.org, "fault rule added");
        Ok(CreatedFault { id: id.to_string() })
    }

    /// The rules of `scope`, oldest first, with how often each fired.
    pub async fn list(&self, scope: Option<OrgId>) -> Result<FaultList, FaultError> {
        let faults = self.store.faults(scope).await?;
        Ok(FaultList { faults: faults.iter().map(bulkwrite_store::StoredFault::to_wire).collect() })
    }

    /// Removes rule `id` of `scope`; an id that names none of the caller's rules is
    /// `RESOURCE_NOT_FOUND`.
    pub async fn remove(&self, scope: Option<OrgId>, id: &str) -> Result<RemovedFaults, FaultError> {
        let not_found = || {
            FaultError::Refused(ApiError::with_message(ErrorCode::ResourceNotFound, format!("fault {id} not found")))
        };
        let number: u64 = id.trim().parse().map_err(|_| not_found())?;
        if !self.store.remove_fault(scope, number).await? {
            return Err(not_found());
        }
        Ok(RemovedFaults { removed: 1 })
    }

    /// Removes every rule of `scope`.
    pub async fn clear(&self, scope: Option<OrgId>) -> Result<RemovedFaults, FaultError> {
        Ok(RemovedFaults { removed: self.store.clear_faults(scope).await? })
    }
}
