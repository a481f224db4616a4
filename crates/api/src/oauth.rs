//! Zoho Accounts' OAuth 2.0, as a self-hosted stand-in: grant codes, access and refresh tokens,
//! client credentials, revocation, and a consent page, at Zoho Accounts' paths
//! (`/oauth/v2/token`, …).
//!
//! Token errors are Zoho's `{"error": "invalid_code"}` shapes; Zoho sends them with HTTP 200,
//! which is the default here too (`ApiConfig::oauth_error_status` can make it 400).

pub mod consent;
pub mod password;
pub mod service;

pub use service::{OAuthError, TokenService, ACCESS_TOKEN_LIFETIME};
