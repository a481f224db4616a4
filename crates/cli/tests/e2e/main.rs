//! End-to-end tests: the real `bulkwrite` binary on `127.0.0.1:0`, driven over HTTP.

mod callback;
mod cancel;
mod cli;
mod corpus;
mod crash;
mod errors;
mod faults;
mod faults_pg;
mod harness;
mod hostile;
mod import;
mod isolation;
mod list;
mod metadata;
mod multinode;
mod oauth;
mod observe;
mod query;
mod read_corpus;
mod records_api;
mod report;
mod retention;
mod sdk;
mod seed;
mod zipbomb;
