//! Issuing and checking OAuth credentials; shared by the token endpoint, the consent page and the
//! admin API.

use std::collections::HashMap;
use std::sync::Arc;

use bulkwrite_core::clock::Clock;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_store::token::{generate_token, hash_token};
use bulkwrite_store::{ClientKind, GrantCode, NewAccessToken, OAuthClient, RefreshToken, Revoked, Store, StoreError};
use serde::Serialize;

/// How long an access token lives by default (Zoho: one hour).
pub const ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// How long a grant code can be exchanged.
pub const GRANT_LIFETIME: chrono::Duration = chrono::Duration::minutes(3);

/// A Zoho Accounts error word (`invalid_code`, `invalid_client`, …), or a storage failure
/// (kept whole, logged once where it is answered).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Answered to the client as `{"error": word}`.
    #[error("{0}")]
    Rejected(&'static str),
    /// The store failed (answered 500, logged).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The token endpoint's answer, in Zoho's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenAnswer {
    /// The new access token (`1000.…`).
    pub access_token: String,
    /// A refresh token, when the grant asked for offline access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// The base URL of the CRM API the token is for.
    pub api_domain: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// Checks and issues credentials.
#[derive(Clone)]
pub struct TokenService {
    /// Where clients, grants and tokens are stored.
    pub store: Arc<dyn Store>,
    /// Returned as `api_domain`.
    pub api_domain: String,
    /// How long minted access tokens live.
    pub access_lifetime: chrono::Duration,
    /// The time tokens and grants are minted and checked at.
    pub clock: Arc<dyn Clock>,
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).ok_or(OAuthError::Rejected("invalid_request"))
}

/// Scopes as clients send them: comma- or space-separated.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, OAuthError> {
    let mut scopes = Vec::new();
    for scope in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        let valid = scope.split('.').count() >= 2
            && scope.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            && !scope.starts_with('.')
            && !scope.ends_with('.');
        if !valid {
            return Err(OAuthError::Rejected("invalid_scope"));
        }
        if !scopes.iter().any(|known: &String| known == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        return Err(OAuthError::Rejected("invalid_scope"));
    }
    Ok(scopes)
}

impl TokenService {
    /// The client named by `client_id` whose secret is `client_secret`.
    async fn authenticate_client(&self, params: &HashMap<String, String>) -> Result<OAuthClient, OAuthError> {
        let client_id = param(params, "client_id").map_err(|_| OAuthError::Rejected("invalid_client"))?;
        let secret = param(params, "client_secret").map_err(|_| OAuthError::Rejected("invalid_client"))?;
        let client = self.store.get_client(client_id).await?.ok_or(OAuthError::Rejected("invalid_client"))?;
        if client.secret_hash != hash_token(secret) {
            return Err(OAuthError::Rejected("invalid_client"));
        }
        Ok(client)
    }

    /// Mints an access token (and a refresh token when asked).
    pub async fn issue(
        &self,
        client_id: Option<&str>,
        org: OrgId,
        user: UserId,
        scopes: &[String],
        with_refresh: bool,
        from_refresh: Option<&str>,
    ) -> Result<TokenAnswer, OAuthError> {
        let now = self.clock.now();
        let refresh_token = if with_refresh {
            let token = generate_token();
            let record = RefreshToken {
                token_hash: hash_token(&token),
                client_id: client_id.unwrap_or_default().to_string(),
                org,
                user,
                scopes: scopes.to_vec(),
                created_at: now,
            };
            self.store.insert_refresh_token(record).await?;
            Some(token)
        } else {
            None
        };
        let access_token = generate_token();
        let refresh_hash = refresh_token.as_deref().or(from_refresh).map(hash_token);
        let access = NewAccessToken {
            token_hash: hash_token(&access_token),
            org,
            user,
            scopes: scopes.to_vec(),
            expires_at: Some(now + self.access_lifetime),
            client_id: client_id.map(str::to_string),
            refresh_hash,
        };
        self.store.insert_access_token(access).await?;
        Ok(TokenAnswer {
            access_token,
            refresh_token,
            scope: scopes.join(" "),
            api_domain: self.api_domain.clone(),
            token_type: "Bearer".to_string(),
            expires_in: self.access_lifetime.num_seconds(),
        })
    }

