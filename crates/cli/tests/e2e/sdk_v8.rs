//! The v8 SDKs (PyPI `zohocrmsdk8-0`, npm `@zohocrm/nodejs-sdk-8.0`), unmodified, run
//! `tests/sdk/{python,node}/bulk_write_v8.*` against the real server: upload (`/crm/v8/upload`), a job
//! with a callback (`/crm/bulk/v8/write`), details until COMPLETED, the callback, the download, and
//! the SDK's `APIException` for refused requests. On SQLite in both token modes; on PostgreSQL once per
//! SDK. What the SDKs send and require: docs/sdk-v8-compatibility.md.

use crate::harness::Server;
use crate::sdk::{run_script_on, Sdk};

/// The script's callback receiver listens on loopback.
const ALLOW: [(&str, &str); 1] = [("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1/32")];

async fn on_sqlite(sdk: Sdk, mode: &str) {
    let server = Server::start(&ALLOW).await;
    run_script_on(&server, sdk, "bulk_write_v8", mode).await;
}

async fn on_postgres(sdk: Sdk) {
    let database = crate::multinode::fresh_database().await;
    let server = crate::multinode::node(&database, "all", &ALLOW).await;
    run_script_on(&server, sdk, "bulk_write_v8", "access").await;
}

#[tokio::test]
async fn python_v8_access_token() {
    on_sqlite(Sdk::PythonV8, "access").await;
}

#[tokio::test]
async fn python_v8_refresh_token() {
    on_sqlite(Sdk::PythonV8, "refresh").await;
}

#[tokio::test]
async fn node_v8_access_token() {
    on_sqlite(Sdk::NodeV8, "access").await;
}

#[tokio::test]
async fn node_v8_refresh_token() {
    on_sqlite(Sdk::NodeV8, "refresh").await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn python_v8_on_postgres() {
    on_postgres(Sdk::PythonV8).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn node_v8_on_postgres() {
    on_postgres(Sdk::NodeV8).await;
}
