//! Uploads, the queue (claims, leases, fencing, requeues) and the callback outbox.

use std::sync::Arc;

use bulkwrite_core::ids::FileId;
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_wire::Operation;
use chrono::{Duration, Utc};

use super::*;

pub async fn uploads_are_scoped_by_org(store: Arc<dyn Store>) {
    with_org(&store).await;
    let upload = Upload {
        file_id: FileId::new(5_725_767_000_000_009_001),
        org: ORG,
        user: ADMIN,
        blob_key: "uploads/x.zip".into(),
        file_name: "leads.zip".into(),
        size: 42,
        entries: Vec::new(),
        created_at: Utc::now(),
        expired_at: None,
    };
    store.insert_upload(upload.clone()).await.unwrap();
    let found = store.get_upload(ORG, upload.file_id).await.unwrap().unwrap();
    assert_eq!(found.blob_key, "uploads/x.zip");
    assert_eq!(found.size, 42);
    assert!(store.get_upload(OTHER_ORG, upload.file_id).await.unwrap().is_none());
}

pub async fn jobs_are_scoped_by_org_and_claimed_in_order(store: Arc<dyn Store>) {
    with_org(&store).await;
    // The first job is older but has the larger id: age orders the queue, not ids.
    let earlier = Utc::now() - Duration::seconds(10);
    let first = new_job_at(&store, 1001, ORG, spec(false, Operation::Insert, None), earlier).await;
    let second =
        new_job_at(&store, 1000, ORG, spec(false, Operation::Insert, None), earlier + Duration::seconds(1)).await;
    let stored = store.get_job(ORG, first).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Queued);
    assert_eq!(stored.resources, [ResourceProgress::pending()]);
    assert!(store.get_job(OTHER_ORG, first).await.unwrap().is_none());
    let (claimed, _) = claim(&store, "w1").await.unwrap();
    assert_eq!(claimed.id, first, "oldest first");
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempts, 1);
    let (claimed, _) = claim(&store, "w2").await.unwrap();
    assert_eq!(claimed.id, second);
    assert!(claim(&store, "w3").await.is_none());
}

pub async fn job_details_come_with_the_org_and_the_creators_name(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 1500, ORG, spec(false, Operation::Insert, None)).await;
    let found = store.get_job_details(ORG, job).await.unwrap().unwrap();
    assert_eq!(found.job, store.get_job(ORG, job).await.unwrap().unwrap());
    assert_eq!(found.org, store.get_org(ORG).await.unwrap().unwrap());
    assert_eq!(found.creator_name.as_deref(), Some("Mara Quist"));
    assert!(store.get_job_details(OTHER_ORG, job).await.unwrap().is_none(), "another org's job");
    assert!(store.get_job_details(ORG, JobId::new(1501)).await.unwrap().is_none(), "no such job");
    // A creator with a last name only; then a job whose creator is not a user of its org.
    let solo = User { first_name: String::new(), last_name: "Solo".into(), ..user(OTHER_ADMIN, OTHER_ORG) };
    store.create_org(org(OTHER_ORG), solo, bulkwrite_core::schema::standard::standard_schema()).await.unwrap();
    let other = new_job(&store, 1502, OTHER_ORG, spec(false, Operation::Insert, None)).await;
    let found = store.get_job_details(OTHER_ORG, other).await.unwrap().unwrap();
    assert_eq!((found.org.zgid, found.creator_name.as_deref()), (OTHER_ORG, Some("Solo")));
    let stranger = NewJob {
        id: JobId::new(1503),
        org: ORG,
        created_by: OTHER_ADMIN,
        api_version: "v2".into(),
        spec: spec(false, Operation::Insert, None),
        created_at: Utc::now(),
    };
    store.create_job(stranger).await.unwrap();
    let found = store.get_job_details(ORG, JobId::new(1503)).await.unwrap().unwrap();
    assert_eq!((found.job.created_by, found.creator_name), (OTHER_ADMIN, None));
}

