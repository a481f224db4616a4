//! Upsert chunks beside other writers: two chunks of a job in flight, the second reading while
//! the first writes, and reading again when what it read may predate the first's writes; a
//! record another writer changes after a chunk read it.

use std::time::{Duration, Instant};

use bulkwrite_core::ids::OrgId;
use bulkwrite_store::{ChunkOrder, JobStore, Lease, RecordStore};
use bulkwrite_store_postgres::PgStore;

use super::chunks::{by_email, chunk, lead, running_job, upsert, ORG};
use super::{admin, database_url, fresh_pg_store};

/// The first chunk creates m@x.co and is held before it commits (another session holds its
/// job's progress row); the second, which upserts m@x.co too, reads meanwhile, before m@x.co
/// exists for it. Once the first commits, the second must read again and update the record the
/// first made, not make a second one.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_read_before_the_one_before_wrote_reads_again() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let org = OrgId::new(ORG);
    let seed = running_job(&store, 9_001).await;
    store.apply_chunk(&seed, chunk(vec![lead(1, "x@x.co"), lead(2, "y@x.co")], 2)).await.unwrap();
    let lease = running_job(&store, 9_002).await;

    let holder = hold_progress(&database, &lease).await;
    let first_order = ChunkOrder::first();
    let second_order = first_order.next();
    let (writer, held) = (store.clone(), lease.clone());
    let first = tokio::spawn(async move {
        writer
            .apply_chunk_in_order(&held, upsert(vec![by_email(1, "x@x.co"), by_email(2, "m@x.co")], 2), first_order)
            .await
    });
    let (writer, held) = (store.clone(), lease.clone());
    let second = tokio::spawn(async move {
        writer
            .apply_chunk_in_order(&held, upsert(vec![by_email(3, "y@x.co"), by_email(4, "m@x.co")], 4), second_order)
            .await
    });

    // The first waits on the progress row; the second has read and waits for the first.
    let watcher = admin(&database).await;
    let state = "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
                        count(*) FILTER (WHERE state = 'idle in transaction' AND query LIKE 'WITH probes%')
                 FROM pg_stat_activity WHERE datname = current_database()";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = watcher.query_one(state, &[]).await.unwrap();
        if (row.get::<_, i64>(0), row.get::<_, i64>(1)) == (1, 1) {
            break;
        }
        assert!(!first.is_finished() && !second.is_finished(), "a chunk finished while the first was held");
        assert!(Instant::now() < deadline, "the second chunk never read beside the held first");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    holder.batch_execute("COMMIT").await.unwrap();

    let first = first.await.unwrap().unwrap();
    let second = second.await.unwrap().expect("the second chunk read again and planned against the first's writes");
    assert_eq!((first.added, first.updated), (1, 1));
    assert_eq!((second.added, second.updated, second.skipped), (0, 2, 0), "y and m updated");
    assert_eq!(store.count_records(org, "Leads").await.unwrap(), 3, "x, y and m, each once");
    let progress = store.get_job(org, lease.job).await.unwrap().unwrap().resources[0];
    assert_eq!((progress.rows_done, progress.added, progress.updated), (4, 1, 3));
}

/// Three chunks in flight (as PostgreSQL takes an insert's): the first creates m@x.co and is held
/// before it commits; the second shares nothing with it; the third upserts m@x.co. The third must
/// not read before the first has settled (it checks its reads against the chunk before only),
/// so it updates the record the first made instead of making a second one (or failing on the
/// key) once the first commits.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_chunk_in_flight_reads_after_the_first_has_settled() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let org = OrgId::new(ORG);
    let lease = running_after_x(&store).await;

    let holder = hold_progress(&database, &lease).await;
    let first_order = ChunkOrder::first();
    let second_order = first_order.next();
    let third_order = second_order.next();
    let rows = [
        (vec![by_email(1, "x@x.co"), by_email(2, "m@x.co")], 2, first_order),
        (vec![by_email(3, "z@x.co")], 3, second_order),
        (vec![by_email(4, "m@x.co")], 4, third_order),
    ];
    let chunks: Vec<_> = rows
        .into_iter()
        .map(|(rows, done, order)| {
            let (writer, held) = (store.clone(), lease.clone());
            tokio::spawn(async move { writer.apply_chunk_in_order(&held, upsert(rows, done), order).await })
        })
        .collect();

    // The first waits on the progress row; give the others time to run ahead of it.
    wait_for_lock_wait(&database, "UPDATE job_resources", &chunks[0]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(chunks.iter().all(|chunk| !chunk.is_finished()), "nothing commits before the first");
    holder.batch_execute("COMMIT").await.unwrap();

    let mut outcomes = Vec::new();
    for chunk in chunks {
        outcomes.push(chunk.await.unwrap().expect("each chunk commits"));
    }
    let counts: Vec<(u64, u64)> = outcomes.iter().map(|outcome| (outcome.added, outcome.updated)).collect();
    assert_eq!(counts, [(1, 1), (1, 0), (0, 1)], "the third updates the m@x.co the first made");
    assert_eq!(store.count_records(org, "Leads").await.unwrap(), 3, "x, m and z, each once");
    let progress = store.get_job(org, lease.job).await.unwrap().unwrap().resources[0];
    assert_eq!((progress.rows_done, progress.added, progress.updated), (4, 2, 2));
}

