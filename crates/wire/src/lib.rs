//! Zoho CRM Bulk Write API shapes, shared by the server and the Rust client.
//!
//! Owns: the JSON shapes of requests and answers, and the one [`ErrorCode`] table (code → HTTP
//! status → default message) and the row vocabulary ([`rows`]). Must not: validate against an org, touch I/O, or know about axum.
//! Key order in structs is the order Zoho writes keys in.

pub mod error;
pub mod faults;
pub mod inbox;
pub mod job;
pub mod read;
pub mod records;
pub mod rows;
pub mod upload;
pub mod version;

pub use error::{ApiError, ErrorBody, ErrorCode};
pub use job::*;
pub use rows::{ErrorGroup, ErrorsCell, ReportError, ReportLine, RowErrorCode, RowStatus, UnknownRowWord};
pub use version::ApiVersion;
