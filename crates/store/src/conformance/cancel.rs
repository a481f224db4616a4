//! Cancel requests (claims pass over them, the finaliser's claim takes them, nothing requeues a
//! cancelled job) and the job list (newest first, filters, pages, one org).

use std::sync::Arc;

use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_wire::Operation;
use chrono::{Duration, Utc};

use super::*;

fn request(at: Timestamp) -> CancelRequest {
    CancelRequest { by: ADMIN, at }
}

async fn claim_cancelled(store: &Arc<dyn Store>, owner: &str) -> Option<(Job, Lease)> {
    let claim = Claim { max_running_per_org: 1, ..Claim::new(owner, Utc::now(), Duration::seconds(30)) };
    store.claim_cancelled_job(&claim).await.expect("claim cancelled")
}

pub async fn a_cancelled_queued_job_is_finalised_without_a_slot(store: Arc<dyn Store>) {
    with_org(&store).await;
    let earlier = Utc::now() - Duration::seconds(10);
    let running = new_job_at(&store, 20_000, ORG, spec(false, Operation::Insert, None), earlier).await;
    let queued =
        new_job_at(&store, 20_001, ORG, spec(true, Operation::Insert, None), earlier + Duration::seconds(1)).await;
    let one_slot = Claim { max_running_per_org: 1, ..Claim::new("w1", Utc::now(), Duration::seconds(30)) };
    let (job, _running_lease) = store.claim_next_job(&one_slot).await.unwrap().unwrap();
    assert_eq!(job.id, running);

    assert!(store.request_cancel(OTHER_ORG, queued, request(Utc::now())).await.unwrap().is_none(), "other org");
    let asked_at = Utc::now();
    let stored = store.request_cancel(ORG, queued, request(asked_at)).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Queued);
    let kept = stored.cancel.expect("the request is recorded");
    assert_eq!(kept.by, ADMIN);
    assert!((kept.at - asked_at).num_milliseconds().abs() < 1000);
    let later = store.request_cancel(ORG, queued, request(asked_at + Duration::seconds(60))).await.unwrap().unwrap();
    assert_eq!(later.cancel, Some(kept), "the first request is kept");

    let any_slot = Claim::new("w2", Utc::now(), Duration::seconds(30));
    assert!(store.claim_next_job(&any_slot).await.unwrap().is_none(), "a job asked to stop is never run");
    let (job, lease) = claim_cancelled(&store, "finaliser").await.expect("the org's busy slot does not matter");
    assert_eq!(job.id, queued);
    assert!(claim_cancelled(&store, "another").await.is_none(), "leased once");
    store.cancel_job(&lease, "cancelled by Mara Quist", Some("results/c.zip"), Utc::now()).await.unwrap();
    let done = store.get_job(ORG, queued).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Cancelled);
    assert_eq!(done.error.as_deref(), Some("cancelled by Mara Quist"));
    assert_eq!(done.result_blob.as_deref(), Some("results/c.zip"));
    assert!(done.finished_at.is_some());
    assert_eq!(done.resources[0].state, ResourceState::Skipped);
    let due = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [queued], "the callback is queued");
    assert!(claim_cancelled(&store, "again").await.is_none());
}

pub async fn a_running_job_sees_its_cancel_request(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 21_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "a@x.co")], 1)).await.unwrap();
    assert!(!store.cancel_requested(&lease).await.unwrap());
    let stored = store.request_cancel(ORG, job, request(Utc::now())).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Running, "the worker stops it");
    assert!(store.cancel_requested(&lease).await.unwrap());
    assert!(claim_cancelled(&store, "finaliser").await.is_none(), "a live lease keeps the job with its worker");

    let stale = Lease { owner: "someone-else".into(), ..lease.clone() };
    assert!(matches!(store.cancel_job(&stale, "x", None, Utc::now()).await, Err(StoreError::LeaseLost)));
    store.cancel_job(&lease, "cancelled by Mara Quist", None, Utc::now()).await.unwrap();
    let done = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Cancelled);
    assert_eq!(done.resources[0].state, ResourceState::Failed);
    assert_eq!((done.resources[0].rows_done, done.resources[0].added), (1, 1), "committed rows stay");
    assert_eq!(all_rows(&store, job).await.len(), 1);
    assert!(matches!(store.renew_lease(&lease, Utc::now()).await, Err(StoreError::LeaseLost)));

    let again = store.request_cancel(ORG, job, request(Utc::now())).await.unwrap().unwrap();
    assert_eq!(again.state, JobState::Cancelled, "a finished job is returned unchanged");
}

pub async fn a_finished_job_keeps_no_cancel_request(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 22_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    let stored = store.request_cancel(ORG, job, request(Utc::now())).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert!(stored.cancel.is_none());
    assert!(claim_cancelled(&store, "finaliser").await.is_none());
}

