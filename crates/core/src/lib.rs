//! Pure, synchronous bulk write logic.
//!
//! Owns: ids, the org schema, job-spec validation, CSV reading (encoding, delimiter), column
//! mapping, per-type value conversion, chunk planning (insert, update, upsert, duplicates),
//! result rows, job details, the job state machine, the typed queries (filters, sorting,
//! paging) that search, COQL and Bulk Read run in the store, and Zoho's API limit tables
//! (credits and concurrency by edition, the cost of each call: [`credits`]).
//! Must not: use tokio, a database or HTTP. Everything here works on `impl Read` / `impl Write`
//! and plain values, so the worker, the API, every store backend and the CLI's `lint` share one
//! implementation of Zoho's rules.

pub mod activity;
pub mod callback_url;
pub mod clock;
pub mod convert;
pub mod credits;
pub mod csvread;
pub mod datefmt;
pub mod faults;
pub mod ids;
pub mod inventory;
pub mod job_details;
pub mod jobspec;
pub mod json_record;
pub mod limits;
pub mod lint;
pub mod lookup;
pub mod mapping;
pub mod perms;
pub mod picklist;
pub mod plan;
pub mod query;
pub mod readspec;
pub mod result;
pub mod schema;
pub mod state;
pub mod version;
pub mod zipfile;

/// The hasher of maps that rows fill and read on the hot path (the planner's, the owner lookups):
/// foldhash, seeded at random as std's SipHash is, and several times cheaper on short keys.
pub(crate) type FastHasher = foldhash::fast::RandomState;
