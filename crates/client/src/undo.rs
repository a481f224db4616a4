//! Undoing a job (a bulkwrite server only; Zoho has no such thing): `POST
//! /bulkwrite/v1/jobs/{id}/undo` queues an undo job, followed through the queue's document
//! (`GET /bulkwrite/v1/jobs/{id}`), whose result lists one row per record.

use std::io::{Cursor, Read};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::jobs::JobState;
use crate::result::RowStatus;
use crate::transport::{read_json_required, Safety};
use crate::Client;

/// One row of an undo's result: what the undo did to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoRow {
    /// The record.
    pub record_id: String,
    /// `DELETED` (the job added it), `RESTORED` (the job updated it) or `CONFLICT` (left alone).
    pub status: RowStatus,
    /// Why a record was left alone (empty otherwise).
    pub errors: String,
    /// The record's module.
    pub module: String,
    /// The row of the undone job's file that first wrote the record.
    pub source_row: u64,
}

impl Client {
    /// Queues an undo of a finished write job: `POST /bulkwrite/v1/jobs/{id}/undo`. Answers the
    /// undo job's id (`id`, `undo_of`, `state`); a job that cannot be undone is an
    /// [`Error::Api`] (`INVALID_REQUEST`, with the reason as its message).
    pub async fn undo_job(&self, job_id: &str) -> Result<JobState> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/jobs/{job_id}/undo"));
        let build = |http: &reqwest::Client| Ok(http.post(&url));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        read_json_required(response).await
    }

    /// Polls the queue's document of a job every `every` until it is `SUCCEEDED`, `FAILED` or
    /// `CANCELLED` (for jobs Zoho's details path does not show, such as an undo).
    pub async fn wait_for_job_state(&self, job_id: &str, every: Duration) -> Result<JobState> {
        loop {
            let state = self.job_state(job_id).await?;
            if matches!(state.state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED") {
                return Ok(state);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Downloads and parses a finished undo's result (its document's `result.download_url`).
    pub async fn download_undo_result(&self, undo: &JobState) -> Result<Vec<UndoRow>> {
        let url = undo
            .rest
            .get("result")
            .and_then(|result| result.get("download_url"))
            .and_then(|url| url.as_str())
            .ok_or_else(|| Error::Invalid(format!("undo {} has no result yet (state {})", undo.id, undo.state)))?
            .to_string();
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let mut response = self.inner.send(Safety::Idempotent, true, build).await?;
        if !response.status().is_success() {
            return Err(Error::Decode(format!("undo result download answered {}", response.status())));
        }
        let mut zip = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            zip.extend_from_slice(&chunk);
        }
        parse_undo_zip(&zip)
    }
}

/// The rows of every CSV of an undo's result zip (`RECORD_ID,STATUS,ERRORS,MODULE,SOURCE_ROW`).
fn parse_undo_zip(zip: &[u8]) -> Result<Vec<UndoRow>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| Error::Decode(format!("not a zip: {e}")))?;
    let mut rows = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| Error::Decode(format!("zip entry {index}: {e}")))?;
        let mut text = Vec::new();
        entry.read_to_end(&mut text).map_err(|e| Error::Decode(format!("zip entry {index}: {e}")))?;
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_slice());
        for record in reader.records() {
            let record = record.map_err(|e| Error::Decode(format!("undo result: {e}")))?;
            let cell = |i: usize| record.get(i).unwrap_or("").to_string();
            rows.push(UndoRow {
                record_id: cell(0),
                status: RowStatus::parse(&cell(1)).map_err(|e| Error::Decode(format!("STATUS cell: {e}")))?,
                errors: cell(2),
                module: cell(3),
                source_row: cell(4).parse().unwrap_or(0),
            });
        }
    }
    Ok(rows)
}
