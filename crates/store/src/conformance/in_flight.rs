//! Chunks of one resource in flight together (`JobStore::apply_chunk_in_order`): they commit in
//! order, catch duplicates between each other, never deadlock, and a chunk after one that did
//! not commit is refused; upserts in flight see what the chunk before them wrote.

use std::sync::Arc;

use bulkwrite_core::lookup::{LookupBy, LookupQuery};
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_wire::Operation;

use super::*;

/// Three chunks in flight at once (as the worker keeps a PostgreSQL insert's), duplicates between
/// each of them.
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
    // Each ADDED row names the record its row wrote (a store may plan a chunk with ids of its own
    // before it reserves the real ones).
    for added in rows.iter().filter(|r| r.record_id.is_some()) {
        let id = added.record_id.unwrap();
        let record = store.get_record(ORG, "Leads", id).await.unwrap().expect("the ADDED row's record");
        assert_eq!(record.values["Last_Name"], json!(added.echo[0]), "row {}", added.row_no);
    }
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

/// Upsert chunks in flight together (a backend may read for the next chunk while the one before
/// it is written): each sees the records the chunk before it updated and created, as if they ran
/// one after the other, and a chunk that shares nothing with the one before is unaffected.
pub async fn upsert_chunks_in_flight_see_what_the_chunk_before_wrote(store: Arc<dyn Store>) {
    with_org(&store).await;
    let seed = new_job(&store, 9700, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let seeded = chunk(Operation::Insert, vec![row(1, "X", "x@x.co"), row(2, "Y", "y@x.co"), row(3, "Z", "z@x.co")], 3);
    store.apply_chunk(&lease, seeded).await.unwrap();
    store.complete_job(&lease, "results/x.zip", chrono::Utc::now()).await.unwrap();
    assert_eq!(seed.get(), 9700);

    let job = new_job(&store, 9701, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w2").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    // Like the worker: one chunk committed, then two at a time, the second started while the
    // first is written.
    let first = chunk(Operation::Upsert, vec![by_email(1, "X1", "x@x.co"), by_email(2, "N1", "n@x.co")], 2);
    let first = store.apply_chunk_in_order(&lease, first, ChunkOrder::first()).await;
    let second = chunk(
        Operation::Upsert,
        vec![by_email(3, "X2", "x@x.co"), by_email(4, "N2", "n@x.co"), by_email(5, "M", "m@x.co")],
        5,
    );
    // Shares m@x.co (which the chunk before creates) with it.
    let third = chunk(Operation::Upsert, vec![by_email(6, "Y3", "y@x.co"), by_email(7, "M3", "m@x.co")], 7);
    let (second, third) = apply_two(&store, &lease, second, third).await;
    // Shares nothing with the chunk before (x@x.co was last written two chunks before).
    let fourth = chunk(Operation::Upsert, vec![by_email(8, "Z4", "z@x.co")], 8);
    let fifth = chunk(Operation::Upsert, vec![by_email(9, "X5", "x@x.co")], 9);
    let (fourth, fifth) = apply_two(&store, &lease, fourth, fifth).await;
    let counts = |outcome: StoreResult<ChunkOutcome>| {
        let outcome = outcome.unwrap();
        (outcome.added, outcome.updated, outcome.skipped)
    };
    assert_eq!(
        [counts(first), counts(second), counts(third), counts(fourth), counts(fifth)],
        [(1, 1, 0), (1, 2, 0), (0, 2, 0), (0, 1, 0), (0, 1, 0)]
    );
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 5, "x, y, z, n and m, each once");
    let names = names_by_email(&store, &["x@x.co", "y@x.co", "z@x.co", "n@x.co", "m@x.co"]).await;
    assert_eq!(names, ["X5", "Y3", "Z4", "N2", "M3"], "every chunk's update, in order");
    let progress = store.get_job(ORG, job).await.unwrap().unwrap().resources[0];
    assert_eq!((progress.rows_done, progress.added, progress.updated), (9, 2, 7));
}

/// An upsert chunk that read a record, then waited for the chunk before it, while another job
/// changed another field of that record: its write keeps that change (a backend that reads
/// before it writes either locks what it read, or reads again once it may have changed).
pub async fn an_upsert_read_before_another_jobs_write_keeps_that_write(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 9800, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let seeded = store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "X", "x@x.co")], 1)).await.unwrap();
    let id = seeded.results[0].record_id.expect("the record seeded");
    store.complete_job(&lease, "results/x.zip", chrono::Utc::now()).await.unwrap();

    new_job(&store, 9801, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    new_job(&store, 9802, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, our_lease) = claim(&store, "w2").await.unwrap();
    let (_, their_lease) = claim(&store, "w3").await.unwrap();
    store.start_resource(&our_lease, 0).await.unwrap();
    store.start_resource(&their_lease, 0).await.unwrap();
    let mut their_row = by_email(1, "X", "x@x.co");
    their_row.values.insert("First_Name", json!("F"));
    let theirs = chunk(Operation::Upsert, vec![their_row], 1);
    // Our chunk follows one that settles only when told: it reads and plans, then waits.
    let gate = ChunkOrder::first();
    let ours = chunk(Operation::Upsert, vec![by_email(1, "A", "x@x.co")], 1);
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(300));
    let (ours, theirs) = tokio::join!(store.apply_chunk_in_order(&our_lease, ours, gate.next()), async {
        pause().await;
        // Theirs writes first (or, where our read locked the record, waits for ours).
        let (store, lease) = (Arc::clone(&store), their_lease.clone());
        let theirs = tokio::spawn(async move { store.apply_chunk(&lease, theirs).await });
        pause().await;
        drop(gate);
        theirs.await.expect("their chunk")
    });
    assert_eq!((ours.unwrap().updated, theirs.unwrap().updated), (1, 1));
    let record = store.get_record(ORG, "Leads", id).await.unwrap().expect("the record");
    assert_eq!(record.values["Last_Name"], json!("A"), "ours");
    assert_eq!(record.values["First_Name"], json!("F"), "theirs, kept");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);
}

