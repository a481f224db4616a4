//! Storage of bulkwrite: the traits every backend implements, the blob store, and the
//! conformance suite that proves a backend right.
//!
//! Owns: the storage model ([`model`]) and contracts ([`traits`]). Must not: know SQL or any
//! driver (backends do), or HTTP.
//!
//! Invariants every backend keeps:
//! - every read and write is scoped by org;
//! - a chunk's record writes, result rows, counters and checkpoint commit together, so a
//!   resumed job continues after the last checkpoint and never applies a row twice;
//! - a chunk names the checkpoint it follows and is refused unless that is the stored one, so
//!   chunks commit in order even when two are in flight, and a chunk after a lost or failed one
//!   (or a second worker's copy of one) never commits;
//! - every job write is fenced by the lease owner and fails with [`StoreError::LeaseLost`]
//!   once another worker holds the job;
//! - a job's final state and its callback delivery are committed together (the outbox).

pub mod blob;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod fault;
pub mod ids;
pub mod model;
pub mod order;
pub mod result_rows;
pub mod staging;
pub mod token;
pub mod traits;
mod view;

pub use blob::{BlobStore, DirBlobStore, LocalBlob};
pub use error::{StoreError, StoreResult};
pub use model::*;
pub use order::ChunkOrder;
pub use traits::*;
