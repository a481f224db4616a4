//! Job details read together (`details.rs`): however many reads wait, at most two statements
//! are in flight; the reads that come meanwhile go together in the next one.

use std::time::{Duration, Instant};

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_store::{JobStore, JobWithOrg, Org, OrgStore, StoreError, StoreResult, User};
use bulkwrite_store_postgres::PgStore;
use chrono::Utc;

use super::queue::create_job;
use super::{admin, database_url, fresh_pg_store};

const ORG: u64 = 111_222_333;

/// Sessions of the node (named `bulkwrite-…`) waiting on a lock.
const WAITING: &str = "SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name LIKE 'bulkwrite-%' AND wait_event_type = 'Lock'";

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_details_reads_behind_a_lock_hold_two_sessions_and_all_come_back() {
    let (database, store) = store_with_jobs().await;
    let org = OrgId::new(ORG);
    let holder = lock_job_resources(&database).await;
    let mut reads = tokio::task::JoinSet::new();
    for turn in 0..100u64 {
        let store = store.clone();
        reads.spawn(async move { (turn, store.get_job_details(org, JobId::new(1 + turn % 20)).await) });
    }
    let watcher = admin(&database).await;
    wait_for_sessions(&watcher, 2).await;
    // The other 98 reads wait in the node, not in sessions of their own (the pool has 16).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sessions_waiting(&watcher).await, 2, "statements in flight");
    assert!(reads.try_join_next().is_none(), "a read came back while the lock was held");
    holder.batch_execute("COMMIT").await.unwrap();
    while let Some(read) = reads.join_next().await {
        let (turn, found) = read.unwrap();
        let found = found.unwrap().expect("the job's details");
        assert_eq!(found.job.id, JobId::new(1 + turn % 20));
        assert_eq!((found.org.zgid, found.creator_name.as_deref()), (org, Some("Mara Quist")));
    }
}

/// A request reading for the others goes away (its client hung up) while its statement waits:
/// the reads queued behind it get a reader all the same, and every one comes back.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_queued_behind_a_dropped_request_still_come_back() {
    let (database, store) = store_with_jobs().await;
    let holder = lock_job_resources(&database).await;
    let watcher = admin(&database).await;
    let read = |job: u64| spawn_read(&store, job);
    let first = read(1);
    wait_for_sessions(&watcher, 1).await;
    let second = read(2);
    wait_for_sessions(&watcher, 2).await;
    let queued: Vec<_> = (3..=12).map(read).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.abort();
    second.abort();
    assert!(first.await.unwrap_err().is_cancelled() && second.await.unwrap_err().is_cancelled());
    holder.batch_execute("COMMIT").await.unwrap();
    for (job, queued) in (3..=12).zip(queued) {
        let found = tokio::time::timeout(Duration::from_secs(20), queued).await.expect("the queued read comes back");
        assert_eq!(found.unwrap().unwrap().expect("the job's details").job.id, JobId::new(job));
    }
}

/// A job that cannot be read back fails its own reads only, not the others read with it.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_cannot_be_read_fails_only_its_own_reads() {
    let (database, store) = store_with_jobs().await;
    admin(&database).await.execute("UPDATE jobs SET state = 'no such state' WHERE id = 1", &[]).await.unwrap();
    let holder = lock_job_resources(&database).await;
    let watcher = admin(&database).await;
    let read = |job: u64| spawn_read(&store, job);
    // One at a time: two reads pushed together may go in one statement, leaving one session.
    let first = read(2);
    wait_for_sessions(&watcher, 1).await;
    let second = read(3);
    wait_for_sessions(&watcher, 2).await;
    // These three wait together, and go in one statement once the two before are answered.
    let together = [read(4), read(1), read(5)];
    tokio::time::sleep(Duration::from_millis(200)).await;
    holder.batch_execute("COMMIT").await.unwrap();
    for (job, read) in [(2, first), (3, second)] {
        assert_eq!(read.await.unwrap().unwrap().expect("the job's details").job.id, JobId::new(job));
    }
    let [fourth, broken, fifth] = together;
    assert!(matches!(broken.await.unwrap(), Err(StoreError::Corrupt(_))), "job 1's state is no state");
    assert_eq!(fourth.await.unwrap().unwrap().expect("job 4").job.id, JobId::new(4));
    assert_eq!(fifth.await.unwrap().unwrap().expect("job 5").job.id, JobId::new(5));
}

/// A fresh database with an org and jobs 1 to 20 in it.
async fn store_with_jobs() -> (String, PgStore) {
    let (database, store) = fresh_pg_store(&database_url()).await;
    let org = OrgId::new(ORG);
    let admin_id = UserId::new(5_725_767_000_000_000_101);
    let user = User {
        id: admin_id,
        org,
        first_name: "Mara".into(),
        last_name: "Quist".into(),
        email: "mara@example.com".into(),
        profile: "Administrator".into(),
        role: "CEO".into(),
        active: true,
        created_at: Utc::now(),
    };
    let record = Org {
        zgid: org,
        id: "5725767000000022333".into(),
        company_name: "Org".into(),
        time_zone: "Asia/Kolkata".into(),
        currency: "USD".into(),
        created_at: Utc::now(),
    };
    store.create_org(record, user, bulkwrite_core::schema::standard::standard_schema()).await.unwrap();
    for id in 1..=20 {
        create_job(&store, id, ORG).await;
    }
    (database, store)
}

/// Another session holds the jobs' resources, until it commits: every read of job details
/// waits for it.
async fn lock_job_resources(database: &str) -> tokio_postgres::Client {
    let holder = admin(database).await;
    holder.batch_execute("BEGIN; LOCK TABLE job_resources IN ACCESS EXCLUSIVE MODE").await.unwrap();
    holder
}

/// Reads job `job`'s details on a task of its own.
fn spawn_read(store: &PgStore, job: u64) -> tokio::task::JoinHandle<StoreResult<Option<JobWithOrg>>> {
    let store = store.clone();
    tokio::spawn(async move { store.get_job_details(OrgId::new(ORG), JobId::new(job)).await })
}

/// Waits until `count` sessions of the node wait on a lock.
async fn wait_for_sessions(watcher: &tokio_postgres::Client, count: i64) {
    let since = Instant::now();
    while sessions_waiting(watcher).await < count {
        assert!(since.elapsed() < Duration::from_secs(20), "no read of job details reached the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sessions_waiting(watcher: &tokio_postgres::Client) -> i64 {
    watcher.query_one(WAITING, &[]).await.unwrap().get(0)
}
