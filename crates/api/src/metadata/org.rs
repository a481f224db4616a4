//! `GET /crm/{v}/org`: `{"org":[{…}]}` in the shape of Zoho's Organization API.
//!
//! `primary_zuid` and `primary_email` name the primary contact: the first active
//! `Administrator` (by creation), else the first user. Users carry one id here, so a user's
//! `zuid` is that id as well. `currency` is the ISO code, as is `iso_code` (Zoho's own answers
//! put the currency's name, e.g. `US Dollar`, in `currency`).

use bulkwrite_core::job_details::format_time;
use bulkwrite_store::{Org, User};
use serde_json::{json, Value};

use super::{sorted, time_zone};

/// The primary contact of the org.
pub fn primary_user(users: &[User]) -> Option<&User> {
    let ordered = sorted(users);
    ordered.iter().copied().find(|u| u.active && u.profile == "Administrator").or_else(|| ordered.first().copied())
}

/// The symbol of an ISO 4217 code (the code itself when not in the table).
pub fn currency_symbol(code: &str) -> &str {
    const SYMBOLS: &[(&str, &str)] = &[
        ("USD", "$"),
        ("EUR", "€"),
        ("GBP", "£"),
        ("INR", "₹"),
        ("JPY", "¥"),
        ("CNY", "¥"),
        ("AUD", "$"),
        ("CAD", "$"),
        ("NZD", "$"),
        ("SGD", "$"),
        ("HKD", "$"),
        ("MXN", "$"),
        ("BRL", "R$"),
        ("ZAR", "R"),
        ("SEK", "kr"),
        ("NOK", "kr"),
        ("DKK", "kr"),
        ("CHF", "CHF"),
        ("AED", "AED"),
        ("SAR", "SAR"),
    ];
    SYMBOLS.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, s)| *s).unwrap_or(code)
}

/// The whole answer: `{"org":[{…}]}`.
pub fn render_org(org: &Org, users: &[User]) -> Value {
    let primary = primary_user(users);
    let zgid = org.zgid.to_string();
    let licensed = users.iter().filter(|u| u.active).count();
    json!({
        "org": [{
            "country": null,
            "photo_id": null,
            "city": null,
            "description": null,
            "type": "production",
            "created_time": format_time(org.created_at, time_zone(org)),
            "mc_status": false,
            "gapps_enabled": false,
            "translation_enabled": false,
            "street": null,
            "domain_name": format!("org{zgid}"),
            "alias": null,
            "currency": org.currency,
            "id": org.id,
            "state": null,
            "fax": null,
            "employee_count": null,
            "zip": null,
            "website": null,
            "currency_symbol": currency_symbol(&org.currency),
            "mobile": null,
            "currency_locale": "en_US",
            "primary_zuid": primary.map(|u| u.id.to_string()),
            "zia_portal_id": null,
            "time_zone": org.time_zone,
            "zgid": zgid,
            "country_code": null,
            "license_details": {
                "paid_expiry": null,
                "users_license_purchased": licensed,
                "trial_type": null,
                "trial_expiry": null,
                "paid": true,
                "paid_type": "enterprise",
            },
            "phone": null,
            "company_name": org.company_name,
            "privacy_settings": false,
            "primary_email": primary.map(|u| u.email.clone()),
            "iso_code": org.currency,
            "hipaa_compliance_enabled": false,
            "lite_users_enabled": false,
            "max_per_page": 200,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::{org, user};

    #[test]
    fn org_document() {
        let users = [user(3, "Standard", true), user(2, "Administrator", false), user(5, "Administrator", true)];
        let body = render_org(&org(), &users);
        let org = &body["org"][0];
        assert_eq!(org["zgid"], "812345670");
        assert_eq!(org["domain_name"], "org812345670");
        assert_eq!(org["id"], "4150868000000224005");
        assert_eq!(org["primary_zuid"], "5");
        assert_eq!(org["primary_email"], "u5@acme.test");
        assert_eq!((org["currency"].as_str(), org["iso_code"].as_str()), (Some("INR"), Some("INR")));
        assert_eq!(org["currency_symbol"], "₹");
        assert_eq!(org["time_zone"], "Asia/Kolkata");
        assert_eq!(org["created_time"], "2024-01-02T08:34:05+05:30");
        assert_eq!((org["mc_status"].as_bool(), org["gapps_enabled"].as_bool()), (Some(false), Some(false)));
        assert!(org["photo_id"].is_null());
    }

    #[test]
    fn primary_user_falls_back_to_the_first_user() {
        let users = [user(4, "Standard", true), user(2, "Standard", false)];
        assert_eq!(primary_user(&users).map(|u| u.id.get()), Some(2));
        assert!(primary_user(&[]).is_none());
        assert_eq!(currency_symbol("usd"), "$");
        assert_eq!(currency_symbol("XAF"), "XAF");
    }
}
