//! bulkwrite's own job endpoints beside Zoho's (a bulkwrite server only; Zoho has neither):
//! dry runs, cancel a job and list an org's jobs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use bulkwrite_wire::{CreateJobRequest, CreatedJob, SuccessBody};

use crate::error::Result;
use crate::job::BulkWriteJob;
use crate::transport::{read_json_required, Safety};
use crate::Client;

/// The queue's document of a job (`GET /bulkwrite/v1/jobs/{id}`), as a cancel answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// The job id.
    pub id: String,
    /// Our word: `QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub state: String,
    /// Zoho's word: `ADDED`, `IN PROGRESS`, `COMPLETED` or `FAILED`.
    #[serde(default)]
    pub status: String,
    /// Why the job failed or who cancelled it.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether the job is a dry run (it writes no records).
    #[serde(default)]
    pub dry_run: bool,
    /// Every other field of the document.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// What a cancel request got.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancelled {
    /// True when the job had stopped by the time the server answered (HTTP 200); false when it
    /// was still stopping (HTTP 202).
    pub stopped: bool,
    /// The job as the server answered.
    pub job: JobState,
}

/// Filters and page of a job list; `Default` is every job, first page of 200.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobListFilter {
    /// Zoho's status word: `ADDED`, `IN PROGRESS`, `COMPLETED`, `FAILED` (a read job's
    /// `QUEUED` and `FAILURE` too).
    pub status: Option<String>,
    /// A module's API name.
    pub module: Option<String>,
    /// `insert`, `update`, `upsert` or `read`.
    pub operation: Option<String>,
    /// `write` (Bulk Write jobs) or `read` (Bulk Read jobs).
    pub kind: Option<String>,
    /// 1-based page.
    pub page: Option<u32>,
    /// Jobs per page (at most 200).
    pub per_page: Option<u32>,
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    /// The jobs of the page.
    pub jobs: Vec<JobSummary>,
    /// The page's `page`, `per_page`, `count` and `more_records`.
    pub info: JobListInfo,
}

/// A job in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job id.
    pub id: String,
    /// `write` (Bulk Write) or `read` (Bulk Read).
    #[serde(default = "write_kind")]
    pub kind: String,
    /// Zoho's word (a read job's `state`).
    pub status: String,
    /// Our word.
    pub state: String,
    /// `insert`, `update`, `upsert` or `read`.
    pub operation: String,
    /// The modules of its resources, in order (a read job: the module it exports).
    pub modules: Vec<String>,
    /// When it was created, in the org's zone.
    pub created_time: String,
    /// When it finished, if it did.
    pub finished_time: Option<String>,
    /// Who created it (`id`, `name`).
    pub created_by: Value,
    /// Rows so far: `added`, `updated`, `skipped`, `total`.
    pub counts: JobCounts,
}

fn write_kind() -> String {
    "write".to_string()
}

/// A job's row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    /// Rows that made records.
    pub added: u64,
    /// Rows that updated records.
    pub updated: u64,
    /// Rows skipped with errors.
    pub skipped: u64,
    /// Rows processed so far.
    pub total: u64,
}

/// The page facts of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobListInfo {
    /// The page.
    pub page: u32,
    /// Jobs per page.
    pub per_page: u32,
    /// Jobs on this page.
    pub count: u32,
    /// Whether a later page has jobs.
    pub more_records: bool,
}

impl Client {
    /// Creates a dry run of a job from a ready body: `POST /bulkwrite/v1/dry-runs?version={v}`.
    /// The server validates it exactly as [`Client::create_job`] would and runs every check of
    /// the job without writing a record; its details and result file are read as a job's
    /// ([`Client::get_job`], [`Client::wait_for_job`], [`Client::download_result`]).
    pub async fn dry_run(&self, request: &CreateJobRequest) -> Result<CreatedJob> {
        let url = self.inner.api_url("/bulkwrite/v1/dry-runs");
        let version = self.version().as_str();
        let build = |http: &reqwest::Client| Ok(http.post(&url).query(&[("version", version)]).json(request));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let body: SuccessBody<CreatedJob> = read_json_required(response).await?;
        Ok(body.details)
    }

    /// A dry run of a [`BulkWriteJob`] (see [`Client::dry_run`]), written in this client's
    /// version's shape.
    pub async fn submit_dry_run(&self, job: &BulkWriteJob) -> Result<CreatedJob> {
        self.dry_run(&job.to_request(self.version())).await
    }

    /// Asks a queued or running job to stop: `POST /bulkwrite/v1/jobs/{id}/cancel`. A finished
    /// job is an [`crate::Error::Api`] (`INVALID_REQUEST`).
    pub async fn cancel_job(&self, job_id: &str) -> Result<Cancelled> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/jobs/{job_id}/cancel"));
        let build = |http: &reqwest::Client| Ok(http.post(&url));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let stopped = response.status() == reqwest::StatusCode::OK;
        let job: JobState = read_json_required(response).await?;
        Ok(Cancelled { stopped, job })
    }

    /// The queue's document of a job: `GET /bulkwrite/v1/jobs/{id}`.
    pub async fn job_state(&self, job_id: &str) -> Result<JobState> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/jobs/{job_id}"));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        read_json_required(response).await
    }

    /// One page of the org's jobs, newest first: `GET /bulkwrite/v1/jobs`.
    pub async fn list_jobs(&self, filter: &JobListFilter) -> Result<JobList> {
        let url = self.inner.api_url("/bulkwrite/v1/jobs");
        let mut query: Vec<(&str, String)> = Vec::new();
        let texts = [
            ("status", &filter.status),
            ("module", &filter.module),
            ("operation", &filter.operation),
            ("kind", &filter.kind),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        for (name, value) in [("page", filter.page), ("per_page", filter.per_page)] {
            if let Some(value) = value {
                query.push((name, value.to_string()));
            }
        }
        let build = |http: &reqwest::Client| Ok(http.get(&url).query(&query));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        read_json_required(response).await
    }
}
