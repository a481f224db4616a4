//! The queue across connections and nodes: exactly-once claims, the per-org limit under
//! concurrent claimers, requeues that spare other nodes, and NOTIFY wake-ups.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::jobspec::{JobSpec, ResourceSpec};
use bulkwrite_store::{Claim, JobStore, NewJob};
use bulkwrite_store_postgres::PgStore;
use bulkwrite_wire::{Callback, Operation};
use chrono::Utc;

use super::{database_url, fresh_pg_store};

pub fn spec(callback: bool) -> JobSpec {
    JobSpec {
        operation: Operation::Insert,
        ignore_empty: None,
        character_encoding: None,
        callback: callback.then(|| Callback { url: "https://hooks.example.com/cb".into(), method: "post".into() }),
        resources: vec![ResourceSpec {
            module: "Leads".into(),
            module_id: "1".into(),
            file_id: "5725767000000009001".into(),
            csv_name: "leads.csv".into(),
            file_names: None,
            find_by: None,
            ignore_empty: None,
            effective_ignore_empty: false,
            mappings: Vec::new(),
            auto_mapped: true,
            header: vec!["Last_Name".into(), "Email".into()],
            echo_columns: vec![0, 1],
            parent_link: None,
            denied_fields: Vec::new(),
        }],
        dry_run: false,
    }
}

pub async fn create_job(store: &PgStore, id: u64, org: u64) -> JobId {
    let job = NewJob {
        id: JobId::new(id),
        org: OrgId::new(org),
        created_by: UserId::new(5_725_767_000_000_000_101),
        api_version: "v2".into(),
        spec: spec(false),
        created_at: Utc::now(),
    };
    store.create_job(job).await.expect("create job");
    JobId::new(id)
}

fn claim(owner: &str, max_running_per_org: u32) -> Claim {
    Claim { max_running_per_org, ..Claim::new(owner, Utc::now(), chrono::Duration::seconds(60)) }
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_on_two_nodes_take_each_job_once() {
    let url = database_url();
    let (database, first) = fresh_pg_store(&url).await;
    let second = PgStore::connect(&database).await.expect("a second node");
    const JOBS: u64 = 60;
    for n in 0..JOBS {
        create_job(&first, 1_000 + n, 111_000_000 + n % 3).await;
    }
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 { first.clone() } else { second.clone() };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let owner = format!("w{worker}");
            while let Some((job, _)) = store.claim_next_job(&claim(&owner, u32::MAX)).await.expect("claim") {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut claimed = 0;
    for task in tasks {
        for id in task.await.unwrap() {
            claimed += 1;
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(claimed, JOBS, "every job was claimed");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_org_limit_holds_under_concurrent_claims() {
    let url = database_url();
    let (database, first) = fresh_pg_store(&url).await;
    let second = PgStore::connect(&database).await.expect("a second node");
    for n in 0..10 {
        create_job(&first, 2_000 + n, 222_000_000).await;
    }
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 { first.clone() } else { second.clone() };
        tasks.push(tokio::spawn(async move {
            store.claim_next_job(&claim(&format!("w{worker}"), 2)).await.expect("claim").is_some()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(task.await.unwrap());
    }
    assert_eq!(granted, 2, "two jobs of the org may run at once, no more");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeueing_spares_the_jobs_of_other_live_nodes() {
    let url = database_url();
    let (database, first) = fresh_pg_store(&url).await;
    let second = PgStore::connect(&database).await.expect("a second node");
    assert_ne!(first.node_id(), second.node_id());
    let job = create_job(&first, 3_000, 333_000_000).await;
    first.claim_next_job(&claim("w1", u32::MAX)).await.unwrap().expect("claimed");
    assert_eq!(second.requeue_running_jobs().await.unwrap(), 0, "the first node holds a live lease");
    assert_eq!(first.requeue_running_jobs().await.unwrap(), 1, "a node gives back its own jobs");
    // Requeues compare leases with the database's clock: a lease that ended a minute ago.
    let past = Claim::new("dead", Utc::now() - chrono::Duration::seconds(61), chrono::Duration::seconds(1));
    let (taken, _) = first.claim_next_job(&past).await.unwrap().expect("claimed again");
    assert_eq!(taken.id, job);
    assert_eq!(second.requeue_running_jobs().await.unwrap(), 1, "an expired lease is anyone's to requeue");
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wake_listeners_on_other_nodes() {
    let url = database_url();
    let (database, first) = fresh_pg_store(&url).await;
    let second = PgStore::connect(&database).await.expect("a second node");
    let jobs = Arc::new(tokio::sync::Notify::new());
    let callbacks = Arc::new(tokio::sync::Notify::new());
    let changes = Arc::new(bulkwrite_store::changes::JobChanges::default());
    let mut followed = changes.subscribe();
    let listener = second.listen(Arc::clone(&jobs), Arc::clone(&callbacks), Arc::clone(&changes));
    let wait = Duration::from_secs(10);
    // Every (re)connect wakes all three once: notifications may have been missed meanwhile.
    tokio::time::timeout(wait, jobs.notified()).await.expect("woken after connecting");
    tokio::time::timeout(wait, callbacks.notified()).await.expect("woken after connecting");
    let first_change = tokio::time::timeout(wait, followed.recv()).await.expect("woken after connecting");
    assert_eq!(first_change.unwrap(), bulkwrite_store::changes::JobChange::Any);
    first.announce_job_change(JobId::new(4_999)).await.unwrap();
    let announced =
        tokio::time::timeout(wait, followed.recv()).await.expect("an announced change reaches the other node");
    assert_eq!(announced.unwrap(), bulkwrite_store::changes::JobChange::Job(JobId::new(4_999)));
    first.announce_cancel_request(JobId::new(4_998)).await.unwrap();
    let asked = tokio::time::timeout(wait, followed.recv()).await.expect("a cancel request reaches the other node");
    assert_eq!(asked.unwrap(), bulkwrite_store::changes::JobChange::Cancel(JobId::new(4_998)));

    create_job(&first, 4_000, 444_000_000).await;
    tokio::time::timeout(wait, jobs.notified()).await.expect("a new job wakes the workers");
    let job = NewJob { id: JobId::new(4_001), spec: spec(true), ..new_job_template() };
    first.create_job(job).await.unwrap();
    tokio::time::timeout(wait, jobs.notified()).await.expect("another job wakes them again");
    let mut lease = None;
    while let Some((job, claimed)) = first.claim_next_job(&claim("w", u32::MAX)).await.unwrap() {
        if job.id == JobId::new(4_001) {
            lease = Some(claimed);
        }
    }
    let lease = lease.expect("the job with a callback was claimed");
    first.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    tokio::time::timeout(wait, callbacks.notified()).await.expect("a queued callback wakes the dispatchers");
    listener.abort();
}

fn new_job_template() -> NewJob {
    NewJob {
        id: JobId::new(1),
        org: OrgId::new(444_000_000),
        created_by: UserId::new(5_725_767_000_000_000_101),
        api_version: "v2".into(),
        spec: spec(false),
        created_at: Utc::now(),
    }
}
