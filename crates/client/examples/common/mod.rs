//! Connection settings shared by the examples: `BULKWRITE_SERVER`, `BULKWRITE_TOKEN`,
//! `BULKWRITE_ORG` (and `BULKWRITE_USER`), each defaulting from `bulkwrite-data/bootstrap.json`
//! (or the file `BULKWRITE_BOOTSTRAP` names) when present.

use std::path::PathBuf;

use serde_json::Value;

/// Where and as whom to connect.
pub struct Settings {
    pub server: String,
    pub token: String,
    pub org: Option<String>,
    #[allow(dead_code)] // only the seed example fills the Owner column
    pub user_id: Option<String>,
}

fn bootstrap() -> Option<Value> {
    let path = std::env::var_os("BULKWRITE_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("bulkwrite-data/bootstrap.json"));
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Reads the settings; exits with a hint when the server or token is unknown.
pub fn settings() -> Settings {
    let file = bootstrap();
    let pick = |var: &str, key: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| file.as_ref()?.get(key)?.as_str().map(str::to_string))
    };
    let (Some(server), Some(token)) = (pick("BULKWRITE_SERVER", "base_url"), pick("BULKWRITE_TOKEN", "access_token"))
    else {
        eprintln!("set BULKWRITE_SERVER and BULKWRITE_TOKEN (or run next to bulkwrite-data/bootstrap.json)");
        std::process::exit(2);
    };
    Settings { server, token, org: pick("BULKWRITE_ORG", "org_id"), user_id: pick("BULKWRITE_USER", "user_id") }
}
