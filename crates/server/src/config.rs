//! One configuration: documented defaults, then a TOML file, then `BULKWRITE_*` environment
//! variables, then flags (clap reads the last two, flags winning).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_core::schema::{CustomFieldSpec, CustomModuleSpec, DataType};
use bulkwrite_worker::RetentionConfig;
use serde::Deserialize;

/// `bulkwrite serve` options. Every one can also come from the environment or the TOML file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (default: DIR/bulkwrite.toml when it exists).
    #[arg(long, env = "BULKWRITE_CONFIG")]
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
    /// Largest upload in bytes [default: 26214400, Zoho's 25 MB].
    #[arg(long, env = "BULKWRITE_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Columns one CSV may have [default: 200].
    #[arg(long, env = "BULKWRITE_MAX_COLUMNS")]
    pub max_columns: Option<usize>,
    /// Seconds a worker's claim on a job lasts without renewal [default: 30].
    #[arg(long, env = "BULKWRITE_LEASE_SECONDS")]
    pub lease_seconds: Option<u64>,
    /// Rows per committed chunk [default: 2000].
    #[arg(long, env = "BULKWRITE_CHUNK_ROWS")]
    pub chunk_rows: Option<usize>,
    /// First callback retry delay in milliseconds [default: 2000].
    #[arg(long, env = "BULKWRITE_CALLBACK_RETRY_MS")]
    pub callback_retry_ms: Option<u64>,
    /// Callback attempts before giving up [default: 5].
    #[arg(long, env = "BULKWRITE_CALLBACK_ATTEMPTS")]
    pub callback_attempts: Option<u32>,
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
}

/// The TOML file: the same settings, plus what only a file can say (custom fields).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub bootstrap_token: Option<String>,
    pub callback_allow: Option<String>,
    pub max_rows_per_file: Option<u64>,
    pub max_upload_bytes: Option<u64>,
    pub max_columns: Option<usize>,
    pub lease_seconds: Option<u64>,
    pub chunk_rows: Option<usize>,
    pub callback_retry_ms: Option<u64>,
    pub callback_attempts: Option<u32>,
    pub oauth_error_status: Option<u16>,
    pub admin_key: Option<String>,
    pub access_token_seconds: Option<u64>,
    pub max_running_per_org: Option<u32>,
    pub upload_retention: Option<String>,
    pub result_retention: Option<String>,
    pub database_url: Option<String>,
    pub role: Option<String>,
    /// The first org's company name and IANA time zone.
    pub company_name: Option<String>,
    pub time_zone: Option<String>,
    /// Custom fields of the first org; replaces the default list (which declares `Leads.Date_3`).
    pub custom_fields: Option<Vec<CustomFieldSpec>>,
    /// Custom modules (and subform modules) of the first org, created before the custom fields.
    pub custom_modules: Option<Vec<CustomModuleSpec>>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub bootstrap_token: Option<String>,
    pub callback_policy: CallbackPolicy,
    pub max_rows_per_file: u64,
    pub max_upload_bytes: u64,
    pub max_columns: usize,
    pub lease: Duration,
    pub chunk_rows: usize,
    pub callback_retry: Duration,
    pub callback_attempts: u32,
    pub company_name: String,
    pub time_zone: String,
    pub custom_fields: Vec<CustomFieldSpec>,
    pub custom_modules: Vec<CustomModuleSpec>,
    pub oauth_error_status: u16,
    pub admin_key: Option<String>,
    pub access_token_seconds: u64,
    pub max_running_per_org: u32,
    /// How long uploads and result files are kept (the sweeper's interval follows from it).
    pub retention: RetentionConfig,
    pub database: Database,
    pub role: Role,
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
    All,
    Api,
    Worker,
}

impl Role {
    pub fn serves_api(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }

    pub fn runs_jobs(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
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
        let file = load_file(args.config.as_deref(), &dir_hint)?;
        let allow = args.callback_allow.clone().or(file.callback_allow.clone()).unwrap_or_default();
        let callback_policy =
            CallbackPolicy::parse(&allow).map_err(anyhow::Error::msg).context("BULKWRITE_CALLBACK_ALLOW")?;
        let time_zone = file.time_zone.clone().unwrap_or_else(|| "UTC".to_string());
        let data_dir = args.data_dir.clone().or(file.data_dir.clone()).unwrap_or(default_dir);
        let database = database(args.database_url.as_deref().or(file.database_url.as_deref()), &data_dir)?;
        let role = role(args.role.as_deref().or(file.role.as_deref()))?;
        time_zone.parse::<chrono_tz::Tz>().map_err(|_| anyhow::anyhow!("unknown time zone '{time_zone}'"))?;
        let retention = RetentionConfig {
            uploads: retention(args.upload_retention.as_deref().or(file.upload_retention.as_deref()))
                .context("BULKWRITE_UPLOAD_RETENTION")?,
            results: retention(args.result_retention.as_deref().or(file.result_retention.as_deref()))
                .context("BULKWRITE_RESULT_RETENTION")?,
        };
        Ok(Config {
            retention,
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir,
            database,
            role,
            public_url: args
                .public_url
                .clone()
                .or(file.public_url.clone())
                .map(|u| u.trim_end_matches('/').to_string()),
            bootstrap_token: args
                .bootstrap_token
                .clone()
                .or(file.bootstrap_token.clone())
                .filter(|t| !t.trim().is_empty()),
            callback_policy,
            max_rows_per_file: args.max_rows_per_file.or(file.max_rows_per_file).unwrap_or(25_000),
            max_upload_bytes: args.max_upload_bytes.or(file.max_upload_bytes).unwrap_or(25 * 1024 * 1024),
            max_columns: args.max_columns.or(file.max_columns).unwrap_or(200),
            lease: Duration::from_secs(args.lease_seconds.or(file.lease_seconds).unwrap_or(30).max(1)),
            chunk_rows: args.chunk_rows.or(file.chunk_rows).unwrap_or(bulkwrite_worker::DEFAULT_CHUNK_ROWS).max(1),
            callback_retry: Duration::from_millis(args.callback_retry_ms.or(file.callback_retry_ms).unwrap_or(2000)),
            callback_attempts: args.callback_attempts.or(file.callback_attempts).unwrap_or(5).max(1),
            company_name: file.company_name.clone().unwrap_or_else(|| "bulkwrite".to_string()),
            time_zone,
            custom_fields: file.custom_fields.clone().unwrap_or_else(default_custom_fields),
            custom_modules: file.custom_modules.clone().unwrap_or_default(),
            oauth_error_status: match args.oauth_error_status.or(file.oauth_error_status).unwrap_or(200) {
                400 => 400,
                200 => 200,
                other => anyhow::bail!("BULKWRITE_OAUTH_ERROR_STATUS must be 200 or 400, not {other}"),
            },
            admin_key: args.admin_key.clone().or(file.admin_key.clone()).filter(|k| !k.trim().is_empty()),
            access_token_seconds: args.access_token_seconds.or(file.access_token_seconds).unwrap_or(3600).max(1),
            max_running_per_org: args.max_running_per_org.or(file.max_running_per_org).unwrap_or(10).max(1),
        })
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

fn load_file(explicit: Option<&Path>, data_dir: &Path) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let beside = data_dir.join("bulkwrite.toml");
            if !beside.exists() {
                return Ok(FileConfig::default());
            }
            beside
        }
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
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
}
