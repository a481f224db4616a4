//! The test controls' time and stepping: the shared clock offset and pause, the pause in the
//! claim, held jobs, the step's claim, and callbacks due by business time but leased by lease
//! time.

use std::sync::Arc;

use bulkwrite_core::state::JobState;
use bulkwrite_wire::Operation;
use chrono::{Duration, Utc};

use super::*;

fn lease_now(owner: &str) -> Claim {
    Claim::new(owner, Utc::now(), Duration::seconds(30))
}

fn respecting(owner: &str) -> Claim {
    Claim { respect_pause: true, ..lease_now(owner) }
}

fn any_job(org: Option<OrgId>) -> StepTarget {
    StepTarget { job: None, org }
}

fn named(job: JobId, org: Option<OrgId>) -> StepTarget {
    StepTarget { job: Some(job), org }
}

fn claimed_id(claim: StepClaim) -> Option<JobId> {
    match claim {
        StepClaim::Claimed(claimed) => Some(claimed.0.id),
        _ => None,
    }
}

pub async fn test_controls_start_at_rest_and_change_atomically(store: Arc<dyn Store>) {
    assert_eq!(store.control_state().await.unwrap(), ControlState::default());
    let advances = (0..4).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.advance_clock(3600).await.unwrap() })
    });
    for advance in advances.collect::<Vec<_>>() {
        advance.await.unwrap();
    }
    assert_eq!(store.control_state().await.unwrap().clock_offset_seconds, 4 * 3600, "no advance is lost");
    let paused = store.set_queue_paused(true).await.unwrap();
    assert_eq!(paused, ControlState { clock_offset_seconds: 4 * 3600, queue_paused: true });
    let reset = store.reset_clock().await.unwrap();
    assert_eq!(reset, ControlState { clock_offset_seconds: 0, queue_paused: true }, "a reset keeps the pause");
    assert_eq!(store.set_queue_paused(false).await.unwrap(), ControlState::default());
}

pub async fn a_paused_queue_refuses_the_claims_that_respect_it(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 30_000, ORG, spec(false, Operation::Insert, None)).await;
    store.set_queue_paused(true).await.unwrap();
    assert!(store.claim_next_job(&respecting("w1")).await.unwrap().is_none(), "paused");
    store.set_queue_paused(false).await.unwrap();
    let (claimed, _) = store.claim_next_job(&respecting("w1")).await.unwrap().expect("resumed");
    assert_eq!(claimed.id, job);
    // A worker without the switch does not heed a pause left in the store.
    let other = new_job(&store, 30_001, ORG, spec(false, Operation::Insert, None)).await;
    store.set_queue_paused(true).await.unwrap();
    let (claimed, _) = store.claim_next_job(&lease_now("w2")).await.unwrap().expect("not respecting the pause");
    assert_eq!(claimed.id, other);
}

pub async fn a_held_job_stays_in_progress_and_is_taken_up_again(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 31_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = store.claim_next_job(&lease_now("w1")).await.unwrap().unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "a@held.example")], 1)).await.unwrap();
    let now = Utc::now();
    assert_eq!(store.queue_depth(now).await.unwrap(), QueueDepth { queued: 0, running: 1, held: 0 });
    store.hold_job(&lease).await.unwrap();
    let held = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(held.state, JobState::Running, "still in progress (IN PROGRESS to Zoho)");
    assert_eq!(held.resources[0].rows_done, 1);
    assert_eq!(store.queue_depth(now).await.unwrap(), QueueDepth { queued: 0, running: 0, held: 1 });
    assert!(matches!(store.renew_lease(&lease, now).await, Err(StoreError::LeaseLost)), "no one holds it");
    store.hold_job(&lease).await.expect("holding again changes nothing");
    store.set_queue_paused(true).await.unwrap();
    assert!(store.claim_next_job(&respecting("w2")).await.unwrap().is_none(), "held while paused");
    store.set_queue_paused(false).await.unwrap();
    let (taken, again) = store.claim_next_job(&respecting("w2")).await.unwrap().expect("taken up at once");
    assert_eq!((taken.id, taken.attempts, taken.resources[0].rows_done), (job, 2, 1));
    store.renew_lease(&again, Utc::now() + Duration::seconds(30)).await.unwrap();
}

