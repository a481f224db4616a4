//! `Authorization: Zoho-oauthtoken <t>` or `Bearer <t>` → the request's principal.

mod cache;
mod scope;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{Principal, TokenLookup};
use bulkwrite_wire::{ApiError, ErrorCode};

pub use cache::{PrincipalCache, DEFAULT_TOKEN_CACHE};
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

    /// Reuses the principal the metering layer already looked up for this request, if any.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ErrorResponse> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok());
        let Some(token) = header.and_then(bearer) else {
            return Err(ErrorCode::AuthenticationFailure.into());
        };
        match principal(state, token).await? {
            Some(principal) => Ok(Auth(principal)),
            None => Err(ErrorCode::InvalidToken.into()),
        }
    }
}

/// The principal of a valid `token` (`None`: unknown or expired), kept a moment in the node's
/// [`PrincipalCache`].
pub(crate) async fn principal(state: &AppState, token: &str) -> Result<Option<Principal>, ErrorResponse> {
    let hash = hash_token(token);
    let now = state.clock.now();
    let ticket = match state.principals.get(&hash, now) {
        Ok(principal) => {
            metrics::counter!(crate::observe::TOKEN_LOOKUPS, "source" => "cache").increment(1);
            return Ok(Some(principal));
        }
        Err(ticket) => ticket,
    };
    metrics::counter!(crate::observe::TOKEN_LOOKUPS, "source" => "store").increment(1);
    match state.store.lookup_token(&hash, now).await? {
        TokenLookup::Valid(principal) => {
            // A metered call's org setting is read afresh every time: `bulkwrite admin orgs
            // credits` changes it in the database, beside the running server.
            if crate::credits::plan_in_force(principal.credits, state.config.api_credits).is_none() {
                state.principals.keep(ticket, &hash, &principal);
            }
            Ok(Some(principal))
        }
        TokenLookup::Expired | TokenLookup::Unknown => Ok(None),
    }
}

/// Empties the node's [`PrincipalCache`] once a call that may have changed what a token means
/// (any method but `GET`, `HEAD` and `OPTIONS`) has been answered.
pub async fn forget_principals_after_changes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let reads = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(request).await;
    if !reads {
        state.principals.forget_all();
    }
    response
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
