//! Shapes of Zoho's records API: a page of records and its `info`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One record as the records API writes it: `id` plus field values.
pub type Record = Map<String, Value>;

/// `info` of a record listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    /// Records a page holds at most.
    pub per_page: u32,
    /// Records on this page.
    pub count: u32,
    /// The page's number, from 1.
    pub page: u32,
    /// The field the listing is sorted by, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `asc` or `desc`, when a sort was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    /// Whether records follow this page.
    pub more_records: bool,
    /// The token that reads the next page (v3 and later, past the pages reachable by number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// The token of the page before, in Zoho's shape (this server writes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page_token: Option<String>,
    /// When the page tokens stop working, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token_expiry: Option<String>,
}

/// `{"data":[…],"info":{…}}` of a record listing; `{"data":[…]}` of a single get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordsPage {
    /// The records, each with `id` and its field values.
    pub data: Vec<Record>,
    /// Paging information (listings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<PageInfo>,
}
