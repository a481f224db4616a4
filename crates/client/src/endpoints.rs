//! Where requests go: the four host roles (API, upload, accounts, download), Zoho's data
//! centres, and the API version in the path.

use std::str::FromStr;

pub use bulkwrite_wire::ApiVersion;

/// A Zoho data centre; picks the hosts of [`Endpoints::zoho`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCenter {
    /// United States, `zohoapis.com`.
    Com,
    /// Europe, `zohoapis.eu`.
    Eu,
    /// India, `zohoapis.in`.
    In,
    /// Australia, `zohoapis.com.au`.
    ComAu,
    /// Japan, `zohoapis.jp`.
    Jp,
    /// Canada, `zohoapis.ca` (accounts on `accounts.zohocloud.ca`).
    Ca,
    /// China, `zohoapis.com.cn`.
    ComCn,
    /// Saudi Arabia, `zohoapis.sa`.
    Sa,
}

impl DataCenter {
    /// Every data centre, in declaration order.
    pub const ALL: [DataCenter; 8] = [
        DataCenter::Com,
        DataCenter::Eu,
        DataCenter::In,
        DataCenter::ComAu,
        DataCenter::Jp,
        DataCenter::Ca,
        DataCenter::ComCn,
        DataCenter::Sa,
    ];

    /// The domain suffix, e.g. `com.au`.
    pub fn suffix(self) -> &'static str {
        match self {
            DataCenter::Com => "com",
            DataCenter::Eu => "eu",
            DataCenter::In => "in",
            DataCenter::ComAu => "com.au",
            DataCenter::Jp => "jp",
            DataCenter::Ca => "ca",
            DataCenter::ComCn => "com.cn",
            DataCenter::Sa => "sa",
        }
    }
}

impl FromStr for DataCenter {
    type Err = String;

    /// Accepts the suffix (`com`, `com.au`, …) and the short names `us`, `au`, `cn`.
    fn from_str(text: &str) -> Result<DataCenter, String> {
        let lower = text.trim().trim_start_matches('.').to_ascii_lowercase();
        match lower.as_str() {
            "us" => return Ok(DataCenter::Com),
            "au" => return Ok(DataCenter::ComAu),
            "cn" => return Ok(DataCenter::ComCn),
            _ => {}
        }
        DataCenter::ALL.into_iter().find(|dc| dc.suffix() == lower).ok_or_else(|| {
            format!("unknown data centre '{text}' (expected one of com, eu, in, com.au, jp, ca, com.cn, sa)")
        })
    }
}

/// Base URLs of the four host roles. Each is a scheme and host (and optionally a path prefix),
/// without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// API domain: `/crm/bulk/{v}/write`, `/crm/{v}/org`, records.
    pub api: String,
    /// File server: `/crm/{v}/upload`.
    pub upload: String,
    /// Accounts server: `/oauth/v2/token`.
    pub accounts: String,
    /// Base for a relative `result.download_url`; `None` uses [`Endpoints::api`]. Absolute
    /// download URLs are always used as given.
    pub download: Option<String>,
}

fn trim(base: impl Into<String>) -> String {
    base.into().trim_end_matches('/').to_string()
}

impl Endpoints {
    /// Zoho's production hosts for a data centre: `https://www.zohoapis.{dc}`,
    /// `https://content.zohoapis.{dc}`, `https://accounts.zoho.{dc}` (Canada:
    /// `https://accounts.zohocloud.ca`).
    pub fn zoho(dc: DataCenter) -> Endpoints {
        let suffix = dc.suffix();
        let accounts = match dc {
            DataCenter::Ca => "https://accounts.zohocloud.ca".to_string(),
            _ => format!("https://accounts.zoho.{suffix}"),
        };
        Endpoints {
            api: format!("https://www.zohoapis.{suffix}"),
            upload: format!("https://content.zohoapis.{suffix}"),
            accounts,
            download: None,
        }
    }

    /// A bulkwrite server: every role on one base URL, e.g. `http://127.0.0.1:8080`.
    pub fn bulkwrite(base_url: impl Into<String>) -> Endpoints {
        let base = trim(base_url);
        Endpoints { api: base.clone(), upload: base.clone(), accounts: base, download: None }
    }

    /// Replaces the upload base (e.g. `https://upload.zoho.com` as the v8 docs show).
    pub fn with_upload(mut self, base: impl Into<String>) -> Endpoints {
        self.upload = trim(base);
        self
    }

    /// Sets the base for relative download URLs.
    pub fn with_download(mut self, base: impl Into<String>) -> Endpoints {
        self.download = Some(trim(base));
        self
    }

    /// Every base URL, named, for validation and error messages.
    pub(crate) fn all(&self) -> Vec<(&'static str, &str)> {
        let mut all =
            vec![("api", self.api.as_str()), ("upload", self.upload.as_str()), ("accounts", self.accounts.as_str())];
        if let Some(download) = &self.download {
            all.push(("download", download.as_str()));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_and_without_v() {
        assert_eq!("v2.1".parse::<ApiVersion>().unwrap(), ApiVersion::V2_1);
        assert_eq!("8".parse::<ApiVersion>().unwrap(), ApiVersion::V8);
        assert!("v9".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn data_centres_parse_suffixes_and_short_names() {
        assert_eq!("com.au".parse::<DataCenter>().unwrap(), DataCenter::ComAu);
        assert_eq!("AU".parse::<DataCenter>().unwrap(), DataCenter::ComAu);
        assert_eq!(".eu".parse::<DataCenter>().unwrap(), DataCenter::Eu);
        assert!("xx".parse::<DataCenter>().is_err());
    }

    #[test]
    fn bulkwrite_trims_the_trailing_slash() {
        let endpoints = Endpoints::bulkwrite("http://127.0.0.1:8080/");
        assert_eq!(endpoints.api, "http://127.0.0.1:8080");
        assert_eq!(endpoints.accounts, "http://127.0.0.1:8080");
    }
}
