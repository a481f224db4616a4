//! The client: construction, upload, jobs and result download.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bulkwrite_wire::upload::UploadedFile;
use bulkwrite_wire::{CreateJobRequest, CreatedJob, JobDetails, SuccessBody};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::auth::Credentials;
use crate::clock::Clock;
use crate::endpoints::{ApiVersion, Endpoints};
use crate::error::{error_from_body, Error, Result};
use crate::job::BulkWriteJob;
use crate::result::ResultFile;
use crate::transport::{read_json_required, read_limited, Inner, RetryPolicy, Safety};
use crate::upload::{uploaded_file, PreparedUpload, UploadSource};

/// A Bulk Write API client. Cheap to clone: clones share the connection pool and the token
/// cache. See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    version: ApiVersion,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.endpoints)
            .field("credentials", &self.inner.credentials)
            .field("version", &self.version)
            .finish()
    }
}

/// Configures a [`Client`]; start with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    endpoints: Endpoints,
    credentials: Credentials,
    version: ApiVersion,
    retry: RetryPolicy,
    token_margin: Duration,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    max_download_bytes: u64,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
}

impl ClientBuilder {
    /// The API version in paths (default [`ApiVersion::V8`]).
    pub fn version(mut self, version: ApiVersion) -> ClientBuilder {
        self.version = version;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> ClientBuilder {
        self.retry = retry;
        self
    }

    /// How long before expiry an access token is renewed (default 60 s; never more than half
    /// the token's lifetime).
    pub fn token_refresh_margin(mut self, margin: Duration) -> ClientBuilder {
        self.token_margin = margin;
        self
    }

    /// A per-request timeout, response body included (default none: uploads and downloads of
    /// big files may take long; the connect timeout still applies).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The connect timeout (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// The largest result zip [`Client::download_result`] keeps in memory (default 512 MiB);
    /// [`Client::download_result_to`] has no limit.
    pub fn max_download_bytes(mut self, limit: u64) -> ClientBuilder {
        self.max_download_bytes = limit;
        self
    }

    /// Uses this `reqwest` client (its own timeouts and proxies then apply).
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    /// The clock the token cache reads (default [`SystemClock`](crate::clock::SystemClock)): a
    /// [`ManualClock`](crate::clock::ManualClock) lets a test expire tokens without waiting.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ClientBuilder {
        self.clock = clock;
        self
    }

