//! Pure, synchronous bulk write logic.
//!
//! Owns: ids, the org schema, job-spec validation, CSV reading (encoding, delimiter), column
//! mapping, per-type value conversion, result rows and the job state machine.
//! Must not: use tokio, a database or HTTP. Everything here works on `impl Read` / `impl Write`,
//! so the worker, the API and the CLI's `lint` share one implementation of Zoho's rules.

pub mod convert;
pub mod csvread;
pub mod datefmt;
pub mod ids;
pub mod schema;
