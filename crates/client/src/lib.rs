//! An async client for the Zoho CRM Bulk Write API that works the same against a bulkwrite
//! server and against real Zoho.
//!
//! The flow is Zoho's: [upload](Client::upload) a zipped CSV (a plain CSV is zipped for you),
//! [create a job](Client::submit) that maps its columns to fields, [wait](Client::wait_for_job)
//! for it, then [download the result](Client::download_result) with one status per row.
//! The [org](Client::org) and [records](Client::get_record) calls cover what an import needs
//! around that.
//!
//! ```no_run
//! use bulkwrite_client::{ApiVersion, BulkWriteJob, Client, Credentials, Endpoints, UploadSource, WaitOptions};
//!
//! # async fn run() -> bulkwrite_client::Result<()> {
//! // Against bulkwrite: one base URL and its bootstrap token. Against Zoho use
//! // `Endpoints::zoho(DataCenter::Eu)` and `Credentials::refresh_token(id, secret, refresh)`.
//! let client = Client::builder(Endpoints::bulkwrite("http://127.0.0.1:8080"), Credentials::access_token("1000.…"))
//!     .version(ApiVersion::V2)
//!     .build()?;
//! let org = client.org().await?;
//! let csv = "Last_Name,Email\nBoyle,boyle@example.com\n";
//! let file = client.upload(&org.zgid, UploadSource::csv_bytes("leads.csv", csv)).await?;
//! let job = BulkWriteJob::insert("Leads", &file.file_id).map("Last_Name", 0).map("Email", 1);
//! let created = client.submit(&job).await?;
//! let options = WaitOptions::default().on_progress(|p| eprintln!("{}: {}/{} rows", p.status, p.total, p.added));
//! let details = client.wait_for_job(&created.id, options).await?;
//! let result = client.download_result(&details).await?;
//! for row in result.rows() {
//!     println!("{:?} {:?} {:?}", row.status, row.record_id, row.errors);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! **Errors** are one [`Error`] enum: Zoho's error bodies (both the CRM shape and the upload
//! host's gateway shapes) are [`Error::Api`] with the HTTP status, code, message and details;
//! token refusals are [`Error::OAuth`].
//!
//! **Tokens**: with [`Credentials::RefreshToken`] the access token is fetched on first use,
//! cached, shared by all clones, renewed a margin before `expires_in` runs out (one refresh at
//! a time), and renewed once more when a call answers 401 `INVALID_TOKEN`.
//!
//! **Retries** follow [`RetryPolicy`]: idempotent requests (GETs, token refresh) on transport
//! errors, 429 and 5xx; POSTs only on 429 or when the connection could not be opened — never
//! after a 5xx, which may mean the job or record was created.
//!
//! **Versions**: [`ApiVersion`] sets the path segment; `v2` writes a resource's `module` as a
//! string, later versions as `{"api_name": …}` ([`BulkWriteJob::to_request`]).

#![warn(missing_docs)]

mod auth;
mod client;
pub mod clock;
mod controls;
mod credits;
mod endpoints;
mod error;
mod events;
mod faults;
mod inbox;
mod job;
mod jobs;
mod metadata;
mod query;
mod read;
mod records;
mod report;
mod result;
mod transport;
mod undo;
mod upload;
mod wait;

pub use auth::Credentials;
pub use client::{Client, ClientBuilder};
pub use controls::{ClockState, QueueState};
pub use credits::{AppCallsInFlight, CreditConcurrency, CreditCounts, CreditWindow, CreditsPlan, OrgCredits};
pub use endpoints::{ApiVersion, DataCenter, Endpoints};
pub use error::{Error, Result};
pub use events::{JobEvent, JobEvents, JobProgress, MAX_EVENT_BYTES, MAX_EVENT_LINE};
pub use job::{BulkWriteJob, Mapping};
pub use jobs::{Cancelled, JobCounts, JobList, JobListFilter, JobListInfo, JobState, JobSummary};
pub use query::{criteria_value, RecordsFound, SearchBy};
pub use read::{BulkRead, ExportSummary};
pub use records::{Org, RecordResult, MAX_RECORDS_PER_CALL};
pub use report::{ReportError, ReportLine};
pub use result::{parse_errors, ResultCsv, ResultFile, ResultRow, RowError, RowStatus, RESULT_COLUMNS};
pub use transport::RetryPolicy;
pub use undo::UndoRow;
pub use upload::{zip_csv, zip_entries, UploadSource};
pub use wait::{is_finished, Progress, ProgressFn, WaitOptions};

/// The wire shapes this client speaks (re-exported from `bulkwrite-wire`).
pub use bulkwrite_wire as wire;
pub use bulkwrite_wire::records::Record;
pub use bulkwrite_wire::upload::UploadedFile;
pub use bulkwrite_wire::{CreateJobRequest, CreatedJob, JobDetails, Operation};
