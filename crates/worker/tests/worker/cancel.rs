//! Cancel: a running job stops at its next chunk once its heartbeat sees the request, keeps its
//! committed rows and lists the rest `UNPROCESSED`; a queued job is finalised without running.

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_core::state::JobState;
use bulkwrite_store::CancelRequest;
use bulkwrite_worker::{RunOutcome, Worker, WorkerConfig};
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

/// A cancel announced on the node's job changes (as the API announces each request) stops the
/// running job at its next chunk without waiting for a look: the heartbeat here looks once an
/// hour, and the job would otherwise run to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_cancel_stops_the_running_job_without_waiting_for_a_look() {
    const ROWS: usize = 20_000;
    let env = Env::new().await;
    let (_, job) = env.leads_job(7711, &leads_csv(ROWS), true).await;
    let hour = Duration::from_secs(3600);
    let ctx = env.context(WorkerConfig { lease_duration: hour, cancel_poll: hour, ..config(1) });
    let changes = Arc::clone(&ctx.wakeup.changes);
    let worker = Arc::new(Worker::new(ctx));
    let run = spawn_step(&worker);
    env.wait_for(job, "a committed chunk", |j| j.resources[0].rows_done > 0).await;

    env.store.request_cancel(ORG, job, CancelRequest { by: ADMIN, at: Utc::now() }).await.unwrap();
    // Another job's request and this job's other changes do not concern the run.
    changes.cancel_requested(bulkwrite_core::ids::JobId::new(7_712));
    changes.job_changed(job);
    changes.cancel_requested(job);
    let outcome = tokio::time::timeout(Duration::from_secs(60), run).await.expect("stopped long before a look");
    assert_eq!(outcome.unwrap(), Some((job, RunOutcome::Cancelled)));
    let committed = env.job(job).await.resources[0].rows_done as usize;
    assert!(committed > 0 && committed < ROWS, "stopped part-way, at {committed}");
}

/// A job asked to stop while queued is finalised as soon as the request is announced, by the
/// finaliser beside the worker loop (which looks once an hour here, and never claims a job:
/// no org may run any).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_cancel_finalises_a_queued_job_without_waiting_for_a_look() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7811, &leads_csv(4), true).await;
    let hour = Duration::from_secs(3600);
    let config = WorkerConfig { cancel_poll: hour, idle_poll: hour, max_running_per_org: 0, ..config(2) };
    let ctx = env.context(config);
    let changes = Arc::clone(&ctx.wakeup.changes);
    let worker = Arc::new(Worker::new(ctx));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn({
        let worker = Arc::clone(&worker);
        async move { worker.run(shutdown).await }
    });
    // The finaliser has looked once and found nothing; now it waits for a request.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.job(job).await.state, JobState::Queued, "no org may run a job");

    env.store.request_cancel(ORG, job, CancelRequest { by: ADMIN, at: Utc::now() }).await.unwrap();
    changes.cancel_requested(job);
    env.wait_for(job, "cancelled", |j| j.state == JobState::Cancelled).await;
    assert_eq!(statuses(&env.result_csv(job).await), ["UNPROCESSED"; 4]);
    stop.send(true).unwrap();
    running.await.unwrap();
}
