//! `bulkwrite serve` runs with mimalloc's purge delay set (see `crates/cli/src/allocator.rs`):
//! without it, a second's worth of freed pages stayed resident, 20-40 MiB of the peak RSS.

use crate::harness::Server;

/// What `bulkwrite serve` sets (`SERVER_PURGE_DELAY_MS`).
const SET: &str = "MIMALLOC_PURGE_DELAY=100";

/// The environment the server process runs with now (after it started itself again).
fn environment_of(server: &Server) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{}/environ", server.pid())).expect("/proc environ");
    bytes.split(|b| *b == 0).map(|entry| String::from_utf8_lossy(entry).into_owned()).collect()
}

#[tokio::test]
async fn the_server_runs_with_a_short_allocator_purge_delay() {
    let server = Server::start(&[]).await;
    let environment = environment_of(&server);
    assert!(
        environment.iter().any(|entry| entry == SET),
        "MIMALLOC_PURGE_DELAY not set to 100 ms in the server's environment: {environment:?}"
    );
    // Started again in place: the same process still answers.
    let response = server.http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_operators_purge_delay_is_kept() {
    let server = Server::start(&[("MIMALLOC_PURGE_DELAY", "250")]).await;
    let environment = environment_of(&server);
    assert!(environment.iter().any(|entry| entry == "MIMALLOC_PURGE_DELAY=250"), "{environment:?}");
    assert!(!environment.iter().any(|entry| entry == SET), "{environment:?}");
}