/// A row that upserts by its Email.
fn by_email(row_no: u64, name: &str, email: &str) -> RowDraft {
    found_by_email(row(row_no, name, email))
}

/// The `Last_Name` of the record holding each Email.
async fn names_by_email(store: &Arc<dyn Store>, emails: &[&str]) -> Vec<String> {
    let query = LookupQuery {
        module: "Leads".into(),
        field: "Email".into(),
        by: LookupBy::UniqueKey,
        values: emails.iter().map(|email| (*email).to_string()).collect(),
        display_field: "Last_Name".into(),
    };
    let hits = store.find_records(ORG, &query).await.unwrap();
    emails
        .iter()
        .map(|email| {
            let hit = hits.iter().find(|(value, _)| value == email).map(|(_, hit)| hit.name.clone());
            hit.flatten().unwrap_or_default()
        })
        .collect()
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

/// A chunk that fails after it wrote (the backend's test has made the store refuse a record
/// whose `Last_Name` is `BOOM`, a trigger say, so the chunk fails once its keys are in): the job's stored checkpoint and its records
/// still agree, whatever the failure took with it (a backend that commits several chunks in
/// one transaction loses the ones before it too), a chunk past what is stored is refused, and
/// the job, resumed from its stored checkpoint, adds every row once. Not in the shared list:
/// each backend arms the failure its own way. Returns the checkpoint stored after the failure.
pub async fn a_chunk_failing_after_it_wrote_leaves_its_job_to_resume_from_its_checkpoint(store: Arc<dyn Store>) -> u64 {
    with_org(&store).await;
    let job = new_job(&store, 9700, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    let rows =
        |names: &[(u64, &str)]| names.iter().map(|(n, name)| row(*n, name, &format!("{name}{n}@x.co"))).collect();
    store.apply_chunk(&lease, chunk(Operation::Insert, rows(&[(1, "A"), (2, "B")]), 2)).await.unwrap();
    let failed = store.apply_chunk(&lease, chunk(Operation::Insert, rows(&[(3, "C"), (4, "BOOM")]), 4)).await;
    assert!(failed.is_err(), "the armed failure: {failed:?}");
    let stored = store.get_job(ORG, job).await.unwrap().unwrap().resources[0];
    let after_failure = stored.rows_done;
    assert!(after_failure == 0 || after_failure == 2, "{stored:?}");
    assert_eq!(stored.added, stored.rows_done);
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), stored.rows_done, "records as the checkpoint says");
    if stored.rows_done == 0 {
        let ahead = store.apply_chunk(&lease, chunk(Operation::Insert, rows(&[(3, "C"), (4, "D")]), 4)).await;
        assert!(matches!(ahead, Err(StoreError::Conflict(_))), "a chunk past the stored checkpoint: {ahead:?}");
        store.apply_chunk(&lease, chunk(Operation::Insert, rows(&[(1, "A"), (2, "B")]), 2)).await.unwrap();
    }
    store.apply_chunk(&lease, chunk(Operation::Insert, rows(&[(3, "C"), (4, "D")]), 4)).await.unwrap();
    store.finish_resource(&lease, 0, 4).await.unwrap();
    let stored = store.get_job(ORG, job).await.unwrap().unwrap().resources[0];
    assert_eq!((stored.rows_done, stored.added), (4, 4));
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 4, "every row added once");
    let statuses: Vec<_> = all_rows(&store, job).await.iter().map(|r| (r.row_no, r.record_id.is_some())).collect();
    assert_eq!(statuses, [(1, true), (2, true), (3, true), (4, true)]);
    after_failure
}
