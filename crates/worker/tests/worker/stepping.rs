//! The test controls' time and stepping in the worker: a step runs exactly one chunk and holds
//! the job in progress; a job meets the pause before its next chunk; what the worker writes as a
//! time follows the test clock while leases do not; the sweeper sweeps when the clock moves; a
//! step shows that inserts and upserts run in chunks of their own sizes.

use std::sync::Arc;

use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_store::{ControlState, LiveControls, QueueDriver, StepOutcome, StepTarget};
use bulkwrite_worker::{ControlDriver, RetentionConfig, RunOutcome, Sweeper, Worker};
use chrono::Utc;

use super::fixture::*;

const ANY: StepTarget = StepTarget { job: None, org: None };

fn controls(state: ControlState) -> Arc<LiveControls> {
    let controls = Arc::new(LiveControls::new(Arc::new(bulkwrite_core::clock::SystemClock), true));
    controls.apply(state);
    controls
}

fn stepped(outcome: StepOutcome) -> bulkwrite_store::Job {
    match outcome {
        StepOutcome::Stepped(job) => *job,
        other => panic!("expected a step, got {other:?}"),
    }
}

fn counts(job: &bulkwrite_store::Job) -> (ResourceState, u64, u64) {
    let progress = job.resources[0];
    (progress.state, progress.rows_done, progress.added)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_runs_one_chunk_and_holds_the_job_in_progress() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7801, &leads_csv(5), true).await;
    let paused = controls(ControlState { clock_offset_seconds: 0, queue_paused: true });
    env.store.set_queue_paused(true).await.unwrap();
    let worker = Worker::new(env.context_with(config(2), Arc::clone(&paused)));
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a paused queue claims nothing");

    let first = stepped(worker.step(ANY, &no_shutdown()).await.unwrap());
    assert_eq!(first.id, job);
    assert_eq!((first.state, first.state.zoho_status()), (JobState::Running, "IN PROGRESS"));
    assert_eq!(counts(&first), (ResourceState::Running, 2, 2));
    assert_eq!(env.lead_names().await, lead_range(1..=2), "exactly one chunk was written");
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a held job stays held while paused");

    let named = StepTarget { job: Some(job), org: Some(ORG) };
    assert_eq!(counts(&stepped(worker.step(named, &no_shutdown()).await.unwrap())), (ResourceState::Running, 4, 4));
    let last = stepped(worker.step(named, &no_shutdown()).await.unwrap());
    assert_eq!(
        (last.state, counts(&last)),
        (JobState::Succeeded, (ResourceState::Done, 5, 5)),
        "the last chunk finishes it"
    );
    assert_eq!(env.lead_names().await, lead_range(1..=5), "every row once");
    assert_eq!(statuses(&env.result_csv(job).await), ["ADDED"; 5]);
    match worker.step(named, &no_shutdown()).await.unwrap() {
        StepOutcome::Refused(done) => assert_eq!(done.state, JobState::Succeeded),
        other => panic!("a finished job is not stepped: {other:?}"),
    }
    assert_eq!(worker.step(ANY, &no_shutdown()).await.unwrap(), StepOutcome::Nothing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_meets_the_pause_before_its_next_chunk_and_resumes_after_it() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7802, &leads_csv(5), false).await;
    // The node has seen the pause; the store has not yet (as between a pause and a node's next
    // read of it): the claim goes through, and the run stops before its first chunk.
    let live = controls(ControlState { clock_offset_seconds: 0, queue_paused: true });
    let worker = Worker::new(env.context_with(config(2), Arc::clone(&live)));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Held)));
    let held = env.job(job).await;
    assert_eq!((held.state, held.resources[0].rows_done), (JobState::Running, 0));
    assert!(env.lead_names().await.is_empty());

    live.apply(ControlState::default());
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)), "taken up again");
    assert_eq!(env.job(job).await.attempts, 2);
    assert_eq!(env.lead_names().await, lead_range(1..=5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_the_worker_writes_follow_the_test_clock_and_the_sweeper_follows_it() {
    let env = Env::new().await;
    let (file, job) = env.leads_job(7803, &leads_csv(3), true).await;
    let week = 7 * 24 * 3600;
    let live = controls(ControlState { clock_offset_seconds: week, queue_paused: false });
    let ctx = env.context_with(config(10), Arc::clone(&live));
    let worker = Worker::new(ctx.clone());
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let done = env.job(job).await;
    let finished = done.finished_at.unwrap();
    assert!(finished > Utc::now() + chrono::Duration::days(6), "finished in business time: {finished}");
    // The callback is due by business time: not yet on the system's clock.
    let due_now = env.store.claim_due_callbacks("d", Utc::now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert!(due_now.is_empty());

    let retention = RetentionConfig {
        uploads: std::time::Duration::from_secs(3600),
        results: std::time::Duration::from_secs(3600),
    };
    let sweeper = Sweeper::new(Arc::clone(&env.store), env.blobs.clone(), retention).with_controls(Arc::clone(&live));
    let driver = ControlDriver::new(ctx, sweeper, no_shutdown());
    driver.clock_moved().await;
    assert!(env.job(job).await.result_expired_at.is_none(), "an hour's retention has not run out");
    live.apply(ControlState { clock_offset_seconds: week + 2 * 3600, queue_paused: false });
    assert!(live.clock().now() > finished + chrono::Duration::hours(1));
    driver.clock_moved().await;
    let expired = env.job(job).await;
    assert!(expired.result_expired_at.is_some(), "swept at once when the clock moved");
    assert!(env.store.get_upload(ORG, file).await.unwrap().unwrap().expired_at.is_some());
}

/// An insert job runs in chunks of `insert_chunk_rows`, an upsert in chunks of `chunk_rows`
/// (PostgreSQL's defaults differ: 4,000 and 2,000); a step shows each chunk's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_and_upserts_run_in_chunks_of_their_own_size() {
    let env = Env::new().await;
    let csv = "Last_Name,Company,Email\nA,Acme,a@x.co\nB,Acme,b@x.co\nC,Acme,c@x.co\nD,Acme,d@x.co\nE,Acme,e@x.co\n";
    let file_id = env.upload(7851, &zip_of(&[("leads.csv", csv.as_bytes())])).await;
    let body = |operation: &str| {
        let mut resource =
            serde_json::json!({"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id.to_string()});
        if operation == "upsert" {
            resource["find_by"] = "Email".into();
        }
        serde_json::json!({"operation": operation, "resource": [resource]})
    };
    let paused = controls(ControlState { clock_offset_seconds: 0, queue_paused: true });
    env.store.set_queue_paused(true).await.unwrap();
    let config = bulkwrite_worker::WorkerConfig { insert_chunk_rows: 3, ..config(2) };
    let worker = Worker::new(env.context_with(config, Arc::clone(&paused)));
    let insert = env.create_job(7852, body("insert")).await;
    let step = |job| StepTarget { job: Some(job), org: Some(ORG) };
    assert_eq!(
        counts(&stepped(worker.step(step(insert), &no_shutdown()).await.unwrap())),
        (ResourceState::Running, 3, 3)
    );
    assert_eq!(stepped(worker.step(step(insert), &no_shutdown()).await.unwrap()).state, JobState::Succeeded);
    let upsert = env.create_job(7853, body("upsert")).await;
    let first = stepped(worker.step(step(upsert), &no_shutdown()).await.unwrap());
    assert_eq!((first.resources[0].rows_done, first.resources[0].updated), (2, 2), "an upsert's chunk");
}
