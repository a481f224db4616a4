//! Read jobs in the one queue: created, claimed in order beside write jobs, their parts
//! committed in order under the lease, taken over after a lease expires and resumed after the
//! last committed part, completed with their outcome and callback.

use std::sync::Arc;

use bulkwrite_core::readspec::{FileType, ReadSpec};
use bulkwrite_core::state::JobState;
use bulkwrite_wire::{Callback, Operation};
use chrono::{Duration, Utc};

use super::*;

fn read_spec(callback: bool) -> ReadSpec {
    ReadSpec {
        module: "Leads".into(),
        module_id: "1".into(),
        fields: vec!["Last_Name".into()],
        criteria: None,
        cvid: None,
        page: 1,
        per_page: 200_000,
        page_token: None,
        start_after: None,
        file_type: FileType::Csv,
        callback: callback.then(|| Callback { url: "https://hooks.example.com/read".into(), method: "post".into() }),
    }
}

pub(super) async fn new_read_job(store: &Arc<dyn Store>, id: u64, callback: bool) -> JobId {
    let id = JobId::new(id);
    let job = NewReadJob {
        id,
        org: ORG,
        created_by: ADMIN,
        api_version: "v8".into(),
        spec: read_spec(callback),
        created_at: Utc::now(),
    };
    store.create_read_job(job).await.expect("create read job");
    id
}

fn part(part_no: u32, last_id: u64) -> ReadPart {
    ReadPart { part_no, blob_key: format!("reads/x/part-{part_no}.csv"), rows: 10, last_id }
}

pub async fn read_jobs_share_the_queue_and_keep_their_request(store: Arc<dyn Store>) {
    with_org(&store).await;
    let read = new_read_job(&store, 30_001, false).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let write = new_job(&store, 30_000, ORG, spec(false, Operation::Insert, None)).await;
    let stored = store.get_job(ORG, read).await.unwrap().unwrap();
    assert_eq!((stored.kind(), stored.state), (JobKind::Read, JobState::Queued));
    assert_eq!(stored.read.as_ref().map(|r| r.spec.clone()), Some(read_spec(false)));
    assert!(stored.resources.is_empty());
    assert!(store.get_job(OTHER_ORG, read).await.unwrap().is_none(), "scoped by org");
    assert!(store.read_parts(OTHER_ORG, read).await.is_err(), "parts are scoped by org");
    let (first, _) = claim(&store, "w1").await.unwrap();
    assert_eq!((first.id, first.kind()), (read, JobKind::Read), "oldest first, whatever its kind");
    let (second, _) = claim(&store, "w2").await.unwrap();
    assert_eq!((second.id, second.kind()), (write, JobKind::Write));
}

pub async fn read_parts_commit_in_order_under_the_lease(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_read_job(&store, 31_000, false).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.commit_read_part(&lease, &part(0, 100)).await.unwrap();
    assert!(store.commit_read_part(&lease, &part(0, 100)).await.is_err(), "a part is never committed twice");
    assert!(store.commit_read_part(&lease, &part(2, 300)).await.is_err(), "nor after a lost one");
    let stale = Lease { owner: "someone-else".into(), ..lease.clone() };
    assert!(matches!(store.commit_read_part(&stale, &part(1, 200)).await, Err(StoreError::LeaseLost)));
    store.commit_read_part(&lease, &part(1, 200)).await.unwrap();
    let parts = store.read_parts(ORG, job).await.unwrap();
    assert_eq!(parts.iter().map(|p| (p.part_no, p.last_id)).collect::<Vec<_>>(), [(0, 100), (1, 200)]);
}

pub async fn a_taken_over_read_job_resumes_after_its_last_part(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_read_job(&store, 32_000, false).await;
    let past = Utc::now() - Duration::seconds(60);
    let (_, dead) = store.claim_next_job(&Claim::new("dead", past, Duration::seconds(30))).await.unwrap().unwrap();
    store.commit_read_part(&dead, &part(0, 100)).await.unwrap();
    let (again, lease) = claim(&store, "w2").await.expect("taken over once the lease expired");
    assert_eq!((again.id, again.attempts), (job, 2));
    assert!(matches!(store.commit_read_part(&dead, &part(1, 200)).await, Err(StoreError::LeaseLost)), "fenced");
    let parts = store.read_parts(ORG, job).await.unwrap();
    assert_eq!(parts.last().map(|p| p.last_id), Some(100), "the new holder continues after the last part");
    store.commit_read_part(&lease, &part(1, 200)).await.unwrap();
}

