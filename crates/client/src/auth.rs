//! Credentials and the access-token cache.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};

/// How the client authenticates. Requests carry `Authorization: Zoho-oauthtoken <token>`
/// (`Bearer <key>` for a bulkwrite server's admin key).
#[derive(Clone)]
pub enum Credentials {
    /// A fixed access token (e.g. bulkwrite's bootstrap token). It is never renewed: once it
    /// expires, calls fail with `INVALID_TOKEN`.
    AccessToken(String),
    /// The refresh-token grant: the client POSTs `{accounts}/oauth/v2/token` with
    /// `grant_type=refresh_token`, caches the access token, renews it shortly before
    /// `expires_in` runs out, and once more when a call answers 401 `INVALID_TOKEN`.
    RefreshToken {
        /// The OAuth client id (`1000.…`).
        client_id: String,
        /// The OAuth client secret.
        client_secret: String,
        /// The long-lived refresh token (`1000.…`).
        refresh_token: String,
    },
    /// A bulkwrite server's admin key (`admin_key` of its `bootstrap.json`), sent as
    /// `Authorization: Bearer <key>`: it opens the server's own admin and test-control paths for
    /// every org, and never expires, whatever the test controls do to the clock. Zoho has no such
    /// thing.
    AdminKey(String),
}

impl Credentials {
    /// A fixed access token.
    pub fn access_token(token: impl Into<String>) -> Credentials {
        Credentials::AccessToken(token.into())
    }

    /// The refresh-token grant.
    pub fn refresh_token(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Credentials {
        Credentials::RefreshToken {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
        }
    }

    /// A bulkwrite server's admin key.
    pub fn admin_key(key: impl Into<String>) -> Credentials {
        Credentials::AdminKey(key.into())
    }

    /// The scheme of the `Authorization` header these credentials send.
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            Credentials::AdminKey(_) => "Bearer",
            Credentials::AccessToken(_) | Credentials::RefreshToken { .. } => "Zoho-oauthtoken",
        }
    }

    /// Whether the client can mint new access tokens with these credentials.
    pub fn can_refresh(&self) -> bool {
        matches!(self, Credentials::RefreshToken { .. })
    }
}

/// Secrets stay out of logs.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AccessToken(_) => f.write_str("Credentials::AccessToken(<redacted>)"),
            Credentials::AdminKey(_) => f.write_str("Credentials::AdminKey(<redacted>)"),
            Credentials::RefreshToken { client_id, .. } => f
                .debug_struct("Credentials::RefreshToken")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("refresh_token", &"<redacted>")
                .finish(),
        }
    }
}

/// An access token from the accounts server, with the moment to renew it.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub(crate) token: String,
    pub(crate) renew_at: Instant,
}

impl CachedToken {
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.renew_at
    }
}

/// Token lifetime assumed when the answer names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Reads a token-endpoint answer. `{"error": …}` (any status) is [`Error::OAuth`]; the
/// lifetime comes from `expires_in` (or `expires_in_sec`), minus `margin` but never more than
/// half the lifetime, so short-lived tokens are still used before being renewed. `now` is when
/// the answer came.
pub(crate) fn read_token_answer(http_status: u16, body: &[u8], margin: Duration, now: Instant) -> Result<CachedToken> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        if http_status >= 400 {
            crate::error::error_from_body(http_status, body)
        } else {
            Error::Decode(format!("token endpoint answered HTTP {http_status} with a body that is not JSON"))
        }
    })?;
    if let Some(error) = value.get("error") {
        let error = error.as_str().map(str::to_string).unwrap_or_else(|| error.to_string());
        return Err(Error::OAuth { error, http_status });
    }
    let Some(token) = value.get("access_token").and_then(Value::as_str) else {
        if http_status >= 400 {
            return Err(crate::error::error_from_body(http_status, body));
        }
        return Err(Error::Decode("token endpoint answer has no access_token".into()));
    };
    let seconds = ["expires_in", "expires_in_sec"].iter().find_map(|key| match value.get(*key) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    });
    let lifetime = seconds.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME);
    let margin = margin.min(lifetime / 2);
    Ok(CachedToken { token: token.to_string(), renew_at: now + lifetime - margin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answer_is_read_with_its_lifetime() {
        let body = br#"{"access_token":"1000.a","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}"#;
        let now = Instant::now();
        let token = read_token_answer(200, body, Duration::from_secs(60), now).unwrap();
        assert_eq!(token.token, "1000.a");
        assert_eq!(token.renew_at - now, Duration::from_secs(3540));
    }

    #[test]
    fn short_lifetimes_keep_half_of_it() {
        let now = Instant::now();
        let token =
            read_token_answer(200, br#"{"access_token":"t","expires_in":2}"#, Duration::from_secs(60), now).unwrap();
        assert!(token.is_fresh(now));
        assert_eq!(token.renew_at - now, Duration::from_secs(1));
        assert!(!token.is_fresh(now + Duration::from_secs(1)));
    }

    #[test]
    fn error_words_become_oauth_errors_whatever_the_status() {
        for status in [200, 400] {
            match read_token_answer(status, br#"{"error":"invalid_code"}"#, Duration::ZERO, Instant::now()) {
                Err(Error::OAuth { error, http_status }) => {
                    assert_eq!(error, "invalid_code");
                    assert_eq!(http_status, status);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let text = format!("{:?}", Credentials::refresh_token("id", "secret", "refresh"));
        assert!(!text.contains("secret\"") && !text.contains("refresh\""));
        assert!(text.contains("<redacted>"));
    }
}
