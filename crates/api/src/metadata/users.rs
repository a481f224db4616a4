//! `GET /crm/{v}/users` (spec §10.2): the `type` filter, `ids`, paging, and each user in the
//! shape of Zoho's Users API. Every user here is confirmed and none is deleted, so
//! `NotConfirmedUsers` and `DeletedUsers` are always empty (HTTP 204, like any empty page).

use std::collections::HashMap;

use bulkwrite_core::details::format_time;
use bulkwrite_core::ids::UserId;
use bulkwrite_store::{Org, User};
use bulkwrite_wire::{ApiError, ErrorCode};
use chrono::{Offset, TimeZone};
use serde_json::{json, Value};

use super::org::primary_user;
use super::{profile_id, role_id, sorted, time_zone};

/// Most users one page holds.
pub const MAX_PER_PAGE: u32 = 200;
/// Most ids one request may name.
pub const MAX_IDS: usize = 100;

/// The `type` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    CurrentUser,
    AllUsers,
    ActiveUsers,
    DeactiveUsers,
    ConfirmedUsers,
    NotConfirmedUsers,
    DeletedUsers,
    ActiveConfirmedUsers,
    AdminUsers,
    ActiveConfirmedAdmins,
}

impl UserType {
    const ALL: [(UserType, &'static str); 10] = [
        (UserType::CurrentUser, "CurrentUser"),
        (UserType::AllUsers, "AllUsers"),
        (UserType::ActiveUsers, "ActiveUsers"),
        (UserType::DeactiveUsers, "DeactiveUsers"),
        (UserType::ConfirmedUsers, "ConfirmedUsers"),
        (UserType::NotConfirmedUsers, "NotConfirmedUsers"),
        (UserType::DeletedUsers, "DeletedUsers"),
        (UserType::ActiveConfirmedUsers, "ActiveConfirmedUsers"),
        (UserType::AdminUsers, "AdminUsers"),
        (UserType::ActiveConfirmedAdmins, "ActiveConfirmedAdmins"),
    ];

    /// Zoho's name, any case.
    pub fn parse(text: &str) -> Option<UserType> {
        UserType::ALL.iter().find(|(_, name)| name.eq_ignore_ascii_case(text.trim())).map(|(t, _)| *t)
    }

    /// Whether `user` is of this type, for a request made as `current`.
    pub fn includes(self, user: &User, current: UserId) -> bool {
        let admin = user.profile == "Administrator";
        match self {
            UserType::CurrentUser => user.id == current,
            UserType::AllUsers | UserType::ConfirmedUsers => true,
            UserType::ActiveUsers | UserType::ActiveConfirmedUsers => user.active,
            UserType::DeactiveUsers => !user.active,
            UserType::NotConfirmedUsers | UserType::DeletedUsers => false,
            UserType::AdminUsers => admin,
            UserType::ActiveConfirmedAdmins => admin && user.active,
        }
    }
}

/// A users request's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    pub user_type: UserType,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    pub ids: Option<Vec<UserId>>,
}

impl UserQuery {
    /// Reads `type` (default `AllUsers`), `page`, `per_page` (≤ 200) and `ids` (≤ 100);
    /// anything else malformed is `INVALID_DATA` naming the parameter.
    pub fn read(params: &HashMap<String, String>) -> Result<UserQuery, ApiError> {
        let invalid = |name: &str| ApiError::new(ErrorCode::InvalidData).detail("param_name", name);
        let user_type = match params.get("type") {
            None => UserType::AllUsers,
            Some(text) => UserType::parse(text).ok_or_else(|| invalid("type"))?,
        };
        let number = |name: &str, default: u32| match params.get(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| invalid(name)),
        };
        let page = number("page", 1)?;
        let per_page = number("per_page", MAX_PER_PAGE)?;
        if per_page > MAX_PER_PAGE {
            return Err(invalid("per_page"));
        }
        let ids = match params.get("ids") {
            None => None,
            Some(list) => {
                let parts: Vec<&str> = list.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
                let ids: Option<Vec<UserId>> = parts.iter().map(|p| UserId::parse(p)).collect();
                match ids {
                    Some(ids) if !ids.is_empty() && ids.len() <= MAX_IDS => Some(ids),
                    _ => return Err(invalid("ids")),
                }
            }
        };
        Ok(UserQuery { user_type, page, per_page, ids })
    }
}

