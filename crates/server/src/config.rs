//! One configuration: documented defaults, then a TOML file, then `BULKWRITE_*` environment
//! variables, then flags (clap reads the last two, flags winning). Every setting is declared once,
//! in [`ServeArgs`]; [`Config`] is what they resolve to.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_core::credits::{CreditPlan, Edition};
use bulkwrite_core::limits::Limits;
use bulkwrite_core::schema::{CustomFieldSpec, CustomModuleSpec, DataType};
use bulkwrite_worker::RetentionConfig;
use serde::{Deserialize, Serialize};

/// `bulkwrite serve` settings, from flags, `BULKWRITE_*` environment variables and the TOML file
/// alike: one struct, so a setting is declared once. Flags and the environment (clap) win over the
/// file; [`Config::resolve`] fills in the documented defaults. Keys of the TOML file are the field
/// names; a key the file may not hold is refused.
#[derive(Debug, Clone, Default, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeArgs {
    /// TOML configuration file (default: DIR/bulkwrite.toml when it exists).
    #[arg(long, env = "BULKWRITE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BULKWRITE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data directory: the SQLite database and blobs [default: ./bulkwrite-data].
    #[arg(long, env = "BULKWRITE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base of absolute URLs handed to clients [default: http://<listen address>].
    #[arg(long, env = "BULKWRITE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Fixes the first access token (for CI and tests).
    #[arg(long, env = "BULKWRITE_BOOTSTRAP_TOKEN")]
    pub bootstrap_token: Option<String>,
    /// Hosts and CIDR networks callbacks may reach although private, over http or https.
    #[arg(long, env = "BULKWRITE_CALLBACK_ALLOW")]
    pub callback_allow: Option<String>,
    /// Data rows one CSV may hold [default: 25000, Zoho's limit].
    #[arg(long, env = "BULKWRITE_MAX_ROWS_PER_FILE")]
    pub max_rows_per_file: Option<u64>,
    /// Data rows a subform or line-item child CSV may hold [default: 200, Zoho's limit].
    #[arg(long, env = "BULKWRITE_MAX_CHILD_ROWS")]
    pub max_child_rows: Option<u64>,
    /// Rows past the row limit still read and listed LIMIT_EXCEEDED before the read stops [default: 1000].
    #[arg(long, env = "BULKWRITE_MAX_OVERFLOW_ROWS")]
    pub max_overflow_rows: Option<u64>,
    /// Largest upload in bytes [default: 26214400, Zoho's 25 MB].
    #[arg(long, env = "BULKWRITE_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Entries (files and folders) one zip may hold [default: 100].
    #[arg(long, env = "BULKWRITE_MAX_ZIP_ENTRIES")]
    pub max_zip_entries: Option<u64>,
    /// Uncompressed bytes of one CSV in a zip [default: 268435456, 256 MiB].
    #[arg(long, env = "BULKWRITE_MAX_ENTRY_BYTES")]
    pub max_entry_bytes: Option<u64>,
    /// Uncompressed bytes of all the CSVs of one zip [default: 536870912, 512 MiB].
    #[arg(long, env = "BULKWRITE_MAX_UNZIPPED_BYTES")]
    pub max_unzipped_bytes: Option<u64>,
    /// Bytes of a CSV header row [default: 65536].
    #[arg(long, env = "BULKWRITE_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<u64>,
    /// Bytes of one CSV record [default: 1048576, 1 MiB].
    #[arg(long, env = "BULKWRITE_MAX_RECORD_BYTES")]
    pub max_record_bytes: Option<u64>,
    /// Cells of one CSV record; a row with more is LIMIT_EXCEEDED [default: 1000].
    #[arg(long, env = "BULKWRITE_MAX_CELLS_PER_RECORD")]
    pub max_cells_per_record: Option<usize>,
    /// Columns one CSV may have [default: 200].
    #[arg(long, env = "BULKWRITE_MAX_COLUMNS")]
    pub max_columns: Option<usize>,
    /// Seconds a worker's claim on a job lasts without renewal [default: 30].
    #[arg(long, env = "BULKWRITE_LEASE_SECONDS")]
    pub lease_seconds: Option<u64>,
    /// Rows per committed chunk [default: 2000].
    #[arg(long, env = "BULKWRITE_CHUNK_ROWS")]
    pub chunk_rows: Option<usize>,
    /// Bytes of CSV records per committed chunk at most [default: 4194304, 4 MiB].
    #[arg(long, env = "BULKWRITE_CHUNK_BYTES")]
    pub chunk_bytes: Option<usize>,
    /// First callback retry delay in milliseconds [default: 2000].
    #[arg(long, env = "BULKWRITE_CALLBACK_RETRY_MS")]
    pub callback_retry_ms: Option<u64>,
    /// Callback attempts before giving up [default: 5].
    #[arg(long, env = "BULKWRITE_CALLBACK_ATTEMPTS")]
    pub callback_attempts: Option<u32>,
    /// Milliseconds one callback attempt may take before it counts as timed out [default: 10000].
    #[arg(long, env = "BULKWRITE_CALLBACK_TIMEOUT_MS")]
    pub callback_timeout_ms: Option<u64>,
    /// Callback deliveries in flight at once on a node; at most 2 go to one receiver, so a
    /// receiver that hangs never holds the others' [default: 16].
    #[arg(long, env = "BULKWRITE_CALLBACK_CONCURRENCY")]
    pub callback_concurrency: Option<usize>,
    /// Seconds a staged file (an upload or result being written) may go unmodified before the
    /// periodic sweep removes it, unless this process holds it open; every leftover goes at
    /// startup [default: 3600].
    #[arg(long, env = "BULKWRITE_STAGING_GRACE_SECONDS")]
    pub staging_grace_seconds: Option<u64>,
    /// Records one Bulk Read page holds; later pages are read with `page` or `page_token`
    /// [default: 200000, Zoho's].
    #[arg(long, env = "BULKWRITE_READ_PAGE_RECORDS")]
    pub read_page_records: Option<u32>,
    /// Bulk Read downloads one user may start in a minute, counted across every node of the
    /// database [default: 10, Zoho's].
    #[arg(long, env = "BULKWRITE_READ_DOWNLOADS_PER_MINUTE")]
    pub read_downloads_per_minute: Option<u32>,
    /// Records per committed part of a Bulk Read export: memory per part, and what a resumed
    /// export reads again at most [default: 10000].
    #[arg(long, env = "BULKWRITE_READ_PART_RECORDS")]
    pub read_part_records: Option<u32>,
    /// MiB of page cache of the SQLite writer connection, the one the jobs' chunks write through
    /// (each of the three readers has 4) [default: 40].
    #[arg(long, env = "BULKWRITE_SQLITE_CACHE_MIB")]
    pub sqlite_cache_mib: Option<u32>,
    /// A job's chunks the SQLite writer commits together, in one transaction with their result
    /// rows and checkpoint, once the job's file is past `--sqlite-batch-after-rows`: a crash loses
    /// at most these, applied again on resume; the job's progress shows up to that many chunks
    /// late. 1 commits every chunk alone [default: 48].
    #[arg(long, env = "BULKWRITE_SQLITE_COMMIT_CHUNKS")]
    pub sqlite_commit_chunks: Option<u32>,
    /// Rows of a job's file whose chunks the SQLite writer commits one at a time, before
    /// `--sqlite-commit-chunks` batches them [default: 100000].
    #[arg(long, env = "BULKWRITE_SQLITE_BATCH_AFTER_ROWS")]
    pub sqlite_batch_after_rows: Option<u64>,
    /// Seconds a client has to send a whole request head, from when its connection starts waiting
    /// for one: slow clients and idle keep-alive connections are closed after it [default: 10].
    #[arg(long, env = "BULKWRITE_HTTP_HEADER_TIMEOUT_SECONDS")]
    pub http_header_timeout_seconds: Option<u64>,
    /// Seconds a request body (an upload) may go without a byte before its request fails and the
    /// connection closes [default: 30].
    #[arg(long, env = "BULKWRITE_HTTP_BODY_IDLE_SECONDS")]
    pub http_body_idle_seconds: Option<u64>,
    /// Client connections served at once; more wait in the listen queue [default: 512].
    #[arg(long, env = "BULKWRITE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Job events streams (`/bulkwrite/v1/jobs/{id}/events`) open at once on a node; more are
    /// refused with 429 `TOO_MANY_REQUESTS`. Keep it below `max_connections` [default: 256].
    #[arg(long, env = "BULKWRITE_MAX_EVENT_STREAMS")]
    pub max_event_streams: Option<usize>,
    /// Milliseconds a node keeps a valid access token's principal (org, user, scopes, expiry),
    /// so that a call costs one store read instead of two. A token expires on time regardless,
    /// and any change made through this node (revoke, org settings, …) empties the cache; one
    /// made on another node reaches this one within this time. 0 turns the cache off
    /// [default: 1000].
    #[arg(long, env = "BULKWRITE_TOKEN_CACHE_MS")]
    pub token_cache_ms: Option<u64>,
    /// Milliseconds a job waits after its first transient failure (disk full, database
    /// unreachable); each later wait doubles, jittered [default: 1000].
    #[arg(long, env = "BULKWRITE_TRANSIENT_RETRY_MS")]
    pub transient_retry_ms: Option<u64>,
    /// Longest wait between a transiently failing job's claims, in seconds [default: 60].
    #[arg(long, env = "BULKWRITE_TRANSIENT_RETRY_CAP_SECONDS")]
    pub transient_retry_cap_seconds: Option<u64>,
    /// Seconds a job may keep failing transiently before it is failed for good [default: 600].
    #[arg(long, env = "BULKWRITE_TRANSIENT_BUDGET_SECONDS")]
    pub transient_budget_seconds: Option<u64>,
    /// Testing only: while this file exists, blob writes fail as on a full disk (the fault seam
    /// of the disk-full tests) [default: none].
    #[arg(long, env = "BULKWRITE_FAULT_DISK_FULL_SWITCH", hide = true)]
    pub fault_disk_full_switch: Option<PathBuf>,
    /// HTTP status of OAuth token errors: 200 as Zoho sends them, or 400 [default: 200].
    #[arg(long, env = "BULKWRITE_OAUTH_ERROR_STATUS")]
    pub oauth_error_status: Option<u16>,
    /// The admin credential of `/bulkwrite/v1/admin/` [default: generated on first start].
    #[arg(long, env = "BULKWRITE_ADMIN_KEY")]
    pub admin_key: Option<String>,
    /// Lifetime of minted access tokens in seconds [default: 3600, as Zoho's].
    #[arg(long, env = "BULKWRITE_ACCESS_TOKEN_SECONDS")]
    pub access_token_seconds: Option<u64>,
    /// Jobs of one org that run at once across all nodes [default: 10, Zoho Standard edition's concurrency].
    #[arg(long, env = "BULKWRITE_MAX_RUNNING_PER_ORG")]
    pub max_running_per_org: Option<u32>,
    /// How long an upload that no unfinished job needs is kept: `7d`, `12h`, `30m`, `90s`
    /// [default: 7d].
    #[arg(long, env = "BULKWRITE_UPLOAD_RETENTION")]
    pub upload_retention: Option<String>,
    /// How long a finished job's result file is kept, like `7d` [default: 7d, as Zoho's result link].
    #[arg(long, env = "BULKWRITE_RESULT_RETENTION")]
    pub result_retention: Option<String>,
    /// `postgres://user@host:port/db` to share one PostgreSQL database between nodes; `sqlite://PATH`
    /// or nothing for the embedded database in the data directory.
    #[arg(long, env = "BULKWRITE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// What this node does: `all`, `api` (HTTP only) or `worker` (jobs and callbacks; HTTP serves
    /// /healthz only) [default: all].
    #[arg(long, env = "BULKWRITE_ROLE", value_parser = ["all", "api", "worker"])]
    pub role: Option<String>,
    /// Log lines on stderr: `text` for people, `json` (one object a line, with the job and org
    /// ids of job lines and the request id of request lines) for log pipelines [default: text].
    #[arg(long, env = "BULKWRITE_LOG_FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// Turn on the test controls under `/bulkwrite/v1/` (faults, clock, queue stepping, inbox,
    /// reset and snapshots); off, they answer Zoho's 404 for an unknown URL. Never in production
    /// [default: off].
    #[arg(long, env = "BULKWRITE_TEST_CONTROLS", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub test_controls: Option<bool>,
    /// Meter every org's Zoho API calls as Zoho CRM of this edition does (`free`, `standard`,
    /// `professional`, `enterprise`, `ultimate`): credits in a rolling 24-hour window, the
    /// concurrency limits, 429 `TOO_MANY_REQUESTS` past them. An org's own plan (`bulkwrite admin
    /// orgs credits`) wins; `off` meters only orgs given one [default: off].
    #[arg(long, env = "BULKWRITE_API_CREDITS")]
    pub api_credits: Option<String>,
    /// User licences of the `--api-credits` edition [default: 1].
    #[arg(long, env = "BULKWRITE_API_CREDITS_USERS")]
    pub api_credits_users: Option<u32>,
    /// Add-on credits on top of the `--api-credits` edition's [default: 0].
    #[arg(long, env = "BULKWRITE_API_CREDITS_ADDON")]
    pub api_credits_addon: Option<u64>,
    /// The first org's company name (file only).
    #[arg(skip)]
    pub company_name: Option<String>,
    /// The first org's IANA time zone (file only).
    #[arg(skip)]
    pub time_zone: Option<String>,
    /// Custom fields of the first org; replaces the default list (which declares `Leads.Date_3`)
    /// (file only).
    #[arg(skip)]
    pub custom_fields: Option<Vec<CustomFieldSpec>>,
    /// Custom modules (and subform modules) of the first org, created before the custom fields
    /// (file only).
    #[arg(skip)]
    pub custom_modules: Option<Vec<CustomModuleSpec>>,
}

