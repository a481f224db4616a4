//! Job details as Zoho writes them, for `GET /crm/bulk/{v}/write/{id}` and the callback body.

use bulkwrite_wire::{
    status, FieldMappingEcho, FileStatus, JobDetails, JobResult, ModuleRef, ResourceDetails, UserRef,
};
use chrono::{DateTime, Utc};

use crate::ids::JobId;
use crate::jobspec::JobSpec;
use crate::state::{JobState, ResourceState};
use crate::version::ApiVersion;

/// A resource's progress, as the renderer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceCounts {
    /// Where the resource is.
    pub state: ResourceState,
    /// Rows that created a record.
    pub added: u64,
    /// Rows that updated a record.
    pub updated: u64,
    /// Rows skipped.
    pub skipped: u64,
}

/// Everything job details show.
#[derive(Debug, Clone)]
pub struct JobView<'a> {
    /// The job's id.
    pub id: JobId,
    /// The job's state, written as Zoho's status word.
    pub state: JobState,
    /// What the job was asked to do.
    pub spec: &'a JobSpec,
    /// Progress per resource, in the spec's order.
    pub resources: &'a [ResourceCounts],
    /// The encoding the file was read with, once known.
    pub character_encoding: Option<&'a str>,
    /// The user who created the job.
    pub created_by: UserRef,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// The org's zone, which times are written in.
    pub time_zone: chrono_tz::Tz,
    /// Present once the result file exists.
    pub download_url: Option<String>,
    /// The API version of the request, which decides the document's shape.
    pub version: ApiVersion,
}

/// ISO 8601 with the zone's offset at that instant, seconds precision, as Zoho writes every time
/// (`2026-11-28T15:30:58+05:30`).
pub fn format_time(instant: DateTime<Utc>, time_zone: chrono_tz::Tz) -> String {
    instant.with_timezone(&time_zone).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Renders the job-details document in the shape of `view.version`.
pub fn render_job_details(view: &JobView<'_>) -> JobDetails {
    let mut resource = Vec::with_capacity(view.spec.resources.len());
    for (index, spec) in view.spec.resources.iter().enumerate() {
        let counts = view.resources.get(index).copied().unwrap_or(ResourceCounts {
            state: ResourceState::Pending,
            added: 0,
            updated: 0,
            skipped: 0,
        });
        let module = if view.version.writes_module_objects() {
            ModuleRef::Object { api_name: spec.module.clone(), id: Some(spec.module_id.clone()) }
        } else {
            ModuleRef::Name(spec.module.clone())
        };
        let field_mappings = spec
            .mappings
            .iter()
            .map(|m| FieldMappingEcho {
                api_name: m.api_name.clone(),
                index: m.index,
                format: m.format.clone(),
                find_by: m.find_by.clone(),
                module: m.module.clone(),
                parent_column_index: view.version.writes_module_objects().then_some(m.parent_column_index),
                default_value: m.default_value.clone(),
            })
            .collect();
        let file = if view.state == JobState::Queued || counts.state == ResourceState::Pending {
            FileStatus {
                status: counts.state.zoho_status().to_string(),
                name: None,
                added_count: None,
                skipped_count: None,
                updated_count: None,
                total_count: None,
            }
        } else {
            FileStatus {
                status: counts.state.zoho_status().to_string(),
                name: Some(crate::result::file_base_name(&spec.csv_name)),
                added_count: Some(counts.added),
                skipped_count: Some(counts.skipped),
                updated_count: Some(counts.updated),
                total_count: Some(counts.added + counts.updated + counts.skipped),
            }
        };
        resource.push(ResourceDetails {
            status: counts.state.zoho_status().to_string(),
            kind: "data".to_string(),
            module,
            find_by: spec.find_by.clone(),
            file_names: spec.file_names.clone().filter(|_| view.version.has_parent_child()),
            ignore_empty: spec.ignore_empty,
            field_mappings,
            file,
            code: view.version.writes_module_objects().then(|| counts.state.zoho_code().to_string()),
        });
    }
    let encoding = if view.state == JobState::Queued { None } else { view.character_encoding.map(str::to_string) };
    JobDetails {
        status: view.state.zoho_status().to_string(),
        character_encoding: encoding,
        resource,
        id: view.id.to_string(),
        callback: view.spec.callback.clone(),
        result: view.download_url.clone().map(|download_url| JobResult { download_url }),
        created_by: view.created_by.clone(),
        ignore_empty: view.spec.ignore_empty,
        operation: view.spec.operation.as_str().to_string(),
        created_time: format_time(view.created_at, view.time_zone),
    }
}

/// Where a job's result zip is served, after Zoho's download host:
/// `{base}/v2/crm/{zgid}/bulk-write/{job_id}/{job_id}.zip`.
pub fn download_url(public_base: &str, zgid: crate::ids::OrgId, job: JobId) -> String {
    format!("{}/v2/crm/{zgid}/bulk-write/{job}/{job}.zip", public_base.trim_end_matches('/'))
}

/// The status word of a finished job, for checks that compare with Zoho's vocabulary.
pub fn is_final_status(word: &str) -> bool {
    word == status::COMPLETED || word == status::FAILED
}
