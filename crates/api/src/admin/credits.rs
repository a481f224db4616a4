//! An org's API credits for `bulkwrite admin orgs credits` (see [`crate::credits`]).

use bulkwrite_core::ids::OrgId;
use bulkwrite_store::OrgCredits;
use serde_json::{json, Value};

use super::{Admin, AdminError};
use crate::credits::{plan_json, seconds, setting_word};

impl Admin {
    /// Stores the org's own credits setting when `change` is given, then answers its setting
    /// and usage now: the plan it was given (the server's `--api-credits` applies to an org whose
    /// setting is `inherit`), credits used in the window, when the oldest come back, and the
    /// calls in flight.
    pub async fn org_credits(&self, org: OrgId, change: Option<OrgCredits>) -> Result<Value, AdminError> {
        self.org(org).await?;
        if let Some(setting) = change {
            self.store.set_org_credits(org, setting).await?;
        }
        let setting = self.store.org_credits(org).await?;
        let usage = self.store.credit_usage(org, self.clock.now()).await?;
        let plan = match setting {
            OrgCredits::Plan(plan) => Some(plan),
            OrgCredits::Inherit | OrgCredits::Off => None,
        };
        let in_flight: Vec<Value> = usage
            .in_flight
            .iter()
            .map(|calls| json!({"app": calls.app, "calls": calls.calls, "complex_calls": calls.complex}))
            .collect();
        Ok(json!({
            "org_id": org.to_string(),
            "org_setting": setting_word(setting),
            "plan": plan.as_ref().map(plan_json),
            "limit": plan.map(|p| p.credit_limit()),
            "used": usage.used,
            "next_release_time": usage.next_release.map(seconds),
            "in_flight": in_flight,
        }))
    }
}
