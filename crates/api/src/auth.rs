//! `Authorization: Zoho-oauthtoken <t>` or `Bearer <t>` → the request's principal.

mod scope;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{Principal, TokenLookup};
use bulkwrite_wire::{ApiError, ErrorCode};

pub use scope::{scope_covers, ALL_SCOPES, TEST_CONTROLS_SCOPE};

use crate::error::ErrorResponse;
use crate::AppState;

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl Auth {
    /// Fails with `OAUTH_SCOPE_MISMATCH` unless one granted scope covers one of `required`.
    pub fn require(&self, required: &[&str]) -> Result<(), ErrorResponse> {
        let granted = &self.0.scopes;
        let covered = required.iter().any(|need| granted.iter().any(|have| scope_covers(have, need)));
        if covered {
            return Ok(());
        }
        Err(ErrorResponse(ApiError::new(ErrorCode::OauthScopeMismatch)))
    }
}

/// The token of an `Authorization` header, if the header is well formed.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let known = scheme.eq_ignore_ascii_case("Zoho-oauthtoken") || scheme.eq_ignore_ascii_case("Bearer");
    let token = token.trim();
    (known && !token.is_empty() && !token.contains(' ')).then_some(token)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ErrorResponse> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok());
        let Some(token) = header.and_then(bearer) else {
            return Err(ErrorCode::AuthenticationFailure.into());
        };
        match state.store.lookup_token(&hash_token(token), state.clock.now()).await? {
            TokenLookup::Valid(principal) => Ok(Auth(principal)),
            TokenLookup::Expired | TokenLookup::Unknown => Err(ErrorCode::InvalidToken.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_any_case() {
        assert_eq!(bearer("Zoho-oauthtoken 1000.abc"), Some("1000.abc"));
        assert_eq!(bearer("Bearer 1000.abc"), Some("1000.abc"));
        assert_eq!(bearer("bearer 1000.abc"), Some("1000.abc"));
        assert_eq!(bearer("ZOHO-OAUTHTOKEN  1000.abc"), Some("1000.abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("1000.abc"), None);
        assert_eq!(bearer("Bearer a b"), None);
    }
}
