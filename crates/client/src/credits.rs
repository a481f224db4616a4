//! An org's API credits on a bulkwrite server (`/bulkwrite/v1/orgs/{org}/credits`): what the
//! org has used of its 24-hour window and its calls in flight, and the Zoho edition it is
//! metered as. For the admin credential, or an org token granted `bulkwrite.test` while the
//! server's test controls are on. Real Zoho has no such path.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;
use crate::transport::{read_json_required, Safety};

/// The Zoho edition, licences and add-on credits an org is metered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditsPlan {
    /// `free`, `standard`, `professional`, `enterprise` or `ultimate`.
    pub edition: String,
    /// User licences.
    pub users: u32,
    /// Add-on credits on top of the edition's.
    pub addon_credits: u64,
}

impl CreditsPlan {
    /// `edition` with `users` licences and no add-ons.
    pub fn new(edition: &str, users: u32) -> CreditsPlan {
        CreditsPlan { edition: edition.to_string(), users, addon_credits: 0 }
    }
}

/// Credits of the window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreditCounts {
    /// Credits the window holds (`None`: not metered).
    pub limit: Option<u64>,
    /// Credits used in the window.
    pub used: u64,
    /// Credits left (`None`: not metered).
    pub remaining: Option<u64>,
    /// Used credits from which answers carry `X-API-CREDITS-REMAINING`.
    pub header_from: Option<u64>,
}

/// The rolling window, at the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreditWindow {
    /// Its length: 86,400.
    pub seconds: u64,
    /// Its start (RFC 3339).
    pub start: String,
    /// Its end: the server's now.
    pub end: String,
    /// When the oldest credits still counted come back.
    pub next_release_time: Option<String>,
}

/// Calls one app of the org has in flight.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppCallsInFlight {
    /// The OAuth client id, or `self` for tokens minted without one.
    pub app: String,
    /// Calls in flight.
    pub calls: u32,
    /// Complex calls (search, COQL, …) among them.
    pub complex_calls: u32,
}

/// The concurrency limits and the calls in flight.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreditConcurrency {
    /// Calls of one app active at once (`None`: not metered).
    pub limit: Option<u32>,
    /// Complex calls of one app active at once.
    pub sub_concurrency_limit: Option<u32>,
    /// Calls in flight, per app.
    pub in_flight: Vec<AppCallsInFlight>,
}

/// `GET /bulkwrite/v1/orgs/{org}/credits`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgCredits {
    /// The org (zgid).
    pub org_id: String,
    /// Whether its calls are metered.
    pub metered: bool,
    /// Its own setting: `inherit` (the server's), `off` or `plan`.
    pub org_setting: String,
    /// The plan in force.
    pub plan: Option<CreditsPlan>,
    /// Credits of the window.
    pub credits: CreditCounts,
    /// The window.
    pub window: CreditWindow,
    /// Concurrency.
    pub concurrency: CreditConcurrency,
}

impl Client {
    /// The org's API credits and calls in flight: `GET /bulkwrite/v1/orgs/{org}/credits`.
    pub async fn credits(&self, org: &str) -> Result<OrgCredits> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/orgs/{org}/credits"));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        read_json_required(self.inner.send(Safety::Idempotent, true, build).await?).await
    }

    /// Meters the org by `plan` (`Some`), or never (`None`): `PUT /bulkwrite/v1/orgs/{org}/credits`.
    pub async fn set_credits(&self, org: &str, plan: Option<&CreditsPlan>) -> Result<OrgCredits> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/orgs/{org}/credits"));
        let body = match plan {
            Some(plan) => serde_json::to_value(plan).unwrap_or_default(),
            None => serde_json::json!({"metered": false}),
        };
        let build = |http: &reqwest::Client| Ok(http.put(&url).json(&body));
        read_json_required(self.inner.send(Safety::Idempotent, true, build).await?).await
    }

    /// Drops the org's own setting, so the server's `--api-credits` applies again:
    /// `DELETE /bulkwrite/v1/orgs/{org}/credits`.
    pub async fn inherit_credits(&self, org: &str) -> Result<OrgCredits> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/orgs/{org}/credits"));
        let build = |http: &reqwest::Client| Ok(http.delete(&url));
        read_json_required(self.inner.send(Safety::Idempotent, true, build).await?).await
    }
}
