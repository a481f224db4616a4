//! A bulkwrite server's test controls for time and stepping (`--test-controls`; Zoho has
//! none): move the server's clock, pause the queue and step it one chunk at a time, so a test
//! sees a token expire or a job part-way without waiting. Each call needs the admin key
//! ([`Credentials::admin_key`](crate::Credentials::admin_key)) or an org token granted
//! `bulkwrite.test`; with the switch off the paths answer `INVALID_URL_PATTERN`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Result;
use crate::jobs::JobState;
use crate::transport::{read_json_required, Safety};
use crate::Client;

/// The server's business time (`GET /bulkwrite/v1/clock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Business time now, RFC 3339.
    pub now: String,
    /// How far it runs ahead of the real time, in seconds.
    pub offset_seconds: i64,
}

/// The queue as the stepping controls show it (`GET /bulkwrite/v1/queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Whether the queue is paused.
    pub paused: bool,
    /// Jobs waiting for a worker.
    pub queued: u64,
    /// Jobs a worker is running now (after a pause: 0, unless the pause is still settling).
    pub running: u64,
    /// Jobs in progress that no worker holds (stopped by the pause or a step).
    pub held: u64,
}

#[derive(Deserialize)]
struct StepAnswer {
    job: JobState,
}

impl Client {
    async fn control(&self, safety: Safety, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = self.inner.api_url(path);
        let build = |http: &reqwest::Client| {
            let request = http.request(method.clone(), &url);
            Ok(match &body {
                Some(body) => request.json(body),
                None => request,
            })
        };
        let response = self.inner.send(safety, true, build).await?;
        read_json_required(response).await
    }

    async fn clock_answer(&self, body: Value) -> Result<ClockState> {
        let answer = self.control(Safety::Unsafe, reqwest::Method::POST, "/bulkwrite/v1/clock", Some(body)).await?;
        decode(answer)
    }

    /// The server's business time: `GET /bulkwrite/v1/clock`.
    pub async fn clock(&self) -> Result<ClockState> {
        decode(self.control(Safety::Idempotent, reqwest::Method::GET, "/bulkwrite/v1/clock", None).await?)
    }

    /// Moves the server's clock forward (every node's): `POST /bulkwrite/v1/clock
    /// {"advance": by}` with `by` like `7d`, `12h`, `30m` or `90s`. Tokens, download links and
    /// uploads expire, retention sweeps and callback retries fall due as if that time had passed
    /// (the server sweeps before it answers). A negative amount is refused (`INVALID_DATA`).
    pub async fn advance_clock(&self, by: &str) -> Result<ClockState> {
        self.clock_answer(json!({"advance": by})).await
    }

    /// [`Client::advance_clock`] by a duration (whole seconds).
    pub async fn advance_clock_by(&self, by: Duration) -> Result<ClockState> {
        self.clock_answer(json!({"advance": by.as_secs()})).await
    }

    /// Sets the server's clock back to the real time: `POST /bulkwrite/v1/clock {"reset": true}`.
    pub async fn reset_clock(&self) -> Result<ClockState> {
        self.clock_answer(json!({"reset": true})).await
    }

    /// The queue: `GET /bulkwrite/v1/queue`.
    pub async fn queue(&self) -> Result<QueueState> {
        decode(self.control(Safety::Idempotent, reqwest::Method::GET, "/bulkwrite/v1/queue", None).await?)
    }

    /// Pauses the queue on every node: `POST /bulkwrite/v1/queue/pause`. No job is claimed any
    /// more and running jobs stop before their next chunk, still `IN PROGRESS`; the answer comes
    /// once none runs (or after ten seconds, `running` then says how many still do).
    pub async fn pause_queue(&self) -> Result<QueueState> {
        decode(self.control(Safety::Idempotent, reqwest::Method::POST, "/bulkwrite/v1/queue/pause", None).await?)
    }

    /// Lets the queue run again: `POST /bulkwrite/v1/queue/resume`.
    pub async fn resume_queue(&self) -> Result<QueueState> {
        decode(self.control(Safety::Idempotent, reqwest::Method::POST, "/bulkwrite/v1/queue/resume", None).await?)
    }

    /// Runs exactly one chunk of a paused queue: `POST /bulkwrite/v1/queue/step` (`{"job_id":
    /// job}` when given; else the oldest queued or held job). Returns once the chunk committed,
    /// with the job's document: its counts are exactly those Zoho's details path shows.
    pub async fn step_queue(&self, job: Option<&str>) -> Result<JobState> {
        let body = job.map_or_else(|| json!({}), |job| json!({"job_id": job}));
        let answer =
            self.control(Safety::Unsafe, reqwest::Method::POST, "/bulkwrite/v1/queue/step", Some(body)).await?;
        decode::<StepAnswer>(answer).map(|answer| answer.job)
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| crate::Error::Decode(format!("unexpected answer shape: {e}")))
}
