//! The plan in force for an org, its settings as requests give them, and the view of its usage
//! that `GET /bulkwrite/v1/orgs/{org}/credits` answers.

use bulkwrite_core::credits::{CreditPlan, Edition, SUB_CONCURRENCY, WINDOW_SECONDS};
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::{OrgCredits, Store, StoreResult, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

/// The plan that meters an org: its own, else the server's; `None`: not metered.
pub fn plan_in_force(org: OrgCredits, server: Option<CreditPlan>) -> Option<CreditPlan> {
    match org {
        OrgCredits::Plan(plan) => Some(plan),
        OrgCredits::Off => None,
        OrgCredits::Inherit => server,
    }
}

/// An org's setting as `PUT /bulkwrite/v1/orgs/{org}/credits` takes it: an edition (with its
/// users and add-on credits) to meter the org by, or `"metered": false` to never meter it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsRequest {
    /// `free`, `standard`, `professional`, `enterprise` or `ultimate` (Zoho's other names too).
    pub edition: Option<String>,
    /// User licences [default: 1].
    pub users: Option<u32>,
    /// Add-on credits [default: 0].
    pub addon_credits: Option<u64>,
    /// `false`: the org is not metered, whatever the server's setting.
    pub metered: Option<bool>,
}

/// The setting a request asks for, or why it cannot be one.
pub fn setting_from_request(request: &CreditsRequest) -> Result<OrgCredits, String> {
    let plan_given = request.edition.is_some() || request.users.is_some() || request.addon_credits.is_some();
    match (request.metered, &request.edition) {
        (Some(false), _) if plan_given => {
            Err("an org that is not metered has no edition, users or add-on credits".into())
        }
        (Some(false), _) => Ok(OrgCredits::Off),
        (_, Some(word)) => {
            let edition: Edition = word.parse().map_err(|e: bulkwrite_core::credits::UnknownEdition| e.to_string())?;
            if request.users == Some(0) {
                return Err("users must be at least 1".into());
            }
            let plan = CreditPlan {
                edition,
                users: request.users.unwrap_or(1),
                addon_credits: request.addon_credits.unwrap_or(0),
            };
            Ok(OrgCredits::Plan(plan))
        }
        (_, None) => {
            Err("give an edition (free, standard, professional, enterprise, ultimate) or \"metered\": false".into())
        }
    }
}

/// The org's own setting as a word: `inherit`, `off` or `plan`.
pub fn setting_word(setting: OrgCredits) -> &'static str {
    match setting {
        OrgCredits::Inherit => "inherit",
        OrgCredits::Off => "off",
        OrgCredits::Plan(_) => "plan",
    }
}

/// A plan as JSON.
pub fn plan_json(plan: &CreditPlan) -> Value {
    json!({"edition": plan.edition.as_str(), "users": plan.users, "addon_credits": plan.addon_credits})
}

/// An instant as RFC 3339 to the second, in UTC.
pub fn seconds(instant: Timestamp) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The org's credits and calls at `now` under the server's plan `server`: the plan in force and
/// where it comes from, used and remaining credits of the window, when credits next come back,
/// and the calls in flight against the concurrency limits.
pub async fn credits_view(
    store: &dyn Store,
    org: OrgId,
    now: Timestamp,
    server: Option<CreditPlan>,
) -> StoreResult<Value> {
    let setting = store.org_credits(org).await?;
    let usage = store.credit_usage(org, now).await?;
    let plan = plan_in_force(setting, server);
    let limit = plan.map(|p| p.credit_limit());
    let in_flight: Vec<Value> = usage
        .in_flight
        .iter()
        .map(|calls| json!({"app": calls.app, "calls": calls.calls, "complex_calls": calls.complex}))
        .collect();
    Ok(json!({
        "org_id": org.to_string(),
        "metered": plan.is_some(),
        "org_setting": setting_word(setting),
        "plan": plan.as_ref().map(plan_json),
        "credits": {
            "limit": limit,
            "used": usage.used,
            "remaining": limit.map(|l| l.saturating_sub(usage.used)),
            "header_from": plan.map(|p| p.header_threshold()),
        },
        "window": {
            "seconds": WINDOW_SECONDS,
            "start": seconds(now - chrono::Duration::seconds(WINDOW_SECONDS)),
            "end": seconds(now),
            "next_release_time": usage.next_release.map(seconds),
        },
        "concurrency": {
            "limit": plan.map(|p| p.concurrency()),
            "sub_concurrency_limit": plan.map(|_| SUB_CONCURRENCY),
            "in_flight": in_flight,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(value: Value) -> CreditsRequest {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn requests_become_settings() {
        let plan = setting_from_request(&request(json!({"edition": "Enterprise", "users": 20}))).unwrap();
        assert_eq!(plan, OrgCredits::Plan(CreditPlan::new(Edition::Enterprise, 20)));
        assert_eq!(setting_from_request(&request(json!({"metered": false}))), Ok(OrgCredits::Off));
        let with_addons = setting_from_request(&request(json!({"edition": "free", "addon_credits": 100}))).unwrap();
        assert_eq!(
            with_addons,
            OrgCredits::Plan(CreditPlan { addon_credits: 100, ..CreditPlan::new(Edition::Free, 1) })
        );
        for bad in [
            json!({}),
            json!({"edition": "gold"}),
            json!({"metered": false, "edition": "free"}),
            json!({"edition": "free", "users": 0}),
        ] {
            assert!(setting_from_request(&request(bad.clone())).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<CreditsRequest>(json!({"editon": "free"})).is_err());
    }

    #[test]
    fn the_orgs_own_setting_wins_over_the_servers() {
        let server = Some(CreditPlan::new(Edition::Free, 1));
        let own = CreditPlan::new(Edition::Ultimate, 3);
        assert_eq!(plan_in_force(OrgCredits::Inherit, server), server);
        assert_eq!(plan_in_force(OrgCredits::Inherit, None), None);
        assert_eq!(plan_in_force(OrgCredits::Off, server), None);
        assert_eq!(plan_in_force(OrgCredits::Plan(own), None), Some(own));
    }
}
