//! What the metadata endpoints (org, users, modules, fields, layouts) answer besides the schema
//! documents: the org, its users, and the profiles and roles they name. Modules, fields and layouts
//! are rendered by `bulkwrite_core::schema::settings`, which also reads them back when mirroring a
//! real org.
//!
//! Profiles and roles are stored by name (profiles in `bulkwrite_store::ProfileStore`, names on each
//! user), so their ids are derived:
//! `derived_id("profile:<org id>:<name>")` and `derived_id("role:<org id>:<name>")`, 19-digit
//! strings that stay the same for the same org and name across restarts and nodes.

pub mod access;
pub mod org;
pub mod users;

use bulkwrite_core::schema::settings::derived_id;
use bulkwrite_store::{Org, User};

/// The id of the org's profile `name`.
pub fn profile_id(org: &Org, name: &str) -> String {
    derived_id(&format!("profile:{}:{}", org.id, name))
}

/// The id of the org's role `name`.
pub fn role_id(org: &Org, name: &str) -> String {
    derived_id(&format!("role:{}:{}", org.id, name))
}

/// The org's time zone (UTC when the stored name is not a known zone).
pub fn time_zone(org: &Org) -> chrono_tz::Tz {
    org.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

/// Users in a stable order: by creation, then id.
pub fn sorted(users: &[User]) -> Vec<&User> {
    let mut sorted: Vec<&User> = users.iter().collect();
    sorted.sort_by_key(|u| (u.created_at, u.id));
    sorted
}

#[cfg(test)]
pub(crate) mod tests {
    use bulkwrite_core::ids::{OrgId, UserId};
    use chrono::TimeZone;

    use super::*;

    pub(crate) fn org() -> Org {
        Org {
            zgid: OrgId::new(812_345_670),
            id: "4150868000000224005".into(),
            company_name: "Acme".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
            created_at: chrono::Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    pub(crate) fn user(id: u64, profile: &str, active: bool) -> User {
        User {
            id: UserId::new(id),
            org: OrgId::new(812_345_670),
            first_name: format!("F{id}"),
            last_name: format!("L{id}"),
            email: format!("u{id}@acme.test"),
            profile: profile.into(),
            role: if profile == "Administrator" { "CEO".into() } else { "Manager".into() },
            active,
            created_at: chrono::Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
                + chrono::Duration::seconds(id as i64),
        }
    }

    #[test]
    fn profile_and_role_ids_are_stable_per_org_and_name() {
        let org = org();
        assert_eq!(profile_id(&org, "Administrator").len(), 19);
        assert_eq!(profile_id(&org, "Administrator"), profile_id(&org.clone(), "Administrator"));
        assert_ne!(profile_id(&org, "CEO"), role_id(&org, "CEO"));
        let other = Org { id: "4150868000000224999".into(), ..org.clone() };
        assert_ne!(profile_id(&org, "Standard"), profile_id(&other, "Standard"));
    }

    #[test]
    fn unknown_time_zone_is_utc() {
        assert_eq!(time_zone(&Org { time_zone: "Mars/Base".into(), ..org() }), chrono_tz::UTC);
        assert_eq!(time_zone(&org()), chrono_tz::Asia::Kolkata);
    }
}
