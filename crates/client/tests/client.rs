//! The client against a scripted in-test HTTP server: tokens, errors, retries, upload, jobs,
//! results and records. (End-to-end runs against the real server live in the CLI crate.)

#[path = "client/support.rs"]
mod support;

#[path = "client/auth.rs"]
mod auth;
#[path = "client/errors.rs"]
mod errors;
#[path = "client/faults.rs"]
mod faults;
#[path = "client/jobs.rs"]
mod jobs;
#[path = "client/records.rs"]
mod records;
#[path = "client/transfer.rs"]
mod transfer;