/// The page of users the query asks for, and whether more follow; `None` when the page is
/// empty (the caller answers 204).
pub fn render_page(org: &Org, users: &[User], query: &UserQuery, current: UserId) -> Option<Value> {
    let matching: Vec<&User> = sorted(users)
        .into_iter()
        .filter(|u| query.user_type.includes(u, current))
        .filter(|u| query.ids.as_ref().is_none_or(|ids| ids.contains(&u.id)))
        .collect();
    let start = (query.page as usize - 1).saturating_mul(query.per_page as usize);
    let page: Vec<&User> = matching.iter().skip(start).take(query.per_page as usize).copied().collect();
    if page.is_empty() {
        return None;
    }
    let more_records = matching.len() > start + page.len();
    let primary = primary_user(users);
    let rendered: Vec<Value> = page.iter().map(|u| render_user(org, u, primary)).collect();
    Some(json!({
        "users": rendered,
        "info": {"per_page": query.per_page, "count": page.len(), "page": query.page, "more_records": more_records},
    }))
}

/// `{"users": [user]}` for the user with `id`; `None` when the org has none.
pub fn render_one(org: &Org, users: &[User], id: UserId) -> Option<Value> {
    let user = users.iter().find(|u| u.id == id)?;
    Some(json!({ "users": [render_user(org, user, primary_user(users))] }))
}