impl ServeArgs {
    /// These settings over `below`: each one given here wins, the others come from `below`.
    fn over(&self, below: ServeArgs) -> anyhow::Result<ServeArgs> {
        let mut merged = serde_json::to_value(below)?;
        let top = serde_json::to_value(self)?;
        if let (Some(merged), Some(top)) = (merged.as_object_mut(), top.as_object()) {
            for (key, value) in top.iter().filter(|(_, value)| !value.is_null()) {
                merged.insert(key.clone(), value.clone());
            }
        }
        let mut resolved: ServeArgs = serde_json::from_value(merged)?;
        resolved.config.clone_from(&self.config);
        Ok(resolved)
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory: the SQLite database and blobs.
    pub data_dir: PathBuf,
    /// Base of absolute URLs handed to clients; `http://<listen address>` when `None`.
    pub public_url: Option<String>,
    /// The first access token, when fixed (CI and tests); generated otherwise.
    pub bootstrap_token: Option<String>,
    /// Which private hosts and networks callbacks may reach.
    pub callback_policy: CallbackPolicy,
    /// Every bound on client input (`bulkwrite_core::limits`).
    pub limits: Limits,
    /// How long a worker's claim on a job lasts without renewal.
    pub lease: Duration,
    /// Rows per committed chunk of an update or upsert job.
    pub chunk_rows: usize,
    /// Rows per committed chunk of an insert job.
    pub insert_chunk_rows: usize,
    /// Bytes of CSV records per committed chunk at most.
    pub chunk_bytes: usize,
    /// First callback retry delay (doubling after).
    pub callback_retry: Duration,
    /// Callback attempts before giving up.
    pub callback_attempts: u32,
    /// How long one callback attempt may take.
    pub callback_timeout: Duration,
    /// Callback deliveries in flight at once on this node.
    pub callback_concurrency: usize,
    /// How long a staged file may go unmodified before the periodic sweep removes it.
    pub staging_grace: Duration,
    /// Records one Bulk Read page holds.
    pub read_page_records: u32,
    /// Bulk Read downloads one user may start in a minute.
    pub read_downloads_per_minute: u32,
    /// Records per committed part of an export.
    pub read_part_records: u32,
    /// How the SQLite store is tuned (writer page cache, chunks per commit).
    pub sqlite: bulkwrite_store_sqlite::SqliteSettings,
    /// Time a client has to send a request head (also the keep-alive idle bound).
    pub http_header_timeout: Duration,
    /// Client connections served at once.
    pub max_connections: usize,
    /// Job events streams open at once.
    pub max_event_streams: usize,
    /// How long a node keeps a token's principal.
    pub token_cache: Duration,
    /// Time a request body may go without a byte.
    pub http_body_idle: Duration,
    /// First wait of a transiently failing job (doubling with its claims).
    pub transient_retry: Duration,
    /// Longest wait between a transiently failing job's claims.
    pub transient_retry_cap: Duration,
    /// How long a job may keep failing transiently before it fails for good.
    pub transient_budget: Duration,
    /// The disk-full fault seam's switch file (tests).
    pub fault_disk_full_switch: Option<PathBuf>,
    /// The first org's company name.
    pub company_name: String,
    /// The first org's IANA time zone.
    pub time_zone: String,
    /// Custom fields of the first org.
    pub custom_fields: Vec<CustomFieldSpec>,
    /// Custom modules (and subform modules) of the first org.
    pub custom_modules: Vec<CustomModuleSpec>,
    /// HTTP status of OAuth token errors: 200 as Zoho sends them, or 400.
    pub oauth_error_status: u16,
    /// The admin credential of `/bulkwrite/v1/admin/`; generated on first start when `None`.
    pub admin_key: Option<String>,
    /// Lifetime of minted access tokens in seconds.
    pub access_token_seconds: u64,
    /// Jobs of one org that run at once across all nodes.
    pub max_running_per_org: u32,
    /// How long uploads and result files are kept (the sweeper's interval follows from it).
    pub retention: RetentionConfig,
    /// Where the data lives.
    pub database: Database,
    /// What this node does.
    pub role: Role,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Whether the test controls (`--test-controls`) answer.
    pub test_controls: bool,
    /// The plan metering orgs without their own (`--api-credits`); `None`: off.
    pub api_credits: Option<CreditPlan>,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database shared by every node (the URL as given).
    Postgres(String),
}

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// HTTP API and jobs, the default.
    All,
    /// HTTP API only; other nodes run the jobs.
    Api,
    /// Jobs, callbacks and retention only; HTTP serves the health and metrics pages.
    Worker,
}

