//! A bulkwrite server's test controls for callbacks and org state (`--test-controls`; Zoho has
//! none): a job's callback attempts and their replay, the built-in receiver
//! `/bulkwrite/v1/inbox/{name}`, an org's reset and its snapshots. Each call needs the admin
//! key ([`Credentials::admin_key`](crate::Credentials::admin_key)) or an org token granted
//! `bulkwrite.test` (a replay: a bulk write scope; the callback report: a bulk scope, switch or
//! not).
//!
//! ```no_run
//! use bulkwrite_client::{Client, Credentials, Endpoints};
//!
//! # async fn run() -> bulkwrite_client::Result<()> {
//! let client = Client::builder(Endpoints::bulkwrite("http://127.0.0.1:8080"), Credentials::access_token("1000.…"))
//!     .build()?;
//! client.create_snapshot("535167919", "clean").await?;
//! // … a test creates jobs whose callback is http://127.0.0.1:8080/bulkwrite/v1/inbox/t1 …
//! for delivery in client.inbox("t1").await? {
//!     println!("{} {}", delivery.received_time, delivery.body);
//! }
//! client.restore_snapshot("535167919", "clean").await?;
//! # Ok(())
//! # }
//! ```

use bulkwrite_wire::inbox::{
    CallbackReport, Inbox, InboxDelivery, NewSnapshot, Removed, ResetSummary, Snapshot, SnapshotList,
};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::transport::{read_json_required, Safety};
use crate::Client;

impl Client {
    async fn inbox_call<T: DeserializeOwned>(
        &self,
        safety: Safety,
        method: reqwest::Method,
        path: &str,
        body: Option<&NewSnapshot>,
    ) -> Result<T> {
        let url = self.inner.api_url(path);
        let build = |http: &reqwest::Client| {
            let request = http.request(method.clone(), &url);
            Ok(match body {
                Some(body) => request.json(body),
                None => request,
            })
        };
        let response = self.inner.send(safety, true, build).await?;
        read_json_required(response).await
    }

    /// A job's callback with every delivery attempt (request sent, answer received):
    /// `GET /bulkwrite/v1/jobs/{id}/callback`.
    pub async fn callback_report(&self, job_id: &str) -> Result<CallbackReport> {
        let path = format!("/bulkwrite/v1/jobs/{job_id}/callback");
        self.inbox_call(Safety::Idempotent, reqwest::Method::GET, &path, None).await
    }

    /// Sends a finished job's callback again: `POST /bulkwrite/v1/jobs/{id}/callback/replay`;
    /// the answer's `replay_attempt` is the number the new attempt will be recorded with.
    pub async fn replay_callback(&self, job_id: &str) -> Result<CallbackReport> {
        let path = format!("/bulkwrite/v1/jobs/{job_id}/callback/replay");
        self.inbox_call(Safety::Unsafe, reqwest::Method::POST, &path, None).await
    }

    /// What the built-in receiver `name` was sent, oldest first: `GET /bulkwrite/v1/inbox/{name}`.
    pub async fn inbox(&self, name: &str) -> Result<Vec<InboxDelivery>> {
        let path = format!("/bulkwrite/v1/inbox/{name}");
        let inbox: Inbox = self.inbox_call(Safety::Idempotent, reqwest::Method::GET, &path, None).await?;
        Ok(inbox.deliveries)
    }

    /// Empties inbox `name`: `DELETE /bulkwrite/v1/inbox/{name}`; returns how many went.
    pub async fn clear_inbox(&self, name: &str) -> Result<u64> {
        let path = format!("/bulkwrite/v1/inbox/{name}");
        let removed: Removed = self.inbox_call(Safety::Idempotent, reqwest::Method::DELETE, &path, None).await?;
        Ok(removed.removed)
    }

    /// Deletes the org's records, jobs, uploads, callbacks, inbox, fault rules, credits used and
    /// tokens but the caller's; keeps its metadata: `POST /bulkwrite/v1/orgs/{org}/reset`.
    pub async fn reset_org(&self, org: &str) -> Result<ResetSummary> {
        let path = format!("/bulkwrite/v1/orgs/{org}/reset");
        self.inbox_call(Safety::Unsafe, reqwest::Method::POST, &path, None).await
    }

    /// Copies the org's state into snapshot `name`: `POST /bulkwrite/v1/orgs/{org}/snapshots`.
    pub async fn create_snapshot(&self, org: &str, name: &str) -> Result<Snapshot> {
        let path = format!("/bulkwrite/v1/orgs/{org}/snapshots");
        let body = NewSnapshot { name: name.to_string() };
        self.inbox_call(Safety::Unsafe, reqwest::Method::POST, &path, Some(&body)).await
    }

    /// The org's snapshots, oldest first: `GET /bulkwrite/v1/orgs/{org}/snapshots`.
    pub async fn snapshots(&self, org: &str) -> Result<Vec<Snapshot>> {
        let path = format!("/bulkwrite/v1/orgs/{org}/snapshots");
        let list: SnapshotList = self.inbox_call(Safety::Idempotent, reqwest::Method::GET, &path, None).await?;
        Ok(list.snapshots)
    }

    /// Makes the org's state the snapshot's again (reset and copy back, in one transaction):
    /// `POST /bulkwrite/v1/orgs/{org}/snapshots/{name}/restore`.
    pub async fn restore_snapshot(&self, org: &str, name: &str) -> Result<Snapshot> {
        let path = format!("/bulkwrite/v1/orgs/{org}/snapshots/{name}/restore");
        self.inbox_call(Safety::Idempotent, reqwest::Method::POST, &path, None).await
    }

    /// Deletes a snapshot: `DELETE /bulkwrite/v1/orgs/{org}/snapshots/{name}`.
    pub async fn delete_snapshot(&self, org: &str, name: &str) -> Result<()> {
        let path = format!("/bulkwrite/v1/orgs/{org}/snapshots/{name}");
        let _removed: Removed = self.inbox_call(Safety::Idempotent, reqwest::Method::DELETE, &path, None).await?;
        Ok(())
    }
}
