//! API versions in paths: `v2`, `v2.1`, `v3` … `v8` (the enum lives in `bulkwrite_wire`, shared
//! with the client).

pub use bulkwrite_wire::version::ApiVersion;