/// Job 9101 stores x@x.co; job 9102 is then claimed, and its lease returned.
async fn running_after_x(store: &PgStore) -> Lease {
    let seed = running_job(store, 9_101).await;
    store.apply_chunk(&seed, chunk(vec![lead(1, "x@x.co")], 1)).await.unwrap();
    running_job(store, 9_102).await
}

/// Another session holds the job's progress row (in a transaction it leaves open): a chunk of
/// the job then waits before it commits, until that session commits.
async fn hold_progress(database: &str, lease: &Lease) -> tokio_postgres::Client {
    let holder = admin(database).await;
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .execute("SELECT 1 FROM job_resources WHERE job_id = $1 FOR UPDATE", &[&(lease.job.get() as i64)])
        .await
        .unwrap();
    holder
}

/// Waits until one session of `database` waits on a lock with a statement starting `statement`;
/// fails if `chunk` finishes first.
async fn wait_for_lock_wait<T>(database: &str, statement: &str, chunk: &tokio::task::JoinHandle<T>) {
    let watcher = admin(database).await;
    let waiting = "SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1";
    let deadline = Instant::now() + Duration::from_secs(30);
    let pattern = format!("{statement}%");
    while watcher.query_one(waiting, &[&pattern]).await.unwrap().get::<_, i64>(0) != 1 {
        assert!(!chunk.is_finished(), "the chunk finished instead of waiting in `{statement}`");
        assert!(Instant::now() < deadline, "the chunk never waited in `{statement}`");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Another writer's transaction changes x@x.co's Description (and version) and holds it.
async fn other_writer_changes(database: &str, description: &str) -> tokio_postgres::Client {
    let holder = admin(database).await;
    holder.batch_execute("BEGIN").await.unwrap();
    let changed = holder
        .execute(
            "UPDATE records SET data = (data::jsonb || jsonb_build_object('Description', $1::text))::text,
                                version = version + 1
             WHERE module = 'Leads' AND data::jsonb ->> 'Email' = 'x@x.co'",
            &[&description],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    holder
}

/// A job's chunk reads the records it updates without locking them. Another writer changes
/// x@x.co after the chunk read it: the chunk's update, held behind that writer, must not
/// overwrite the change with what it read. It fails as retryable and, made again, updates the
/// record as the other writer left it. From then on the job's chunks lock what they read, so the
/// next one waits in its read instead.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_changed_after_a_chunk_read_it_is_not_overwritten() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let org = OrgId::new(ORG);
    let lease = running_after_x(&store).await;
    let renamed = |row_no, last: &str| {
        let mut row = by_email(row_no, "x@x.co");
        row.values.insert("Last_Name", serde_json::json!(last));
        row
    };

    // The chunk reads x@x.co as committed, then waits in its update behind the other writer.
    let holder = other_writer_changes(&database, "from the other writer").await;
    let (writer, held) = (store.clone(), lease.clone());
    let first = tokio::spawn(async move { writer.apply_chunk(&held, upsert(vec![renamed(1, "Renamed")], 1)).await });
    wait_for_lock_wait(&database, "UPDATE records r", &first).await;
    holder.batch_execute("COMMIT").await.unwrap();
    let error = first.await.unwrap().expect_err("the record changed after the chunk read it");
    assert!(error.is_retryable(), "{error:?}");

    // Made again, as the worker retries it: it reads the record as the other writer left it.
    let again = store.apply_chunk(&lease, upsert(vec![renamed(1, "Renamed")], 1)).await.unwrap();
    assert_eq!((again.added, again.updated), (0, 1));
    let stored = "SELECT data::jsonb ->> 'Last_Name', data::jsonb ->> 'Description', version FROM records
                  WHERE module = 'Leads' AND data::jsonb ->> 'Email' = 'x@x.co'";
    let row = admin(&database).await.query_one(stored, &[]).await.unwrap();
    let (last, description, version): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((last.as_str(), description.as_str()), ("Renamed", "from the other writer"));

    // The job met another writer: its next chunk locks x@x.co in its read, and waits there.
    let holder = other_writer_changes(&database, "changed again").await;
    let (writer, held) = (store.clone(), lease.clone());
    let next =
        tokio::spawn(async move { writer.apply_chunk(&held, upsert(vec![renamed(2, "Renamed again")], 2)).await });
    wait_for_lock_wait(&database, "WITH probes", &next).await;
    holder.batch_execute("COMMIT").await.unwrap();
    let next = next.await.unwrap().expect("a locked read waits for the other writer instead of failing");
    assert_eq!((next.added, next.updated), (0, 1));
    let row = admin(&database).await.query_one(stored, &[]).await.unwrap();
    assert_eq!(
        (row.get::<_, String>(0).as_str(), row.get::<_, String>(1).as_str(), row.get::<_, i64>(2)),
        ("Renamed again", "changed again", version + 2)
    );
    assert_eq!(store.count_records(org, "Leads").await.unwrap(), 1);
}