pub async fn job_details_give_every_resource_in_the_jobs_order(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut twelve = spec(false, Operation::Insert, None);
    twelve.resources.extend(std::iter::repeat_n(twelve.resources[0].clone(), 11));
    let job = new_job(&store, 1600, ORG, twelve).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    // Changed from the last resource to the first: a store giving its resources in the order
    // they were last written (as a table's rows may lie) may give them in another order.
    let mut expected = vec![ResourceState::Pending; 12];
    for index in (0..12).rev() {
        if index % 3 == 2 {
            continue;
        }
        store.start_resource(&lease, index).await.unwrap();
        expected[index] = ResourceState::Running;
        if index % 3 == 0 {
            store.finish_resource(&lease, index, 0).await.unwrap();
            expected[index] = ResourceState::Done;
        }
    }
    let found = store.get_job_details(ORG, job).await.unwrap().unwrap();
    assert_eq!(found.job.resources.iter().map(|r| r.state).collect::<Vec<_>>(), expected);
    assert_eq!(found.job, store.get_job(ORG, job).await.unwrap().unwrap());
    // A read job has no resources, and its details come all the same.
    let read = super::reads::new_read_job(&store, 1601, false).await;
    let found = store.get_job_details(ORG, read).await.unwrap().unwrap();
    assert!(found.job.resources.is_empty());
    assert_eq!((found.org.zgid, found.creator_name.as_deref()), (ORG, Some("Mara Quist")));
}

/// Many job details read at once (as polling clients do) each give their own job: of the org
/// that asks, with its own resources, and none for another org's job or a job that is not there.
/// A store that reads them together (PostgreSQL) must still give each read its own answer.
pub async fn job_details_read_at_once_each_give_their_own_job(store: Arc<dyn Store>) {
    with_org(&store).await;
    let ola = User { first_name: "Ola".into(), last_name: "Nordmann".into(), ..user(OTHER_ADMIN, OTHER_ORG) };
    store.create_org(org(OTHER_ORG), ola, bulkwrite_core::schema::standard::standard_schema()).await.unwrap();
    let mut expected = Vec::new();
    for n in 0..24u64 {
        let zgid = if n % 2 == 0 { ORG } else { OTHER_ORG };
        let mut job_spec = spec(false, Operation::Insert, None);
        job_spec.resources.extend(std::iter::repeat_n(job_spec.resources[0].clone(), (n % 3) as usize));
        let job = new_job(&store, 1700 + n, zgid, job_spec).await;
        expected.push((job, zgid, store.get_job(zgid, job).await.unwrap().unwrap()));
    }
    let mut reads = tokio::task::JoinSet::new();
    for turn in 0..240u64 {
        let store = Arc::clone(&store);
        // Every third read asks as the other org; two ids of each 26 are no job's.
        let job = JobId::new(1700 + turn % 26);
        let (owner, other) = if turn % 2 == 0 { (ORG, OTHER_ORG) } else { (OTHER_ORG, ORG) };
        let asks = if turn % 3 == 0 { other } else { owner };
        reads.spawn(async move { (job, asks, store.get_job_details(asks, job).await.unwrap()) });
    }
    let mut answered = 0;
    while let Some(read) = reads.join_next().await {
        let (job, asks, found) = read.unwrap();
        let owned = expected.iter().find(|(id, zgid, _)| *id == job && *zgid == asks);
        match (owned, found) {
            (Some((_, zgid, stored)), Some(found)) => {
                assert_eq!(&found.job, stored, "job {job:?}");
                assert_eq!(found.org.zgid, *zgid);
                let creator = if *zgid == ORG { "Mara Quist" } else { "Ola Nordmann" };
                assert_eq!(found.creator_name.as_deref(), Some(creator));
            }
            (None, None) => {}
            (owned, found) => panic!("job {job:?} asked by {asks:?}: owned {}, found {found:?}", owned.is_some()),
        }
        answered += 1;
    }
    assert_eq!(answered, 240);
}

