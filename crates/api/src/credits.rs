//! API credits and concurrency like Zoho's (issue 19): every call to a Zoho CRM path is
//! metered against its org's 24-hour window of credits and its concurrency limits when the org
//! is metered, and refused with 429 `TOO_MANY_REQUESTS` past them; answers carry
//! `X-API-CREDITS-REMAINING` once half the credits are used. Zoho's tables (editions, costs,
//! limits, with their sources) are `bulkwrite_core::credits`; the counting, shared by every node,
//! is the store's (`bulkwrite_store::credits`).
//!
//! Off by default. An org is metered by its own setting (`PUT /bulkwrite/v1/orgs/{org}/credits`,
//! `bulkwrite admin orgs credits ORG --edition …`), or else by the server's
//! (`--api-credits EDITION`, [`crate::ApiConfig::api_credits`]). The setting comes with the token
//! lookup every call makes anyway, so an unmetered call costs no further query.
//!
//! What is metered: paths under `/crm/` (records, metadata, COQL, search, uploads, bulk write and
//! Bulk Read jobs). Not metered: the token endpoint (Zoho's accounts server), the bulk write
//! result download (Zoho's file server), and everything of ours under `/bulkwrite/v1/`.
//! A call is charged when it is admitted, whatever it answers; a refused call costs nothing.

mod classify;
mod meter;
mod view;

pub use bulkwrite_store::OrgCredits;
pub use classify::{classify, Metered};
pub use meter::{meter, CREDITS_REMAINING_HEADER, SLOT_LEASE};
pub use view::{credits_view, plan_in_force, setting_from_request, CreditsRequest};
pub use view::{plan_json, seconds, setting_word};
