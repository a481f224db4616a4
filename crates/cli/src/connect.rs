//! Which server, org and credentials a client command uses: flags, then `BULKWRITE_*`
//! environment variables, then a profile of the profiles file, then `./bulkwrite-data/bootstrap.json`
//! (a local server's first-start values).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bulkwrite_client::{ApiVersion, Client, Credentials, DataCenter, Endpoints};
use clap::Args;
use serde::Deserialize;

/// Options every client command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// Base URL of a bulkwrite server (overrides the profile).
    #[arg(long, env = "BULKWRITE_SERVER")]
    pub server: Option<String>,
    /// Access token (overrides the profile).
    #[arg(long, env = "BULKWRITE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Org id (`zgid`) for uploads [default: asked of the server].
    #[arg(long, env = "BULKWRITE_ORG")]
    pub org: Option<String>,
    /// A profile of the profiles file.
    #[arg(long, env = "BULKWRITE_PROFILE")]
    pub profile: Option<String>,
    /// The profiles file [default: ~/.config/bulkwrite/profiles.toml].
    #[arg(long, env = "BULKWRITE_PROFILES")]
    pub profiles: Option<PathBuf>,
    /// API version of the paths (v2, v2.1, v3 … v8) [default: v2].
    #[arg(long = "api-version")]
    pub api_version: Option<String>,
}

/// One profile: a bulkwrite server or a Zoho data centre, an org, and credentials.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A bulkwrite server's base URL.
    pub server: Option<String>,
    /// A Zoho data centre: com, eu, in, com.au, jp, ca, com.cn, sa.
    pub data_center: Option<String>,
    pub org: Option<String>,
    pub token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub api_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ProfilesFile {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// A connected client and the org it works in.
pub struct Connection {
    pub client: Client,
    pub org: Option<String>,
}

fn default_profiles_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/bulkwrite/profiles.toml"))
}

fn load_profile(args: &ConnectArgs) -> anyhow::Result<Profile> {
    let path = args.profiles.clone().or_else(default_profiles_path);
    let file = match path.as_deref().filter(|p| p.exists()) {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<ProfilesFile>(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => ProfilesFile::default(),
    };
    let name = args.profile.clone().or(file.default.clone());
    match name {
        Some(name) => match file.profiles.get(&name) {
            Some(profile) => Ok(profile.clone()),
            None => bail!("no profile '{name}' in {}", path.map(|p| p.display().to_string()).unwrap_or_default()),
        },
        None => Ok(Profile::default()),
    }
}

/// A local server's first-start values, when the current directory has them.
fn local_bootstrap(dir: &Path) -> Option<Profile> {
    let bytes = std::fs::read(dir.join("bulkwrite-data/bootstrap.json")).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(Profile {
        server: value["base_url"].as_str().map(str::to_string),
        org: value["org_id"].as_str().map(str::to_string),
        token: value["access_token"].as_str().map(str::to_string),
        ..Profile::default()
    })
}

/// Resolves flags, environment, profile and local bootstrap values into a client.
pub fn connect(args: &ConnectArgs) -> anyhow::Result<Connection> {
    let mut profile = load_profile(args)?;
    let nothing_chosen = args.server.is_none() && profile.server.is_none() && profile.data_center.is_none();
    if nothing_chosen {
        if let Some(local) = local_bootstrap(Path::new(".")) {
            profile = Profile { org: profile.org.or(local.org), token: profile.token.or(local.token), ..local };
        }
    }
    let server = args.server.clone().or(profile.server.clone());
    let endpoints = match (&server, &profile.data_center) {
        (Some(server), _) => Endpoints::bulkwrite(server.trim_end_matches('/')),
        (None, Some(dc)) => Endpoints::zoho(dc.parse::<DataCenter>().map_err(anyhow::Error::msg)?),
        (None, None) => bail!("no server: give --server URL (or BULKWRITE_SERVER), a profile, or run where ./bulkwrite-data/bootstrap.json is"),
    };
    let token = args.token.clone().or(profile.token.clone());
    let credentials = match (token, &profile.client_id, &profile.client_secret, &profile.refresh_token) {
        (Some(token), _, _, _) => Credentials::access_token(token),
        (None, Some(id), Some(secret), Some(refresh)) => Credentials::refresh_token(id.clone(), secret.clone(), refresh.clone()),
        _ => bail!("no credentials: give --token (or BULKWRITE_TOKEN), or a profile with a token or client_id, client_secret and refresh_token"),
    };
    let version_text = args.api_version.clone().or(profile.api_version.clone()).unwrap_or_else(|| "v2".to_string());
    let version = version_text.parse::<ApiVersion>().map_err(anyhow::Error::msg)?;
    let client =
        Client::builder(endpoints, credentials).version(version).build().context("building the HTTP client")?;
    Ok(Connection { client, org: args.org.clone().or(profile.org) })
}

impl Connection {
    /// The org id, asking the server when none was configured.
    pub async fn org_id(&self) -> anyhow::Result<String> {
        if let Some(org) = &self.org {
            return Ok(org.clone());
        }
        let org = self.client.org().await.context("asking the server for the org (GET /crm/{v}/org)")?;
        Ok(org.zgid)
    }
}
