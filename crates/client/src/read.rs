//! Bulk Read (export): create a read job, wait for it, download its zip, and [`Client::export`]
//! which joins every page (following `next_page_token`) into one CSV, streamed page by page.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bulkwrite_wire::read::{
    read_state, CreateReadRequest, CreatedRead, ReadCreatedBody, ReadDetailsBody, ReadJobDetails, ReadQuery,
};
use bulkwrite_wire::{Callback, ModuleRef};
use serde_json::{json, Value};

use crate::endpoints::ApiVersion;
use crate::error::{Error, Result};
use crate::transport::{read_json_required, Safety};
use crate::Client;

/// What to export: a module, its fields, and criteria (`field comparator value`, joined by
/// `and`), in the shape [`BulkRead::to_request`] writes for a version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkRead {
    /// The module's API name.
    pub module: String,
    /// Fields to export (dot notation through lookups allowed); empty: every field.
    pub fields: Vec<String>,
    /// `(field, comparator, value)` conditions, all of which must hold.
    pub criteria: Vec<(String, String, Value)>,
    /// The page to read (1-based).
    pub page: Option<u32>,
    /// Where to continue (a previous page's `next_page_token`).
    pub page_token: Option<String>,
    /// A URL the server posts the job's details to when it ends.
    pub callback_url: Option<String>,
}

impl BulkRead {
    /// Every record of `module`.
    pub fn module(module: &str) -> BulkRead {
        BulkRead { module: module.to_string(), ..BulkRead::default() }
    }

    /// Exports these fields.
    pub fn fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> BulkRead {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a condition; for `in`, `not_in`, `between` and `not_between` give a JSON array.
    pub fn criterion(mut self, field: &str, comparator: &str, value: Value) -> BulkRead {
        self.criteria.push((field.to_string(), comparator.to_string(), value));
        self
    }

    /// The create body in `version`'s shape (`module` and criteria fields as strings in v2,
    /// as `{"api_name"}` objects later).
    pub fn to_request(&self, version: ApiVersion) -> CreateReadRequest {
        let objects = version != ApiVersion::V2;
        let module = if objects {
            ModuleRef::Object { api_name: self.module.clone(), id: None }
        } else {
            ModuleRef::Name(self.module.clone())
        };
        let condition = |(field, comparator, value): &(String, String, Value)| {
            if objects {
                json!({"field": {"api_name": field}, "comparator": comparator, "value": value})
            } else {
                json!({"api_name": field, "comparator": comparator, "value": value})
            }
        };
        let criteria = match self.criteria.as_slice() {
            [] => None,
            [one] => Some(condition(one)),
            many => Some(json!({"group_operator": "and", "group": many.iter().map(condition).collect::<Vec<_>>()})),
        };
        CreateReadRequest {
            callback: self.callback_url.as_ref().map(|url| Callback { url: url.clone(), method: "post".into() }),
            query: ReadQuery {
                module: Some(module),
                cvid: None,
                fields: (!self.fields.is_empty()).then(|| self.fields.clone()),
                criteria,
                page: self.page,
                page_token: self.page_token.clone(),
            },
            file_type: None,
        }
    }
}

/// What [`Client::export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written (header excluded).
    pub records: u64,
    /// Pages (read jobs) it took.
    pub pages: u32,
    /// The read jobs, in page order.
    pub jobs: Vec<String>,
}

impl Client {
    /// Creates a read job: `POST /crm/bulk/{v}/read`.
    pub async fn create_read_job(&self, request: &CreateReadRequest) -> Result<CreatedRead> {
        let url = self.inner.api_url(&format!("/crm/bulk/{}/read", self.version()));
        let build = |http: &reqwest::Client| Ok(http.post(&url).json(request));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let body: ReadCreatedBody = read_json_required(response).await?;
        body.data
            .into_iter()
            .next()
            .map(|action| action.details)
            .ok_or_else(|| Error::Decode("an empty data list".into()))
    }

    /// A read job's details: `GET /crm/bulk/{v}/read/{id}`.
    pub async fn get_read_job(&self, job_id: &str) -> Result<ReadJobDetails> {
        let url = self.inner.api_url(&format!("/crm/bulk/{}/read/{}", self.version(), job_id));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let body: ReadDetailsBody = read_json_required(response).await?;
        body.data.into_iter().next().ok_or_else(|| Error::Decode("an empty data list".into()))
    }

