//! Two upsert chunks in flight: the second reads while the first writes, and reads again when
//! what it read may predate the first's writes.

use std::time::{Duration, Instant};

use bulkwrite_core::ids::OrgId;
use bulkwrite_core::mapping::{FindKey, RowDraft};
use bulkwrite_store::{ChunkOrder, ChunkWrite, JobStore, RecordStore};
use bulkwrite_wire::Operation;

use super::chunks::{chunk, lead, running_job, ORG};
use super::{admin, database_url, fresh_pg_store};

/// A row that upserts by its Email.
fn by_email(row_no: u64, email: &str) -> RowDraft {
    let mut row = lead(row_no, email);
    let key = row.unique_keys[0].clone();
    row.find_key = Some(FindKey::Unique { field: key.field, value: key.value, column: key.column });
    row
}

fn upsert(rows: Vec<RowDraft>, rows_done: u64) -> ChunkWrite {
    ChunkWrite { operation: Operation::Upsert, ..chunk(rows, rows_done) }
}

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

    let holder = admin(&database).await;
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .execute("SELECT 1 FROM job_resources WHERE job_id = $1 FOR UPDATE", &[&(lease.job.get() as i64)])
        .await
        .unwrap();
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
