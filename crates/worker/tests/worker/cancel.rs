//! Cancel: a running job stops at its next chunk once its heartbeat sees the request, keeps its
//! committed rows and lists the rest `UNPROCESSED`; a queued job is finalised without running.

use bulkwrite_core::state::JobState;
use bulkwrite_store::CancelRequest;
use bulkwrite_worker::{RunOutcome, WorkerConfig};
use chrono::Utc;

use super::fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_stops_the_running_job_at_its_next_chunk() {
    const ROWS: usize = 20_000;
    let env = Env::new().await;
    let (_, job) = env.leads_job(7701, &leads_csv(ROWS), true).await;
    // A short lease makes the heartbeat look for the request every 100 ms.
    let worker = env.worker(WorkerConfig { lease_duration: std::time::Duration::from_millis(300), ..config(1) });
    let run = spawn_step(&worker);
    env.wait_for(job, "a committed chunk", |j| j.resources[0].rows_done > 0).await;

    let asked = env.store.request_cancel(ORG, job, CancelRequest { by: ADMIN, at: Utc::now() }).await.unwrap();
    assert_eq!(asked.unwrap().state, JobState::Running, "the worker stops it");
    assert_eq!(run.await.unwrap(), Some((job, RunOutcome::Cancelled)));

    let cancelled = env.job(job).await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    let reason = cancelled.error.as_deref().unwrap_or_default();
    assert!(reason.starts_with("cancelled by Mara Quist at "), "{reason}");
    let committed = cancelled.resources[0].rows_done as usize;
    assert!(committed > 0 && committed < ROWS, "stopped part-way, at {committed}");
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap() as usize, committed, "committed rows stay");

    let rows = env.result_csv(job).await;
    assert_eq!(rows.len() - 1, ROWS, "every row is in the result file");
    let statuses = statuses(&rows);
    assert!(statuses[..committed].iter().all(|s| *s == "ADDED"));
    assert!(statuses[committed..].iter().all(|s| *s == "UNPROCESSED"), "the rest were never reached");
    assert_eq!(rows[committed + 1][0], format!("Lead {:05}", committed + 1), "in input order");
    let due = env.store.claim_due_callbacks("d", Utc::now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a cancelled job never runs again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_asked_to_stop_while_queued_is_finalised_without_running() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7801, &leads_csv(4), true).await;
    env.store.request_cancel(ORG, job, CancelRequest { by: ADMIN, at: Utc::now() }).await.unwrap();
    let worker = env.worker(config(2));

    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a job asked to stop is never claimed to run");
    assert_eq!(worker.finalise_cancelled_once().await, Some((job, RunOutcome::Cancelled)));
    assert!(worker.finalise_cancelled_once().await.is_none(), "finalised once");

    let cancelled = env.job(job).await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), 0);
    let rows = env.result_csv(job).await;
    assert_eq!(statuses(&rows), ["UNPROCESSED"; 4]);
    let due = env.store.claim_due_callbacks("d", Utc::now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
}