impl Role {
    /// Whether this node answers the HTTP API.
    pub fn serves_api(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }

    /// Whether this node runs jobs, callbacks and retention sweeps.
    pub fn runs_jobs(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (spans as `job{job=… org=…}:` prefixes).
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

fn log_format(text: Option<&str>) -> anyhow::Result<LogFormat> {
    Ok(match text.unwrap_or("text") {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => anyhow::bail!("BULKWRITE_LOG_FORMAT must be text or json, not {other}"),
    })
}

/// The database a URL names (`None`: the SQLite file of the data directory).
pub fn database(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Database> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(Database::Sqlite(data_dir.join("bulkwrite.sqlite")));
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(url.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Database::Sqlite(PathBuf::from(path)));
    }
    anyhow::bail!("BULKWRITE_DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
}

fn role(text: Option<&str>) -> anyhow::Result<Role> {
    Ok(match text.unwrap_or("all") {
        "all" => Role::All,
        "api" => Role::Api,
        "worker" => Role::Worker,
        other => anyhow::bail!("BULKWRITE_ROLE must be all, api or worker, not {other}"),
    })
}

/// The custom fields a new org gets: the seed's `Date_3`, a date field on Leads.
pub fn default_custom_fields() -> Vec<CustomFieldSpec> {
    vec![CustomFieldSpec {
        module: "Leads".into(),
        api_name: "Date_3".into(),
        field_label: Some("Date 3".into()),
        data_type: DataType::Date,
        length: None,
        decimal_place: None,
        unique: false,
        mandatory: false,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    }]
}

impl Config {
    /// Resolves defaults, the TOML file and the flags/environment.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
        let default_dir = PathBuf::from("bulkwrite-data");
        let dir_hint = args.data_dir.clone().unwrap_or_else(|| default_dir.clone());
        let settings = args.over(load_file(args.config.as_deref(), &dir_hint)?)?;
        let allow = settings.callback_allow.clone().unwrap_or_default();
        let callback_policy =
            CallbackPolicy::parse(&allow).map_err(anyhow::Error::msg).context("BULKWRITE_CALLBACK_ALLOW")?;
        let time_zone = settings.time_zone.clone().unwrap_or_else(|| "UTC".to_string());
        let data_dir = settings.data_dir.clone().unwrap_or(default_dir);
        let database = database(settings.database_url.as_deref(), &data_dir)?;
        let (default_chunk_rows, default_insert_chunk_rows) = match database {
            Database::Sqlite(_) => {
                (bulkwrite_worker::DEFAULT_SQLITE_CHUNK_ROWS, bulkwrite_worker::DEFAULT_SQLITE_CHUNK_ROWS)
            }
            Database::Postgres(_) => {
                (bulkwrite_worker::DEFAULT_CHUNK_ROWS, bulkwrite_worker::DEFAULT_INSERT_CHUNK_ROWS)
            }
        };
        let role = role(settings.role.as_deref())?;
        let log_format = log_format(settings.log_format.as_deref())?;
        time_zone.parse::<chrono_tz::Tz>().map_err(|_| anyhow::anyhow!("unknown time zone '{time_zone}'"))?;
        let retention = RetentionConfig {
            uploads: retention(settings.upload_retention.as_deref()).context("BULKWRITE_UPLOAD_RETENTION")?,
            results: retention(settings.result_retention.as_deref()).context("BULKWRITE_RESULT_RETENTION")?,
        };
        Ok(Config {
            retention,
            listen: settings.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir,
            database,
            role,
            log_format,
            public_url: settings.public_url.clone().map(|u| u.trim_end_matches('/').to_string()),
            bootstrap_token: settings.bootstrap_token.clone().filter(|t| !t.trim().is_empty()),
            callback_policy,
            limits: limits(&settings),
            lease: Duration::from_secs(settings.lease_seconds.unwrap_or(30).max(1)),
            chunk_rows: settings.chunk_rows.unwrap_or(default_chunk_rows).max(1),
            insert_chunk_rows: settings.chunk_rows.unwrap_or(default_insert_chunk_rows).max(1),
            chunk_bytes: settings.chunk_bytes.unwrap_or(bulkwrite_worker::DEFAULT_CHUNK_BYTES).max(1),
            callback_retry: Duration::from_millis(settings.callback_retry_ms.unwrap_or(2000)),
            callback_attempts: settings.callback_attempts.unwrap_or(5).max(1),
            callback_timeout: Duration::from_millis(settings.callback_timeout_ms.unwrap_or(10_000).max(1)),
            callback_concurrency: settings
                .callback_concurrency
                .unwrap_or(bulkwrite_worker::DEFAULT_CALLBACK_CONCURRENCY)
                .max(1),
            staging_grace: Duration::from_secs(settings.staging_grace_seconds.unwrap_or(3600).max(1)),
            read_part_records: settings.read_part_records.unwrap_or(bulkwrite_worker::PART_RECORDS).max(1),
            sqlite: bulkwrite_store_sqlite::SqliteSettings {
                writer_cache_mib: settings.sqlite_cache_mib.unwrap_or(bulkwrite_store_sqlite::WRITER_CACHE_MIB).max(1),
                commit_chunks: settings.sqlite_commit_chunks.unwrap_or(bulkwrite_store_sqlite::COMMIT_CHUNKS).max(1),
                batch_after_rows: settings.sqlite_batch_after_rows.unwrap_or(bulkwrite_store_sqlite::BATCH_AFTER_ROWS),
            },
            read_page_records: settings
                .read_page_records
                .unwrap_or(bulkwrite_api::ApiConfig::default().read_page_records)
                .max(1),
            read_downloads_per_minute: settings
                .read_downloads_per_minute
                .unwrap_or(bulkwrite_api::ApiConfig::default().read_downloads_per_minute)
                .max(1),
            http_header_timeout: Duration::from_secs(settings.http_header_timeout_seconds.unwrap_or(10).max(1)),
            max_connections: settings.max_connections.unwrap_or(512).max(1),
            max_event_streams: settings.max_event_streams.unwrap_or(bulkwrite_api::events::DEFAULT_MAX_EVENT_STREAMS),
            token_cache: settings.token_cache_ms.map_or(bulkwrite_api::DEFAULT_TOKEN_CACHE, Duration::from_millis),
            http_body_idle: Duration::from_secs(settings.http_body_idle_seconds.unwrap_or(30).max(1)),
            transient_retry: Duration::from_millis(settings.transient_retry_ms.unwrap_or(1000).max(1)),
            transient_retry_cap: Duration::from_secs(settings.transient_retry_cap_seconds.unwrap_or(60).max(1)),
            transient_budget: Duration::from_secs(settings.transient_budget_seconds.unwrap_or(600)),
            fault_disk_full_switch: settings.fault_disk_full_switch.clone(),
            company_name: settings.company_name.clone().unwrap_or_else(|| "bulkwrite".to_string()),
            time_zone,
            custom_fields: settings.custom_fields.clone().unwrap_or_else(default_custom_fields),
            custom_modules: settings.custom_modules.clone().unwrap_or_default(),
            oauth_error_status: match settings.oauth_error_status.unwrap_or(200) {
                400 => 400,
                200 => 200,
                other => anyhow::bail!("BULKWRITE_OAUTH_ERROR_STATUS must be 200 or 400, not {other}"),
            },
            admin_key: settings.admin_key.clone().filter(|k| !k.trim().is_empty()),
            access_token_seconds: settings.access_token_seconds.unwrap_or(3600).max(1),
            max_running_per_org: settings.max_running_per_org.unwrap_or(10).max(1),
            test_controls: settings.test_controls.unwrap_or(false),
            api_credits: api_credits(&settings)?,
        })
    }
}

/// The server's metering plan: `--api-credits EDITION` with its users and add-ons; `off` or
/// nothing is none.
fn api_credits(settings: &ServeArgs) -> anyhow::Result<Option<CreditPlan>> {
    let Some(word) = settings.api_credits.as_deref().map(str::trim).filter(|w| !w.is_empty()) else { return Ok(None) };
    if word.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let edition: Edition = word.parse().context("BULKWRITE_API_CREDITS")?;
    let users = settings.api_credits_users.unwrap_or(1);
    anyhow::ensure!(users >= 1, "BULKWRITE_API_CREDITS_USERS must be at least 1");
    Ok(Some(CreditPlan { edition, users, addon_credits: settings.api_credits_addon.unwrap_or(0) }))
}

/// The bounds the settings give, each defaulting to `Limits::default()`'s.
fn limits(settings: &ServeArgs) -> Limits {
    let zoho = Limits::default();
    Limits {
        max_upload_bytes: settings.max_upload_bytes.unwrap_or(zoho.max_upload_bytes),
        max_rows_per_file: settings.max_rows_per_file.unwrap_or(zoho.max_rows_per_file),
        max_child_rows: settings.max_child_rows.unwrap_or(zoho.max_child_rows),
        max_overflow_rows: settings.max_overflow_rows.unwrap_or(zoho.max_overflow_rows),
        max_columns: settings.max_columns.unwrap_or(zoho.max_columns),
        max_zip_entries: settings.max_zip_entries.unwrap_or(zoho.max_zip_entries).max(1),
        max_entry_bytes: settings.max_entry_bytes.unwrap_or(zoho.max_entry_bytes),
        max_unzipped_bytes: settings.max_unzipped_bytes.unwrap_or(zoho.max_unzipped_bytes),
        max_header_bytes: settings.max_header_bytes.unwrap_or(zoho.max_header_bytes).max(1),
        max_record_bytes: settings.max_record_bytes.unwrap_or(zoho.max_record_bytes).max(1),
        max_cells_per_record: settings.max_cells_per_record.unwrap_or(zoho.max_cells_per_record),
    }
}

/// A retention setting, or the default (7 days).
fn retention(text: Option<&str>) -> anyhow::Result<Duration> {
    match text {
        None => Ok(bulkwrite_worker::DEFAULT_RETENTION),
        Some(text) => parse_duration(text).map_err(anyhow::Error::msg),
    }
}

/// A positive duration: a whole number with `d`, `h`, `m` or `s` (`7d`, `12h`, `30m`, `90s`);
/// a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || format!("'{text}' is not a duration like 7d, 12h, 30m or 90s");
    let count: u64 = number.parse().map_err(|_| expected())?;
    let unit_seconds: u64 = match unit.trim() {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" | "" => 1,
        _ => return Err(expected()),
    };
    let seconds = count.checked_mul(unit_seconds).ok_or_else(expected)?;
    if seconds == 0 {
        return Err(format!("'{text}' is no time at all; a retention must be positive"));
    }
    Ok(Duration::from_secs(seconds))
}

