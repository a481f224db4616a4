//! Zoho CRM Bulk Write API shapes, shared by the server and the Rust client.
//!
//! Owns: the JSON shapes of requests and answers, and the one [`ErrorCode`] table (code → HTTP
//! status → default message). Must not: validate against an org, touch I/O, or know about axum.
//! Key order in structs is the order Zoho writes keys in.

pub mod error;
pub mod job;
pub mod read;
pub mod records;
pub mod upload;
pub mod version;

pub use error::{ApiError, ErrorBody, ErrorCode};
pub use job::*;
pub use version::ApiVersion;
