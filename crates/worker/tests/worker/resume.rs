//! A run that stops half-way (its lease taken away, its task killed, or a shutdown) leaves its committed
//! chunks; the next worker resumes after the last checkpoint and no row is applied twice.

use bulkwrite_core::state::JobState;
use bulkwrite_worker::{RunOutcome, WorkerConfig};

use super::fixture::*;

const ROWS: usize = 3000;

/// Small chunks so the run is still going when the test interrupts it.
fn slow_config() -> WorkerConfig {
    WorkerConfig { node_id: "first".into(), ..config(3) }
}

/// The resumed job completed with every row applied exactly once and listed once, in order.
async fn assert_applied_once(env: &Env, job: bulkwrite_core::ids::JobId) {
    let done = env.job(job).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.resources[0].rows_done, ROWS as u64);
    assert_eq!(done.resources[0].added, ROWS as u64);
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), ROWS as u64, "no row applied twice");
    assert_eq!(env.lead_names().await, lead_range(1..=ROWS), "and none missed");
    let rows = env.result_csv(job).await;
    assert_eq!(rows.len() - 1, ROWS, "one result row per input row");
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, lead_range(1..=ROWS), "in input order, each once");
    assert!(statuses(&rows).iter().all(|s| *s == "ADDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_the_run_and_the_next_worker_resumes_once() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7501, &leads_csv(ROWS), false).await;
    let first = env.worker(slow_config());
    let run = spawn_step(&first);
    env.wait_for(job, "a committed chunk", |j| j.resources[0].rows_done > 0).await;

    // The lease is taken from under the run (what a restart of the node does to its jobs).
    assert_eq!(env.store.requeue_running_jobs().await.unwrap(), 1);
    let (stopped, outcome) = run.await.unwrap().unwrap();
    assert_eq!((stopped, outcome), (job, RunOutcome::LeaseLost));

    let left = env.job(job).await;
    assert_eq!(left.state, JobState::Queued, "the job waits for the next worker");
    let checkpoint = left.resources[0].rows_done;
    assert!(checkpoint > 0 && checkpoint < ROWS as u64, "stopped half-way at {checkpoint}");
    assert_eq!(checkpoint / 3 * 3, checkpoint, "the checkpoint moves a whole chunk at a time");
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), checkpoint, "records match the checkpoint");

    let second = env.worker(WorkerConfig { node_id: "second".into(), ..config(500) });
    assert_eq!(second.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    assert_eq!(env.job(job).await.attempts, 2);
    assert_applied_once(&env, job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_resumed_from_its_checkpoint() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7601, &leads_csv(ROWS), false).await;
    let first = env.worker(slow_config());
    let run = spawn_step(&first);
    env.wait_for(job, "a committed chunk", |j| j.resources[0].rows_done > 0).await;

    // The process dies mid-run: its task is gone, the job is still `Running` under its lease.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert_eq!(env.job(job).await.state, JobState::Running);
    let other = env.worker(WorkerConfig { node_id: "other".into(), ..config(500) });
    assert!(other.run_once(&no_shutdown()).await.is_none(), "a live lease is not taken over");

    // The restart gives the dead run's jobs back; a chunk the dead run still had in flight is
    // fenced off by the lease it no longer holds.
    assert_eq!(env.store.requeue_running_jobs().await.unwrap(), 1);
    let checkpoint = env.job(job).await.resources[0].rows_done;
    assert!(checkpoint < ROWS as u64, "killed half-way at {checkpoint}");

    assert_eq!(other.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    assert_applied_once(&env, job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_checkpoints_and_gives_the_job_back() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7651, &leads_csv(ROWS), false).await;
    let first = env.worker(slow_config());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(async move { first.run_once(&stopping).await });
    env.wait_for(job, "a committed chunk", |j| j.resources[0].rows_done > 0).await;

    stop.send(true).unwrap();
    assert_eq!(run.await.unwrap(), Some((job, RunOutcome::Released)));
    let left = env.job(job).await;
    assert_eq!(left.state, JobState::Queued, "given back to the queue, not failed");
    let checkpoint = left.resources[0].rows_done;
    assert!(checkpoint > 0 && checkpoint < ROWS as u64, "stopped half-way at {checkpoint}");
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), checkpoint, "the chunks in flight settled");

    let next = env.worker(WorkerConfig { node_id: "next".into(), ..config(500) });
    assert_eq!(next.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    assert_applied_once(&env, job).await;
}
