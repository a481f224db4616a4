//! Retention: uploads and result files expire at an injected `now`; in-use uploads stay; every
//! call is idempotent and safe to run twice at once.

use std::sync::Arc;

use bulkwrite_core::ids::FileId;
use bulkwrite_core::state::JobState;
use bulkwrite_wire::Operation;
use chrono::{Duration, SubsecRound, Utc};

use super::*;

const WEEK: i64 = 7;

/// An instant both backends store exactly (SQLite keeps milliseconds).
fn instant(at: Timestamp) -> Timestamp {
    at.trunc_subsecs(3)
}

fn upload(file_id: u64, zgid: OrgId, created_at: Timestamp) -> Upload {
    Upload {
        file_id: FileId::new(file_id),
        org: zgid,
        user: if zgid == ORG { ADMIN } else { OTHER_ADMIN },
        blob_key: format!("uploads/{zgid}/{file_id}.zip"),
        file_name: "leads.zip".into(),
        size: 42,
        entries: Vec::new(),
        created_at,
        expired_at: None,
    }
}

/// A one-resource insert job that reads `file_id`.
fn spec_on(file_id: u64) -> JobSpec {
    let mut job_spec = spec(false, Operation::Insert, None);
    job_spec.resources[0].file_id = file_id.to_string();
    job_spec
}

fn expiry(now: Timestamp, days: i64) -> Expiry {
    Expiry { now, older_than: now - Duration::days(days), limit: 100 }
}

pub async fn uploads_expire_unless_a_job_needs_them(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = instant(Utc::now());
    let old = now - Duration::days(WEEK + 1);
    let (unused, in_use, fresh) = (5_725_767_000_000_020_001, 5_725_767_000_000_020_002, 5_725_767_000_000_020_003);
    for (file_id, created) in [(unused, old), (in_use, old), (fresh, now - Duration::hours(1))] {
        store.insert_upload(upload(file_id, ORG, created)).await.unwrap();
    }
    let job = new_job(&store, 20_100, ORG, spec_on(in_use)).await;

    assert_eq!(store.expire_uploads(&expiry(now, WEEK)).await.unwrap(), 1, "only the unused old upload");
    let expired = store.get_upload(ORG, FileId::new(unused)).await.unwrap().expect("the row stays");
    assert_eq!(expired.expired_at, Some(now));
    for kept in [in_use, fresh] {
        assert_eq!(store.get_upload(ORG, FileId::new(kept)).await.unwrap().unwrap().expired_at, None);
    }
    let unused_key = format!("uploads/{ORG}/{unused}.zip");
    assert_eq!(store.expired_blobs(10).await.unwrap(), std::slice::from_ref(&unused_key));
    assert_eq!(store.expire_uploads(&expiry(now, WEEK)).await.unwrap(), 0, "expiring again changes nothing");
    assert_eq!(store.expired_blobs(10).await.unwrap(), std::slice::from_ref(&unused_key), "queued once");

    // A job on the expired upload is refused; the refused job leaves nothing behind.
    let refused = NewJob {
        id: JobId::new(20_101),
        org: ORG,
        created_by: ADMIN,
        api_version: "v2".into(),
        spec: spec_on(unused),
        created_at: Utc::now(),
    };
    assert!(matches!(store.create_job(refused).await, Err(StoreError::Expired(_))));
    assert!(store.get_job(ORG, JobId::new(20_101)).await.unwrap().is_none());

    // Running, the job still holds its upload; once finished, the upload expires.
    let (claimed, lease) = claim(&store, "w1").await.unwrap();
    assert_eq!(claimed.id, job);
    assert_eq!(store.expire_uploads(&expiry(now, WEEK)).await.unwrap(), 0, "a running job's upload stays");
    store.complete_job(&lease, "results/r.zip", Utc::now()).await.unwrap();
    assert_eq!(store.expire_uploads(&expiry(now, WEEK)).await.unwrap(), 1);
    assert!(store.get_upload(ORG, FileId::new(in_use)).await.unwrap().unwrap().expired_at.is_some());

    // The fresh one expires when its time has come, by the injected clock alone.
    let later = now + Duration::days(WEEK);
    assert_eq!(store.expire_uploads(&expiry(later, WEEK)).await.unwrap(), 1);
    assert_eq!(store.expired_blobs(10).await.unwrap().len(), 3);

    store.forget_expired_blobs(std::slice::from_ref(&unused_key)).await.unwrap();
    store.forget_expired_blobs(&[unused_key]).await.unwrap();
    assert_eq!(store.expired_blobs(10).await.unwrap().len(), 2, "forgetting twice is no error");
}

