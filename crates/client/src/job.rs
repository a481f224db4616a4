//! A builder for create-job requests that writes each API version's shape.

use bulkwrite_wire::{Callback, CreateJobRequest, DefaultValue, FieldMapping, Operation, ResourceRequest};
use serde_json::Value;

use crate::endpoints::ApiVersion;

/// A bulk write job under construction; [`BulkWriteJob::to_request`] turns it into the wire
/// body for a given version (or hand it to [`crate::Client::submit`]).
///
/// Methods that concern a resource (`map…`, `find_by`, `file_names`, …) apply to the **last**
/// resource added, so parent/child jobs read top to bottom:
///
/// ```
/// use bulkwrite_client::{ApiVersion, BulkWriteJob};
///
/// let job = BulkWriteJob::insert("Leads", "5725767000000100004")
///     .map("Last_Name", 0)
///     .map("Owner", 1)
///     .map_with("Date_3", 2, |m| m.format("yyyy/MM/dd"))
///     .ignore_empty(true)
///     .callback("https://www.zoho.com/in/crm/");
/// let body = serde_json::to_value(job.to_request(ApiVersion::V2)).unwrap();
/// assert_eq!(body["resource"][0]["module"], "Leads");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BulkWriteJob {
    operation: Operation,
    ignore_empty: Option<bool>,
    character_encoding: Option<String>,
    callback: Option<Callback>,
    resources: Vec<ResourceSpec>,
}

#[derive(Debug, Clone, PartialEq)]
struct ResourceSpec {
    module: String,
    module_id: Option<String>,
    file_id: String,
    file_names: Option<Vec<String>>,
    find_by: Option<String>,
    ignore_empty: Option<bool>,
    mappings: Vec<FieldMapping>,
}

impl BulkWriteJob {
    /// A job with `operation` and one `data` resource.
    pub fn new(operation: Operation, module: impl Into<String>, file_id: impl Into<String>) -> BulkWriteJob {
        BulkWriteJob {
            operation,
            ignore_empty: None,
            character_encoding: None,
            callback: None,
            resources: vec![ResourceSpec::new(module.into(), file_id.into())],
        }
    }

    /// An `insert` job: every row creates a record (rows whose `find_by` key exists are skipped
    /// when [`BulkWriteJob::find_by`] is given).
    pub fn insert(module: impl Into<String>, file_id: impl Into<String>) -> BulkWriteJob {
        BulkWriteJob::new(Operation::Insert, module, file_id)
    }

    /// An `update` job; needs [`BulkWriteJob::find_by`] (`id` or a unique field).
    pub fn update(module: impl Into<String>, file_id: impl Into<String>) -> BulkWriteJob {
        BulkWriteJob::new(Operation::Update, module, file_id)
    }

    /// An `upsert` job; needs [`BulkWriteJob::find_by`] (`id` or a unique field).
    pub fn upsert(module: impl Into<String>, file_id: impl Into<String>) -> BulkWriteJob {
        BulkWriteJob::new(Operation::Upsert, module, file_id)
    }

