//! One module per resource, handlers named after Zoho's operations.

pub mod admin;
pub mod coql;
pub mod credits;
pub mod download;
pub mod events;
pub mod extensions;
pub mod fallback;
pub mod health;
pub mod job_control;
pub mod jobs;
pub mod lint;
pub mod metadata;
pub mod oauth;
pub mod observe;
pub mod org_events;
pub mod reads;
pub mod records_read;
pub mod records_write;
pub mod report;
pub mod search;
pub mod test_controls;
pub mod undo;
pub mod upload;
mod upload_guard;
