//! The org and records APIs a bulk-write integration needs around its jobs.

use bulkwrite_wire::records::{Record, RecordsPage};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::{error_from_body, error_from_object, Error, Result};
use crate::transport::{read_json, read_json_required, read_limited, Safety};

/// Records one insert call may carry (Zoho's limit); [`Client::insert_records`] splits larger
/// lists.
pub const MAX_RECORDS_PER_CALL: usize = 100;

/// The org as `GET /crm/{v}/org` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    /// The `zgid`: what [`Client::upload`] needs as `X-CRM-ORG`.
    pub zgid: String,
    /// The org record's id.
    pub id: Option<String>,
    /// `company_name`.
    pub company_name: Option<String>,
    /// `time_zone` (IANA name).
    pub time_zone: Option<String>,
    /// The whole org object.
    pub raw: Record,
}

/// The answer for one record of an insert call.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordResult {
    /// `success` or `error`.
    pub status: String,
    /// `SUCCESS`, or the error code (`MANDATORY_NOT_FOUND`, `INVALID_DATA`, `DUPLICATE_DATA`, …).
    pub code: String,
    /// The human text (`record added`, `required field not found`, …).
    pub message: String,
    /// On success `id`, `Created_Time`, `Created_By`, …; on error `api_name`, `json_path`, ….
    pub details: Map<String, Value>,
}

impl RecordResult {
    /// Whether the record was written.
    pub fn is_success(&self) -> bool {
        self.status == "success"
    }

    /// The new record's id (successes only).
    pub fn id(&self) -> Option<&str> {
        if !self.is_success() {
            return None;
        }
        self.details.get("id").and_then(Value::as_str)
    }

    fn from_value(value: &Value) -> RecordResult {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        RecordResult {
            status: text("status"),
            code: text("code"),
            message: text("message"),
            details: value.get("details").and_then(Value::as_object).cloned().unwrap_or_default(),
        }
    }
}

/// Refuses path segments that would change the URL's shape.
pub(crate) fn segment<'a>(what: &str, text: &'a str) -> Result<&'a str> {
    let bad = text.is_empty() || text.chars().any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace());
    if bad {
        return Err(Error::Invalid(format!("{what} '{text}' cannot be a path segment")));
    }
    Ok(text)
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Client {
    /// The org: `GET /crm/{v}/org` (its `zgid` is the `X-CRM-ORG` of uploads).
    pub async fn org(&self) -> Result<Org> {
        let url = self.inner.api_url(&format!("/crm/{}/org", self.version()));
        let response = self.inner.send(Safety::Idempotent, true, |http: &reqwest::Client| Ok(http.get(&url))).await?;
        let body: Value = read_json_required(response).await?;
        let Some(Value::Object(org)) = body.get("org").and_then(|list| list.get(0)) else {
            return Err(Error::Decode("org answer has no org[0]".into()));
        };
        let Some(zgid) = text(org.get("zgid")) else {
            return Err(Error::Decode("org answer has no zgid".into()));
        };
        Ok(Org {
            zgid,
            id: text(org.get("id")),
            company_name: text(org.get("company_name")),
            time_zone: text(org.get("time_zone")),
            raw: org.clone(),
        })
    }

    /// One record: `GET /crm/{v}/{module}/{id}`; `None` when there is none (HTTP 204).
    pub async fn get_record(&self, module: &str, id: &str) -> Result<Option<Record>> {
        let path = format!("/crm/{}/{}/{}", self.version(), segment("module", module)?, segment("record id", id)?);
        let url = self.inner.api_url(&path);
        let response = self.inner.send(Safety::Idempotent, true, |http: &reqwest::Client| Ok(http.get(&url))).await?;
        let page: Option<RecordsPage> = read_json(response).await?;
        Ok(page.and_then(|p| p.data.into_iter().next()))
    }

    /// Inserts records: `POST /crm/{v}/{module}` with `{"data":[…]}`, in calls of at most
    /// [`MAX_RECORDS_PER_CALL`]. Returns one result per record, in order; a record that fails
    /// is a result with status `error`, not an [`Error`]. A request-level error stops the
    /// remaining calls (earlier calls stay applied).
    pub async fn insert_records(&self, module: &str, records: Vec<Record>) -> Result<Vec<RecordResult>> {
        let url = self.inner.api_url(&format!("/crm/{}/{}", self.version(), segment("module", module)?));
        let mut results = Vec::with_capacity(records.len());
        for chunk in records.chunks(MAX_RECORDS_PER_CALL) {
            let body = json!({ "data": chunk });
            let build = |http: &reqwest::Client| Ok(http.post(&url).json(&body));
            let response = self.inner.send(Safety::Unsafe, true, build).await?;
            let status = response.status().as_u16();
            let bytes = read_limited(response, 64 * 1024 * 1024).await?;
            let value: Option<Value> = serde_json::from_slice(&bytes).ok();
            match value.as_ref().and_then(|v| v.get("data")).and_then(Value::as_array) {
                Some(data) if data.len() == chunk.len() => results.extend(data.iter().map(RecordResult::from_value)),
                Some(data) => {
                    return Err(Error::Decode(format!("{} answers for {} records", data.len(), chunk.len())));
                }
                None => {
                    if let Some(Value::Object(object)) = &value {
                        if let Some(error) = error_from_object(status, object) {
                            return Err(error);
                        }
                    }
                    if status >= 300 {
                        return Err(error_from_body(status, &bytes));
                    }
                    return Err(Error::Decode(format!("HTTP {status} insert answer has no data array")));
                }
            }
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_results_read_both_outcomes() {
        let ok = RecordResult::from_value(
            &json!({"code":"SUCCESS","details":{"id":"5"},"message":"record added","status":"success"}),
        );
        assert!(ok.is_success());
        assert_eq!(ok.id(), Some("5"));
        let bad = RecordResult::from_value(
            &json!({"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"}),
        );
        assert!(!bad.is_success());
        assert_eq!(bad.id(), None);
        assert_eq!(bad.details["api_name"], "Last_Name");
    }

    #[test]
    fn path_segments_are_checked() {
        assert!(segment("module", "Leads").is_ok());
        assert!(segment("module", "../x").is_err());
        assert!(segment("id", "").is_err());
    }
}