pub async fn a_job_asked_to_stop_is_never_resumed(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 23_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, _lease) = claim(&store, "w1").await.unwrap();
    store.request_cancel(ORG, job, request(Utc::now())).await.unwrap();
    assert_eq!(store.requeue_running_jobs().await.unwrap(), 1, "the node stopped before it noticed");
    assert!(claim(&store, "w2").await.is_none(), "a restart does not resume it");
    let (claimed, lease) = claim_cancelled(&store, "finaliser").await.unwrap();
    assert_eq!(claimed.id, job);
    store.cancel_job(&lease, "cancelled", None, Utc::now()).await.unwrap();
    assert_eq!(store.requeue_running_jobs().await.unwrap(), 0);
    assert!(claim(&store, "w3").await.is_none());
    assert!(claim_cancelled(&store, "finaliser").await.is_none());
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().state, JobState::Cancelled);
}

pub async fn an_expired_lease_of_a_job_asked_to_stop_goes_to_the_finaliser(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 24_000, ORG, spec(false, Operation::Insert, None)).await;
    let short = Claim::new("w1", Utc::now() - Duration::seconds(60), Duration::seconds(1));
    let (_, _dead) = store.claim_next_job(&short).await.unwrap().unwrap();
    store.request_cancel(ORG, job, request(Utc::now())).await.unwrap();
    assert!(claim(&store, "w2").await.is_none());
    let (claimed, _) = claim_cancelled(&store, "finaliser").await.expect("the dead worker's job");
    assert_eq!(claimed.id, job);
}

pub async fn jobs_list_newest_first_filtered_and_paged(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let mut contacts = spec(false, Operation::Upsert, Some("Email"));
    contacts.resources[0].module = "Contacts".into();
    let specs = [
        spec(false, Operation::Insert, None),
        spec(false, Operation::Update, Some("Email")),
        contacts,
        spec(false, Operation::Insert, None),
        spec(false, Operation::Insert, None),
    ];
    let mut ids = Vec::new();
    let earlier = Utc::now() - Duration::seconds(60);
    for (index, job_spec) in specs.into_iter().enumerate() {
        let created_at = earlier + Duration::seconds(index as i64);
        ids.push(new_job_at(&store, 25_000 + index as u64, ORG, job_spec, created_at).await);
    }
    new_job(&store, 25_100, OTHER_ORG, spec(false, Operation::Insert, None)).await;
    // The oldest job succeeds, the second runs, the fourth is cancelled; the rest wait.
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let (_, _running) = claim(&store, "w2").await.unwrap();
    store.request_cancel(ORG, ids[3], request(Utc::now())).await.unwrap();
    let (_, lease) = claim_cancelled(&store, "finaliser").await.unwrap();
    store.cancel_job(&lease, "cancelled", None, Utc::now()).await.unwrap();

    let list = |query: JobListQuery| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list_jobs(ORG, &query).await.unwrap();
            (page.jobs.iter().map(|job| job.id).collect::<Vec<_>>(), page.more_records)
        }
    };
    let newest_first: Vec<_> = ids.iter().rev().copied().collect();
    assert_eq!(list(JobListQuery::all()).await, (newest_first.clone(), false), "the org's jobs only");
    let page = |page: u32, per_page: u32| JobListQuery { page, per_page, ..JobListQuery::all() };
    assert_eq!(list(page(1, 2)).await, (newest_first[..2].to_vec(), true));
    assert_eq!(list(page(2, 2)).await, (newest_first[2..4].to_vec(), true));
    assert_eq!(list(page(3, 2)).await, (newest_first[4..].to_vec(), false));
    assert_eq!(list(page(4, 2)).await, (vec![], false));

    let states = |states: Vec<JobState>| JobListQuery { states, ..JobListQuery::all() };
    assert_eq!(list(states(vec![JobState::Queued])).await.0, [ids[4], ids[2]]);
    assert_eq!(list(states(vec![JobState::Running])).await.0, [ids[1]]);
    assert_eq!(list(states(vec![JobState::Succeeded])).await.0, [ids[0]]);
    assert_eq!(list(states(JobState::with_zoho_status("FAILED"))).await.0, [ids[3]]);
    let listed = store.list_jobs(ORG, &states(vec![JobState::Cancelled])).await.unwrap();
    assert_eq!(listed.jobs[0].state, JobState::Cancelled);
    assert!(listed.jobs[0].cancel.is_some());

    let module = |name: &str| JobListQuery { module: Some(name.into()), ..JobListQuery::all() };
    assert_eq!(list(module("Contacts")).await.0, [ids[2]]);
    assert_eq!(list(module("Leads")).await.0.len(), 4);
    assert!(list(module("Deals")).await.0.is_empty());
    let operation = |operation: Operation| JobListQuery { operation: Some(operation), ..JobListQuery::all() };
    assert_eq!(list(operation(Operation::Update)).await.0, [ids[1]]);
    assert_eq!(list(operation(Operation::Insert)).await.0, [ids[4], ids[3], ids[0]]);
    let both = JobListQuery {
        operation: Some(Operation::Insert),
        states: vec![JobState::Queued],
        module: Some("Leads".into()),
        ..JobListQuery::all()
    };
    assert_eq!(list(both).await.0, [ids[4]]);

    let others = store.list_jobs(OTHER_ORG, &JobListQuery::all()).await.unwrap();
    assert_eq!(others.jobs.len(), 1);
    assert_eq!(others.jobs[0].org, OTHER_ORG);
}