    /// The job's operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    fn last(&mut self) -> &mut ResourceSpec {
        self.resources.last_mut().expect("a job always has a resource")
    }

    /// Adds another resource (a child of the first one in parent/child imports); later
    /// resource methods apply to it.
    pub fn resource(mut self, module: impl Into<String>, file_id: impl Into<String>) -> BulkWriteJob {
        self.resources.push(ResourceSpec::new(module.into(), file_id.into()));
        self
    }

    /// Top-level `ignore_empty`: `true` leaves fields untouched for empty cells.
    pub fn ignore_empty(mut self, ignore: bool) -> BulkWriteJob {
        self.ignore_empty = Some(ignore);
        self
    }

    /// `character_encoding` of the CSV (e.g. `UTF-8`); detected when not given.
    pub fn character_encoding(mut self, encoding: impl Into<String>) -> BulkWriteJob {
        self.character_encoding = Some(encoding.into());
        self
    }

    /// `callback` with method `post`: the job-details document is POSTed there on completion.
    pub fn callback(mut self, url: impl Into<String>) -> BulkWriteJob {
        self.callback = Some(Callback { url: url.into(), method: "post".into() });
        self
    }

    /// The module's id (written from v2.1 on as `module.id`).
    pub fn module_id(mut self, id: impl Into<String>) -> BulkWriteJob {
        self.last().module_id = Some(id.into());
        self
    }

    /// The resource's `find_by`: the unique field (or `id`) that locates existing records.
    pub fn find_by(mut self, field: impl Into<String>) -> BulkWriteJob {
        self.last().find_by = Some(field.into());
        self
    }

    /// The resource's own `ignore_empty` (overrides the top-level one).
    pub fn resource_ignore_empty(mut self, ignore: bool) -> BulkWriteJob {
        self.last().ignore_empty = Some(ignore);
        self
    }

    /// The resource's `file_names`: which CSVs of the zip belong to it (parent/child imports).
    pub fn file_names<I, S>(mut self, names: I) -> BulkWriteJob
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.last().file_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Maps CSV column `index` (0-based) to the field `api_name`.
    pub fn map(self, api_name: impl Into<String>, index: u32) -> BulkWriteJob {
        self.map_with(api_name, index, |m| m)
    }

    /// Maps a column and refines the mapping (`format`, `find_by`, `default_value`, …).
    pub fn map_with(
        mut self,
        api_name: impl Into<String>,
        index: u32,
        refine: impl FnOnce(Mapping) -> Mapping,
    ) -> BulkWriteJob {
        let start = Mapping(FieldMapping { api_name: api_name.into(), index: Some(index), ..FieldMapping::default() });
        self.last().mappings.push(refine(start).0);
        self
    }

    /// A mapping with no column: every row gets `value` (e.g. a `Layout` id).
    pub fn map_default(mut self, api_name: impl Into<String>, value: impl Into<Value>) -> BulkWriteJob {
        let mapping = FieldMapping {
            api_name: api_name.into(),
            default_value: Some(DefaultValue { value: Some(value.into()), ..DefaultValue::default() }),
            ..FieldMapping::default()
        };
        self.last().mappings.push(mapping);
        self
    }

    /// Adds a mapping exactly as given.
    pub fn mapping(mut self, mapping: FieldMapping) -> BulkWriteJob {
        self.last().mappings.push(mapping);
        self
    }

    /// The create-job body as `version` writes it: `module` a string in v2, `{"api_name"}`
    /// (plus `id` when given) from v2.1 on. Resources without mappings are auto-mapped by the
    /// server from the CSV header.
    pub fn to_request(&self, version: ApiVersion) -> CreateJobRequest {
        CreateJobRequest {
            operation: self.operation,
            ignore_empty: self.ignore_empty,
            character_encoding: self.character_encoding.clone(),
            callback: self.callback.clone(),
            resource: self
                .resources
                .iter()
                .map(|r| ResourceRequest {
                    kind: "data".into(),
                    module: version.module_ref(&r.module, r.module_id.as_deref()),
                    file_id: r.file_id.clone(),
                    file_names: r.file_names.clone(),
                    find_by: r.find_by.clone(),
                    ignore_empty: r.ignore_empty,
                    field_mappings: (!r.mappings.is_empty()).then(|| r.mappings.clone()),
                })
                .collect(),
        }
    }
}

impl ResourceSpec {
    fn new(module: String, file_id: String) -> ResourceSpec {
        ResourceSpec {
            module,
            module_id: None,
            file_id,
            file_names: None,
            find_by: None,
            ignore_empty: None,
            mappings: Vec::new(),
        }
    }
}

/// One field mapping being refined inside [`BulkWriteJob::map_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping(FieldMapping);

impl Mapping {
    /// `format`: the pattern of date, date-time or number cells, e.g. `yyyy/MM/dd`.
    pub fn format(mut self, format: impl Into<String>) -> Mapping {
        self.0.format = Some(format.into());
        self
    }

