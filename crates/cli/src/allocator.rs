//! The process's allocator: mimalloc (the import pipeline allocates many small values, which it
//! handles far better than the system allocator; see docs/PERFORMANCE.md), and for the server
//! the one setting that bounds its resident memory.
//!
//! mimalloc keeps the pages a thread frees committed for `MIMALLOC_PURGE_DELAY` milliseconds
//! (1,000 by default in mimalloc 3) before it returns them to the system. The server frees tens
//! of MiB a second at full speed (a chunk's rows, query results, 1 MiB blob chunks, export
//! parts), so a second's worth of freed pages stayed resident on top of what it holds: 20-40 MiB
//! of its peak RSS (docs/PERFORMANCE.md, "Memory"). mimalloc reads its options from the
//! environment once, when the process loads, and offers no safe way to set them after; so
//! `bulkwrite serve` starts itself again, once, with the variable set, unless the operator set
//! it (their value is kept).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The environment variable mimalloc reads its purge delay from.
pub const PURGE_DELAY_VARIABLE: &str = "MIMALLOC_PURGE_DELAY";

/// The server's purge delay in milliseconds. Long enough for the memory of a chunk freed on
/// one thread to serve the next chunk instead of going back to the system and being faulted in
/// afresh (with 10 ms, mimalloc 2's default, page faults and the kernel zeroing pages were a
/// fifth of the server's CPU; 100 ms took 15-20% off the PostgreSQL upsert's CPU and 8-12% off
/// its time, docs/PERFORMANCE.md), short enough that freed pages do not pile up: 5-10 MiB more
/// peak RSS than 10 ms, where 1,000 ms cost 20-40 MiB.
pub const SERVER_PURGE_DELAY_MS: &str = "100";

/// Runs the server under [`SERVER_PURGE_DELAY_MS`]: replaces this process (same pid, arguments,
/// standard streams) by the same binary with the variable set, unless it is set already. If the
/// binary cannot be started again, the server runs on with mimalloc's default.
pub fn settle_for_server() {
    if std::env::var_os(PURGE_DELAY_VARIABLE).is_some() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only when it failed; the server then starts as it is.
        let _failed = command.args(args).env(PURGE_DELAY_VARIABLE, SERVER_PURGE_DELAY_MS).exec();
    }
}
