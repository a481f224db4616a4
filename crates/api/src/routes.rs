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
pub mod metadata;
pub mod oauth;
pub mod observe;
pub mod reads;
pub mod records_read;
pub mod records_write;
pub mod report;
pub mod search;
pub mod upload;
pub mod test_controls;
mod upload_guard;
