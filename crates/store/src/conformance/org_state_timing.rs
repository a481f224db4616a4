//! Timings of reset and snapshots on an org of 10,000 records (not a conformance case: each
//! backend runs it from an ignored test, and `docs/PERFORMANCE.md` quotes what it prints).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};

use super::*;

/// Records the timed org holds.
pub const TIMED_RECORDS: u64 = 10_000;

/// Writes 10,000 leads through one job (chunks of 1,000), then times a snapshot, a reset, a
/// restore, a second restore over the restored state, and deleting the snapshot; returns the
/// report (one line per step, milliseconds).
pub async fn time_reset_and_snapshots(store: Arc<dyn Store>) -> String {
    with_org(&store).await;
    new_job(&store, 50_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "timing").await.expect("the job");
    store.start_resource(&lease, 0).await.unwrap();
    let started = Instant::now();
    for part in 0..TIMED_RECORDS / 1000 {
        let rows = (1..=1000)
            .map(|n| {
                let row_no = part * 1000 + n;
                row(row_no, &format!("Lead {row_no}"), &format!("lead{row_no}@timing.example"))
            })
            .collect::<Vec<_>>();
        let write = chunk(Operation::Insert, rows, (part + 1) * 1000);
        store.apply_chunk(&lease, write).await.unwrap();
    }
    store.finish_resource(&lease, 0, TIMED_RECORDS).await.unwrap();
    store.complete_job(&lease, "results/timing.zip", Utc::now()).await.unwrap();
    let mut report = format!("writing {TIMED_RECORDS} records (10 chunks): {} ms\n", started.elapsed().as_millis());
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), TIMED_RECORDS);

    let timed = Instant::now();
    let info = store.create_snapshot(ORG, "timing", Utc::now() - Duration::seconds(1)).await.unwrap();
    report.push_str(&format!("snapshot ({} rows): {} ms\n", info.rows, timed.elapsed().as_millis()));
    let timed = Instant::now();
    let summary = store.reset_org(ORG, &Keep::default()).await.unwrap();
    report.push_str(&format!("reset ({} rows): {} ms\n", summary.rows, timed.elapsed().as_millis()));
    assert_eq!(summary.records, TIMED_RECORDS);
    let timed = Instant::now();
    store.restore_snapshot(ORG, "timing", &Keep::default()).await.unwrap().expect("the snapshot");
    report.push_str(&format!("restore onto an empty org: {} ms\n", timed.elapsed().as_millis()));
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), TIMED_RECORDS);
    let timed = Instant::now();
    store.restore_snapshot(ORG, "timing", &Keep::default()).await.unwrap().expect("the snapshot");
    report.push_str(&format!("restore over the full org (reset + copy): {} ms\n", timed.elapsed().as_millis()));
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), TIMED_RECORDS);
    let timed = Instant::now();
    assert!(store.delete_snapshot(ORG, "timing").await.unwrap());
    report.push_str(&format!("delete the snapshot: {} ms\n", timed.elapsed().as_millis()));
    report
}