fn load_file(explicit: Option<&Path>, data_dir: &Path) -> anyhow::Result<ServeArgs> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let beside = data_dir.join("bulkwrite.toml");
            if !beside.exists() {
                return Ok(ServeArgs::default());
            }
            beside
        }
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod log_format_tests {
    use super::*;

    fn resolve_with(args: ServeArgs) -> anyhow::Result<Config> {
        let dir =
            std::env::temp_dir().join(format!("bulkwrite-config-{}-{}", std::process::id(), rand::random::<u64>()));
        Config::resolve(&ServeArgs { data_dir: Some(dir), ..args })
    }

    #[test]
    fn log_format_comes_from_the_flag_or_the_file_and_defaults_to_text() {
        assert_eq!(resolve_with(ServeArgs::default()).unwrap().log_format, LogFormat::Text);
        let flag = ServeArgs { log_format: Some("json".into()), ..ServeArgs::default() };
        assert_eq!(resolve_with(flag).unwrap().log_format, LogFormat::Json);

        let file =
            std::env::temp_dir().join(format!("bulkwrite-{}-{}.toml", std::process::id(), rand::random::<u64>()));
        std::fs::write(&file, "log_format = \"json\"\n").unwrap();
        let from_file = ServeArgs { config: Some(file.clone()), ..ServeArgs::default() };
        assert_eq!(resolve_with(from_file).unwrap().log_format, LogFormat::Json);
        let both = ServeArgs { config: Some(file.clone()), log_format: Some("text".into()), ..ServeArgs::default() };
        assert_eq!(resolve_with(both).unwrap().log_format, LogFormat::Text, "the flag wins");
        std::fs::write(&file, "log_format = \"xml\"\n").unwrap();
        let bad = resolve_with(ServeArgs { config: Some(file.clone()), ..ServeArgs::default() }).unwrap_err();
        assert!(bad.to_string().contains("BULKWRITE_LOG_FORMAT must be text or json"), "{bad}");
        let _ = std::fs::remove_file(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "d", "7w", "-1d", "1.5h", "0s", "99999999999999999999d", "7 days"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retentions_come_from_the_file_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("bulkwrite-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bulkwrite.toml");
        std::fs::write(&file, "upload_retention = \"90s\"\nresult_retention = \"12h\"\n").unwrap();
        let defaults =
            Config::resolve(&ServeArgs { data_dir: Some(dir.join("none")), ..ServeArgs::default() }).unwrap();
        assert_eq!(defaults.retention, RetentionConfig::default(), "7 days each");
        let args =
            ServeArgs { config: Some(file.clone()), result_retention: Some("30m".into()), ..ServeArgs::default() };
        let config = Config::resolve(&args).unwrap();
        assert_eq!(config.retention.uploads, Duration::from_secs(90));
        assert_eq!(config.retention.results, Duration::from_secs(1800));
        let wrong = ServeArgs { upload_retention: Some("soon".into()), ..args };
        let error = format!("{:#}", Config::resolve(&wrong).unwrap_err());
        assert!(error.contains("BULKWRITE_UPLOAD_RETENTION") && error.contains("soon"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chunks_default_to_1000_rows_on_sqlite_and_4000_or_2000_on_postgresql() {
        let rows = |config: Config| (config.insert_chunk_rows, config.chunk_rows);
        let base = ServeArgs { data_dir: Some(std::env::temp_dir().join("bulkwrite-none")), ..ServeArgs::default() };
        assert_eq!(rows(Config::resolve(&base).unwrap()), (1000, 1000));
        let postgres = ServeArgs { database_url: Some("postgres://u@127.0.0.1/db".into()), ..base.clone() };
        assert_eq!(rows(Config::resolve(&postgres).unwrap()), (4000, 2000));
        let set = ServeArgs { chunk_rows: Some(500), ..postgres };
        assert_eq!(rows(Config::resolve(&set).unwrap()), (500, 500));
    }

    #[test]
    fn api_credits_are_off_unless_an_edition_is_given() {
        let base = ServeArgs { data_dir: Some(std::env::temp_dir().join("bulkwrite-none")), ..ServeArgs::default() };
        assert_eq!(Config::resolve(&base).unwrap().api_credits, None);
        let off = ServeArgs { api_credits: Some("off".into()), ..base.clone() };
        assert_eq!(Config::resolve(&off).unwrap().api_credits, None);
        let on = ServeArgs {
            api_credits: Some("Zoho One".into()),
            api_credits_users: Some(20),
            api_credits_addon: Some(500),
            ..base.clone()
        };
        let plan = CreditPlan { edition: Edition::Enterprise, users: 20, addon_credits: 500 };
        assert_eq!(Config::resolve(&on).unwrap().api_credits, Some(plan));
        let bare = ServeArgs { api_credits: Some("free".into()), ..base.clone() };
        assert_eq!(Config::resolve(&bare).unwrap().api_credits, Some(CreditPlan::new(Edition::Free, 1)));
        let wrong = ServeArgs { api_credits: Some("gold".into()), ..base };
        let error = format!("{:#}", Config::resolve(&wrong).unwrap_err());
        assert!(error.contains("BULKWRITE_API_CREDITS") && error.contains("gold"), "{error}");
    }
}
