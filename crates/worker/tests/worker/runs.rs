//! Claims and checkpoints: a job runs in chunks to its result file, its callback is queued, an
//! upsert finds what an earlier job added, and claims follow the queue order and the per-org limit.

use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_store::Claim;
use bulkwrite_worker::{RunOutcome, WorkerConfig};
use chrono::Utc;

use super::fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_queued_is_no_step() {
    let env = Env::new().await;
    let worker = env.worker(config(2));
    assert!(worker.run_once(&no_shutdown()).await.is_none());
    assert!(worker.finalise_cancelled_once().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_in_checkpointed_chunks_to_its_result_file() {
    let env = Env::new().await;
    let (_, job) = env.leads_job(7001, &leads_csv(5), true).await;
    let worker = env.worker(config(2));

    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));

    let done = env.job(job).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.attempts, 1);
    assert!(done.finished_at.is_some());
    assert!(done.error.is_none());
    assert_eq!(done.character_encoding.as_deref(), Some("UTF-8"));
    let progress = done.resources[0];
    assert_eq!(progress.state, ResourceState::Done);
    assert_eq!((progress.rows_done, progress.added, progress.updated, progress.skipped), (5, 5, 0, 0));
    assert_eq!(env.lead_names().await, lead_range(1..=5));

    let rows = env.result_csv(job).await;
    assert_eq!(rows[0], ["Last_Name", "Company", "STATUS", "RECORD_ID", "ERRORS"]);
    assert_eq!(statuses(&rows), ["ADDED"; 5]);
    for (n, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], format!("Lead {:05}", n + 1), "input order");
        let id = bulkwrite_core::ids::RecordId::parse(&row[3]).expect("a record id");
        let record = env.store.get_record(ORG, "Leads", id).await.unwrap().expect("the record exists");
        assert_eq!(record.values["Last_Name"], row[0].as_str());
    }

    let due = env.store.claim_due_callbacks("d", Utc::now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [job], "one callback, after the final state");
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "a finished job is not claimed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_take_the_oldest_job_within_the_org_limit() {
    let env = Env::new().await;
    // The younger job has the smaller id: the queue orders by creation time, not by id.
    let earlier = Utc::now() - chrono::Duration::seconds(10);
    let (_, second) = env.leads_job_at(7101, &leads_csv(3), false, earlier + chrono::Duration::seconds(5)).await;
    let (_, first) = env.leads_job_at(7102, &leads_csv(2), false, earlier).await;
    let worker = env.worker(WorkerConfig { max_running_per_org: 1, ..config(10) });

    // Another node holds the org's only slot: this worker finds nothing it may run.
    let other = Claim { max_running_per_org: 1, ..Claim::new("other", Utc::now(), chrono::Duration::seconds(30)) };
    let (held, lease) = env.store.claim_next_job(&other).await.unwrap().unwrap();
    assert_eq!(held.id, first, "oldest first");
    assert!(worker.run_once(&no_shutdown()).await.is_none(), "the org is at its limit");
    assert_eq!(env.job(second).await.state, JobState::Queued);

    env.store.release_job(&lease).await.unwrap();
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((first, RunOutcome::Completed)));
    assert_eq!(env.job(first).await.attempts, 2, "the released claim counted");
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((second, RunOutcome::Completed)));
    assert_eq!(env.store.count_records(ORG, "Leads").await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_updates_the_records_an_earlier_job_added() {
    let env = Env::new().await;
    let worker = env.worker(config(2));
    let first_csv = "Last_Name,Company,Email\nQuist,Acme,q@example.com\nRowe,Acme,r@example.com\n";
    let first = env.upload(7901, &zip_of(&[("leads.csv", first_csv.as_bytes())])).await;
    let insert = serde_json::json!({
        "operation": "insert",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": first.to_string()}]
    });
    let inserted = env.create_job(7900, insert).await;
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((inserted, RunOutcome::Completed)));

    let second_csv = "Last_Name,Company,Email\nQuist-Rowe,Acme,q@example.com\nSand,Acme,s@example.com\n";
    let second = env.upload(7911, &zip_of(&[("leads.csv", second_csv.as_bytes())])).await;
    let upsert = serde_json::json!({
        "operation": "upsert",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": second.to_string(), "find_by": "Email"}]
    });
    let upserted = env.create_job(7910, upsert).await;
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((upserted, RunOutcome::Completed)));

    let progress = env.job(upserted).await.resources[0];
    assert_eq!((progress.added, progress.updated), (1, 1));
    assert_eq!(statuses(&env.result_csv(upserted).await), ["UPDATED", "ADDED"]);
    assert_eq!(env.lead_names().await, ["Quist-Rowe", "Rowe", "Sand"], "the matched record changed in place");
}
