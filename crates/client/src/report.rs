//! The full error report of a job (`GET /bulkwrite/v1/jobs/{id}/report`, a bulkwrite server
//! only): every input row with its own columns, status, record and reasons. Read as a stream,
//! line by line, so a report of any size costs one line of memory.

use std::ops::ControlFlow;

use crate::error::{error_from_body, Error, Result};
use crate::transport::{read_limited, Safety};
use crate::Client;

pub use bulkwrite_wire::rows::{ReportError, ReportLine};

/// The longest report line read (a row of 1 MiB of cells and its reasons, with room).
const MAX_LINE: usize = 4 * 1024 * 1024;

impl Client {
    async fn open_report(&self, job_id: &str, format: &str) -> Result<reqwest::Response> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/jobs/{job_id}/report?format={format}"));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_limited(response, 1024 * 1024).await?;
            return Err(error_from_body(status.as_u16(), &body));
        }
        Ok(response)
    }

    /// Reads a job's report (`format=jsonl`) line by line, handing each row to `each` as it
    /// arrives; returns how many rows it read. `each` answering `Break` stops the read there.
    pub async fn report(&self, job_id: &str, mut each: impl FnMut(ReportLine) -> ControlFlow<()>) -> Result<u64> {
        let mut response = self.open_report(job_id, "jsonl").await?;
        let mut pending: Vec<u8> = Vec::new();
        let mut rows = 0u64;
        let mut take = |line: &[u8]| -> Result<ControlFlow<()>> {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(ControlFlow::Continue(()));
            }
            let parsed: ReportLine =
                serde_json::from_slice(line).map_err(|e| Error::Decode(format!("report line: {e}")))?;
            rows += 1;
            Ok(each(parsed))
        };
        while let Some(chunk) = response.chunk().await? {
            pending.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
                if take(&pending[start..start + end])?.is_break() {
                    return Ok(rows);
                }
                start += end + 1;
            }
            pending.drain(..start);
            if pending.len() > MAX_LINE {
                return Err(Error::Decode(format!("a report line longer than {MAX_LINE} bytes")));
            }
        }
        // The last line: nothing follows it to stop.
        let _last = take(&pending)?;
        Ok(rows)
    }

    /// Streams a job's report to `path` (`csv` or `jsonl`) without holding it in memory; the
    /// file appears once complete. Returns the bytes written.
    pub async fn report_to(&self, job_id: &str, format: &str, path: impl AsRef<std::path::Path>) -> Result<u64> {
        let response = self.open_report(job_id, format).await?;
        crate::client::save_response(response, path.as_ref()).await
    }
}
