//! Sets the `pg_tests` cfg when `BULKWRITE_TEST_DATABASE_URL` is set: the tests that need
//! PostgreSQL run then, and are ignored (reported as skipped) otherwise. Sets `browser_tests`
//! when `chromedriver` and a Chromium are on `PATH` (or `BULKWRITE_CHROMEDRIVER` names the
//! driver): the dashboard's browser tests run then, and are ignored otherwise.

use std::path::Path;

/// Whether `name` is an executable file in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=BULKWRITE_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=BULKWRITE_CHROMEDRIVER");
    println!("cargo::rerun-if-env-changed=PATH");
    if std::env::var_os("BULKWRITE_TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
    let driver =
        std::env::var_os("BULKWRITE_CHROMEDRIVER").is_some_and(|p| Path::new(&p).is_file()) || on_path("chromedriver");
    let browser = on_path("chromium") || on_path("chromium-browser") || on_path("google-chrome");
    if driver && browser {
        println!("cargo::rustc-cfg=browser_tests");
    }
}