pub async fn results_expire_and_their_rows_go(store: Arc<dyn Store>) {
    with_org(&store).await;
    let finished = instant(Utc::now());
    let done = new_job(&store, 21_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let rows = vec![row(1, "A", "a@x.co"), row(2, "B", "b@x.co")];
    store.apply_chunk(&lease, chunk(Operation::Insert, rows, 2)).await.unwrap();
    store.complete_job(&lease, "results/done.zip", finished).await.unwrap();
    let failed = new_job(&store, 21_001, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.fail_job(&lease, "the file cannot be read", None, finished).await.unwrap();
    let waiting = new_job(&store, 21_002, ORG, spec(false, Operation::Insert, None)).await;
    assert_eq!(all_rows(&store, done).await.len(), 2);

    assert_eq!(store.expire_results(&expiry(finished + Duration::days(WEEK), WEEK)).await.unwrap(), 0, "not yet");
    let now = instant(finished + Duration::days(WEEK) + Duration::seconds(1));
    assert_eq!(store.expire_results(&expiry(now, WEEK)).await.unwrap(), 2, "both finished jobs");
    let stored = store.get_job(ORG, done).await.unwrap().expect("the job row stays");
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.result_expired_at, Some(now));
    assert_eq!((stored.resources[0].added, stored.result_blob.as_deref()), (2, Some("results/done.zip")));
    assert!(all_rows(&store, done).await.is_empty(), "the result rows are deleted");
    assert_eq!(store.get_job(ORG, failed).await.unwrap().unwrap().result_expired_at, Some(now));
    assert_eq!(store.get_job(ORG, waiting).await.unwrap().unwrap().result_expired_at, None, "unfinished");
    assert_eq!(store.expired_blobs(10).await.unwrap(), ["results/done.zip"], "a job without a file queues none");
    assert_eq!(store.expire_results(&expiry(now + Duration::days(1), WEEK)).await.unwrap(), 0, "once");
}

pub async fn sweeps_at_once_expire_each_file_once(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = instant(Utc::now());
    let old = now - Duration::days(WEEK + 1);
    for n in 0..40u64 {
        store.insert_upload(upload(5_725_767_000_000_030_000 + n, ORG, old)).await.unwrap();
    }
    for n in 0..6u64 {
        new_job(&store, 22_000 + n, ORG, spec(false, Operation::Insert, None)).await;
        let (_, lease) = claim(&store, "w1").await.unwrap();
        store.complete_job(&lease, &format!("results/{n}.zip"), old).await.unwrap();
    }
    let small = Expiry { limit: 7, ..expiry(now, WEEK) };
    let sweep = |store: Arc<dyn Store>| async move {
        let mut expired = (0, 0);
        loop {
            let uploads = store.expire_uploads(&small).await.unwrap();
            let results = store.expire_results(&small).await.unwrap();
            if uploads + results == 0 {
                return expired;
            }
            expired = (expired.0 + uploads, expired.1 + results);
        }
    };
    let (a, b) = tokio::join!(sweep(Arc::clone(&store)), sweep(Arc::clone(&store)));
    assert_eq!((a.0 + b.0, a.1 + b.1), (40, 6), "every file expired exactly once between the two");
    let keys = store.expired_blobs(100).await.unwrap();
    assert_eq!(keys.len(), 46);
    let (first, second) = keys.split_at(20);
    let (x, y) = tokio::join!(store.forget_expired_blobs(first), store.forget_expired_blobs(keys.as_slice()));
    x.unwrap();
    y.unwrap();
    assert!(store.expired_blobs(100).await.unwrap().is_empty(), "{second:?} forgotten");
}

pub async fn a_job_and_a_sweep_never_both_win_an_upload(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = instant(Utc::now());
    let first_file: u64 = 5_725_767_000_000_040_000;
    let count: u64 = 30;
    for n in 0..count {
        store.insert_upload(upload(first_file + n, ORG, now - Duration::days(WEEK + 1))).await.unwrap();
    }
    let create = |n: u64| NewJob {
        id: JobId::new(24_000 + n),
        org: ORG,
        created_by: ADMIN,
        api_version: "v2".into(),
        spec: spec_on(first_file + n),
        created_at: Utc::now(),
    };
    let creator = async {
        let mut outcomes = Vec::new();
        for n in 0..count {
            outcomes.push(store.create_job(create(n)).await);
        }
        outcomes
    };
    let sweeper = async {
        let small = Expiry { limit: 1, ..expiry(now, WEEK) };
        let mut expired = 0;
        loop {
            let swept = store.expire_uploads(&small).await.unwrap();
            expired += swept;
            if swept == 0 {
                return expired;
            }
        }
    };
    let (outcomes, _) = tokio::join!(creator, sweeper);
    // Whatever the sweep left, the next one takes: only uploads no job holds.
    store.expire_uploads(&expiry(now, WEEK)).await.unwrap();
    for (n, outcome) in (0..count).zip(outcomes) {
        let job = store.get_job(ORG, JobId::new(24_000 + n)).await.unwrap();
        let upload = store.get_upload(ORG, FileId::new(first_file + n)).await.unwrap().unwrap();
        match outcome {
            Ok(()) => {
                assert!(job.is_some());
                assert_eq!(upload.expired_at, None, "upload {n} expired under an accepted job");
            }
            Err(StoreError::Expired(_)) => {
                assert!(job.is_none(), "a refused job is not stored");
                assert!(upload.expired_at.is_some(), "job {n} refused on a live upload");
            }
            Err(other) => panic!("job {n}: {other}"),
        }
    }
}