    /// `find_by` of a lookup column: `id`, a unique field, or `email` for user lookups.
    pub fn find_by(mut self, field: impl Into<String>) -> Mapping {
        self.0.find_by = Some(field.into());
        self
    }

    /// `module` of a lookup column (the related module).
    pub fn module(mut self, module: impl Into<String>) -> Mapping {
        self.0.module = Some(module.into());
        self
    }

    /// `default_value.value`: used when the cell is empty.
    pub fn default_value(mut self, value: impl Into<Value>) -> Mapping {
        self.0.default_value = Some(DefaultValue { value: Some(value.into()), ..DefaultValue::default() });
        self
    }

    /// The whole `default_value` object (`value`, `name`, `module`).
    pub fn default_value_full(mut self, value: DefaultValue) -> Mapping {
        self.0.default_value = Some(value);
        self
    }

    /// `parent_column_index`: the parent-CSV column whose value this child column matches.
    pub fn parent_column_index(mut self, index: u32) -> Mapping {
        self.0.parent_column_index = Some(index);
        self
    }

    /// The mapping as it will be sent.
    pub fn into_inner(self) -> FieldMapping {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_body_is_reproduced_byte_for_byte() {
        let job = BulkWriteJob::insert("Leads", "4150868000005379001")
            .ignore_empty(true)
            .callback("https://www.zoho.com/in/crm/")
            .map("Last_Name", 0)
            .map("Owner", 1)
            .map_with("Date_3", 2, |m| m.format("yyyy/MM/dd"))
            .map("Mobile", 3)
            .map("Layout", 4);
        let text = serde_json::to_string(&job.to_request(ApiVersion::V2)).unwrap();
        assert_eq!(
            text,
            r#"{"operation":"insert","ignore_empty":true,"callback":{"url":"https://www.zoho.com/in/crm/","method":"post"},"resource":[{"type":"data","module":"Leads","file_id":"4150868000005379001","field_mappings":[{"api_name":"Last_Name","index":0},{"api_name":"Owner","index":1},{"api_name":"Date_3","index":2,"format":"yyyy/MM/dd"},{"api_name":"Mobile","index":3},{"api_name":"Layout","index":4}]}]}"#
        );
    }

    #[test]
    fn later_versions_write_module_objects_and_children() {
        let job = BulkWriteJob::upsert("Leads", "1")
            .find_by("Email")
            .file_names(["leads.csv"])
            .map("Last_Name", 1)
            .map_default("Layout", "42")
            .resource("Lead_Phones", "1")
            .file_names(["phones.csv"])
            .map_with("Parent_Id", 0, |m| m.parent_column_index(0))
            .map_with("Owner", 2, |m| m.find_by("email").module("users").default_value("x"));
        let body = serde_json::to_value(job.to_request(ApiVersion::V8)).unwrap();
        assert_eq!(body["resource"][0]["module"], json!({"api_name": "Leads"}));
        assert_eq!(body["resource"][0]["find_by"], "Email");
        assert_eq!(
            body["resource"][0]["field_mappings"][1],
            json!({"api_name": "Layout", "default_value": {"value": "42"}})
        );
        assert_eq!(body["resource"][1]["module"], json!({"api_name": "Lead_Phones"}));
        assert_eq!(body["resource"][1]["field_mappings"][0]["parent_column_index"], 0);
        assert_eq!(
            body["resource"][1]["field_mappings"][1],
            json!({"api_name": "Owner", "index": 2, "find_by": "email", "module": "users", "default_value": {"value": "x"}})
        );
    }

    #[test]
    fn unmapped_resources_leave_field_mappings_out() {
        let body = serde_json::to_value(BulkWriteJob::insert("Leads", "1").to_request(ApiVersion::V2_1)).unwrap();
        assert!(body["resource"][0].get("field_mappings").is_none());
    }
}
