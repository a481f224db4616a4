//! Failure paths: a file the worker cannot read (or a module gone since creation) fails the job
//! with a reason, and rows past the row limit are `LIMIT_EXCEEDED` until the cut, after which
//! nothing more is read.

use bulkwrite_core::limits::Limits;
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_worker::{RunOutcome, WorkerConfig};
use chrono::Utc;

use super::fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_upload_fails_the_job_with_its_reason() {
    let env = Env::new().await;
    let (file_id, job) = env.leads_job(7201, &leads_csv(3), true).await;
    // The stored zip was damaged after it was accepted.
    std::fs::write(env.upload_path(file_id).await, b"this is not a zip any more").unwrap();
    let worker = env.worker(config(2));

    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Failed)));

    let failed = env.job(job).await;
    assert_eq!(failed.state, JobState::Failed);
    let reason = failed.error.as_deref().unwrap_or_default();
    assert!(reason.contains("not a readable zip"), "the reason says why: {reason}");
    assert_eq!(failed.resources[0].state, ResourceState::Failed);
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), 0);
    let due = env.store.claim_due_callbacks("d", Utc::now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [job], "a failed job calls back too");
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a failed job is not retried");
}

/// A zip whose deflated CSV is damaged two thirds of the way in.
fn zip_broken_mid_file(rows: usize) -> Vec<u8> {
    let mut bytes = zip_of(&[("leads.csv", leads_csv(rows).as_bytes())]);
    let field = |bytes: &[u8], at: usize, len: usize| {
        bytes[at..at + len].iter().rev().fold(0usize, |n, b| n * 256 + *b as usize)
    };
    let start = 30 + field(&bytes, 26, 2) + field(&bytes, 28, 2);
    let middle = start + field(&bytes, 18, 4) * 2 / 3;
    bytes[middle..middle + 64].fill(0xFF);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_broken_mid_way_fails_the_job_after_the_committed_chunks() {
    const ROWS: usize = 20_000;
    let env = Env::new().await;
    let file_id = env.upload(7302, &zip_broken_mid_file(ROWS)).await;
    let body = serde_json::json!({
        "operation": "insert",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id.to_string()}]
    });
    let job = env.create_job(7301, body).await;
    let worker = env.worker(config(1000));

    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Failed)));

    let failed = env.job(job).await;
    assert_eq!(failed.state, JobState::Failed);
    let reason = failed.error.as_deref().unwrap_or_default();
    assert!(reason.contains("leads.csv cannot be read"), "the reason names the file: {reason}");
    let committed = failed.resources[0].rows_done as usize;
    assert!(
        committed > 0 && committed < ROWS && committed / 1000 * 1000 == committed,
        "whole chunks before the break: {committed}"
    );
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap() as usize, committed);
    let rows = env.result_csv(job).await;
    let statuses = statuses(&rows);
    assert!(statuses.len() > committed, "rows past the checkpoint are listed too");
    assert!(statuses[..committed].iter().all(|s| *s == "ADDED"));
    assert!(!statuses[committed..].contains(&"ADDED"), "nothing past the checkpoint was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_removed_after_creation_fails_the_job() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7351, &leads_csv(3), false).await;
    let schema = env.store.org_schema(ORG).await.unwrap();
    let without = bulkwrite_core::schema::OrgSchema {
        modules: schema.modules.into_iter().filter(|m| m.api_name != "Leads").collect(),
    };
    env.store.save_org_schema(ORG, &without).await.unwrap();
    let worker = env.worker(config(2));

    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Failed)));
    let failed = env.job(job).await;
    assert_eq!(failed.error.as_deref(), Some("module Leads no longer exists"));
    assert_eq!(failed.resources[0].rows_done, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_past_the_row_limit_are_limit_exceeded_until_the_cut() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7401, &leads_csv(12), false).await;
    let limits = Limits { max_rows_per_file: 4, max_overflow_rows: 3, ..Limits::default() };
    let worker = env.worker(WorkerConfig { limits, ..config(2) });

    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));

    assert_eq!(env.job(job).await.state, JobState::Succeeded);
    assert_eq!(env.lead_names().await, lead_range(1..=4), "only rows within the limit are applied");
    let rows = env.result_csv(job).await;
    assert_eq!(rows.len() - 1, 7, "four applied, three listed past the limit, then the cut: {rows:?}");
    assert_eq!(&statuses(&rows)[..4], ["ADDED"; 4]);
    let errors = rows[0].iter().position(|c| c == "ERRORS").unwrap();
    for (offset, row) in rows[5..].iter().enumerate() {
        assert_eq!(row[0], format!("Lead {:05}", 5 + offset));
        assert!(row[errors].contains("LIMIT_EXCEEDED"), "row {} says why: {row:?}", 5 + offset);
    }
    assert!(!rows.iter().any(|r| r[0] == "Lead 00008"), "rows after the cut are neither read nor listed");
}
