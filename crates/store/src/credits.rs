//! API credits and concurrency, counted in the store so that every node sharing it meters one
//! budget (see `bulkwrite_core::credits` for Zoho's tables).
//!
//! Credits are kept per org in one-minute buckets: a call's cost is added to the bucket of the
//! minute it was admitted in, and a bucket counts until 24 hours after the minute ends, so
//! credits come back 24 hours after they were used, at most a minute late, never early; at most
//! 1,441 buckets an org. A call admitted holds a slot (org, app) until it ends; a slot a node
//! never ended (it died) lapses after the request's lease. Admitting a call — pruning old buckets
//! and lapsed slots, counting, refusing or charging and taking a slot — is one transaction
//! serialised per org, so two nodes never both spend the last credits or the last slot.

use async_trait::async_trait;
use bulkwrite_core::credits::{CreditPlan, Refusal, WINDOW_SECONDS};
use bulkwrite_core::ids::OrgId;

use crate::error::{StoreError, StoreResult};
use crate::model::Timestamp;

/// An org's own metering setting, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgCredits {
    /// None stored: the server's setting (`--api-credits`) applies.
    Inherit,
    /// Not metered, whatever the server's setting.
    Off,
    /// Metered by this plan.
    Plan(CreditPlan),
}

/// An org's setting as its row holds it: `metered`, edition, users, add-on credits.
pub type StoredOrgCredits = (bool, Option<&'static str>, Option<i64>, Option<i64>);

impl OrgCredits {
    /// The setting a row holds; `metered` is `None` when the org has no row.
    pub fn from_stored(
        metered: Option<bool>,
        edition: Option<&str>,
        users: Option<i64>,
        addon_credits: Option<i64>,
    ) -> StoreResult<OrgCredits> {
        match metered {
            None => Ok(OrgCredits::Inherit),
            Some(false) => Ok(OrgCredits::Off),
            Some(true) => {
                let word = edition.unwrap_or_default();
                let edition = word.parse().map_err(|_| StoreError::Corrupt(format!("edition '{word}'")))?;
                let users = u32::try_from(users.unwrap_or(1)).unwrap_or(1);
                let addon_credits = u64::try_from(addon_credits.unwrap_or(0)).unwrap_or(0);
                Ok(OrgCredits::Plan(CreditPlan { edition, users: users.max(1), addon_credits }))
            }
        }
    }

    /// The row to store; `None` for `Inherit` (no row).
    pub fn to_stored(&self) -> Option<StoredOrgCredits> {
        match self {
            OrgCredits::Inherit => None,
            OrgCredits::Off => Some((false, None, None, None)),
            OrgCredits::Plan(plan) => Some((
                true,
                Some(plan.edition.as_str()),
                Some(i64::from(plan.users)),
                Some(i64::try_from(plan.addon_credits).unwrap_or(i64::MAX)),
            )),
        }
    }
}

/// A call to admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The org that pays.
    pub org: OrgId,
    /// The app (OAuth client) calling; concurrency is counted per org and app.
    pub app: String,
    /// Credits the call costs.
    pub cost: u64,
    /// Whether the call is one of the complex APIs (held to `sub_concurrency`).
    pub complex: bool,
    /// Credits the window holds.
    pub credit_limit: u64,
    /// Calls of the org and app active at once.
    pub concurrency: u32,
    /// Complex calls of the org and app active at once.
    pub sub_concurrency: u32,
    /// When the call arrives.
    pub now: Timestamp,
    /// How long the slot is held at most if the call is never ended.
    pub slot_lease: chrono::Duration,
}

/// The concurrency slot an admitted call holds until [`CreditStore::end_call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSlot(pub i64);

/// What admitting a call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAdmission {
    /// Admitted: charged, holding `slot`; `used` counts its cost.
    Admitted {
        /// The slot to end.
        slot: CallSlot,
        /// Credits used in the window, this call's included.
        used: u64,
    },
    /// Refused by `refusal`: nothing charged, no slot taken.
    Refused {
        /// The limit that refused it.
        refusal: Refusal,
        /// Credits used in the window.
        used: u64,
    },
}

/// Calls one app of an org has active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCalls {
    /// The app (OAuth client id, or `self` for tokens minted without one).
    pub app: String,
    /// Calls active.
    pub calls: u32,
    /// Complex calls active among them.
    pub complex: u32,
}

/// An org's usage at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditUsage {
    /// Credits used in the window.
    pub used: u64,
    /// When the oldest credits still counted come back (`None`: nothing counted).
    pub next_release: Option<Timestamp>,
    /// Calls active now, per app, by app name.
    pub in_flight: Vec<AppCalls>,
}

/// The app name of tokens minted without an OAuth client (the bootstrap token, admin tokens).
pub const SELF_APP: &str = "self";

/// Credits, concurrency slots and the orgs' own settings.
#[async_trait]
pub trait CreditStore: Send + Sync {
    /// The org's own setting ([`OrgCredits::Inherit`] when it has none).
    async fn org_credits(&self, org: OrgId) -> StoreResult<OrgCredits>;
    /// Stores the org's own setting; `Inherit` removes it. [`crate::StoreError::NotFound`] when the
    /// org does not exist.
    async fn set_org_credits(&self, org: OrgId, setting: OrgCredits) -> StoreResult<()>;
    /// Admits `call` or refuses it, in one transaction serialised per org: a call is refused
    /// when its org and app hold `concurrency` slots, when it is complex and they hold
    /// `sub_concurrency` complex slots, or when its cost would take the window's credits past
    /// `credit_limit`; otherwise its cost is charged to the minute of `call.now` and it takes a
    /// slot lapsing at `now + slot_lease`.
    async fn begin_call(&self, call: &CallRequest) -> StoreResult<CallAdmission>;
    /// Frees an admitted call's slot; a slot already freed or lapsed changes nothing.
    async fn end_call(&self, slot: CallSlot) -> StoreResult<()>;
    /// The org's usage at `now` (zero for an org that made no metered call).
    async fn credit_usage(&self, org: OrgId, now: Timestamp) -> StoreResult<CreditUsage>;
}

/// The minute bucket of an instant (minutes since the Unix epoch).
pub fn minute_of(instant: Timestamp) -> i64 {
    instant.timestamp_millis().div_euclid(60_000)
}

/// The oldest minute bucket still counted at `now`: a bucket counts until 24 hours after its
/// minute ends.
pub fn first_counted_minute(now: Timestamp) -> i64 {
    (now.timestamp_millis() - WINDOW_SECONDS * 1000).div_euclid(60_000)
}

/// When the credits of `minute` come back: 24 hours after the minute ends.
pub fn release_time(minute: i64) -> Timestamp {
    let end_ms = (minute + 1).saturating_mul(60_000);
    chrono::DateTime::from_timestamp_millis(end_ms).unwrap_or_default() + chrono::Duration::seconds(WINDOW_SECONDS)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    #[test]
    fn a_minute_counts_until_a_day_after_it_ends() {
        let used_at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 30).unwrap();
        let bucket = minute_of(used_at);
        let back = release_time(bucket);
        assert_eq!(back, Utc.with_ymd_and_hms(2026, 12, 2, 9, 1, 0).unwrap());
        assert!(first_counted_minute(back - Duration::milliseconds(1)) <= bucket, "still counted a moment before");
        assert!(first_counted_minute(back) > bucket, "no longer counted when it comes back");
        assert!(back - used_at >= Duration::hours(24), "never early");
    }
}
