//! The worker on its own: `Worker::run_once` stepped in-process on a SQLite store in a temp dir.
//! No binary, no HTTP: jobs are made through core's create-job parser and validator, exactly as
//! the API makes them, and every outcome is read back from the store and the result zip.

mod worker {
    pub mod fixture;

    mod cancel;
    mod export;
    mod failures;
    mod resume;
    mod runs;
    mod stepping;
    mod undo;
}