pub async fn completing_a_read_job_keeps_its_outcome_and_queues_its_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_read_job(&store, 33_000, true).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.commit_read_part(&lease, &part(0, 100)).await.unwrap();
    let outcome = ReadOutcome { count: 10, more_records: true, next_page_token: Some("t".into()) };
    let stale = Lease { owner: "someone-else".into(), ..lease.clone() };
    assert!(matches!(
        store.complete_read_job(&stale, "results/r.zip", &outcome, Utc::now()).await,
        Err(StoreError::LeaseLost)
    ));
    store.complete_read_job(&lease, "results/r.zip", &outcome, Utc::now()).await.unwrap();
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.result_blob.as_deref(), Some("results/r.zip"));
    assert_eq!(stored.read.and_then(|r| r.outcome), Some(outcome));
    assert!(store.read_parts(ORG, job).await.unwrap().is_empty(), "parts are forgotten");
    let queued = store.expired_blobs(10).await.unwrap();
    assert!(queued.contains(&"reads/x/part-0.csv".to_string()), "and their blobs queued for the sweeper");
    let due = store.claim_due_callbacks("d1", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| (d.job, d.url.as_str())).collect::<Vec<_>>(),
        [(job, "https://hooks.example.com/read")]
    );
}

pub async fn a_failed_read_job_queues_its_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_read_job(&store, 34_000, true).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.fail_job(&lease, &crate::read::module_gone("Leads"), None, Utc::now()).await.unwrap();
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.kind()), (JobState::Failed, JobKind::Read));
    assert_eq!(stored.error.as_deref(), Some("MODULE_NOT_AVAILABLE: Requested module 'Leads' is not available."));
    assert_eq!(
        stored.read_error_message(),
        serde_json::json!({"code": "MODULE_NOT_AVAILABLE", "message": "Requested module 'Leads' is not available."}),
        "the details show Zoho's code and sentence"
    );
    assert_eq!(store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap().len(), 1);

    // A failure it cannot name shows no internals.
    let other = new_read_job(&store, 34_001, false).await;
    let (_, lease) = claim(&store, "w2").await.unwrap();
    store.fail_job(&lease, "database disk image is malformed", None, Utc::now()).await.unwrap();
    let stored = store.get_job(ORG, other).await.unwrap().unwrap();
    assert_eq!(
        stored.read_error_message(),
        serde_json::json!({"code": "INTERNAL_ERROR", "message": "Internal server error occurred."})
    );
}

pub async fn an_export_that_stops_early_queues_its_parts_for_the_sweeper(store: Arc<dyn Store>) {
    with_org(&store).await;
    let failed = new_read_job(&store, 35_000, false).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.commit_read_part(&lease, &ReadPart { blob_key: "reads/f/part-0.csv".into(), ..part(0, 100) }).await.unwrap();
    store.commit_read_part(&lease, &ReadPart { blob_key: "reads/f/part-1.csv".into(), ..part(1, 200) }).await.unwrap();
    assert!(store.expired_blobs(10).await.unwrap().is_empty(), "parts of a running export are kept");
    store.fail_job(&lease, "the module no longer exists", None, Utc::now()).await.unwrap();
    assert!(store.read_parts(ORG, failed).await.unwrap().is_empty(), "a failed export forgets its parts");
    let mut queued = store.expired_blobs(10).await.unwrap();
    queued.sort();
    assert_eq!(queued, ["reads/f/part-0.csv", "reads/f/part-1.csv"], "and queues their blobs");
    store.forget_expired_blobs(&queued).await.unwrap();

    let cancelled = new_read_job(&store, 36_000, false).await;
    let (_, lease) = claim(&store, "w2").await.unwrap();
    store.commit_read_part(&lease, &ReadPart { blob_key: "reads/c/part-0.csv".into(), ..part(0, 100) }).await.unwrap();
    store.request_cancel(ORG, cancelled, CancelRequest { by: ADMIN, at: Utc::now() }).await.unwrap();
    store.cancel_job(&lease, "cancelled by Mara Quist", None, Utc::now()).await.unwrap();
    assert_eq!(store.get_job(ORG, cancelled).await.unwrap().unwrap().state, JobState::Cancelled);
    assert!(store.read_parts(ORG, cancelled).await.unwrap().is_empty(), "a cancelled export forgets its parts");
    assert_eq!(store.expired_blobs(10).await.unwrap(), ["reads/c/part-0.csv"], "and queues their blobs");
}