    /// Checks the endpoint URLs and builds the client.
    pub fn build(self) -> Result<Client> {
        for (role, base) in self.endpoints.all() {
            let url =
                reqwest::Url::parse(base).map_err(|e| Error::Invalid(format!("{role} endpoint '{base}': {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::Invalid(format!("{role} endpoint '{base}' is not http(s)")));
            }
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut builder = reqwest::Client::builder()
                    .user_agent(concat!("bulkwrite-client/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(self.connect_timeout);
                if let Some(timeout) = self.timeout {
                    builder = builder.timeout(timeout);
                }
                builder.build()?
            }
        };
        let inner = Inner {
            http,
            endpoints: self.endpoints,
            credentials: self.credentials,
            retry: self.retry,
            token_margin: self.token_margin,
            max_download_bytes: self.max_download_bytes,
            token: Mutex::new(None),
            clock: self.clock,
        };
        Ok(Client { inner: Arc::new(inner), version: self.version })
    }
}

impl Client {
    /// A builder with defaults: v8 paths, three retries, 60 s token margin.
    pub fn builder(endpoints: Endpoints, credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            endpoints,
            credentials,
            version: ApiVersion::V8,
            retry: RetryPolicy::default(),
            token_margin: Duration::from_secs(60),
            timeout: None,
            connect_timeout: Duration::from_secs(30),
            max_download_bytes: 512 * 1024 * 1024,
            http: None,
            clock: Arc::new(crate::clock::SystemClock),
        }
    }

    /// A client with every default.
    pub fn new(endpoints: Endpoints, credentials: Credentials) -> Result<Client> {
        Client::builder(endpoints, credentials).build()
    }

    /// The API version this client puts in paths.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// The same client (shared pool and token cache) speaking another API version.
    pub fn with_version(&self, version: ApiVersion) -> Client {
        Client { inner: self.inner.clone(), version }
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The current access token (refreshed first when needed). Useful for calls this client
    /// does not wrap.
    pub async fn access_token(&self) -> Result<String> {
        self.inner.access_token().await
    }

    /// Uploads a zip (or a CSV, zipped here) for bulk write: `POST {upload}/crm/{v}/upload`
    /// with headers `feature: bulk-write` and `X-CRM-ORG: {org_id}` (the org's `zgid`, see
    /// [`Client::org`]) and one multipart part `file`. Returns the `file_id` and its time.
    pub async fn upload(&self, org_id: &str, source: UploadSource) -> Result<UploadedFile> {
        let prepared = PreparedUpload::prepare(source).await?;
        let url = format!("{}/crm/{}/upload", self.inner.endpoints.upload, self.version);
        let build = |http: &reqwest::Client| {
            Ok(http.post(&url).header("feature", "bulk-write").header("X-CRM-ORG", org_id).multipart(prepared.form()?))
        };
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let value: Value = read_json_required(response).await?;
        uploaded_file(&value)
    }

    /// Creates a job from a ready body: `POST /crm/bulk/{v}/write`. The body is sent as given,
    /// so its `module` shape should match [`Client::version`] (see [`Client::submit`]).
    pub async fn create_job(&self, request: &CreateJobRequest) -> Result<CreatedJob> {
        let url = self.inner.api_url(&format!("/crm/bulk/{}/write", self.version));
        let build = |http: &reqwest::Client| Ok(http.post(&url).json(request));
        let response = self.inner.send(Safety::Unsafe, true, build).await?;
        let body: SuccessBody<CreatedJob> = read_json_required(response).await?;
        Ok(body.details)
    }

    /// Creates a job from a [`BulkWriteJob`], written in this client's version's shape.
    pub async fn submit(&self, job: &BulkWriteJob) -> Result<CreatedJob> {
        self.create_job(&job.to_request(self.version)).await
    }

    /// Job details: `GET /crm/bulk/{v}/write/{id}`.
    pub async fn get_job(&self, job_id: &str) -> Result<JobDetails> {
        let url = self.inner.api_url(&format!("/crm/bulk/{}/write/{}", self.version, job_id));
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        read_json_required(response).await
    }

    /// The absolute URL of a finished job's result.
    fn download_url(&self, details: &JobDetails) -> Result<String> {
        let Some(result) = &details.result else {
            return Err(Error::Invalid(format!("job {} has no result yet (status {})", details.id, details.status)));
        };
        let url = result.download_url.trim();
        if url.starts_with("http://") || url.starts_with("https://") {
            return Ok(url.to_string());
        }
        let base = self.inner.endpoints.download.as_deref().unwrap_or(&self.inner.endpoints.api);
        Ok(format!("{}/{}", base, url.trim_start_matches('/')))
    }

    async fn open_download(&self, details: &JobDetails) -> Result<reqwest::Response> {
        let url = self.download_url(details)?;
        let build = |http: &reqwest::Client| Ok(http.get(&url));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_limited(response, 1024 * 1024).await?;
            return Err(error_from_body(status.as_u16(), &body));
        }
        Ok(response)
    }

    /// Downloads and parses a finished job's result zip (`result.download_url`, absolute or
    /// relative to [`Endpoints::download`]). The body is read chunk by chunk up to the
    /// builder's `max_download_bytes`.
    pub async fn download_result(&self, details: &JobDetails) -> Result<ResultFile> {
        let mut response = self.open_download(details).await?;
        let limit = self.inner.max_download_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(Error::Decode(format!("result zip larger than {limit} bytes; use download_result_to")));
        }
        let mut zip = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = response.chunk().await? {
            if (zip.len() + chunk.len()) as u64 > limit {
                return Err(Error::Decode(format!("result zip larger than {limit} bytes; use download_result_to")));
            }
            zip.extend_from_slice(&chunk);
        }
        tokio::task::spawn_blocking(move || ResultFile::parse(zip))
            .await
            .map_err(|e| Error::Invalid(format!("parsing task failed: {e}")))?
    }

    /// Streams a finished job's result zip to `path` without holding it in memory; returns
    /// the bytes written. The file appears only once complete.
    pub async fn download_result_to(&self, details: &JobDetails, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let response = self.open_download(details).await?;
        save_response(response, path).await
    }
}

/// Streams `response`'s body into `path` without holding it in memory: written to `path.part`,
/// synced, then renamed, so the file appears only once complete (the part is removed on error).
/// Returns the bytes written.
pub(crate) async fn save_response(mut response: reqwest::Response, path: &Path) -> Result<u64> {
    let mut staged_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    staged_name.push(".part");
    let staged = path.with_file_name(staged_name);
    let copied = async {
        let mut file = tokio::fs::File::create(&staged).await?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await? {
            file.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&staged, path).await?;
        Ok::<u64, Error>(written)
    }
    .await;
    if copied.is_err() {
        let _ = tokio::fs::remove_file(&staged).await;
    }
    copied
}