    /// Stores a fresh one-time grant code and returns it.
    pub async fn create_grant(
        &self,
        client: &OAuthClient,
        user: UserId,
        scopes: Vec<String>,
        redirect_uri: Option<String>,
    ) -> Result<String, OAuthError> {
        let code = generate_token();
        let grant = GrantCode {
            code_hash: hash_token(&code),
            client_id: client.client_id.clone(),
            org: client.org,
            user,
            scopes,
            redirect_uri,
            expires_at: self.clock.now() + GRANT_LIFETIME,
        };
        self.store.insert_grant(grant).await?;
        Ok(code)
    }

    /// `POST /oauth/v2/token` with any grant type.
    pub async fn token(&self, params: &HashMap<String, String>) -> Result<TokenAnswer, OAuthError> {
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(params).await,
            Some("refresh_token") => self.refresh(params).await,
            Some("client_credentials") => self.client_credentials(params).await,
            Some(_) => Err(OAuthError::Rejected("unsupported_grant_type")),
            None => Err(OAuthError::Rejected("invalid_request")),
        }
    }

    async fn exchange_code(&self, params: &HashMap<String, String>) -> Result<TokenAnswer, OAuthError> {
        let client = self.authenticate_client(params).await?;
        let code = param(params, "code").map_err(|_| OAuthError::Rejected("invalid_code"))?;
        let grant = self
            .store
            .redeem_grant(&hash_token(code), self.clock.now())
            .await?
            .ok_or(OAuthError::Rejected("invalid_code"))?;
        if grant.client_id != client.client_id {
            return Err(OAuthError::Rejected("invalid_code"));
        }
        if let Some(expected) = &grant.redirect_uri {
            if params.get("redirect_uri").map(|u| u.trim()) != Some(expected.as_str()) {
                return Err(OAuthError::Rejected("invalid_redirect_uri"));
            }
        }
        self.issue(Some(&client.client_id), grant.org, grant.user, &grant.scopes, true, None).await
    }

    async fn refresh(&self, params: &HashMap<String, String>) -> Result<TokenAnswer, OAuthError> {
        let client = self.authenticate_client(params).await?;
        let token = param(params, "refresh_token").map_err(|_| OAuthError::Rejected("invalid_code"))?;
        let refresh =
            self.store.get_refresh_token(&hash_token(token)).await?.ok_or(OAuthError::Rejected("invalid_code"))?;
        if refresh.client_id != client.client_id {
            return Err(OAuthError::Rejected("invalid_code"));
        }
        self.issue(Some(&client.client_id), refresh.org, refresh.user, &refresh.scopes, false, Some(token)).await
    }

    async fn client_credentials(&self, params: &HashMap<String, String>) -> Result<TokenAnswer, OAuthError> {
        let client = self.authenticate_client(params).await?;
        if client.kind != ClientKind::SelfClient {
            return Err(OAuthError::Rejected("unauthorized_client"));
        }
        let scopes = parse_scopes(params.get("scope").map(String::as_str).unwrap_or(""))?;
        let soid = params
            .get("soid")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or(OAuthError::Rejected("missing_org_info"))?;
        let org = soid.strip_prefix("ZohoCRM.").and_then(OrgId::parse);
        if org != Some(client.org) {
            return Err(OAuthError::Rejected("invalid_org_info"));
        }
        self.issue(Some(&client.client_id), client.org, client.user, &scopes, false, None).await
    }

    /// `POST /oauth/v2/token/revoke`: whether the token existed.
    pub async fn revoke(&self, token: &str) -> Result<bool, OAuthError> {
        Ok(self.store.revoke_token(&hash_token(token.trim())).await? != Revoked::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_commas_and_spaces() {
        assert_eq!(
            parse_scopes("ZohoCRM.bulk.ALL,ZohoFiles.files.ALL ZohoCRM.bulk.ALL").unwrap(),
            ["ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL"]
        );
        assert!(matches!(parse_scopes(""), Err(OAuthError::Rejected("invalid_scope"))));
        assert!(matches!(parse_scopes("bad scope!"), Err(OAuthError::Rejected("invalid_scope"))));
        assert!(matches!(parse_scopes("nodots"), Err(OAuthError::Rejected("invalid_scope"))));
    }
}
