//! A job's progress as a bulkwrite server streams it (`GET /bulkwrite/v1/jobs/{id}/events`,
//! Server-Sent Events; Zoho has no such path). The parser is bounded: a line longer than
//! [`MAX_EVENT_LINE`] or an event larger than [`MAX_EVENT_BYTES`] ends the stream with
//! [`Error::Decode`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{error_from_body, Error, Result};
use crate::transport::{read_limited, Safety};
use crate::Client;

/// The longest line of an events stream read.
pub const MAX_EVENT_LINE: usize = 64 * 1024;
/// The largest event (all its lines) read.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Largest error body read when the stream is refused.
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// What every event carries: the job's state and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The job id.
    pub id: String,
    /// Our word: `QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub state: String,
    /// Zoho's word: `ADDED`, `IN PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Rows done so far (`added` + `updated` + `skipped`), over all resources.
    pub processed: u64,
    /// Rows that created records.
    pub added: u64,
    /// Rows that updated records.
    pub updated: u64,
    /// Rows skipped (failed rows included, as Zoho counts them).
    pub skipped: u64,
    /// Why the job failed or who cancelled it.
    #[serde(default)]
    pub error: Option<String>,
    /// When the job finished (RFC 3339), once it has.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Each resource's `state`, `processed`, `rows_done`, `added`, `updated`, `skipped`.
    #[serde(default)]
    pub resources: Vec<Value>,
}

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    /// True for the last event (`event: end`), which carries the final state.
    pub end: bool,
    /// The job as the event shows it.
    pub progress: JobProgress,
}

/// An open events stream.
#[derive(Debug)]
pub struct JobEvents {
    response: reqwest::Response,
    parser: Parser,
    ended: bool,
}

impl JobEvents {
    /// The next event; `None` once the stream closed (after its `end` event, or early when the
    /// connection dropped: then the caller polls instead).
    pub async fn next(&mut self) -> Result<Option<JobEvent>> {
        if self.ended {
            return Ok(None);
        }
        loop {
            if let Some((name, data)) = self.parser.next_event()? {
                if name != "progress" && name != "end" {
                    continue; // a kind this client does not know yet
                }
                let progress: JobProgress =
                    serde_json::from_str(&data).map_err(|e| Error::Decode(format!("event data: {e}")))?;
                let end = name == "end";
                self.ended = end;
                return Ok(Some(JobEvent { end, progress }));
            }
            match self.response.chunk().await? {
                Some(chunk) => self.parser.push(&chunk)?,
                None => {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
    }
}

impl Client {
    /// Opens a job's events stream: `GET /bulkwrite/v1/jobs/{id}/events`, read for at most
    /// `timeout`. `Ok(None)` when the server has no such path or no stream to spare (404, 405,
    /// 429, 501: real Zoho, an older bulkwrite, a busy node): poll instead.
    pub async fn job_events(&self, job_id: &str, timeout: Duration) -> Result<Option<JobEvents>> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/jobs/{job_id}/events"));
        let build = |http: &reqwest::Client| {
            Ok(http.get(&url).header(reqwest::header::ACCEPT, "text/event-stream").timeout(timeout))
        };
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let status = response.status();
        if matches!(status.as_u16(), 404 | 405 | 429 | 501) {
            return Ok(None);
        }
        if !status.is_success() {
            let body = read_limited(response, MAX_REFUSAL_BODY).await?;
            return Err(error_from_body(status.as_u16(), &body));
        }
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if !is_stream {
            return Ok(None);
        }
        Ok(Some(JobEvents { response, parser: Parser::default(), ended: false }))
    }
}

/// The SSE parser: bytes in, `(event name, data)` out, within the bounds.
#[derive(Debug, Default)]
struct Parser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// Complete lines not yet read into an event.
    lines: std::collections::VecDeque<String>,
    /// The event being read.
    name: Option<String>,
    data: Option<String>,
    size: usize,
}

impl Parser {
    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        for &byte in bytes {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let line = String::from_utf8(line).map_err(|_| Error::Decode("an event line is not UTF-8".into()))?;
                self.lines.push_back(line);
            } else {
                if self.line.len() >= MAX_EVENT_LINE {
                    return Err(Error::Decode(format!("an event line longer than {MAX_EVENT_LINE} bytes")));
                }
                self.line.push(byte);
            }
        }
        Ok(())
    }

    /// The next complete event, if the lines read so far hold one.
    fn next_event(&mut self) -> Result<Option<(String, String)>> {
        while let Some(line) = self.lines.pop_front() {
            if line.is_empty() {
                let name = self.name.take().unwrap_or_else(|| "message".to_string());
                self.size = 0;
                if let Some(data) = self.data.take() {
                    return Ok(Some((name, data)));
                }
                continue;
            }
            self.size += line.len();
            if self.size > MAX_EVENT_BYTES {
                return Err(Error::Decode(format!("an event larger than {MAX_EVENT_BYTES} bytes")));
            }
            if line.starts_with(':') {
                continue; // a comment: keep-alive
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.name = Some(value.to_string()),
                "data" => match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                },
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_read_whole() {
        let mut parser = Parser::default();
        parser.push(b": keep-alive\n\nevent: progress\ndata: {\"a\":").unwrap();
        assert_eq!(parser.next_event().unwrap(), None);
        parser.push(b"1}\r\n\r\nevent: end\ndata: 2\ndata: 3\n\n").unwrap();
        assert_eq!(parser.next_event().unwrap(), Some(("progress".into(), "{\"a\":1}".into())));
        assert_eq!(parser.next_event().unwrap(), Some(("end".into(), "2\n3".into())));
        assert_eq!(parser.next_event().unwrap(), None);
    }

    #[test]
    fn a_line_or_an_event_past_the_bound_is_an_error() {
        let mut parser = Parser::default();
        assert!(parser.push(&vec![b'x'; MAX_EVENT_LINE + 1]).is_err());
        let mut parser = Parser::default();
        let line = format!("data: {}\n", "y".repeat(MAX_EVENT_LINE - 10));
        for _ in 0..=(MAX_EVENT_BYTES / line.len()) {
            parser.push(line.as_bytes()).unwrap();
        }
        assert!(parser.next_event().is_err());
    }
}
