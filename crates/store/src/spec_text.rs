//! A job's stored spec (`spec_json`) read back into its [`JobSpec`], remembered by its text: a
//! job poll reads the job, and parsing its spec (mappings and all) was about a tenth of the
//! server's time on a stream of polls (docs/PERFORMANCE.md). The text is the key, so the memo is
//! exact whatever changes a row; a job's spec never changes anyway.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bulkwrite_core::jobspec::JobSpec;

use crate::{StoreError, StoreResult};

/// Specs remembered at most; past it the memo starts over empty. The jobs being polled at one
/// time are few.
const MAX_SPECS: usize = 128;

/// Longer texts are parsed each time, never kept: the memo stays within a few MiB whatever
/// mappings a job names.
const MAX_TEXT: usize = 16 * 1024;

/// The [`JobSpec`] of stored spec `text`.
pub fn parse_spec(text: &str) -> StoreResult<JobSpec> {
    static MEMO: OnceLock<Mutex<HashMap<Box<str>, JobSpec>>> = OnceLock::new();
    let parse = |text| serde_json::from_str(text).map_err(|error| StoreError::Corrupt(error.to_string()));
    if text.len() > MAX_TEXT {
        return parse(text);
    }
    let memo = MEMO.get_or_init(Mutex::default);
    if let Some(spec) = lock(memo).get(text) {
        return Ok(spec.clone());
    }
    let spec: JobSpec = parse(text)?;
    let mut specs = lock(memo);
    if specs.len() >= MAX_SPECS {
        specs.clear();
    }
    specs.insert(text.into(), spec.clone());
    Ok(spec)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding it leaves a whole map: entries are inserted whole.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_the_same_the_second_time_and_bad_text_is_corrupt() {
        let text = r#"{"operation":"insert","resources":[],"callback":null}"#;
        let first = parse_spec(text).unwrap();
        assert_eq!(first, serde_json::from_str::<JobSpec>(text).unwrap());
        assert_eq!(parse_spec(text).unwrap(), first, "remembered");
        let other = r#"{"operation":"update","resources":[]}"#;
        assert_eq!(parse_spec(other).unwrap().operation, bulkwrite_wire::Operation::Update, "by its text");
        assert!(matches!(parse_spec("{not json"), Err(StoreError::Corrupt(_))));
    }
}