/// One user in the Users API shape. `created_by` and `Modified_By` name the org's primary
/// contact (users are created by the first start); `Modified_Time` is the creation time.
pub fn render_user(org: &Org, user: &User, primary: Option<&User>) -> Value {
    let zone = time_zone(org);
    let created = format_time(user.created_at, zone);
    let offset_ms =
        i64::from(zone.offset_from_utc_datetime(&chrono::Utc::now().naive_utc()).fix().local_minus_utc()) * 1000;
    let creator = primary.unwrap_or(user);
    let creator = json!({"name": creator.full_name(), "id": creator.id.to_string()});
    let mut body = json!({
        "country": null,
        "name_format__s": "Salutation,First Name,Last Name",
        "language": "en_US",
        "microsoft": false,
        "id": user.id.to_string(),
        "state": null,
        "fax": null,
        "country_locale": "en_US",
        "sandboxDeveloper": false,
        "zip": null,
        "decimal_separator": "Period",
        "created_time": created,
        "time_format": "hh:mm a",
        "offset": offset_ms,
        "profile": {"name": user.profile, "id": profile_id(org, &user.profile)},
        "created_by": creator,
        "zuid": user.id.to_string(),
        "full_name": user.full_name(),
        "phone": null,
        "dob": null,
        "sort_order_preference__s": "First Name,Last Name",
        "status": if user.active { "active" } else { "disabled" },
        "role": {"name": user.role, "id": role_id(org, &user.role)},
        "locale": "en_US",
    });
    let rest = json!({
        "personal_account": false,
        "default_tab_group": "0",
        "Isonline": false,
        "Modified_By": creator,
        "street": null,
        "Currency": org.currency,
        "alias": null,
        "city": null,
        "signature": null,
        "type__s": "Regular User",
        "first_name": user.first_name,
        "email": user.email,
        "Reporting_To": null,
        "status_reason__s": null,
        "number_separator": "Comma",
        "Modified_Time": created,
        "website": null,
        "mobile": null,
        "last_name": user.last_name,
        "time_zone": org.time_zone,
        "date_format": "MM/dd/yyyy",
        "confirm": true,
        "territories": [],
    });
    if let (Some(body), Value::Object(rest)) = (body.as_object_mut(), rest) {
        body.extend(rest);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::{org, user};

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn types_select_users() {
        let users = [user(1, "Administrator", true), user(2, "Standard", true), user(3, "Administrator", false)];
        let ids = |t: UserType| -> Vec<u64> {
            users.iter().filter(|u| t.includes(u, UserId::new(2))).map(|u| u.id.get()).collect()
        };
        let cases: [(&str, &[u64]); 10] = [
            ("CurrentUser", &[2]),
            ("AllUsers", &[1, 2, 3]),
            ("ActiveUsers", &[1, 2]),
            ("DeactiveUsers", &[3]),
            ("ConfirmedUsers", &[1, 2, 3]),
            ("NotConfirmedUsers", &[]),
            ("DeletedUsers", &[]),
            ("ActiveConfirmedUsers", &[1, 2]),
            ("AdminUsers", &[1, 3]),
            ("ActiveConfirmedAdmins", &[1]),
        ];
        for (name, expected) in cases {
            assert_eq!(ids(UserType::parse(name).unwrap()), expected, "{name}");
        }
        assert_eq!(UserType::parse("currentuser"), Some(UserType::CurrentUser));
        assert_eq!(UserType::parse("Everyone"), None);
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let cases = [
            (vec![("type", "Everyone")], "type"),
            (vec![("page", "0")], "page"),
            (vec![("per_page", "201")], "per_page"),
            (vec![("per_page", "x")], "per_page"),
            (vec![("ids", "12,abc")], "ids"),
            (vec![("ids", ",")], "ids"),
        ];
        for (pairs, name) in cases {
            let error = UserQuery::read(&params(&pairs)).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidData);
            assert_eq!(error.details["param_name"], name, "{pairs:?}");
        }
        let query = UserQuery::read(&params(&[])).unwrap();
        assert_eq!((query.user_type, query.page, query.per_page, query.ids), (UserType::AllUsers, 1, 200, None));
    }

    #[test]
    fn pages_and_user_shape() {
        let users: Vec<User> = (1..=5).map(|id| user(id, "Standard", true)).collect();
        let query = |pairs: &[(&str, &str)]| UserQuery::read(&params(pairs)).unwrap();
        let page = render_page(&org(), &users, &query(&[("per_page", "2"), ("page", "2")]), UserId::new(1)).unwrap();
        let ids: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["3", "4"]);
        assert_eq!(page["info"], json!({"per_page": 2, "count": 2, "page": 2, "more_records": true}));
        assert!(render_page(&org(), &users, &query(&[("page", "2")]), UserId::new(1)).is_none());
        assert!(render_page(&org(), &users, &query(&[("type", "DeletedUsers")]), UserId::new(1)).is_none());
        let picked = render_page(&org(), &users, &query(&[("ids", "5,2")]), UserId::new(1)).unwrap();
        assert_eq!(picked["info"]["count"], 2);

        let body = render_user(&org(), &users[0], None);
        assert_eq!(body["full_name"], "F1 L1");
        assert_eq!(body["status"], "active");
        assert_eq!(body["profile"]["name"], "Standard");
        assert_eq!(body["profile"]["id"].as_str().unwrap().len(), 19);
        assert_eq!(body["role"]["id"].as_str().unwrap().len(), 19);
        assert_eq!(body["created_time"], "2024-01-02T08:34:06+05:30");
        assert_eq!(body["offset"], 19_800_000);
        assert_eq!((body["locale"].as_str(), body["time_format"].as_str()), (Some("en_US"), Some("hh:mm a")));
        assert_eq!(body["date_format"], "MM/dd/yyyy");
        assert_eq!(body["confirm"], true);
        assert_eq!(render_user(&org(), &user(9, "Standard", false), None)["status"], "disabled");
    }
}
