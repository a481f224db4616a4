//! Reading records back: records search (`GET /crm/{v}/{module}/search`) and COQL
//! (`POST /crm/{v}/coql`).

use bulkwrite_wire::records::Record;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::records::segment;
use crate::transport::{read_json, Safety};

/// What a search looks for (Zoho takes one of these per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchBy {
    /// `((field:operator:value)and(…))`; build values with [`criteria_value`].
    Criteria(String),
    /// Every email field of the module equals this (case-insensitive).
    Email(String),
    /// Every phone field of the module equals this.
    Phone(String),
    /// Text in any text-like field (two characters at least).
    Word(String),
}

impl SearchBy {
    fn param(&self) -> (&'static str, &str) {
        match self {
            SearchBy::Criteria(text) => ("criteria", text),
            SearchBy::Email(text) => ("email", text),
            SearchBy::Phone(text) => ("phone", text),
            SearchBy::Word(text) => ("word", text),
        }
    }
}

/// A value escaped for search criteria: `\`, `(`, `)`, `,` and `:` get a backslash, as Zoho
/// asks (the query string is encoded by the client).
pub fn criteria_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '(' | ')' | ',' | ':') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of records a search or COQL query answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordsFound {
    /// The records, as the server renders them (empty when nothing matched).
    pub data: Vec<Record>,
    /// Whether another page (search) or a greater offset (COQL) has more.
    pub more_records: bool,
}

impl RecordsFound {
    fn read(body: Option<Value>) -> Result<RecordsFound> {
        let Some(body) = body else {
            return Ok(RecordsFound { data: Vec::new(), more_records: false });
        };
        let Some(data) = body.get("data").and_then(Value::as_array) else {
            return Err(Error::Decode("answer has no data array".into()));
        };
        let data = data.iter().filter_map(|r| r.as_object().cloned()).collect();
        let more_records = body.pointer("/info/more_records").and_then(Value::as_bool).unwrap_or(false);
        Ok(RecordsFound { data, more_records })
    }
}

impl Client {
    /// One page of `module` records matching `by` (`page` from 1, `per_page` at most 200).
    /// No match is an empty page (Zoho answers 204).
    pub async fn search(&self, module: &str, by: &SearchBy, page: u32, per_page: u32) -> Result<RecordsFound> {
        let url = self.inner.api_url(&format!("/crm/{}/{}/search", self.version(), segment("module", module)?));
        let (name, value) = by.param();
        let query = [(name, value.to_string()), ("page", page.to_string()), ("per_page", per_page.to_string())];
        let response = self
            .inner
            .send(Safety::Idempotent, true, |http: &reqwest::Client| Ok(http.get(&url).query(&query)))
            .await?;
        RecordsFound::read(read_json(response).await?)
    }

    /// Runs a COQL `select_query`. No match is an empty answer (Zoho answers 204).
    pub async fn coql(&self, select_query: &str) -> Result<RecordsFound> {
        let url = self.inner.api_url(&format!("/crm/{}/coql", self.version()));
        let body = json!({ "select_query": select_query });
        // A read, though sent with POST: safe to retry.
        let response =
            self.inner.send(Safety::Idempotent, true, |http: &reqwest::Client| Ok(http.post(&url).json(&body))).await?;
        RecordsFound::read(read_json(response).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_values_are_escaped() {
        assert_eq!(criteria_value(r"Burns,B (x): \y"), r"Burns\,B \(x\)\: \\y");
    }

    #[test]
    fn answers_and_empty_answers_read() {
        let found = RecordsFound::read(Some(json!({"data": [{"id": "1"}], "info": {"more_records": true}}))).unwrap();
        assert_eq!((found.data.len(), found.more_records), (1, true));
        assert_eq!(RecordsFound::read(None).unwrap().data.len(), 0);
        assert!(RecordsFound::read(Some(json!({"info": {}}))).is_err());
    }
}
