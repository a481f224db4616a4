//! Jobs as Zoho shows them: the job-details document of a stored job.

use bulkwrite_core::job_details::{download_url, render_job_details, JobView, ResourceCounts};
use bulkwrite_core::version::ApiVersion;
use bulkwrite_wire::{JobDetails, UserRef};

use crate::model::{Job, Org};

impl Job {
    /// The job-details document, in the shape of `version`, with absolute URLs on `public_url`.
    pub fn details(&self, org: &Org, creator_name: String, public_url: &str, version: ApiVersion) -> JobDetails {
        let counts: Vec<ResourceCounts> = self
            .resources
            .iter()
            .map(|p| ResourceCounts { state: p.state, added: p.added, updated: p.updated, skipped: p.skipped })
            .collect();
        let view = JobView {
            id: self.id,
            state: self.state,
            spec: &self.spec,
            resources: &counts,
            character_encoding: self.character_encoding.as_deref(),
            created_by: UserRef { id: self.created_by.to_string(), name: creator_name },
            created_at: self.created_at,
            time_zone: org.time_zone.parse().unwrap_or(chrono_tz::UTC),
            download_url: self.result_blob.as_ref().map(|_| download_url(public_url, self.org, self.id)),
            version,
        };
        render_job_details(&view)
    }

    /// The version the job was created through (it decides the callback's shape).
    pub fn api_version(&self) -> ApiVersion {
        ApiVersion::parse(&self.api_version).unwrap_or(ApiVersion::V2)
    }
}
