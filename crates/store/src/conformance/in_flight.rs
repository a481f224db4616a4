//! Chunks of one resource in flight together (`JobStore::apply_chunk_in_order`): they commit in
//! order, catch duplicates between each other, never deadlock, and a chunk after one that did
//! not commit is refused.

use std::sync::Arc;

use bulkwrite_wire::Operation;

use super::*;

/// Three chunks in flight at once (the worker keeps two), duplicates between each of them.
pub async fn chunks_in_flight_together_commit_in_order(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 9500, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let first = chunk(Operation::Insert, vec![row(1, "A", "a@x.co"), row(2, "B", "b@x.co"), row(3, "C", "c@x.co")], 3);
    let second =
        chunk(Operation::Insert, vec![row(4, "C2", "C@x.co"), row(5, "D", "d@x.co"), row(6, "B2", "b@x.co")], 6);
    let third = chunk(Operation::Insert, vec![row(7, "D2", "d@x.co"), row(8, "E", "e@x.co")], 8);
    let first_order = ChunkOrder::first();
    let second_order = first_order.next();
    let third_order = second_order.next();
    let applied = async {
        tokio::join!(
            store.apply_chunk_in_order(&lease, first, first_order),
            store.apply_chunk_in_order(&lease, second, second_order),
            store.apply_chunk_in_order(&lease, third, third_order),
        )
    };
    let (a, b, c) = tokio::time::timeout(std::time::Duration::from_secs(30), applied).await.expect("no deadlock");
    let counts = |outcome: StoreResult<ChunkOutcome>| {
        let outcome = outcome.unwrap();
        (outcome.added, outcome.skipped)
    };
    assert_eq!([counts(a), counts(b), counts(c)], [(3, 0), (1, 2), (1, 1)]);
    let rows = all_rows(&store, job).await;
    assert_eq!(rows.iter().map(|r| r.row_no).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>(), "input order");
    let errors: Vec<String> = rows.iter().map(|r| r.errors.to_string()).collect();
    let dup = "DUPLICATE_DATA-Email";
    assert_eq!(errors, ["", "", "", dup, "", dup, dup, ""]);
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 5, "each new Email stored once");
    let progress = store.get_job(ORG, job).await.unwrap().unwrap().resources[0];
    assert_eq!((progress.rows_done, progress.added, progress.skipped), (8, 5, 3));

    // A small chunk behind a large one, nothing shared (in a job that has met no existing key,
    // so neither looks keys up first): it is done first, yet commits second.
    store.complete_job(&lease, "results/x.zip", chrono::Utc::now()).await.unwrap();
    let job = new_job(&store, 9501, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w2").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let large = (1..=400).map(|n| row(n, "L", &format!("l{n}@x.co"))).collect();
    let large = chunk(Operation::Insert, large, 400);
    let small = chunk(Operation::Insert, vec![row(401, "S", "s@x.co")], 401);
    let (large, small) = apply_two(&store, &lease, large, small).await;
    assert_eq!((large.unwrap().added, small.unwrap().added), (400, 1));
    let progress = store.get_job(ORG, job).await.unwrap().unwrap().resources[0];
    assert_eq!((progress.rows_done, progress.added), (401, 401));
}

pub async fn a_chunk_after_one_that_did_not_commit_is_refused(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 9600, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    // The first names a checkpoint the resource never reached, so it cannot commit.
    let first = ChunkWrite { rows_done_before: 7, ..chunk(Operation::Insert, vec![row(1, "A", "a@x.co")], 1) };
    let second = chunk(Operation::Insert, vec![row(2, "B", "b@x.co")], 2);
    let (a, b) = apply_two(&store, &lease, first, second).await;
    assert!(matches!(a, Err(StoreError::Conflict(_))), "{a:?}");
    assert!(matches!(b, Err(StoreError::Conflict(_))), "{b:?}");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 0, "neither chunk left a record");
    assert!(all_rows(&store, job).await.is_empty());
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().resources[0].rows_done, 0);
}

/// Applies `first` and `second` together, `second` after `first`.
async fn apply_two(
    store: &Arc<dyn Store>,
    lease: &Lease,
    first: ChunkWrite,
    second: ChunkWrite,
) -> (StoreResult<ChunkOutcome>, StoreResult<ChunkOutcome>) {
    let first_order = ChunkOrder::first();
    let second_order = first_order.next();
    tokio::join!(
        store.apply_chunk_in_order(lease, first, first_order),
        store.apply_chunk_in_order(lease, second, second_order),
    )
}
