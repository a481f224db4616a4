//! Which calls are metered and what each costs, from the route it matched (see
//! `bulkwrite_core::credits::ApiCall` for Zoho's table).

use axum::http::Method;
use bulkwrite_core::credits::ApiCall;
use serde_json::Value;

/// COQL's row count when the query gives no `LIMIT` (Zoho: 200).
const COQL_DEFAULT_LIMIT: u64 = 200;

/// How a metered call's cost is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// From its path and query alone.
    Call(ApiCall),
    /// From how many records its body's `data` holds (insert, update, upsert records).
    RecordsInBody,
    /// From its COQL query's `LIMIT`.
    CoqlInBody,
}

/// Whether a call to the route template `route` (as the router matched it) is metered, and how
/// its cost is known; `None` for calls Zoho does not meter against CRM credits or that are ours.
pub fn classify(method: &Method, route: &str, query: Option<&str>) -> Option<Metered> {
    if !route.starts_with("/crm/") {
        return None;
    }
    let call = match (method.as_str(), route) {
        ("POST", "/crm/bulk/{version}/write") => ApiCall::BulkWriteInitialize,
        ("POST", "/crm/bulk/{version}/read") => ApiCall::BulkReadInitialize,
        ("POST", "/crm/{version}/coql") => return Some(Metered::CoqlInBody),
        ("POST" | "PUT", "/crm/{version}/{module}") | ("POST", "/crm/{version}/{module}/upsert") => {
            return Some(Metered::RecordsInBody);
        }
        ("GET", "/crm/{version}/{module}/search") => ApiCall::SearchRecords,
        ("GET", "/crm/{version}/{module}") => records_listing(query),
        _ => ApiCall::Standard,
    };
    Some(Metered::Call(call))
}

/// Get records: 3 credits with a custom view (`cvid`); complex when sorted (`sort_by`) too.
fn records_listing(query: Option<&str>) -> ApiCall {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let given = |name: &str| pairs.iter().any(|(key, value)| key == name && !value.is_empty());
    if given("cvid") {
        ApiCall::RecordsWithCustomView
    } else if given("sort_by") {
        ApiCall::RecordsSorted
    } else {
        ApiCall::Standard
    }
}

/// The call a body-priced request makes, read from its body (a body that does not parse costs
/// the least: the handler refuses it anyway).
pub(super) fn priced_by_body(metered: Metered, body: &[u8]) -> ApiCall {
    match metered {
        Metered::Call(call) => call,
        Metered::RecordsInBody => {
            let parsed: Option<Value> = serde_json::from_slice(body).ok();
            let records = parsed.as_ref().and_then(|b| b.get("data")).and_then(Value::as_array).map_or(0, Vec::len);
            ApiCall::WriteRecords(records)
        }
        Metered::CoqlInBody => ApiCall::Coql(coql_rows(body)),
    }
}

/// The rows a COQL body asks for: its `LIMIT` count, or Zoho's default.
fn coql_rows(body: &[u8]) -> u64 {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let Some(text) = parsed.as_ref().and_then(|b| b.get("select_query")).and_then(Value::as_str) else {
        return COQL_DEFAULT_LIMIT;
    };
    bulkwrite_core::query::coql::parse(text)
        .ok()
        .and_then(|query| query.limit)
        .and_then(|limit| limit.trim().parse().ok())
        .unwrap_or(COQL_DEFAULT_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_priced_as_zoho_prices_them() {
        let cases: &[(&str, &str, Option<&str>, Option<Metered>)] = &[
            ("POST", "/crm/bulk/{version}/write", None, Some(Metered::Call(ApiCall::BulkWriteInitialize))),
            ("GET", "/crm/bulk/{version}/write/{job_id}", None, Some(Metered::Call(ApiCall::Standard))),
            ("POST", "/crm/bulk/{version}/read", None, Some(Metered::Call(ApiCall::BulkReadInitialize))),
            ("POST", "/crm/{version}/upload", None, Some(Metered::Call(ApiCall::Standard))),
            (
                "GET",
                "/crm/{version}/{module}",
                Some("cvid=12&page=2"),
                Some(Metered::Call(ApiCall::RecordsWithCustomView)),
            ),
            (
                "GET",
                "/crm/{version}/{module}",
                Some("sort_by=Created_Time"),
                Some(Metered::Call(ApiCall::RecordsSorted)),
            ),
            ("GET", "/crm/{version}/{module}", Some("fields=Last_Name&cvid="), Some(Metered::Call(ApiCall::Standard))),
            ("POST", "/crm/{version}/{module}", None, Some(Metered::RecordsInBody)),
            ("PUT", "/crm/{version}/{module}", None, Some(Metered::RecordsInBody)),
            ("POST", "/crm/{version}/{module}/upsert", None, Some(Metered::RecordsInBody)),
            ("DELETE", "/crm/{version}/{module}", None, Some(Metered::Call(ApiCall::Standard))),
            ("GET", "/crm/{version}/{module}/search", None, Some(Metered::Call(ApiCall::SearchRecords))),
            ("POST", "/crm/{version}/coql", None, Some(Metered::CoqlInBody)),
            ("GET", "/crm/{version}/settings/fields", None, Some(Metered::Call(ApiCall::Standard))),
            ("POST", "/oauth/v2/token", None, None),
            ("GET", "/v2/crm/{zgid}/bulk-write/{job_id}/{file_name}", None, None),
            ("GET", "/bulkwrite/v1/orgs/{org}/credits", None, None),
        ];
        for (method, route, query, expected) in cases {
            let method: Method = method.parse().unwrap();
            assert_eq!(classify(&method, route, *query), *expected, "{method} {route} {query:?}");
        }
    }

    #[test]
    fn bodies_price_records_and_coql() {
        let records = |n: usize| format!("{{\"data\": [{}]}}", vec!["{}"; n].join(","));
        assert_eq!(priced_by_body(Metered::RecordsInBody, records(10).as_bytes()).cost(), 1);
        assert_eq!(priced_by_body(Metered::RecordsInBody, records(11).as_bytes()).cost(), 2);
        assert!(priced_by_body(Metered::RecordsInBody, records(11).as_bytes()).is_complex());
        assert_eq!(priced_by_body(Metered::RecordsInBody, records(100).as_bytes()).cost(), 10);
        assert_eq!(priced_by_body(Metered::RecordsInBody, b"not json").cost(), 1);
        let coql = |query: &str| serde_json::json!({"select_query": query}).to_string();
        let cost = |query: &str| priced_by_body(Metered::CoqlInBody, coql(query).as_bytes()).cost();
        assert_eq!(cost("select Last_Name from Leads where Last_Name is not null"), 1);
        assert_eq!(cost("select Last_Name from Leads where Last_Name is not null limit 1000"), 2);
        assert_eq!(cost("select Last_Name from Leads where Last_Name is not null limit 200, 2000"), 3);
        assert_eq!(cost("select Last_Name from Leads where Last_Name is not null limit 300 offset 10"), 2);
        assert_eq!(priced_by_body(Metered::CoqlInBody, b"{}").cost(), 1);
    }
}