pub async fn a_lease_fences_every_write(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 2000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let stale = Lease { owner: "someone-else".into(), ..lease.clone() };
    let lost = |result: StoreResult<()>| matches!(result, Err(StoreError::LeaseLost));
    assert!(lost(store.renew_lease(&stale, Utc::now()).await));
    assert!(lost(store.start_resource(&stale, 0).await));
    assert!(lost(store.set_character_encoding(&stale, "UTF-8").await));
    assert!(matches!(
        store.apply_chunk(&stale, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await,
        Err(StoreError::LeaseLost)
    ));
    assert!(lost(store.complete_job(&stale, "results/x.zip", Utc::now()).await));
    assert!(all_rows(&store, job).await.is_empty(), "nothing was written");
    store.renew_lease(&lease, Utc::now() + Duration::seconds(30)).await.unwrap();
    store.complete_job(&lease, "results/x.zip", Utc::now()).await.unwrap();
    assert!(lost(store.renew_lease(&lease, Utc::now()).await), "a finished job holds no lease");
}

pub async fn an_expired_lease_is_taken_over(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 3000, ORG, spec(false, Operation::Insert, None)).await;
    let now = Utc::now();
    let (_, old) = store.claim_next_job(&Claim::new("dead", now, Duration::seconds(30))).await.unwrap().unwrap();
    let before = Claim::new("early", now + Duration::seconds(29), Duration::seconds(30));
    assert!(store.claim_next_job(&before).await.unwrap().is_none(), "the lease still holds");
    let after = Claim::new("alive", now + Duration::seconds(31), Duration::seconds(30));
    let (taken, new) = store.claim_next_job(&after).await.unwrap().expect("expired lease is claimable");
    assert_eq!(taken.id, job);
    assert_eq!(taken.attempts, 2);
    assert!(matches!(
        store.apply_chunk(&old, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await,
        Err(StoreError::LeaseLost)
    ));
    store.apply_chunk(&new, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await.unwrap();
}

pub async fn a_chunk_must_follow_the_stored_checkpoint(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 3500, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "a@x.co")], 1)).await.unwrap();
    // A gap (rows 2 and 3 never committed) and a replay (row 1 again) are both refused.
    let gap = chunk(Operation::Insert, vec![row(4, "D", "d@x.co")], 4);
    let replay = chunk(Operation::Insert, vec![row(1, "A", "a2@x.co")], 1);
    for refused in [gap, replay] {
        let result = store.apply_chunk(&lease, refused).await;
        assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    }
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1, "the refused chunks wrote no record");
    assert_eq!(all_rows(&store, job).await.len(), 1, "nor a result row");
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!((stored.resources[0].rows_done, stored.resources[0].added), (1, 1));
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(2, "B", "b@x.co")], 2)).await.unwrap();
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 2);
}

pub async fn released_and_requeued_jobs_run_again(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 4000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.release_job(&lease).await.unwrap();
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().state, JobState::Queued);
    let (_, _running) = claim(&store, "w2").await.unwrap();
    assert_eq!(store.requeue_running_jobs().await.unwrap(), 1);
    let (again, _) = claim(&store, "w3").await.unwrap();
    assert_eq!(again.id, job);
    assert_eq!(again.attempts, 3);
}

pub async fn a_deferred_job_waits_and_its_budget_runs_out(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 4500, ORG, spec(false, Operation::Insert, None)).await;
    let first = Utc::now();
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let deferral = |now, run_at| Deferral {
        now,
        run_at,
        reason: "disk full: retrying".into(),
        give_up_before: first - Duration::seconds(60),
    };
    assert!(store.defer_job(&lease, &deferral(first, first + Duration::seconds(5))).await.unwrap());
    let waiting = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!((waiting.state, waiting.error.as_deref()), (JobState::Queued, Some("disk full: retrying")));
    assert!(store.defer_job(&lease, &deferral(first, first)).await.is_err(), "the lease was given back");
    let at = |owner: &str, now| Claim::new(owner, now, Duration::seconds(30));
    assert!(
        store.claim_next_job(&at("w2", first + Duration::seconds(4))).await.unwrap().is_none(),
        "not before run_at"
    );
    let (again, lease) = store.claim_next_job(&at("w2", first + Duration::seconds(6))).await.unwrap().unwrap();
    assert_eq!((again.id, again.error), (job, None), "claimed at run_at; no longer waiting");

    // A minute later the spell that began at `first` is past a budget that starts 30 s ago.
    let later = first + Duration::seconds(60);
    let spent = Deferral { give_up_before: later - Duration::seconds(30), ..deferral(later, later) };
    assert!(!store.defer_job(&lease, &spent).await.unwrap(), "the budget is spent");
    store.fail_job(&lease, "disk full for 30 s", None, later).await.unwrap();
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().state, JobState::Failed);

    // Completing ends a spell: a later failure starts a new budget.
    let other = new_job(&store, 4501, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w3").await.unwrap();
    assert!(store.defer_job(&lease, &deferral(first, first)).await.unwrap());
    let (_, lease) = store.claim_next_job(&at("w4", first + Duration::seconds(1))).await.unwrap().unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let done = store.get_job(ORG, other).await.unwrap().unwrap();
    assert_eq!((done.state, done.error), (JobState::Succeeded, None));
}

