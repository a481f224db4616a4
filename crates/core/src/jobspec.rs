//! A create-job request, read ([`parse`]) and checked against the org and the upload
//! ([`validate`]), becomes a [`JobSpec`]: what the worker runs and what job details echo.

pub mod parse;
pub mod validate;

use bulkwrite_wire::{Callback, FieldMapping, Operation};
use serde::{Deserialize, Serialize};

pub use crate::limits::Limits;
pub use parse::{parse_body, parse_request};
pub use validate::{validate, ValidationContext};

/// The pseudo-field that carries a record id in a mapping (`find_by: "id"`).
pub const ID_FIELD: &str = "id";

/// A validated job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Insert, update or upsert.
    pub operation: Operation,
    /// Echo of the top-level `ignore_empty`.
    pub ignore_empty: Option<bool>,
    /// The encoding the client asked for, if any.
    pub character_encoding: Option<String>,
    /// Where the job's details are sent when it finishes.
    pub callback: Option<Callback>,
    /// The resources, in request order: the parent first, then its children.
    pub resources: Vec<ResourceSpec>,
    /// A dry run (`POST /bulkwrite/v1/dry-runs`): the job runs every check and writes no records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// One validated resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSpec {
    /// The module's canonical API name.
    pub module: String,
    /// Zoho's id of the module (echoed in v2.1+ job details).
    pub module_id: String,
    /// The upload holding the CSV.
    pub file_id: String,
    /// The CSV inside the zip this resource reads.
    pub csv_name: String,
    /// Echo of `file_names`.
    pub file_names: Option<Vec<String>>,
    /// The field that finds the record to update (update and upsert).
    pub find_by: Option<String>,
    /// Echo of the resource's own `ignore_empty`.
    pub ignore_empty: Option<bool>,
    /// What empty cells mean for this resource (resource value, else top level, else false).
    pub effective_ignore_empty: bool,
    /// Mappings with canonical field names; derived from the header row when the request had none.
    pub mappings: Vec<FieldMapping>,
    /// Whether `mappings` were derived from the header row.
    pub auto_mapped: bool,
    /// The CSV header row as seen at creation.
    pub header: Vec<String>,
    /// Column indexes echoed into the result file (the first three mapped columns).
    pub echo_columns: Vec<u32>,
    /// For a child resource: how its rows find their parent record.
    #[serde(default)]
    pub parent_link: Option<ParentLink>,
    /// The mapped fields (API names) the job creator's profile makes read-only or hides, as
    /// its profile was at creation: a row giving one a value is skipped with `INVALID_DATA`
    /// on its column; a row leaving it empty passes and leaves it alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_fields: Vec<String>,
}

/// A child resource's link to the parent resource (the first one): the child's `field`, read
/// from its column `index`, holds the value of the parent CSV's column `parent_column_index`;
/// the child row belongs to the record made from the parent row with that value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// The child's link field, by API name.
    pub field: String,
    /// The child CSV's column holding the parent's value.
    pub index: u32,
    /// The parent CSV's column whose value the child column matches.
    pub parent_column_index: u32,
    /// The parent resource's module.
    pub parent_module: String,
}

impl ResourceSpec {
    /// Header names of the echoed columns.
    pub fn echo_headers(&self) -> Vec<String> {
        self.echo_columns.iter().map(|index| self.header.get(*index as usize).cloned().unwrap_or_default()).collect()
    }
}
