//! Fault rules of the test controls (`/bulkwrite/v1/faults`, our own extension): what a test asks
//! bulkwrite to get wrong on purpose, and how the rules are listed.
//!
//! A rule is one of: an HTTP fault (`status`/`code` answers with that Zoho error, `latency_ms`
//! delays the answer, both may be given), a job fault (`job`) or a callback fault (`callback`).
//! `times` fires it for the next N matches, `probability` (with `seed`) for a seeded share of
//! them; neither fires it on every match until it is removed.

use serde::{Deserialize, Serialize};

/// The body of `POST /bulkwrite/v1/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFault {
    /// The HTTP method it matches (any when absent); HTTP faults only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path pattern it matches, `*` standing for one segment (`/crm/bulk/*/write`); any
    /// Zoho path when absent. HTTP faults only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The org (zgid) it is limited to; an org token's rules are always limited to its org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// HTTP status of the error answer (`429`); the code's own when only `code` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Zoho error code of the answer (`TOO_MANY_REQUESTS`); the table's first code of `status`
    /// when only `status` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Milliseconds the answer is delayed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// A job fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobFault>,
    /// A callback fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackFault>,
    /// Fires on the next N matches, then no more (it stays listed until removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fires on this share of matches (0 to 1), decided by `seed` and the match's number, so a
    /// run with the same seed fails the same requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The seed of `probability`; chosen at random (and listed) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// What a job fault does to the next job of the org (each job it hits counts one firing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFault {
    /// The job applies its first N data rows, then ends `FAILED`; the rows after them are
    /// `UNPROCESSED` in its result file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_at_row: Option<u64>,
    /// The job's first chunk fails once, transiently, after its transaction committed: the job
    /// waits out its backoff, resumes after its checkpoint and finishes, every row applied once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fail_chunk_once: bool,
    /// Milliseconds each chunk of the job waits before it is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_ms: Option<u64>,
}

/// What a callback fault does to a delivery attempt (each attempt it hits counts one firing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackFault {
    /// The attempt is answered with this HTTP status instead of reaching the receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The attempt times out (after the callback timeout) instead of reaching the receiver.
    #[serde(default, skip_serializing_if = "is_false")]
    pub timeout: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_false(value: &bool) -> bool {
    !*value
}

/// The answer of `POST /bulkwrite/v1/faults` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedFault {
    /// The rule's id, a 19-digit string.
    pub id: String,
}

/// One rule as `GET /bulkwrite/v1/faults` lists it: the rule as stored (org, method in upper
/// case, the seed chosen) with its id and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// The rule's id.
    pub id: String,
    /// The rule as stored.
    #[serde(flatten)]
    pub rule: NewFault,
    /// How many times it fired.
    pub fired: u64,
    /// How many requests, jobs or deliveries it matched (fired or not).
    pub matched: u64,
    /// When it was added, ISO 8601 in UTC.
    pub created_time: String,
}

/// The answer of `GET /bulkwrite/v1/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultList {
    /// The rules, oldest first.
    pub faults: Vec<Fault>,
}

/// The answer of `DELETE /bulkwrite/v1/faults` and `DELETE /bulkwrite/v1/faults/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedFaults {
    /// How many rules were removed.
    pub removed: u64,
}

/// The header Zoho's API answers carry once an org has used half its daily credits: the
/// credits left. Its only documented rate header (no `Retry-After`); a `429 TOO_MANY_REQUESTS`
/// fault sends it as `0`.
pub const CREDITS_REMAINING_HEADER: &str = "X-API-CREDITS-REMAINING";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_rule_flattens_the_request_beside_its_counts() {
        let fault = Fault {
            id: "5725767000000100001".into(),
            rule: NewFault {
                method: Some("POST".into()),
                path: Some("/crm/bulk/*/write".into()),
                status: Some(429),
                code: Some("TOO_MANY_REQUESTS".into()),
                times: Some(2),
                ..NewFault::default()
            },
            fired: 1,
            matched: 1,
            created_time: "2026-01-02T03:04:05+00:00".into(),
        };
        let text = serde_json::to_string(&fault).unwrap();
        assert_eq!(
            text,
            r#"{"id":"5725767000000100001","method":"POST","path":"/crm/bulk/*/write","status":429,"code":"TOO_MANY_REQUESTS","times":2,"fired":1,"matched":1,"created_time":"2026-01-02T03:04:05+00:00"}"#
        );
        let back: Fault = serde_json::from_str(&text).unwrap();
        assert_eq!(back, fault);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_json::from_str::<NewFault>(r#"{"status": 429, "time": 2}"#).is_err());
        assert!(serde_json::from_str::<NewFault>(r#"{"job": {"fail_at": 3}}"#).is_err());
        let job: NewFault = serde_json::from_str(r#"{"job": {"fail_chunk_once": true}}"#).unwrap();
        assert!(job.job.unwrap().fail_chunk_once);
    }
}