pub async fn a_step_claims_the_named_or_the_oldest_runnable_job(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let start = Utc::now() - Duration::seconds(60);
    let at = |seconds| start + Duration::seconds(seconds);
    let other = new_job_at(&store, 32_000, OTHER_ORG, spec(false, Operation::Insert, None), at(0)).await;
    let first = new_job_at(&store, 32_001, ORG, spec(false, Operation::Insert, None), at(1)).await;
    let second = new_job_at(&store, 32_002, ORG, spec(false, Operation::Insert, None), at(2)).await;
    let asked_to_stop = new_job_at(&store, 32_003, ORG, spec(false, Operation::Insert, None), at(3)).await;
    let request = CancelRequest { by: ADMIN, at: Utc::now() };
    store.request_cancel(ORG, asked_to_stop, request).await.unwrap();
    store.set_queue_paused(true).await.unwrap();

    // Whatever the pause: the oldest runnable job of the org asked for, or of any.
    let step = store.claim_step(&lease_now("s1"), any_job(Some(ORG))).await.unwrap();
    assert_eq!(claimed_id(step), Some(first));
    let step = store.claim_step(&lease_now("s2"), any_job(None)).await.unwrap();
    assert_eq!(claimed_id(step), Some(other));
    // A job under a live lease is refused by name, and passed over otherwise.
    match store.claim_step(&lease_now("s3"), named(first, Some(ORG))).await.unwrap() {
        StepClaim::Refused(job) => assert_eq!((job.id, job.state), (first, JobState::Running)),
        unexpected => panic!("a leased job is not stepped: {unexpected:?}"),
    }
    match store.claim_step(&lease_now("s3"), named(asked_to_stop, None)).await.unwrap() {
        StepClaim::Refused(job) => assert!(job.cancel.is_some()),
        unexpected => panic!("a job asked to stop is not stepped: {unexpected:?}"),
    }
    assert_eq!(store.claim_step(&lease_now("s3"), named(second, Some(OTHER_ORG))).await.unwrap(), StepClaim::Nothing);
    assert_eq!(store.claim_step(&lease_now("s3"), named(JobId::new(99), None)).await.unwrap(), StepClaim::Nothing);
    let (stepped, lease) = match store.claim_step(&lease_now("s3"), named(second, Some(ORG))).await.unwrap() {
        StepClaim::Claimed(claimed) => *claimed,
        unexpected => panic!("the named job is stepped: {unexpected:?}"),
    };
    assert_eq!((stepped.id, stepped.state, stepped.attempts), (second, JobState::Running, 1));
    assert_eq!(store.claim_step(&lease_now("s4"), any_job(None)).await.unwrap(), StepClaim::Nothing, "all taken");
    // A finished job is refused as it stands.
    store.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    match store.claim_step(&lease_now("s6"), named(second, None)).await.unwrap() {
        StepClaim::Refused(job) => assert_eq!(job.state, JobState::Succeeded),
        unexpected => panic!("a finished job is not stepped: {unexpected:?}"),
    }
}

pub async fn callbacks_fall_due_by_business_time_and_are_leased_by_lease_time(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 33_000, ORG, spec(true, Operation::Insert, None)).await;
    let (_, lease) = store.claim_next_job(&lease_now("w1")).await.unwrap().unwrap();
    let real = Utc::now();
    let business = real + Duration::days(7);
    store.complete_job(&lease, "results/r.zip", business).await.unwrap();
    let claim = |owner: &str, due_at, now| CallbackClaim {
        owner: owner.into(),
        due_at,
        now,
        lease_for: Duration::seconds(30),
        limit: 10,
    };
    assert!(store.claim_callbacks(&claim("d1", real, real)).await.unwrap().is_empty(), "due in business time");
    let due = store.claim_callbacks(&claim("d1", business, real)).await.unwrap();
    assert_eq!(due.len(), 1);
    let later = business + Duration::days(7);
    assert!(
        store.claim_callbacks(&claim("d2", later, real + Duration::seconds(1))).await.unwrap().is_empty(),
        "a jump of business time does not end the lease"
    );
    let taken = store.claim_callbacks(&claim("d2", later, real + Duration::seconds(31))).await.unwrap();
    assert_eq!(taken.len(), 1, "the lease ends by lease time");
}
