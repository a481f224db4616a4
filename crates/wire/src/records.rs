//! Shapes of Zoho's records API: a page of records and its `info`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One record as the records API writes it: `id` plus field values.
pub type Record = Map<String, Value>;

/// `info` of a record listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    pub per_page: u32,
    pub count: u32,
    pub page: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    pub more_records: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token_expiry: Option<String>,
}

/// `{"data":[…],"info":{…}}` of a record listing; `{"data":[…]}` of a single get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordsPage {
    pub data: Vec<Record>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<PageInfo>,
}