    /// Polls a read job every `poll` until it is `COMPLETED` or `FAILURE`, calling `progress`
    /// with each state seen.
    pub async fn wait_for_read_job(
        &self,
        job_id: &str,
        poll: Duration,
        mut progress: impl FnMut(&ReadJobDetails),
    ) -> Result<ReadJobDetails> {
        loop {
            let job = self.get_read_job(job_id).await?;
            progress(&job);
            if read_state::is_final(&job.state) {
                return Ok(job);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Streams a completed read job's zip to `path` (`GET /crm/bulk/{v}/read/{id}/result`);
    /// returns the bytes written. The file appears only once complete.
    pub async fn download_read_result_to(&self, job_id: &str, path: &Path) -> Result<u64> {
        let url = self.inner.api_url(&format!("/crm/bulk/{}/read/{}/result", self.version(), job_id));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let mut response = self.inner.send(Safety::Idempotent, true, build).await?;
        let status = response.status();
        if !status.is_success() {
            let body = crate::transport::read_limited(response, 1024 * 1024).await?;
            return Err(crate::error::error_from_body(status.as_u16(), &body));
        }
        let mut file = tokio::fs::File::create(path).await?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await? {
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
            written += chunk.len() as u64;
        }
        file.sync_all().await?;
        Ok(written)
    }

    /// Exports every page of `read` into `out` as one CSV (the header once): a read job per
    /// page, each waited for, downloaded to a temporary file and streamed out, the next
    /// started from `next_page_token`. `progress` sees each job's details as it is polled.
    pub async fn export<W: Write + Send>(
        &self,
        read: &BulkRead,
        out: &mut W,
        poll: Duration,
        mut progress: impl FnMut(u32, &ReadJobDetails),
    ) -> Result<ExportSummary> {
        let mut summary = ExportSummary { records: 0, pages: 0, jobs: Vec::new() };
        let mut page = read.clone();
        loop {
            let created = self.create_read_job(&page.to_request(self.version())).await?;
            summary.pages += 1;
            let number = summary.pages;
            let job = self.wait_for_read_job(&created.id, poll, |job| progress(number, job)).await?;
            let Some(result) = job.result.clone().filter(|_| job.state == read_state::COMPLETED) else {
                let reason = job.result.and_then(|r| r.error_message).map(|m| m.to_string()).unwrap_or_default();
                return Err(Error::Invalid(format!("read job {} ended {}: {reason}", job.id, job.state)));
            };
            let staged = tempfile::NamedTempFile::new()?;
            self.download_read_result_to(&job.id, staged.path()).await?;
            summary.records += copy_csv(staged.path(), out, summary.pages > 1)?;
            summary.jobs.push(job.id.clone());
            match (result.more_records, result.next_page_token) {
                (Some(true), Some(token)) => {
                    page.page = None;
                    page.page_token = Some(token);
                }
                _ => return Ok(summary),
            }
        }
    }
}

/// Copies the zip's one CSV to `out` (without its header when `skip_header`); returns the
/// records copied. Reads line by line, so memory stays flat.
fn copy_csv<W: Write>(zip_path: &Path, out: &mut W, skip_header: bool) -> Result<u64> {
    let file = std::fs::File::open(zip_path)?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| Error::Decode(format!("result zip: {e}")))?;
    if archive.len() != 1 {
        return Err(Error::Decode(format!("the result zip holds {} files, not one", archive.len())));
    }
    let entry = archive.by_index(0).map_err(|e| Error::Decode(format!("result zip: {e}")))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(entry);
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let mut records = 0u64;
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    while reader.read_byte_record(&mut record).map_err(|e| Error::Decode(format!("result CSV: {e}")))? {
        if first {
            first = false;
            if skip_header {
                continue;
            }
        } else {
            records += 1;
        }
        writer.write_byte_record(&record).map_err(|e| Error::Decode(format!("writing the CSV: {e}")))?;
    }
    writer.flush()?;
    Ok(records)
}