pub async fn completing_queues_one_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 8000, ORG, spec(true, Operation::Insert, None)).await;
    let silent = new_job(&store, 8001, ORG, spec(false, Operation::Insert, None)).await;
    for _ in 0..2 {
        let (_, lease) = claim(&store, "w1").await.unwrap();
        store.complete_job(&lease, "results/x.zip", Utc::now()).await.unwrap();
    }
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.result_blob.as_deref(), Some("results/x.zip"));
    assert!(stored.finished_at.is_some());
    let due = store.claim_due_callbacks("d1", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].job, due[0].attempts), (job, 0));
    assert!(store.claim_due_callbacks("d2", Utc::now(), Duration::seconds(30), 10).await.unwrap().is_empty(), "leased");
    assert!(store.callback_report(ORG, silent).await.unwrap().is_none());
    assert!(store.callback_report(OTHER_ORG, job).await.unwrap().is_none());
}

pub async fn failing_marks_resources_and_queues_the_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut two = spec(true, Operation::Insert, None);
    two.resources.push(two.resources[0].clone());
    let job = new_job(&store, 9000, ORG, two).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.fail_job(&lease, "the file cannot be read", None, Utc::now()).await.unwrap();
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Failed);
    assert_eq!(stored.error.as_deref(), Some("the file cannot be read"));
    assert_eq!(
        stored.resources.iter().map(|r| r.state).collect::<Vec<_>>(),
        [ResourceState::Failed, ResourceState::Skipped]
    );
    assert_eq!(store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap().len(), 1);
}

pub async fn callback_attempts_are_recorded_and_retried(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 10_000, ORG, spec(true, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let due = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    let now = Utc::now();
    let failed = CallbackAttempt {
        attempt: 1,
        at: now,
        status: Some(503),
        error: Some("busy".into()),
        duration_ms: 3,
        request: None,
        response: None,
    };
    store
        .record_callback_attempt(&due[0], failed, DeliveryOutcome::RetryAt(now + Duration::milliseconds(50)))
        .await
        .unwrap();
    assert!(store.claim_due_callbacks("d", now, Duration::seconds(30), 10).await.unwrap().is_empty(), "not due yet");
    let due_at = now + Duration::milliseconds(60);
    let again = store.claim_due_callbacks("d", due_at, Duration::seconds(30), 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    let ok = CallbackAttempt {
        attempt: 2,
        at: Utc::now(),
        status: Some(200),
        error: None,
        duration_ms: 2,
        request: None,
        response: None,
    };
    store.record_callback_attempt(&again[0], ok, DeliveryOutcome::Delivered).await.unwrap();
    let report = store.callback_report(ORG, job).await.unwrap().unwrap();
    assert_eq!(report.state, "delivered");
    assert_eq!(report.attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [Some(503), Some(200)]);
    assert!(store
        .claim_due_callbacks("d", Utc::now() + Duration::hours(1), Duration::seconds(30), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_deferred_callback_waits_without_an_attempt(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 11_000, ORG, spec(true, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let due = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let until = Utc::now() + Duration::seconds(2);
    store.defer_callback(&due[0], "someone-else", Utc::now()).await.unwrap();
    assert!(
        store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap().is_empty(),
        "another owner cannot hand the delivery back"
    );
    store.defer_callback(&due[0], "d", until).await.unwrap();
    assert!(
        store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap().is_empty(),
        "deferred"
    );
    let later = store.claim_due_callbacks("d2", until, Duration::seconds(30), 10).await.unwrap();
    assert_eq!((later.len(), later[0].job, later[0].attempts), (1, job, 0), "due at `until`, no attempt counted");
    let report = store.callback_report(ORG, job).await.unwrap().unwrap();
    assert!(report.attempts.is_empty());
    assert_eq!(report.state, "pending");
}

pub async fn a_busy_org_waits_while_others_run(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let at = |seconds| Utc::now() - Duration::seconds(10) + Duration::seconds(seconds);
    let first = new_job_at(&store, 13_000, ORG, spec(false, Operation::Insert, None), at(0)).await;
    let second = new_job_at(&store, 13_001, ORG, spec(false, Operation::Insert, None), at(1)).await;
    let other = new_job_at(&store, 13_002, OTHER_ORG, spec(false, Operation::Insert, None), at(2)).await;
    let claim = |owner: &str| Claim { max_running_per_org: 1, ..Claim::new(owner, Utc::now(), Duration::seconds(30)) };
    let (job, lease) = store.claim_next_job(&claim("w1")).await.unwrap().unwrap();
    assert_eq!(job.id, first);
    let (job, _) = store.claim_next_job(&claim("w2")).await.unwrap().unwrap();
    assert_eq!(job.id, other, "the first org already runs its one job");
    assert!(store.claim_next_job(&claim("w3")).await.unwrap().is_none());
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let (job, _) = store.claim_next_job(&claim("w4")).await.unwrap().unwrap();
    assert_eq!(job.id, second);
}