pub async fn read_jobs_are_listed_by_kind_and_module(store: Arc<dyn Store>) {
    with_org(&store).await;
    let write = new_job(&store, 37_000, ORG, spec(false, Operation::Insert, None)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let read = new_read_job(&store, 37_001, false).await;
    let ids = |page: JobPage| page.jobs.iter().map(|job| job.id).collect::<Vec<_>>();
    let all = store.list_jobs(ORG, &JobListQuery::all()).await.unwrap();
    assert_eq!(ids(all.clone()), [read, write], "newest first, both kinds");
    assert_eq!(all.jobs[0].kind(), JobKind::Read);
    let kind = |kind: JobKind| JobListQuery { kind: Some(kind), ..JobListQuery::all() };
    assert_eq!(ids(store.list_jobs(ORG, &kind(JobKind::Read)).await.unwrap()), [read]);
    assert_eq!(ids(store.list_jobs(ORG, &kind(JobKind::Write)).await.unwrap()), [write]);
    let module = |name: &str| JobListQuery { module: Some(name.into()), ..JobListQuery::all() };
    assert_eq!(ids(store.list_jobs(ORG, &module("Leads")).await.unwrap()), [read, write], "the module a read exports");
    assert!(store.list_jobs(ORG, &module("Contacts")).await.unwrap().jobs.is_empty());
    let insert = JobListQuery { operation: Some(Operation::Insert), ..JobListQuery::all() };
    assert_eq!(ids(store.list_jobs(ORG, &insert).await.unwrap()), [write], "a read job is no insert");
}

const TEN_A_MINUTE: DownloadWindow = DownloadWindow { limit: 10, length: Duration::seconds(60) };

pub async fn downloads_are_counted_per_user_in_a_sliding_window(store: Arc<dyn Store>) {
    with_org(&store).await;
    // Whole seconds: every backend keeps them exactly.
    let start = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    for n in 0..10 {
        let at = start + Duration::seconds(n);
        assert_eq!(store.count_download(ORG, ADMIN, at, TEN_A_MINUTE).await.unwrap(), DownloadVerdict::Allowed);
    }
    let refused = store.count_download(ORG, ADMIN, start + Duration::seconds(59), TEN_A_MINUTE).await.unwrap();
    assert_eq!(refused, DownloadVerdict::Refused { retry_at: start + Duration::seconds(60) }, "the eleventh");
    let other_user = UserId::new(ADMIN.get() + 1);
    let other = store.count_download(ORG, other_user, start + Duration::seconds(59), TEN_A_MINUTE).await.unwrap();
    assert_eq!(other, DownloadVerdict::Allowed, "another user counts alone");
    let other_org = store.count_download(OTHER_ORG, ADMIN, start + Duration::seconds(59), TEN_A_MINUTE).await.unwrap();
    assert_eq!(other_org, DownloadVerdict::Allowed, "as does the same id in another org");
    // A refused download is not counted: once the first leaves the window, one place is free.
    let at = start + Duration::seconds(60);
    assert_eq!(store.count_download(ORG, ADMIN, at, TEN_A_MINUTE).await.unwrap(), DownloadVerdict::Allowed);
    let full = store.count_download(ORG, ADMIN, at, TEN_A_MINUTE).await.unwrap();
    assert_eq!(full, DownloadVerdict::Refused { retry_at: start + Duration::seconds(61) });
    let later = start + Duration::seconds(200);
    assert_eq!(store.count_download(ORG, ADMIN, later, TEN_A_MINUTE).await.unwrap(), DownloadVerdict::Allowed);
}

pub async fn downloads_counted_at_once_never_pass_the_limit(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move { store.count_download(ORG, ADMIN, now, TEN_A_MINUTE).await }));
    }
    let mut allowed = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == DownloadVerdict::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10, "ten places, however many ask at once");
}
