//! Sets the `pg_tests` cfg when `BULKWRITE_TEST_DATABASE_URL` is set: the tests that need
//! PostgreSQL run then, and are ignored (reported as skipped) otherwise.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=BULKWRITE_TEST_DATABASE_URL");
    if std::env::var_os("BULKWRITE_TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
