//! Fault rules of a bulkwrite server's test controls (`/bulkwrite/v1/faults`; the server runs
//! with `--test-controls`, the token has the `bulkwrite.test` scope). Zoho has none of this.
//!
//! ```no_run
//! use bulkwrite_client::{Client, Credentials, Endpoints};
//! use bulkwrite_client::wire::faults::NewFault;
//!
//! # async fn run() -> bulkwrite_client::Result<()> {
//! let client = Client::builder(Endpoints::bulkwrite("http://127.0.0.1:8080"), Credentials::access_token("1000.…"))
//!     .build()?;
//! // The next two job creations answer 429 TOO_MANY_REQUESTS, as Zoho does when credits run out.
//! let rule = NewFault {
//!     method: Some("POST".into()),
//!     path: Some("/crm/bulk/*/write".into()),
//!     status: Some(429),
//!     code: Some("TOO_MANY_REQUESTS".into()),
//!     times: Some(2),
//!     ..NewFault::default()
//! };
//! let id = client.add_fault(&rule).await?;
//! for fault in client.faults().await? {
//!     println!("{} fired {} times", fault.id, fault.fired);
//! }
//! client.remove_fault(&id).await?;
//! # Ok(())
//! # }
//! ```

use bulkwrite_wire::faults::{CreatedFault, Fault, FaultList, NewFault, RemovedFaults};

use crate::error::Result;
use crate::transport::{read_json_required, Safety};
use crate::Client;

impl Client {
    /// Adds a fault rule: `POST /bulkwrite/v1/faults`; returns its id. An org token's rule is
    /// limited to its org.
    pub async fn add_fault(&self, rule: &NewFault) -> Result<String> {
        let url = self.inner.api_url("/bulkwrite/v1/faults");
        let build = |http: &reqwest::Client| Ok(http.post(&url).json(rule));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let created: CreatedFault = read_json_required(response).await?;
        Ok(created.id)
    }

    /// The rules the token may see, oldest first, with how often each fired:
    /// `GET /bulkwrite/v1/faults`.
    pub async fn faults(&self) -> Result<Vec<Fault>> {
        let url = self.inner.api_url("/bulkwrite/v1/faults");
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let list: FaultList = read_json_required(response).await?;
        Ok(list.faults)
    }

    /// Removes one rule: `DELETE /bulkwrite/v1/faults/{id}` (an unknown id is
    /// [`crate::Error::Api`] `RESOURCE_NOT_FOUND`).
    pub async fn remove_fault(&self, id: &str) -> Result<()> {
        let url = self.inner.api_url(&format!("/bulkwrite/v1/faults/{id}"));
        let build = |http: &reqwest::Client| Ok(http.delete(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let _removed: RemovedFaults = read_json_required(response).await?;
        Ok(())
    }

    /// Removes every rule the token may see: `DELETE /bulkwrite/v1/faults`; returns how many.
    pub async fn clear_faults(&self) -> Result<u64> {
        let url = self.inner.api_url("/bulkwrite/v1/faults");
        let build = |http: &reqwest::Client| Ok(http.delete(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let removed: RemovedFaults = read_json_required(response).await?;
        Ok(removed.removed)
    }
}
